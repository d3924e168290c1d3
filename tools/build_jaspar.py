"""Build meme_nb/data/JASPAR2024_CORE_vertebrates_non-redundant.meme from the pyjaspar package.

    pip install pyjaspar            # dev-only; ships the JASPAR SQLite databases, works offline
    python tools/build_jaspar.py    # writes the MEME file (about 0.5 MB)

Every motif of the JASPAR 2024 CORE collection, vertebrates taxon, latest version
of each matrix (JASPAR's "non-redundant" set), sorted by matrix ID. Counts are
turned into letter probabilities by dividing each column by its sum (JASPAR
column sums are not always equal). Motifs are named `MATRIX_ID NAME`, e.g.
`MA0099.4 FOS::JUN`, and written with meme_nb.io.write_meme.
"""
import argparse
from pathlib import Path

import numpy as np
import torch

from meme_nb.io import _JASPAR, read_meme, write_meme

RELEASE = 'JASPAR2024'
OUT = Path(__file__).resolve().parent.parent / 'meme_nb' / 'data' / _JASPAR


def fetch_motifs(release=RELEASE):
    "Name -> (4, m) float64 probability tensor of every latest-version CORE vertebrates motif of `release`."
    from pyjaspar import jaspardb
    db = jaspardb(release=release)
    ms = db.fetch_motifs(collection='CORE', tax_group=['vertebrates'], all_versions=False)
    motifs = {}
    for m in sorted(ms, key=lambda m: m.matrix_id):
        counts = np.array([m.counts[c] for c in 'ACGT'], dtype=np.float64)
        name = f"{m.matrix_id} {' '.join(m.name.split())}"
        if name in motifs: raise ValueError(f"duplicate motif name {name!r}")
        motifs[name] = torch.from_numpy(counts / counts.sum(axis=0, keepdims=True))
    return motifs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', type=Path, default=OUT, help='where to write the MEME file')
    a = ap.parse_args()
    motifs = fetch_motifs()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    write_meme(motifs, a.out)
    back = read_meme(a.out)
    assert list(back) == list(motifs)
    print(f"wrote {len(back)} motifs of {RELEASE} CORE vertebrates non-redundant to {a.out} ({a.out.stat().st_size:,} bytes)")


if __name__ == '__main__':
    main()
