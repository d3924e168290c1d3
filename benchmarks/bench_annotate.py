"""Benchmark of meme_nb.annotate.tomtom against memelite's tomtom.

Seqlet-like queries (random one-hot sequences of length 8-25) against the
shipped JASPAR 2024 collection (879 motifs) with `n_nearest=1`, the call that
`annotate_seqlets` makes. Every measurement runs in a fresh subprocess so that
its peak memory (max RSS minus the RSS before the call) is its own; the table
gives the median time over `--repeats` runs (after a warm-up call on 20
queries in the same process, which also compiles memelite's numba code).

    python benchmarks/bench_annotate.py [--quick] [--repeats 3] [--sizes 1000 10000]

Workers run with OMP_WAIT_POLICY=PASSIVE unless it is set: on a shared,
oversubscribed machine torch's busy-waiting OpenMP threads otherwise make
every 2-thread call 10x slower.

Run it with the peers environment (`/work/peers-venv/bin/python`) to include
memelite; without it only meme_nb is timed.
"""
import argparse, datetime, json, os, platform, resource, statistics, subprocess, sys, time

import numpy as np


def queries(n, seed=0):
    "`n` random one-hot queries (float64 numpy arrays) of length 8-25."
    rng = np.random.default_rng(seed)
    return [np.eye(4)[rng.integers(0, 4, int(L))].T.copy() for L in rng.integers(8, 26, n)]


def rss_mb():
    "Current resident set size in MB."
    with open('/proc/self/statm') as f: return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def worker(tool, n, threads):
    "Time one call in this process; print a JSON line with seconds and peak extra memory."
    import torch
    from meme_nb.io import read_meme, jaspar_path
    Ts = [t.numpy().astype(np.float64) for t in read_meme(jaspar_path()).values()]
    Qs = queries(n)
    if tool == 'meme_nb':
        from meme_nb.annotate import tomtom
        Tt, Qt = [torch.from_numpy(t) for t in Ts], [torch.from_numpy(q) for q in Qs]
        call = lambda Q: tomtom(Q, Tt, n_nearest=1, n_jobs=threads)
        call(Qt[:20]); Q = Qt
    else:
        import memelite, numba
        numba.set_num_threads(threads)
        call = lambda Q: memelite.tomtom(Q, Ts, n_nearest=1, n_jobs=threads)
        call(Qs[:20]); Q = Qs
    base = rss_mb()
    t = time.perf_counter(); call(Q); dt = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({'seconds': dt, 'peak_mb': max(peak - base, 0.0)}))


def measure(tool, n, threads, repeats):
    "Median seconds and median peak memory over `repeats` fresh processes."
    runs = []
    for _ in range(repeats):
        env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get('OMP_WAIT_POLICY', 'PASSIVE'))
        out = subprocess.run([sys.executable, __file__, '--worker', tool, '--n', str(n), '--threads', str(threads)],
                             capture_output=True, text=True, check=True, env=env).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    return statistics.median(r['seconds'] for r in runs), statistics.median(r['peak_mb'] for r in runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='small sizes (200 and 1,000 queries), one repeat')
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--sizes', type=int, nargs='+', default=[1000, 10000])
    ap.add_argument('--threads', type=int, nargs='+', default=[1, 2], help='CPU threads given to both tools')
    ap.add_argument('--worker', help=argparse.SUPPRESS); ap.add_argument('--n', type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker: return worker(a.worker, a.n, a.threads[0])
    sizes, repeats = ([200, 1000], 1) if a.quick else (a.sizes, a.repeats)
    try:
        import memelite, importlib.metadata as md
        peer = f"memelite {md.version('memelite')}"
    except ImportError: peer = None
    import torch
    print(f"## annotate: tomtom, seqlet-like queries vs JASPAR 2024 (879 motifs), n_nearest=1\n")
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared with other jobs, load average "
          f"{os.getloadavg()[0]:.1f}), torch {torch.__version__}, {peer or 'memelite not installed'}; "
          f"{datetime.date.today()}; median of {repeats} run(s), each in a fresh process; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'PASSIVE')} (busy-waiting OpenMP threads stall torch on an oversubscribed machine).\n")
    print("| queries | threads | meme_nb s | meme_nb peak MB | memelite s | memelite peak MB | memelite / meme_nb time |")
    print("|---|---|---|---|---|---|---|")
    for n in sizes:
        for th in a.threads:
            t1, m1 = measure('meme_nb', n, th, repeats)
            t2, m2 = measure('memelite', n, th, repeats) if peer else (float('nan'), float('nan'))
            print(f"| {n:,} | {th} | {t1:.2f} | {m1:.0f} | {t2:.2f} | {m2:.0f} | {t2 / t1:.2f} |", flush=True)


if __name__ == '__main__': main()
