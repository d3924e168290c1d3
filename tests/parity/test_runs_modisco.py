"""`meme-nb export --to modisco` is read by tfmodisco-lite's own command (`modisco motifs -s ohe.npz -a shap.npz`),
called as a black box, and the motif it finds for the GATA task of beluga_mini spells the planted GATA site.
Skipped where modisco-lite is not installed."""
import shutil, subprocess
from pathlib import Path

import numpy as np
import pytest

from meme_nb.datasets import write_genome
from meme_nb.runs import export, run

pytestmark = pytest.mark.parity


@pytest.mark.skipif(shutil.which('modisco') is None, reason='modisco-lite (the `modisco` command) is not installed')
def test_modisco_reads_the_export_and_finds_gata(tmp_path):
    h5py = pytest.importorskip('h5py')
    g = write_genome(tmp_path / 'g', n_chroms=1, chrom_length=400_000, n_peaks=150, n_background=0, random_state=0)
    s = run('attribute', 'pretrained:beluga_mini', g.fasta, g.peaks, tmp_path / 'run', target='GATA', n_shuffles=4,
            hypothetical=True, in_window=400, chunk_size=64, verbose=False)
    ohe, shap = export(s.out, 'modisco')
    p = subprocess.run(['modisco', 'motifs', '-s', str(ohe), '-a', str(shap), '-n', '2000', '-w', '400', '-o', str(tmp_path / 'm.h5')],
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-2000:]
    with h5py.File(tmp_path / 'm.h5') as f:
        cores = []
        for k in f['pos_patterns']:
            c, seq = np.array(f['pos_patterns'][k]['contrib_scores']), np.array(f['pos_patterns'][k]['sequence'])
            i = int(np.abs(c).sum(1).argmax())
            cores.append(''.join('ACGT'[j] for j in seq[max(0, i - 5):i + 6].argmax(1)))
    assert any('GATAA' in s or 'TTATC' in s for s in cores), cores
