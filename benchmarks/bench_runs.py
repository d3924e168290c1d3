"""Benchmark the genome-scale engine (meme_nb.runs, `meme-nb attribute`) on the synthetic genome with beluga_mini.

Measures, as the genome-scale issue asks:
  overhead  engine (`run`, chunked, per-locus seeds, Zarr writes) vs one in-process `deep_lift_shap` call over the
            same loci and references budget; interleaved pairs, median ratio of wall times.
  scaling   loci/s of the command with 1 process (2 threads) and with `torchrun --nproc-per-node 2` (1 thread each).
  memory    peak resident memory of the command at N and 10*N loci, each in a fresh subprocess (ru_maxrss of the child).
  resume    SIGKILL after k chunks, rerun: chunks recomputed (target: only the chunk in flight) and seconds lost.

The issue's full sizes are `--n-loci 20000 --n-shuffles 20`; on a shared 2-core machine they take hours, so the
defaults are smaller and the sizes used are printed with the results.

    python benchmarks/bench_runs.py [--n-loci 100] [--n-shuffles 20] [--pairs 5] [--only overhead,scaling,memory,resume]
"""
import argparse, datetime, os, platform, resource, shutil, signal, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import torch

from meme_nb.attribution import deep_lift_shap
from meme_nb.datasets import write_genome
from meme_nb.models import load_pretrained
from meme_nb.runs import open_run, run

L = 1000


