"""Benchmark for meme_nb.design: greedy_substitution (issue 6), beam_substitution and screen (issue 18).

Seconds per iteration on a random-weight Beluga-style model (conv x2, pool, conv x2, pool, conv x2, dense x2,
narrower than Beluga: `--width` filters in the first block) with one 2,000 bp sequence and the design seed's 13
motifs (26 candidates with reverse complements), in float32 and in bfloat16/float16 (CPU), with no input mask
(every start: about 52,000 candidate sequences per iteration) and with a 200-position input mask. Each run makes
`--iters` edits (a loss that cannot converge in that many is used, so every run makes them all). Compared with
tangermeme's greedy_substitution on the same model and input when tangermeme is importable (peers-venv).

    /work/peers-venv/bin/python benchmarks/bench_design.py --quick
    python benchmarks/bench_design.py --only beam,screen      # issue 18: beam search and random screens

beam_substitution: one 1,000 bp sequence, 50 allowed starts, the 13 motifs (+ reverse complements) or single
characters, beam of 4, `--beam-rounds` rounds (tol=0 and an unreachable target, so both libraries run every round).
screen: batches of 64 random 1,000 bp sequences through a conv/max-pool/dense net (32 outputs), n_best=10, `--screen-batches` batches; each library draws with
its own default random_one_hot, and the time is reported per batch drawn (meme_nb may stop earlier at a batch that
changes nothing, tangermeme draws every batch). Interleaved pairs, median of `--repeats`.
"""
import argparse, datetime, os, platform, statistics, time, warnings

import torch

from meme_nb.design import beam_substitution, greedy_substitution, screen
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


def bench_beam(a, tm):
    "Seconds per call of beam_substitution, ours and tangermeme's, motifs and single characters."
    L, model = 1000, beluga_like(1000, a.width)
    X = random_one_hot((1, 4, L), random_state=0).float()
    y = torch.full((1, 2002), 50.0)
    mask = torch.zeros(L, dtype=torch.bool); mask[L // 2 - 25:L // 2 + 25] = True
    mse, rows = torch.nn.MSELoss(reduction='none'), []
    for label, motifs in (('13 motifs + rc', MOTIFS), ('single characters', None)):
        kw = dict(loss=mse, input_mask=mask, beam_size=4, max_iter=a.beam_rounds, tol=0, batch_size=a.batch_size)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            ours, theirs = run([lambda: beam_substitution(model, X, y, motifs, **kw),
                                None if tm is None else lambda: tm.beam_substitution(model, X, y, motifs, device='cpu', **kw)], a.repeats)
        rows.append(('beam_substitution', label, a.repeats, ours, theirs)); print(rows[-1], flush=True)
    return rows


def conv_net(L, n_out=32):
    "Conv, ReLU, max-pool, dense: distinct sequences get distinct outputs (tangermeme's screen fails on tied losses)."
    torch.manual_seed(0)
    feat = torch.nn.Sequential(torch.nn.Conv1d(4, 16, 19), torch.nn.ReLU(), torch.nn.MaxPool1d(10))
    with torch.no_grad(): n = feat(torch.zeros(1, 4, L)).numel()
    return torch.nn.Sequential(feat, torch.nn.Flatten(), torch.nn.Linear(n, n_out)).eval()


def bench_screen(a, tm):
    "Seconds per batch drawn of screen, ours and tangermeme's."
    L, model = 1000, conv_net(1000)
    y, mse, counts = torch.full((1, 32), 1.0), torch.nn.MSELoss(reduction='none'), {'ours': 0, 'theirs': 0}
    from meme_nb.utils import random_one_hot as ours_rng
    def counted(which, f):
        def g(shape, random_state=None): counts[which] += 1; return f(shape, random_state=random_state)
        return g
    kw = dict(loss=mse, n_best=10, batch_size=64, max_iter=a.screen_batches, tol=0, random_state=0)
    fo = lambda: screen(model, (4, L), y, func=counted('ours', ours_rng), **kw)
    ft = None
    if tm is not None:
        from tangermeme.utils import random_one_hot as their_rng
        ft = lambda: tm.screen(model, (4, L), y, device='cpu', func=counted('theirs', their_rng), **kw)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        ours, theirs = run([fo, ft], a.repeats)
    per = a.repeats
    row = ('screen', f'{counts["ours"] / per:.0f} (ours) / {counts["theirs"] / per:.0f} (theirs) batches of 64',
           a.repeats, ours / (counts['ours'] / per), None if ft is None else theirs / (counts['theirs'] / per))
    print(row, flush=True)
    return [row]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--quick', action='store_true', help='one repeat of the unmasked runs, 2 of the masked ones')
    p.add_argument('--length', type=int, default=2000)
    p.add_argument('--width', type=int, default=8)
    p.add_argument('--iters', type=int, default=1)
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--dtypes', default='float32,bfloat16,float16')
    p.add_argument('--skip-unmasked-low', action='store_true', help='only masked runs for bf16/fp16')
    p.add_argument('--only', default='greedy', help='comma-separated: greedy, beam, screen')
    p.add_argument('--repeats', type=int, default=5, help='interleaved pairs for beam and screen')
    p.add_argument('--beam-rounds', type=int, default=2)
    p.add_argument('--screen-batches', type=int, default=20)
    a = p.parse_args()
    try:
        import tangermeme.design as tmd
    except ImportError:
        tmd = None
    tm = None if tmd is None else tmd.greedy_substitution
    only = a.only.split(',')
    if 'beam' in only or 'screen' in only:
        rows = (bench_beam(a, tmd) if 'beam' in only else []) + (bench_screen(a, tmd) if 'screen' in only else [])
        print(f"\n### design: beam_substitution (seconds per call) and screen (seconds per batch)\n")
        print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs (shared with other jobs; noisy), torch {torch.__version__}, "
              f"{torch.get_num_threads()} threads; {datetime.date.today()}. Random-weight Beluga-style model (width {a.width}, "
              f"2002 outputs) for beam, conv net (32 outputs) for screen, 1,000 bp; beam: 50 starts, beam 4, {a.beam_rounds} rounds, batch size {a.batch_size}; "
              f"screen: batches of 64, n_best 10, up to {a.screen_batches} batches. Median of {a.repeats} interleaved pairs.\n")
        print("| call | case | pairs | meme_nb s | tangermeme s | tangermeme / meme_nb |")
        print("|---|---|---|---|---|---|")
        for c, lab, r, o, th in rows:
            print(f"| {c} | {lab} | {r} | {o:.3g} | {'n/a' if th is None else f'{th:.3g}'} | {'n/a' if th is None else f'{th / o:.2f}x'} |")
        if 'greedy' not in only: return
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
