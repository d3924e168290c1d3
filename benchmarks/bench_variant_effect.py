"""Benchmark of meme_nb.variant_effect: SNVs per second with beluga_mini on CPU.

Three measurements on the same random SNVs of a synthetic genome (write_genome, 3 x 1 Mb):

- `meme_nb.variant_effects`: the whole high-level call, from a variant table and a FASTA to the scored table
  (reading the genome, checking REF, building windows, two model passes, scores);
- `meme_nb.substitution_effect` on the reference windows (from `variant_windows`) with one substitution row per window
  (default `fast=None`: one forward pass for the reference windows and windowed recomputation of each SNV, the model's
  capture by torch.export included in the timed call; `meme_nb_plain` is the same call with `fast=False`, two plain passes;
  `meme_nb_warm` is the default call on a model captured beforehand, outside the timing, as in a session that scores
  several batches of variants; its capture time is printed apart);
- `tangermeme.variant_effect.substitution_effect` (the reference) on the same windows and rows.

Every measurement runs in a fresh subprocess (its own peak memory: max RSS minus the RSS before the call);
meme_nb and tangermeme runs alternate, and the table gives medians over `--pairs` pairs and the ratio of the medians.
The cost of `annotate=True` (one DeepLIFT/SHAP call with `--n-shuffles` references per variant, seqlets and
Tomtom against JASPAR) is measured once on `--n-annotate` variants.

    python benchmarks/bench_variant_effect.py [--n 10000] [--pairs 5] [--n-annotate 100] [--threads 2] [--tools meme_nb,reference,...]

Workers run with OMP_WAIT_POLICY=PASSIVE unless it is set (busy-waiting OpenMP threads slow everything on a shared machine).
"""
import argparse, datetime, json, os, platform, resource, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np


def rss_mb():
    with open('/proc/self/statm') as f: return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def snvs(folder, n, seed=0):
    "The synthetic genome (written once into `folder`) and `n` random SNVs whose 1,000 bp windows fit."
    import pandas as pd, pyfaidx
    from meme_nb.datasets import write_genome
    fa_path = Path(folder) / 'genome.fa'
    if not fa_path.exists(): write_genome(folder, n_chroms=3, chrom_length=1_000_000, n_peaks=500, n_background=500, random_state=0)
    fa = pyfaidx.Fasta(str(fa_path), as_raw=True)
    rng = np.random.default_rng(seed)
    chrom = rng.choice(['chr1', 'chr2', 'chr3'], n)
    pos = rng.integers(1_000, 999_000, n)
    ref = [fa[c][p:p + 1].upper() for c, p in zip(chrom, pos)]
    alt = [rng.choice([b for b in 'ACGT' if b != r]) for r in ref]
    return fa_path, pd.DataFrame({'chrom': chrom, 'pos': pos + 1, 'ref': ref, 'alt': alt})


def worker(tool, folder, n, threads, n_shuffles):
    "Time one call in this process; print a JSON line."
    import torch
    torch.set_num_threads(threads)
    from meme_nb.models import load_pretrained
    from meme_nb.variant_effect import variant_effects, variant_windows, substitution_effect
    model = load_pretrained('beluga_mini')
    fasta, df = snvs(folder, n)
    extra = {}
    if tool in ('meme_nb', 'meme_nb_plain', 'meme_nb_warm', 'reference'):
        w = variant_windows(df, fasta, 1000)
        X = w.X_ref.float()
        subs = torch.stack([torch.arange(len(X)), torch.full((len(X),), 500), w.X_alt[:, :, 500].argmax(1)], 1)
        if tool == 'meme_nb': call = lambda: substitution_effect(model, X, subs, batch_size=64)
        elif tool == 'meme_nb_plain': call = lambda: substitution_effect(model, X, subs, batch_size=64, fast=False)
        elif tool == 'meme_nb_warm':
            t = time.perf_counter(); substitution_effect(model, X[:2], subs[:1], batch_size=64, fast=True)
            extra['capture_s'] = time.perf_counter() - t
            call = lambda: substitution_effect(model, X, subs, batch_size=64)
        else:
            from tangermeme.variant_effect import substitution_effect as tm_sub
            call = lambda: tm_sub(model, X, subs, batch_size=64, device='cpu')
    elif tool == 'variant_effects': call = lambda: variant_effects(model, df, fasta, batch_size=64)
    else: call = lambda: variant_effects(model, df, fasta, batch_size=64, annotate=True, n_shuffles=n_shuffles)
    base = rss_mb()
    t = time.perf_counter(); call(); dt = time.perf_counter() - t
    print(json.dumps({'seconds': dt, 'peak_mb': max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base, 0.0), **extra}))


