"""local_dinucleotide_shuffle and extract_matching_loci against tangermeme 1.6.0.

Shuffle: interleaved runs (ours, reference, ours, ...), median of 5 pairs, torch threads 1.
Matched loci: every measurement in a fresh subprocess (time of the call, peak RSS of the process and its
RSS after imports), interleaved ours/reference, median of the pairs. Genomes come from meme_nb.datasets.write_genome.
    python benchmarks/bench_matched.py [shuffle] [match] [--big]
"""
import json, os, statistics, subprocess, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GENOMES = Path(os.environ.get('BENCH_GENOMES', '/tmp/meme_nb_bench_genomes'))

CHILD = r'''
import json, resource, sys, time, warnings
warnings.simplefilter('ignore')
which, peaks, fasta = sys.argv[1:4]
if which == 'ours': from meme_nb.match import extract_matching_loci
else: from tangermeme.match import extract_matching_loci
import pandas, numpy, torch
def status(key):   # kB, from /proc/self/status: VmHWM (peak RSS) starts afresh at exec, unlike ru_maxrss, which keeps the forking parent's
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith(key + ':'))
base = status('VmRSS')   # current RSS after imports
t = time.perf_counter()
out = extract_matching_loci(peaks, fasta, in_window=2114, random_state=0)
dt = time.perf_counter() - t
print(json.dumps(dict(seconds=dt, peak_mb=status('VmHWM') / 1024, base_mb=base / 1024, n=len(out))))
'''


def pair(f, g, reps=5):
    a, b = [], []
    f(); g()
    for _ in range(reps):
        t = time.perf_counter(); f(); a.append(time.perf_counter() - t)
        t = time.perf_counter(); g(); b.append(time.perf_counter() - t)
    return statistics.median(a), statistics.median(b)


def bench_shuffle():
    import torch, warnings
    torch.set_num_threads(1)
    warnings.simplefilter('ignore')
    from meme_nb.ersatz import local_dinucleotide_shuffle
    from meme_nb.utils import random_one_hot
    from tangermeme.ersatz import local_dinucleotide_shuffle as tm
    print('| local_dinucleotide_shuffle | ours | tangermeme | ratio |\n|---|---|---|---|')
    for N, L, n in [(16, 2114, 20), (2, 20_000, 10), (1, 100_000, 4)]:
        X = random_one_hot((N, 4, L), random_state=0)
        a, b = pair(lambda: local_dinucleotide_shuffle(X, n=n, random_state=0), lambda: tm(X.float(), n=n, random_state=0))
        print(f"| {N} x {L} bp, n={n} | {a * 1e3:.0f} ms | {b * 1e3:.0f} ms | {b / a:.1f}x |", flush=True)


def genome(name, **kw):
    from meme_nb.datasets import write_genome
    folder = GENOMES / name
    if not (folder / 'genome.fa').exists(): write_genome(folder, **kw)
    return folder / 'peaks.narrowPeak', folder / 'genome.fa'


def long_chromosome(length=200_000_000, n_peaks=50_000, seed=0):
    "One chromosome of `length` random bases (GC varying in 100 kb blocks, an N run at each end) and random 400 bp peaks."
    import numpy as np
    folder = GENOMES / f'long{length}'
    fa, bed = folder / 'genome.fa', folder / 'peaks.bed'
    if fa.exists(): return bed, fa
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    gc = np.repeat(rng.uniform(0.3, 0.6, length // 100_000 + 1), 100_000)[:length]
    u = rng.random(length)
    seq = np.where(u < gc, np.where(u < gc / 2, ord('G'), ord('C')), np.where(u < (1 + gc) / 2, ord('A'), ord('T'))).astype(np.uint8)
    seq[:1_000_000] = seq[-1_000_000:] = ord('N')
    pad = (-length) % 60
    lines = np.concatenate([seq, np.full(pad, ord('N'), np.uint8)]).reshape(-1, 60)
    with open(fa, 'wb') as f:
        f.write(b'>chr1\n')
        f.write(np.hstack([lines, np.full((len(lines), 1), ord('\n'), np.uint8)]).tobytes()[:length + length // 60])
        if length % 60: f.write(b'\n')
    starts = np.sort(rng.integers(2_000_000, length - 2_000_000, n_peaks))
    with open(bed, 'w') as f: f.writelines(f'chr1\t{s}\t{s + 400}\n' for s in starts)
    return bed, fa


def child(which, peaks, fasta):
    r = subprocess.run([sys.executable, '-c', CHILD, which, str(peaks), str(fasta)], capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def bench_match(big=False):
    sizes = [('3 x 1 Mb, 500 peaks', 'small', dict(n_chroms=3, chrom_length=1_000_000, n_peaks=500, random_state=0), 5)]
    if big: sizes += [('4 x 25 Mb, 20,000 peaks', 'big', dict(n_chroms=4, chrom_length=25_000_000, n_peaks=20_000, n_background=0, random_state=1), 3),
                      ('1 x 200 Mb, 50,000 peaks', 'long', None, 3)]
    print('| extract_matching_loci | ours time | reference time | ratio | ours peak RSS (after imports) | reference peak RSS (after imports) |\n|---|---|---|---|---|---|')
    for label, name, kw, reps in sizes:
        peaks, fasta = genome(name, **kw) if kw else long_chromosome()
        ours, ref = [], []
        for _ in range(reps):
            ours.append(child('ours', peaks, fasta)); ref.append(child('ref', peaks, fasta))
        med = lambda rs, k: statistics.median(r[k] for r in rs)
        print(f"| {label} | {med(ours, 'seconds'):.2f} s | {med(ref, 'seconds'):.2f} s | {med(ref, 'seconds') / med(ours, 'seconds'):.1f}x "
              f"| {med(ours, 'peak_mb'):.0f} MB ({med(ours, 'base_mb'):.0f}) | {med(ref, 'peak_mb'):.0f} MB ({med(ref, 'base_mb'):.0f}) |", flush=True)


if __name__ == '__main__':
    args = sys.argv[1:] or ['shuffle', 'match']
    if 'shuffle' in args: bench_shuffle()
    if 'match' in args: bench_match(big='--big' in args)
