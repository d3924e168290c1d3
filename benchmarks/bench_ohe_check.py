"""Cost of the one-hot check every ersatz edit now makes (issue 12), and whether any edit slowed down.

Two measurements, each as interleaved pairs (A then B, repeated; the median of the
per-pair ratios B / A is reported, which cancels most of the drift of a shared machine):

1. check / substitute: `_check_one_hot(X)` against `substitute(X, motif)` (which
   includes the check) on 10,000 x 2,000 bp, for int8, bool and float32 X.
   Target: below 5%.
2. new / old for every ersatz function, when `--baseline DIR` names a copy of an
   older `meme_nb` package directory (e.g. from `git worktree add /tmp/base <commit>`):
   the older code is loaded under another module name and timed in the same process.

    python benchmarks/bench_ohe_check.py [--pairs 7] [--n 10000] [--length 2000] [--baseline /tmp/base/meme_nb]
"""
import argparse, datetime, importlib.util, os, platform, statistics, sys, time

import torch

from meme_nb import ersatz, utils


def load_baseline(path):
    "Import the package directory `path` (an older meme_nb) as module `meme_nb_base`; return its ersatz module."
    spec = importlib.util.spec_from_file_location('meme_nb_base', os.path.join(path, '__init__.py'), submodule_search_locations=[path])
    mod = importlib.util.module_from_spec(spec)
    sys.modules['meme_nb_base'] = mod
    spec.loader.exec_module(mod)
    return importlib.import_module('meme_nb_base.ersatz')


def once(f):
    t = time.perf_counter(); f(); return time.perf_counter() - t


def pair_ratios(fa, fb, pairs):
    "Interleaved timings: `pairs` rounds of (fa, fb) after one warm-up each; return (median a, median b, median of b/a)."
    fa(); fb()
    ta, tb = [], []
    for _ in range(pairs):
        ta.append(once(fa)); tb.append(once(fb))
    return statistics.median(ta), statistics.median(tb), statistics.median(b / a for a, b in zip(ta, tb))


def edits(mod, X, Xd):
    "The ersatz calls timed, on `X` (large) and `Xd` (dinucleotide_shuffle's smaller batch)."
    return {
        'substitute': lambda: mod.substitute(X, 'GTGACTCATC'),
        'insert': lambda: mod.insert(X, 'GTGACTCATC'),
        'multisubstitute': lambda: mod.multisubstitute(X, ['GTGACTCATC', 'TGACGTCA'], 5),
        'delete': lambda: mod.delete(X, 100, 110),
        'randomize': lambda: mod.randomize(X, 900, 1100, random_state=0),
        'shuffle': lambda: mod.shuffle(X, 900, 1100, random_state=0),
        'dinucleotide_shuffle': lambda: mod.dinucleotide_shuffle(Xd, n=20, random_state=0),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--pairs', type=int, default=7)
    ap.add_argument('--n', type=int, default=10_000)
    ap.add_argument('--length', type=int, default=2_000)
    ap.add_argument('--baseline', default=None, help='directory of an older meme_nb package to compare against')
    a = ap.parse_args()
    print(f"# bench_ohe_check: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, torch {torch.__version__} ({torch.get_num_threads()} threads); {a.pairs} interleaved pairs\n")
    X8 = utils.random_one_hot((a.n, 4, a.length), random_state=0)
    print(f"## 1. check / substitute, {a.n:,} x {a.length:,} bp\n")
    print("| dtype | check (ms) | substitute (ms) | check / substitute |\n|---|---:|---:|---:|")
    for dt in (torch.int8, torch.bool, torch.float32):
        X = X8.to(dt)
        t_sub, t_chk, r = pair_ratios(lambda: ersatz.substitute(X, 'GTGACTCATC'), lambda: utils._check_one_hot(X, 'X', True), a.pairs)
        print(f"| {str(dt).split('.')[-1]} | {1e3 * t_chk:.1f} | {1e3 * t_sub:.1f} | {100 * r:.1f}% |")
        del X
    if a.baseline is None: return
    base = load_baseline(a.baseline)
    Xd = utils.random_one_hot((1_000, 4, a.length), random_state=1)
    print(f"\n## 2. new / old per ersatz function (int8; dinucleotide_shuffle on 1,000 x {a.length:,} bp x 20)\n")
    print("| function | old (ms) | new (ms) | new / old |\n|---|---:|---:|---:|")
    new, old = edits(ersatz, X8, Xd), edits(base, X8, Xd)
    for name in new:
        t_old, t_new, r = pair_ratios(old[name], new[name], a.pairs)
        print(f"| {name} | {1e3 * t_old:.1f} | {1e3 * t_new:.1f} | {r:.2f} |")


if __name__ == '__main__': main()