def run(tool, folder, n, threads, n_shuffles=20):
    env = {**os.environ, 'OMP_WAIT_POLICY': os.environ.get('OMP_WAIT_POLICY', 'PASSIVE')}
    out = subprocess.run([sys.executable, __file__, '--worker', tool, '--folder', str(folder), '--n', str(n), '--threads', str(threads),
                          '--n-shuffles', str(n_shuffles)], capture_output=True, text=True, env=env)
    if out.returncode: raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def has_tangermeme():
    try:
        import tangermeme.variant_effect  # noqa: F401
        return True
    except ImportError: return False


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--worker'); p.add_argument('--folder')
    p.add_argument('--n', type=int, default=10_000); p.add_argument('--pairs', type=int, default=5)
    p.add_argument('--threads', type=int, default=2); p.add_argument('--n-annotate', type=int, default=100)
    p.add_argument('--n-shuffles', type=int, default=20)
    p.add_argument('--tools', default='meme_nb,reference,meme_nb_plain,variant_effects', help='comma-separated calls to time in each pair')
    a = p.parse_args()
    if a.worker: return worker(a.worker, a.folder, a.n, a.threads, a.n_shuffles)
    folder = Path(tempfile.mkdtemp()) / 'genome'
    snvs(folder, 1)
    print(f'# {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, '
          f'torch threads {a.threads}, {a.n} SNVs, 1,000 bp windows, beluga_mini, batch 64, CPU; load average {os.getloadavg()[0]:.1f}')
    tools = [t for t in a.tools.split(',') if t != 'reference' or has_tangermeme()]
    res = {t: [] for t in tools}
    for i in range(a.pairs):
        for t in tools:
            r = run(t, folder, a.n, a.threads); res[t].append(r)
            cap = f'  (capture {r["capture_s"]:.2f} s, untimed)' if 'capture_s' in r else ''
            print(f'pair {i}: {t:16s} {r["seconds"]:8.2f} s  {a.n / r["seconds"]:8.1f} SNVs/s  peak {r["peak_mb"]:7.0f} MB  load {os.getloadavg()[0]:.1f}{cap}', flush=True)
    med = {t: statistics.median(r['seconds'] for r in v) for t, v in res.items()}
    print('\n| call | median s | SNVs/s | median peak MB |\n| --- | --- | --- | --- |')
    for t, v in res.items():
        print(f"| {t} | {med[t]:.2f} | {a.n / med[t]:.0f} | {statistics.median(r['peak_mb'] for r in v):.0f} |")
    for ours in ('meme_nb', 'meme_nb_plain', 'meme_nb_warm'):
        if 'reference' in med and ours in med:
            print(f"\nsubstitution_effect speed ratio (reference time / {ours} time): {med['reference'] / med[ours]:.2f}x; "
                  f"per-pair ratios: {[round(r['seconds'] / m['seconds'], 2) for r, m in zip(res['reference'], res[ours])]}")
    if a.n_annotate:
        plain = run('variant_effects', folder, a.n_annotate, a.threads)
        ann = run('annotate', folder, a.n_annotate, a.threads, a.n_shuffles)
        print(f"\nannotate=True on {a.n_annotate} SNVs ({a.n_shuffles} shuffles): {ann['seconds']:.1f} s "
              f"({ann['seconds'] / a.n_annotate:.2f} s per variant) vs {plain['seconds']:.2f} s without; peak {ann['peak_mb']:.0f} MB")


if __name__ == '__main__':
    main()
