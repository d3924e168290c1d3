"""Benchmark for meme_nb.design.greedy_substitution (issue 6).

Seconds per iteration on a random-weight Beluga-style model (conv x2, pool, conv x2, pool, conv x2, dense x2,
narrower than Beluga: `--width` filters in the first block) with one 2,000 bp sequence and the design seed's 13
motifs (26 candidates with reverse complements), in float32 and in bfloat16/float16 (CPU), with no input mask
(every start: about 52,000 candidate sequences per iteration) and with a 200-position input mask. Each run makes
`--iters` edits (a loss that cannot converge in that many is used, so every run makes them all). Compared with
tangermeme's greedy_substitution on the same model and input when tangermeme is importable (peers-venv).

    /work/peers-venv/bin/python benchmarks/bench_design.py --quick
"""
import argparse, datetime, os, platform, statistics, time, warnings

import torch

from meme_nb.design import greedy_substitution
from meme_nb.utils import random_one_hot

MOTIFS = ['GCTAATTAAC', 'ATGCCCACC', 'GTGACTCATC', 'AGAACAGAATGTTCT', 'TGATGACGTCATCGC', 'ACATTCCA',
          'GGGAGGAGGGAGAGGAGGAG', 'TAATCGATTA', 'CGTCTAGACA', 'TGCTATTTTTAG', 'CATTGTTTATTT',
          'TTTCACACCTAGGTGTGAAA', 'GGCACGCGCC']


def beluga_like(L, width=8, n_out=2002):
    "Beluga-shaped net (widths w, w, 1.5w, 1.5w, 2w, 2w; pools of 4; dense 32 -> n_out) with random weights."
    torch.manual_seed(0)
    c = lambda i, o: torch.nn.Conv1d(i, o, 8)
    w2, w3 = width * 3 // 2, width * 2
    feat = torch.nn.Sequential(c(4, width), torch.nn.ReLU(), c(width, width), torch.nn.ReLU(), torch.nn.MaxPool1d(4),
                               c(width, w2), torch.nn.ReLU(), c(w2, w2), torch.nn.ReLU(), torch.nn.MaxPool1d(4),
                               c(w2, w3), torch.nn.ReLU(), c(w3, w3), torch.nn.ReLU())
    with torch.no_grad(): n = feat(torch.zeros(1, 4, L)).numel()
    return torch.nn.Sequential(feat, torch.nn.Flatten(), torch.nn.Linear(n, 32), torch.nn.ReLU(),
                               torch.nn.Linear(32, n_out)).eval()


def run(fns, repeats):
    "Median wall-clock seconds of each function in `fns` (None skipped), interleaving their repeats so load changes hit all alike."
    ts = [[] for _ in fns]
    for _ in range(repeats):
        for f, t in zip(fns, ts):
            if f is None: continue
            t0 = time.perf_counter(); f(); t.append(time.perf_counter() - t0)
    return [statistics.median(t) if t else None for t in ts]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--quick', action='store_true', help='one repeat of the unmasked runs, 2 of the masked ones')
    p.add_argument('--length', type=int, default=2000)
    p.add_argument('--width', type=int, default=8)
    p.add_argument('--iters', type=int, default=1)
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--dtypes', default='float32,bfloat16,float16')
    p.add_argument('--skip-unmasked-low', action='store_true', help='only masked runs for bf16/fp16')
    a = p.parse_args()
    try:
        from tangermeme.design import greedy_substitution as tm
    except ImportError:
        tm = None
    L, model = a.length, beluga_like(a.length, a.width)
    X = random_one_hot((1, 4, L), random_state=0).float()
    y = torch.full((1, 2002), 50.0)      # unreachable target: every run makes all `iters` edits
    mask = torch.zeros(L, dtype=torch.bool); mask[L // 2 - 100:L // 2 + 100] = True
    rows = []
    for dname in a.dtypes.split(','):
        dt = getattr(torch, dname)
        m, Xd, yd = model.to(dt), X.to(dt), y.to(dt)
        for label, im in (('none', None), ('200 positions', mask)):
            if im is None and dt != torch.float32 and a.skip_unmasked_low: continue
            reps = (1 if im is None else 2) if a.quick else 3
            kw = dict(input_mask=im, max_iter=a.iters, batch_size=a.batch_size, tol=0)
            mse = torch.nn.MSELoss(reduction='none')
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                ours, theirs = run([lambda: greedy_substitution(m, Xd, MOTIFS, yd, **kw),
                                    None if tm is None else lambda: tm(m, Xd, y=yd, motifs=MOTIFS, loss=mse, device='cpu', **kw)], reps)
            rows.append((dname, label, reps, ours / a.iters, None if theirs is None else theirs / a.iters))
            print(rows[-1], flush=True)
        model.float()
    print(f"\n### design: greedy_substitution, seconds per iteration\n")
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs (shared with other jobs; noisy), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; {datetime.date.today()}. One sequence of {L} bp, 13 motifs + reverse "
          f"complements = 26 candidates, random-weight Beluga-style model (width {a.width}, 2002 outputs), batch size {a.batch_size}, "
          f"{a.iters} iteration(s) per run, median over the repeats shown, meme_nb and tangermeme runs interleaved.\n")
    print("| dtype | input mask | repeats | meme_nb s/iter | tangermeme s/iter | tangermeme / meme_nb |")
    print("|---|---|---|---|---|---|")
    for d, lab, r, o, t in rows:
        print(f"| {d} | {lab} | {r} | {o:.3g} | {'n/a' if t is None else f'{t:.3g}'} | {'n/a' if t is None else f'{t / o:.2f}x'} |")


if __name__ == '__main__':
    main()
