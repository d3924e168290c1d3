"""Benchmark recursive_seqlets on planted Laplace attribution sums against tangermeme (when installed), and seqlets +
annotation over an attribution run streamed from disk.

    python benchmarks/bench_seqlets.py [--quick] [--pairs 5]      # time: interleaved pairs, one warm process
    python benchmarks/bench_seqlets.py --memory                   # peak memory: a fresh subprocess per measurement
    python benchmarks/bench_seqlets.py --stream 100000 [--annotate 10000] [--run-dir DIR]

Time: median seconds of `--pairs` interleaved rounds (one call of each tool per round, the reference compiled first),
and the median of the per-round ratios. Memory: each measurement runs in a new Python process that builds the input,
warms the tool up on a small input (numba compile, imports), resets the kernel's peak-RSS mark (/proc/self/clear_refs),
calls the tool once and reports peak RSS (VmHWM) minus the RSS just before the call (glibc's mmap threshold fixed at
128 KiB in the child, so memory freed before the call is not reused unseen). Stream: writes (once) a synthetic
run directory in the layout `meme_nb.runs.open_run` reads (random one-hot, planted attributions, int8/float32 Zarr
arrays, 1,000 bp), then times `recursive_seqlets` over `open_run(dir).chunks()` (three passes over the disk) and
`run_seqlets(dir, motifs=JASPAR)` (seqlets, genome coordinates and Tomtom names against the shipped collection)."""
import argparse, datetime, json, os, platform, statistics, subprocess, sys, time
from pathlib import Path
import numpy as np, torch

def planted(n, L, seed=0, k=3):
    "Laplace(0, 0.02) noise (n, L) with k spans of 5-14 positions raised by 0.05-0.3 per example."
    rng = np.random.default_rng(seed)
    X = rng.laplace(0, 0.02, size=(n, L)).astype(np.float32)
    st = rng.integers(0, L - 30, (n, k)); ln = rng.integers(5, 15, (n, k)); amp = rng.uniform(0.05, 0.3, (n, k))
    pos = np.arange(L)[None]
    for j in range(k): X += ((pos >= st[:, j:j + 1]) & (pos < st[:, j:j + 1] + ln[:, j:j + 1])) * amp[:, j:j + 1].astype(np.float32)
    return torch.from_numpy(X)

def _tools():
    "name -> recursive_seqlets of each installed tool (the reference compiled on a small input first)."
    from meme_nb.seqlets import recursive_seqlets
    tools = {'meme_nb': recursive_seqlets}
    try:
        from tangermeme.seqlet import recursive_seqlets as ref
        ref(planted(4, 200)); tools['tangermeme'] = ref
    except ImportError: pass
    return tools

def interleaved(fs, X, pairs):
    "Seconds of each function over `pairs` interleaved rounds (one call of each per round) and the last tables."
    times, out = [[] for _ in fs], [None] * len(fs)
    for _ in range(pairs):
        for j, f in enumerate(fs):
            t = time.perf_counter(); out[j] = f(X); times[j].append(time.perf_counter() - t)
    return times, out

def spans(df): return set(map(tuple, df[['example_idx', 'start', 'end']].values.tolist()))

def bench_time(sizes, pairs):
    tools = _tools(); names = list(tools)
    print(f"median of {pairs} interleaved pairs; load average {os.getloadavg()[0]:.1f} at start (shared machine: noisy)\n")
    print("| n x L | meme_nb s | tangermeme s | ratio of medians | median of per-pair ratios | seqlets | identical spans, max rel. p-value diff (p > 1e-10) |")
    print("|---|---|---|---|---|---|---|")
    for n, L in sizes:
        X = planted(n, L)
        times, out = interleaved([tools[k] for k in names], X, pairs)
        tm = statistics.median(times[0])
        if len(names) == 1: print(f"| {n} x {L} | {tm:.3f} | - | - | - | {len(out[0])} | - |", flush=True); continue
        tr = statistics.median(times[1]); r = statistics.median(a / b for a, b in zip(*times))
        m = out[0].merge(out[1], on=['example_idx', 'start', 'end']); big = m['p-value_y'] > 1e-10
        dp = float(np.max(np.abs(m['p-value_x'][big] / m['p-value_y'][big] - 1))) if big.any() else float('nan')
        print(f"| {n} x {L} (load {os.getloadavg()[0]:.1f}) | {tm:.3f} | {tr:.3f} | {tm / tr:.2f} | {r:.2f} | {len(out[0])} | {spans(out[0]) == spans(out[1])}, {dp:.1e} |", flush=True)

_CHILD = r'''
import sys, time
sys.path.insert(0, {here!r})
from bench_seqlets import planted, _tools
def rss(key):
    for line in open('/proc/self/status'):
        if line.startswith(key): return int(line.split()[1]) / 1024
f = _tools()[{tool!r}]
f(planted(4, {L}))   # imports, first-call work
X = planted({n}, {L})
base = rss('VmRSS:')
open('/proc/self/clear_refs', 'w').write('5')   # reset the peak-RSS mark
f(X)
print(rss('VmHWM:') - base, rss('VmHWM:'))
'''

