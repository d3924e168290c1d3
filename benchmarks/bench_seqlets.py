"""Benchmark recursive_seqlets on planted Laplace attribution sums; compares with tangermeme when installed.

Run in the peers environment: /work/peers-venv/bin/python benchmarks/bench_seqlets.py [--quick]
Prints a markdown table: sizes, median seconds, peak traced memory (tracemalloc: numpy allocations), ratio."""
import argparse, datetime, platform, statistics, time, tracemalloc
import numpy as np, torch
from meme_nb.seqlets import recursive_seqlets

def planted(n, L, seed=0, k=3):
    "Laplace(0, 0.02) noise (n, L) with k spans of 5-14 positions raised by 0.05-0.3 per example."
    rng = np.random.default_rng(seed)
    X = rng.laplace(0, 0.02, size=(n, L)).astype(np.float32)
    st = rng.integers(0, L - 30, (n, k)); ln = rng.integers(5, 15, (n, k)); amp = rng.uniform(0.05, 0.3, (n, k))
    pos = np.arange(L)[None]
    for j in range(k): X += ((pos >= st[:, j:j + 1]) & (pos < st[:, j:j + 1] + ln[:, j:j + 1])) * amp[:, j:j + 1].astype(np.float32)
    return torch.from_numpy(X)

def measure(f, X, repeats):
    "Median seconds over `repeats` runs, peak traced memory (MiB) of one more run, and the number of seqlets."
    times = []
    for _ in range(repeats):
        t = time.perf_counter(); df = f(X); times.append(time.perf_counter() - t)
    tracemalloc.start(); f(X); peak = tracemalloc.get_traced_memory()[1] / 2**20; tracemalloc.stop()
    return statistics.median(times), peak, len(df)

def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--quick', action='store_true', help='small sizes only')
    ap.add_argument('--repeats', type=int, default=3)
    a = ap.parse_args()
    sizes = [(500, 2114)] if a.quick else [(2000, 2114), (10000, 2114)]
    try: from tangermeme.seqlet import recursive_seqlets as ref; ref(planted(4, 200))   # compile numba first
    except ImportError: ref = None
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads (shared); {datetime.date.today()}\n")
    print("| n x L | meme_nb s | meme_nb peak MiB | seqlets | tangermeme s | tangermeme peak MiB | seqlets | time ratio (meme_nb / tangermeme) |")
    print("|---|---|---|---|---|---|---|---|")
    for n, L in sizes:
        X = planted(n, L)
        m = measure(recursive_seqlets, X, a.repeats)
        r = measure(ref, X, a.repeats) if ref else (float('nan'),) * 3
        print(f"| {n} x {L} | {m[0]:.3f} | {m[1]:.0f} | {m[2]} | {r[0]:.3f} | {r[1]:.0f} | {r[2]} | {m[0] / r[0]:.2f} |")

if __name__ == '__main__': main()
