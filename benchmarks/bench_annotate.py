"""Benchmark of meme_nb.annotate.tomtom against memelite's tomtom (issue 17).

Seqlet-like queries (random one-hot sequences of length 8-25) against the shipped JASPAR 2024 collection
(879 motifs), `n_nearest=1` and full matrices, 2 threads for both tools. Times are medians over interleaved
pairs of calls in one warm process (memelite's numba compile is paid before timing; meme_nb needs none);
peak memory (max RSS minus RSS before the call) is measured in a fresh subprocess per tool and size.
No OMP_WAIT_POLICY or other environment variable is set: numbers are as a user gets them.

    python benchmarks/bench_annotate.py [--sizes 100 1000 10000] [--pairs 5] [--first-call]

Also prints the p-value agreement of the full matrices: correlation of log p and best-match agreement, against
memelite's default call (n_target_bins=100, which merges target columns: an approximation) and against its exact
mode (n_target_bins=None); "tie-aware" counts our best target as agreeing when memelite gives it memelite's
smallest p-value too (within 1e-6 relative). `--agreement-sets K` repeats the agreement over K independent query sets
per size (one set of 100 queries holds only a few mismatches). `--first-call` measures, in fresh subprocesses, the import times and
the first call's overhead (first call minus an identical second call) for both tools.
"""
import argparse, datetime, json, os, platform, resource, statistics, subprocess, sys, time

import numpy as np


def queries(n, seed=0):
    "`n` random one-hot queries (float64 numpy arrays) of length 8-25."
    rng = np.random.default_rng(seed)
    return [np.eye(4)[rng.integers(0, 4, int(L))].T.copy() for L in rng.integers(8, 26, n)]


def _rss_mb():
    with open('/proc/self/statm') as f: return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def _tools(threads, names=('meme_nb', 'memelite')):
    "The tools (of `names`) as callables taking (queries, n_nearest), warmed up (memelite's first compile can take minutes)."
    import torch
    from meme_nb.io import read_meme, jaspar_path
    from meme_nb.annotate import tomtom, TomtomTargets
    Ts = [t.numpy().astype(np.float64) for t in read_meme(jaspar_path()).values()]
    prepared = TomtomTargets([torch.from_numpy(t) for t in Ts])
    ours = lambda Q, k: tomtom([torch.from_numpy(q) for q in Q], prepared, n_nearest=k, n_jobs=threads)
    tools = {'meme_nb': ours}
    _tools.Ts = Ts
    try:
        if 'memelite' not in names: raise ImportError
        import memelite
        tools['memelite'] = lambda Q, k: memelite.tomtom(Q, Ts, n_nearest=k, n_jobs=threads)
    except ImportError: pass
    for f in tools.values(): f(queries(20, 1), 1); f(queries(20, 1), None)
    return tools


def _hwm_mb():
    "Peak resident memory of this process image (VmHWM; unlike ru_maxrss it does not inherit the parent's RSS at fork)."
    with open('/proc/self/status') as f: return next(int(l.split()[1]) for l in f if l.startswith('VmHWM')) / 1024


def worker(tool, n, k, threads):
    "Peak extra memory of one call in this fresh process (JSON line): peak resident memory minus resident memory before the call."
    f = _tools(threads, (tool,))[tool]; Q = queries(n); base = _rss_mb()
    with open('/proc/self/clear_refs', 'w') as c: c.write('5')   # reset VmHWM to the current RSS (Linux >= 4.0)
    f(Q, k)
    print(json.dumps({'peak_mb': max(_hwm_mb() - base, 0.0)}))


def first_call(tool, threads, n=100):
    "In this fresh process: import times, and the first call's time minus an identical second call's (JSON line)."
    t0 = time.perf_counter(); import torch; t1 = time.perf_counter()
    Q = queries(n)
    if tool == 'meme_nb':
        from meme_nb.io import read_meme, jaspar_path
        from meme_nb.annotate import tomtom, TomtomTargets
        t2 = time.perf_counter()
        Ts = TomtomTargets(list(read_meme(jaspar_path()).values()))
        f = lambda: tomtom([torch.from_numpy(q) for q in Q], Ts, n_nearest=1, n_jobs=threads)
    else:
        import memelite
        from meme_nb.io import read_meme, jaspar_path
        t2 = time.perf_counter()
        Ts = [t.numpy().astype(np.float64) for t in read_meme(jaspar_path()).values()]
        f = lambda: memelite.tomtom(Q, Ts, n_nearest=1, n_jobs=threads)
    t3 = time.perf_counter(); f(); t4 = time.perf_counter(); f(); t5 = time.perf_counter()
    print(json.dumps({'torch_import_s': t1 - t0, 'tool_import_s': t2 - t1, 'targets_s': t3 - t2, 'first_s': t4 - t3, 'second_s': t5 - t4, 'overhead_s': (t4 - t3) - (t5 - t4)}))


