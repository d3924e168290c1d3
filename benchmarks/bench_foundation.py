"""Benchmarks for the foundation modules (utils, ersatz, predict).

Times meme_nb against a simple baseline and, where tangermeme is installed,
against tangermeme, and prints a markdown table (median of `--repeats` runs,
after one warm-up run that is not counted):

- one_hot_encode of a 10 Mb and a 100 Mb string (baseline: a per-character
  Python loop, timed on 10 Mb only);
- dinucleotide_shuffle of 1,000 x 2,000 bp x 20 shuffles;
- extract_loci of 20,000 windows of 2,114 bp from a 30 Mb soft-masked FASTA;
- predict on a 3-layer convolutional model against a bare batched
  `torch.no_grad()` loop (target: within 5%).

    python benchmarks/bench_foundation.py [--repeats 5] [--quick]
"""
import argparse, datetime, os, platform, statistics, tempfile, time
from pathlib import Path

import numpy as np
import torch

import pandas as pd

from meme_nb.ersatz import dinucleotide_shuffle
from meme_nb.io import extract_loci
from meme_nb.predict import predict
from meme_nb.utils import one_hot_encode, random_one_hot

try:
    import tangermeme.utils as tm_utils, tangermeme.ersatz as tm_ersatz, tangermeme.predict as tm_predict
    import tangermeme.io as tm_io
    import importlib.metadata as md
    TM = md.version('tangermeme')
except ImportError:
    TM = None


def median_time(f, repeats):
    "Median wall time of `f()` over `repeats` runs after one warm-up."
    f()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def naive_one_hot(seq):
    "Baseline: a dictionary lookup per character."
    lut = {'A': 0, 'C': 1, 'G': 2, 'T': 3}
    X = torch.zeros(4, len(seq), dtype=torch.int8)
    idx = [lut.get(c, -1) for c in seq]
    pos = [i for i, j in enumerate(idx) if j >= 0]
    X[[idx[i] for i in pos], pos] = 1
    return X


def write_genome(d, n_chroms, length, n_loci, rng):
    "A soft-masked random FASTA and a DataFrame of loci on it."
    fa = d / 'genome.fa'
    with open(fa, 'w') as f:
        for c in range(n_chroms):
            s = rng.choice(np.frombuffer(b'ACGTacgt', dtype=np.uint8), size=length).tobytes().decode()
            f.write(f'>chr{c}\n' + '\n'.join(s[i:i + 80] for i in range(0, length, 80)) + '\n')
    starts = rng.integers(2_000, length - 3_000, n_loci)
    df = pd.DataFrame({'chrom': rng.choice([f'chr{c}' for c in range(n_chroms)], n_loci), 'start': starts, 'end': starts + 500})
    return fa, df


def conv_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv1d(4, 64, 21, padding=10), torch.nn.ReLU(),
        torch.nn.Conv1d(64, 64, 11, padding=5), torch.nn.ReLU(), torch.nn.MaxPool1d(10),
        torch.nn.Conv1d(64, 64, 5, padding=2), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten(), torch.nn.Linear(64, 10)).eval()


def bare_loop(model, X, batch_size):
    with torch.no_grad():
        return torch.cat([model(X[i:i + batch_size].float()) for i in range(0, len(X), batch_size)])


def bench(repeats, quick):
    rows = []
    def row(name, size, ours, base=None, base_name='', peer=None):
        rows.append((name, size, ours, base, base_name, peer))
        print(f"  {name} {size}: meme_nb {ours:.4f}s" + (f", {base_name} {base:.4f}s" if base else '')
              + (f", tangermeme {peer:.4f}s" if peer else ''), flush=True)

    rng = np.random.default_rng(0)
    for mb in ((10,) if quick else (10, 100)):
        seq = ''.join(np.array(list('ACGT'))[rng.integers(0, 4, mb * 1_000_000)].tolist())
        ours = median_time(lambda: one_hot_encode(seq), repeats)
        base = median_time(lambda: naive_one_hot(seq), 1) if mb == 10 else None
        peer = median_time(lambda: tm_utils.one_hot_encode(seq), repeats) if TM else None
        row('one_hot_encode', f'{mb} Mb', ours, base, 'per-character loop', peer)
        del seq

    n, L, k = (200, 2000, 20) if quick else (1000, 2000, 20)
    X = random_one_hot((n, 4, L), random_state=0)
    ours = median_time(lambda: dinucleotide_shuffle(X, n=k, random_state=0), repeats)
    peer = median_time(lambda: tm_ersatz.dinucleotide_shuffle(X, n=k, random_state=0), repeats) if TM else None
    row('dinucleotide_shuffle', f'{n} x {L} bp x {k}', ours, peer=peer)

    with tempfile.TemporaryDirectory() as d:
        fa, df = write_genome(Path(d), 3, 2_000_000 if quick else 10_000_000, 2_000 if quick else 20_000, rng)
        extract_loci(df.iloc[:1], fa)  # builds the .fai index once
        ours = median_time(lambda: extract_loci(df, fa), repeats)
        peer = median_time(lambda: tm_io.extract_loci(df, str(fa)), repeats) if TM else None
        row('extract_loci', f'{len(df)} x 2114 bp', ours, peer=peer)

    model = conv_model()
    n, L, b = (500, 1000, 64) if quick else (2000, 1000, 64)
    X = random_one_hot((n, 4, L), random_state=1)
    ours = median_time(lambda: predict(model, X, batch_size=b), repeats)
    base = median_time(lambda: bare_loop(model, X, b), repeats)
    peer = median_time(lambda: tm_predict.predict(model, X, batch_size=b, device='cpu'), repeats) if TM else None
    row('predict', f'{n} x 4 x {L}, batch {b}', ours, base, 'bare no_grad loop', peer)
    return rows


def table(rows, repeats):
    head = (f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), Python {platform.python_version()}; "
            f"tangermeme {TM or 'not installed'}. Date: {datetime.date.today()}. Median of {repeats} runs.\n\n"
            "| function | size | meme_nb (s) | baseline (s) | meme_nb / baseline | tangermeme (s) | meme_nb / tangermeme |\n"
            "| --- | --- | ---: | ---: | ---: | ---: | ---: |\n")
    fmt = lambda v: '' if v is None else f'{v:.4f}'
    ratio = lambda a, b: '' if b is None else f'{a / b:.3f}'
    body = ''.join(f"| {n} | {s} | {o:.4f} | {fmt(b)}{' (' + bn + ')' if b else ''} | {ratio(o, b)} | {fmt(p)} | {ratio(o, p)} |\n"
                   for n, s, o, b, bn, p in rows)
    return head + body


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--quick', action='store_true', help='smaller sizes, for a smoke test')
    a = p.parse_args()
    print(table(bench(a.repeats, a.quick), a.repeats))