def tiled_genome(folder, n_loci, step=250):
    "A synthetic genome and a BED of `n_loci` windows tiled every `step` bp (windows overlap, as peak sets do)."
    per_chrom = 2_000_000 // step
    n_chroms = max(1, -(-n_loci // (per_chrom - 8)))
    g = write_genome(folder, n_chroms=n_chroms, chrom_length=2_000_000, n_peaks=200, n_background=0, random_state=0)
    rows, k = [], 0
    for c in range(n_chroms):
        for s in range(L, 2_000_000 - 2 * L, step):
            if k == n_loci: break
            rows.append(f'chr{c + 1}\t{s}\t{s + L}\tlocus_{k}'); k += 1
    bed = Path(folder) / f'tiles_{n_loci}.bed'
    bed.write_text('\n'.join(rows) + '\n')
    return g.fasta, bed


def cli(args, nproc=None, threads=None):
    "Run `meme-nb` in a fresh process; return (seconds, peak RSS MiB of the children, stdout)."
    env = {**os.environ, **({'OMP_NUM_THREADS': str(threads)} if threads else {})}
    pre = [sys.executable, '-m', 'torch.distributed.run', '--standalone', f'--nproc-per-node={nproc}'] if nproc else [sys.executable]
    t0 = time.perf_counter()
    p = subprocess.run(pre + ['-m', 'meme_nb', *map(str, args)], capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    if p.returncode: raise RuntimeError(p.stderr)
    return dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, p.stdout


def attr_args(fasta, bed, out, n, n_shuffles, chunk_size=64, extra=()):
    return ['attribute', '--model', 'pretrained:beluga_mini', '--fasta', fasta, '--bed', bed, '--out', out, '--n-loci', n,
            '--n-shuffles', n_shuffles, '--chunk-size', chunk_size, '--batch-size', 64, '--quiet', *extra]


def overhead(fasta, bed, n, n_shuffles, pairs, tmp):
    m = load_pretrained('beluga_mini')
    X = torch.from_numpy(open_run(run('predict', m, fasta, bed, tmp / 'x', n_loci=n, in_window=L, verbose=False).out).ohe[:])
    ratios, te, tb = [], [], []
    for i in range(pairs):
        shutil.rmtree(tmp / 'o', ignore_errors=True)
        t0 = time.perf_counter(); run('attribute', m, fasta, bed, tmp / 'o', n_loci=n, n_shuffles=n_shuffles, in_window=L, batch_size=64,
                                      chunk_size=64, verbose=False); te.append(time.perf_counter() - t0)
        t0 = time.perf_counter(); deep_lift_shap(m, X, n_shuffles=n_shuffles, batch_size=64, random_state=0); tb.append(time.perf_counter() - t0)
        ratios.append(te[-1] / tb[-1])
    return dict(engine_s=statistics.median(te), deep_lift_shap_s=statistics.median(tb), ratio=statistics.median(ratios), pairs=pairs)


def scaling(fasta, bed, n, n_shuffles, tmp):
    out = {}
    for name, kw in (('1 process x 2 threads', dict(threads=2)), ('torchrun 2 processes x 1 thread', dict(nproc=2, threads=1))):
        shutil.rmtree(tmp / 's', ignore_errors=True)
        dt, _, _ = cli(attr_args(fasta, bed, tmp / 's', n, n_shuffles), **kw)
        out[name] = dict(seconds=round(dt, 1), loci_per_s=round(n / dt, 2))
    return out


def memory(fasta, bed, n, tmp):
    "Peak RSS of the command at n and 10n loci (one shuffle each: memory depends on the chunk, not the references budget)."
    code = ("import resource, sys; from meme_nb.__main__ import main; rc = main(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024); sys.exit(rc)")
    out = {}
    for k in (n, 10 * n):
        shutil.rmtree(tmp / 'mem', ignore_errors=True)
        p = subprocess.run([sys.executable, '-c', code, *map(str, attr_args(fasta, bed, tmp / 'mem', k, 1))], capture_output=True, text=True)
        if p.returncode: raise RuntimeError(p.stderr)
        out[f'{k} loci'] = round(float(p.stdout.strip().splitlines()[-1]), 1)
    return out


def resume(fasta, bed, n, n_shuffles, tmp):
    args = attr_args(fasta, bed, tmp / 'r', n, n_shuffles, chunk_size=8)
    shutil.rmtree(tmp / 'r', ignore_errors=True)
    full, _, _ = cli(args)
    shutil.rmtree(tmp / 'r', ignore_errors=True)
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, '-m', 'meme_nb', *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    n_chunks = -(-n // 8)
    while len(list((tmp / 'r' / 'chunks').glob('*.json'))) < n_chunks // 2 and p.poll() is None: time.sleep(0.01)
    p.send_signal(signal.SIGKILL); p.wait()
    killed = time.perf_counter() - t0
    done = len(list((tmp / 'r' / 'chunks').glob('*.json')))
    again, _, text = cli(args)
    return dict(uninterrupted_s=round(full, 1), killed_after_s=round(killed, 1), chunks_done_at_kill=done, chunks=n_chunks,
                resumed_s=round(again, 1), lost_s=round(killed + again - full, 1), resume_said=text.strip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--n-loci', type=int, default=100); ap.add_argument('--n-shuffles', type=int, default=20)
    ap.add_argument('--pairs', type=int, default=5); ap.add_argument('--only', default='overhead,scaling,memory,resume')
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    fasta, bed = tiled_genome(tmp / 'genome', 10 * a.n_loci)
    print(f'# {datetime.date.today()} {platform.node()} {platform.processor() or platform.machine()} {os.cpu_count()} cores, '
          f'torch {torch.__version__}; beluga_mini, {L} bp windows, n_loci={a.n_loci}, n_shuffles={a.n_shuffles}')
    only = a.only.split(',')
    if 'overhead' in only: print('overhead', overhead(fasta, bed, a.n_loci, a.n_shuffles, a.pairs, tmp), flush=True)
    if 'scaling' in only: print('scaling', scaling(fasta, bed, a.n_loci, a.n_shuffles, tmp), flush=True)
    if 'memory' in only: print('memory MiB', memory(fasta, bed, a.n_loci, tmp), flush=True)
    if 'resume' in only: print('resume', resume(fasta, bed, a.n_loci, a.n_shuffles, tmp), flush=True)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__': main()