def peak(tool, n, k, threads):
    out = subprocess.run([sys.executable, __file__, '--worker', tool, '--n', str(n), '--k', str(k), '--threads', str(threads)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])['peak_mb']


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--sizes', type=int, nargs='+', default=[100, 1000, 10000])
    ap.add_argument('--pairs', type=int, default=5)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--no-memory', action='store_true')
    ap.add_argument('--tools', nargs='+', default=['meme_nb', 'memelite'])
    ap.add_argument('--first-call', action='store_true')
    ap.add_argument('--agreement-sets', type=int, default=0, help='also: best-match agreement over this many independent query sets (seeds 1..K) per size')
    ap.add_argument('--worker'); ap.add_argument('--first-worker'); ap.add_argument('--n', type=int); ap.add_argument('--k', type=int)
    a = ap.parse_args()
    if a.worker: return worker(a.worker, a.n, None if a.k == 0 else a.k, a.threads)
    if a.first_worker: return first_call(a.first_worker, a.threads)
    if a.agreement_sets: return agreement_sets(a.sizes, a.agreement_sets, a.threads)
    if a.first_call:
        for tool in a.tools:
            for rep in range(3):
                out = subprocess.run([sys.executable, __file__, '--first-worker', tool, '--threads', str(a.threads)], capture_output=True, text=True, check=True).stdout
                print(tool, 'run', rep, {k: round(v, 3) for k, v in json.loads(out.strip().splitlines()[-1]).items()}, flush=True)
        return
    import torch
    tools = _tools(a.threads, a.tools)
    tools = type('Tools', (dict,), {})(tools); tools.Ts = _tools.Ts
    print(f"## annotate: tomtom vs memelite, seqlet-like queries vs JASPAR 2024 (879 motifs), {a.threads} threads\n")
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs (load average {os.getloadavg()[0]:.1f}: noisy), "
          f"torch {torch.__version__}; {datetime.date.today()}; median of {a.pairs} interleaved pairs; no OMP_WAIT_POLICY.\n")
    print("| queries | n_nearest | meme_nb s | memelite s | memelite / meme_nb | meme_nb peak MiB | memelite peak MiB | corr(log p) default / exact | best match default / exact | tie-aware default / exact |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in a.sizes:
        Q = queries(n)
        for k in (1, None):
            t = {name: [] for name in tools}
            res = {}
            for _ in range(a.pairs):
                for name, f in tools.items():
                    s = time.perf_counter(); res[name] = f(Q, k); t[name].append(time.perf_counter() - s)
            med = {name: statistics.median(v) for name, v in t.items()}
            mem = {name: float('nan') if a.no_memory else peak(name, n, 0 if k is None else k, a.threads) for name in tools}
            agree = '- | - | -'
            if k is None and 'memelite' in res:
                import memelite
                exact = memelite.tomtom(Q, tools.Ts, n_target_bins=None, n_jobs=a.threads)[0]
                agree = ' | '.join(' / '.join(f"{v:.{d}f}" for v in vs) for vs, d in zip(zip(*(_agreement(res['meme_nb'].p_values.numpy(), P) for P in (res['memelite'][0], exact))), (5, 3, 3)))
            ml = med.get('memelite', float('nan'))
            print(f"| {n:,} | {k or 'all'} | {med['meme_nb']:.2f} | {ml:.2f} | {ml / med['meme_nb']:.2f} | {mem['meme_nb']:.0f} | "
                  f"{mem.get('memelite', float('nan')):.0f} | {agree} |", flush=True)


def agreement_sets(sizes, k, threads):
    "Best-match agreement (and tie-aware agreement) with memelite's default and exact modes over `k` independent query sets per size: one set of 100 queries holds few mismatches, so its percentage is coarse."
    import torch, memelite
    from meme_nb.io import read_meme, jaspar_path
    from meme_nb.annotate import tomtom, TomtomTargets
    Ts = [t.numpy().astype(np.float64) for t in read_meme(jaspar_path()).values()]
    prepared = TomtomTargets([torch.from_numpy(t) for t in Ts])
    print("| queries per set | sets | best match vs default: mean (min-max) | vs exact: mean (min-max) | tie-aware vs exact: mean (min-max) | corr(log p) vs exact: min |")
    print("|---|---|---|---|---|---|")
    for n in sizes:
        rows = []
        for seed in range(1, k + 1):
            Q = queries(n, seed)
            ours = tomtom([torch.from_numpy(q) for q in Q], prepared, n_jobs=threads).p_values.numpy()
            d = _agreement(ours, memelite.tomtom(Q, Ts, n_jobs=threads)[0])
            e = _agreement(ours, memelite.tomtom(Q, Ts, n_target_bins=None, n_jobs=threads)[0])
            rows.append((d[1], e[1], e[2], e[0]))
        r = np.array(rows)
        f = lambda c: f"{r[:, c].mean():.3f} ({r[:, c].min():.2f}-{r[:, c].max():.2f})"
        print(f"| {n:,} | {k} | {f(0)} | {f(1)} | {f(2)} | {r[:, 3].min():.5f} |", flush=True)


def _agreement(ours, theirs):
    "Correlation of log p, best-match agreement, and tie-aware agreement (our best target also has their smallest p-value)."
    x, y = np.log(ours), np.log(theirs)
    best = x.argmin(1)
    tie = np.isclose(theirs[np.arange(len(best)), best], theirs.min(1), rtol=1e-6, atol=0)
    return np.corrcoef(x.ravel(), y.ravel())[0, 1], (best == y.argmin(1)).mean(), tie.mean()


if __name__ == '__main__': main()
