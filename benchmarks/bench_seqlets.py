"""Benchmark recursive_seqlets on planted Laplace attribution sums; compares with tangermeme when installed.

Run in the peers environment: /work/peers-venv/bin/python benchmarks/bench_seqlets.py [--quick]
Prints a markdown table: sizes, median seconds, peak traced memory (tracemalloc: numpy allocations), ratio."""
import argparse, datetime, os, platform, statistics, time, tracemalloc
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

def interleaved(fs, X, pairs):
    "Median seconds of each function over `pairs` interleaved rounds (one call of each per round), and the tables."
    times, out = [[] for _ in fs], [None] * len(fs)
    for _ in range(pairs):
        for j, f in enumerate(fs):
            t = time.perf_counter(); out[j] = f(X); times[j].append(time.perf_counter() - t)
    return [statistics.median(t) for t in times], out

def traced_peak(f, X):
    "Peak traced memory (MiB, tracemalloc: numpy allocations) of one call."
    tracemalloc.start(); f(X); peak = tracemalloc.get_traced_memory()[1] / 2**20; tracemalloc.stop()
    return peak

def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--quick', action='store_true', help='small sizes only')
    ap.add_argument('--pairs', type=int, default=5)
    a = ap.parse_args()
    sizes = [(500, 2114)] if a.quick else [(2000, 2114), (10000, 2114)]
    try: from tangermeme.seqlet import recursive_seqlets as ref; ref(planted(4, 200))   # compile numba first
    except ImportError: ref = None
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads (shared); {datetime.date.today()}\n")
    print(f"median of {a.pairs} interleaved pairs; load average {os.getloadavg()[0]:.1f} (shared machine: noisy)\n")
    print("| n x L | meme_nb s | tangermeme s | time ratio (meme_nb / tangermeme) | seqlets (same spans?) | meme_nb peak MiB | tangermeme peak MiB |")
    print("|---|---|---|---|---|---|---|")
    for n, L in sizes:
        X = planted(n, L)
        (tm, tr), (dm, dr) = interleaved([recursive_seqlets, ref], X, a.pairs) if ref else interleaved([recursive_seqlets], X, a.pairs) + [float('nan')]
        same = ref and set(map(tuple, dm[['example_idx', 'start', 'end']].values.tolist())) == set(map(tuple, dr[['example_idx', 'start', 'end']].values.tolist()))
        print(f"| {n} x {L} | {tm:.3f} | {tr:.3f} | {tm / tr:.2f} | {len(dm)} ({same}) | {traced_peak(recursive_seqlets, X):.0f} | {traced_peak(ref, X) if ref else float('nan'):.0f} |", flush=True)

if __name__ == '__main__': main()