def bench_memory(sizes, reps):
    print("| n x L | tool | peak RSS above the pre-call RSS, MiB (median of fresh processes) | all runs | input X MiB |")
    print("|---|---|---|---|---|")
    here = str(Path(__file__).resolve().parent)
    for n, L in sizes:
        for tool in _tools():
            vals = []
            for _ in range(reps):
                code = _CHILD.format(here=here, tool=tool, n=n, L=L)
                env = dict(os.environ, MALLOC_MMAP_THRESHOLD_='131072')   # large blocks always mmapped: freed memory leaves RSS, so the peak counts live memory
                out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True, env=env).stdout.split()
                vals.append(float(out[0]))
            print(f"| {n} x {L} | {tool} | {statistics.median(vals):.0f} | {', '.join(f'{v:.0f}' for v in vals)} | {n * L * 4 / 2**20:.0f} |", flush=True)

def write_run(out, n, L=1000, chunk_size=1000, seed=0):
    "A complete synthetic `attribute` run directory: random one-hot, attributions = one-hot * planted sums (2 spans per locus)."
    import zarr, pandas as pd
    out = Path(out)
    if (out / 'run.json').exists() and json.loads((out / 'run.json').read_text())['n_loci_run'] == n: return out
    (out / 'chunks').mkdir(parents=True, exist_ok=True)
    n_chunks = -(-n // chunk_size)
    p = dict(command='attribute', in_window=L, n_loci=n, n_loci_run=n, chunk_size=chunk_size, n_chunks=n_chunks, hypothetical=False,
             store_dtype='float32', random_state=seed, target=0, n_shuffles=20, dtype=None, outputs=None, chroms=None)
    root = zarr.open_group(str(out / 'store.zarr'), mode='w')
    ohe = root.create_array('ohe', shape=(n, 4, L), chunks=(chunk_size, 4, L), dtype='int8', fill_value=0)
    att = root.create_array('attributions', shape=(n, 4, L), chunks=(chunk_size, 4, L), dtype='float32', fill_value=np.nan)
    rng = np.random.default_rng(seed)
    for c in range(n_chunks):
        a, b = c * chunk_size, min(n, (c + 1) * chunk_size)
        X = np.eye(4, dtype=np.int8)[rng.integers(0, 4, (b - a, L))].transpose(0, 2, 1)
        ohe[a:b] = X; att[a:b] = X * planted(b - a, L, seed=seed + c, k=2).numpy()[:, None]
        (out / 'chunks' / f'{c:06d}.json').write_text('{}')
    starts = np.arange(n) * 2000 + 10_000
    pd.DataFrame({'bed_row': np.arange(n), 'chrom': 'chr1', 'start': starts, 'end': starts + L, 'name': [f'locus{i}' for i in range(n)]}).to_csv(out / 'loci.tsv', sep='\t', index=False)
    pd.DataFrame(columns=['bed_row', 'chrom', 'start', 'end', 'name', 'reason']).to_csv(out / 'skipped.tsv', sep='\t', index=False)
    (out / 'run.json').write_text(json.dumps(p, indent=1))
    return out

def bench_stream(n, n_annotate, run_dir):
    from meme_nb.runs import open_run, run_seqlets
    from meme_nb.seqlets import recursive_seqlets
    import meme_nb
    jaspar = Path(meme_nb.__file__).parent / 'data' / 'JASPAR2024_CORE_vertebrates_non-redundant.meme'
    t = time.perf_counter(); out = write_run(Path(run_dir) / f'run_{n}', n); print(f"run directory {out}: {n} loci x 1000 bp ({time.perf_counter() - t:.0f} s to write or find)")
    r = open_run(out); t = time.perf_counter(); s = recursive_seqlets(r.chunks()); ts = time.perf_counter() - t
    print(f"| seqlets only, streamed | {n} loci | {ts:.1f} s | {len(s)} seqlets | load {os.getloadavg()[0]:.1f} |", flush=True)
    if n_annotate:
        small = write_run(Path(run_dir) / f'run_{n_annotate}', n_annotate)
        t = time.perf_counter(); a = run_seqlets(small, motifs=jaspar); ta = time.perf_counter() - t
        print(f"| seqlets + genome coordinates + Tomtom names (JASPAR, {len(_jaspar_names(jaspar))} motifs) | {n_annotate} loci | {ta:.1f} s | {len(a)} seqlets | load {os.getloadavg()[0]:.1f} |", flush=True)

def _jaspar_names(path): return [l for l in open(path) if l.startswith('MOTIF')]

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='small sizes only')
    ap.add_argument('--pairs', type=int, default=5, help='interleaved rounds (time) or fresh processes per tool (memory)')
    ap.add_argument('--memory', action='store_true', help='peak memory in fresh subprocesses instead of time')
    ap.add_argument('--stream', type=int, default=0, help='loci of the streamed run benchmark (0: skip)')
    ap.add_argument('--annotate', type=int, default=0, help='loci of the seqlets + annotation (run_seqlets with JASPAR) timing')
    ap.add_argument('--run-dir', default='/tmp/meme_nb_bench_runs', help='where the synthetic run directories are written (reused)')
    a = ap.parse_args()
    sizes = [(500, 2114)] if a.quick else [(2000, 2114), (10000, 2114)]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared), torch {torch.get_num_threads()} threads; {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC\n")
    if a.stream or a.annotate: bench_stream(a.stream, a.annotate, a.run_dir)
    elif a.memory: bench_memory(sizes, a.pairs)
    else: bench_time(sizes, a.pairs)

if __name__ == '__main__': main()
