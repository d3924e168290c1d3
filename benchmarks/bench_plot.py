"""Benchmark for meme_nb.plot: drawing a sequence logo and saving it as a PNG.

Times `plot_logo` + `savefig` (Agg, 100 dpi, figure 20 x 2 in) on random
attribution tracks of several lengths, in two densities: `observed` (one
non-zero character per position, as deep_lift_shap returns by default) and
`hypothetical` (all four characters non-zero). Baselines:

- `text`: one `ax.text` per non-zero letter (no scaling to height; the cheapest
  text-based logo possible, so a lower bound for that approach);
- `glyph-nocache`: one PathPatch per letter, building the TextPath anew for
  each cell and scaling it to the cell (what a logo drawn without caching does);
- `tangermeme`: tangermeme's `plot_logo`, where installed.

Each row is the median of `--repeats` runs after one warm-up (a warm-up over 2 s
counts as one of the runs, to keep the slow baselines affordable).

    python benchmarks/bench_plot.py [--repeats 3] [--quick]
"""
import argparse, datetime, io, os, platform, statistics, time

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.font_manager import FontProperties
from matplotlib.patches import PathPatch
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D

from meme_nb.plot import plot_logo

try:
    import importlib.metadata as md
    from tangermeme.plot import plot_logo as tm_plot_logo
    TM = md.version('tangermeme')
except ImportError:
    TM = None

FONT = FontProperties(family='DejaVu Sans', weight='bold')
COLORS = ('#109648', '#255C99', '#F7B32B', '#D62839')


def track(L, density, rng):
    "Random attributions (4, L): one non-zero per position (`observed`) or four (`hypothetical`)."
    vals = rng.normal(0, 0.1, size=(4, L)).astype(np.float32)
    if density == 'observed': vals *= np.eye(4, dtype=np.float32)[:, rng.integers(0, 4, size=L)]
    return torch.from_numpy(vals)


def render(draw, X):
    "Draw with `draw(ax, X)` on a fresh 20 x 2 in figure and save it as a PNG in memory."
    fig, ax = plt.subplots(figsize=(20, 2))
    draw(ax, X)
    fig.savefig(io.BytesIO(), format='png', dpi=100)
    plt.close(fig)


def draw_meme(ax, X): plot_logo(X, ax=ax)


def draw_text(ax, X):
    V = X.numpy()
    for i, c in enumerate('ACGT'):
        for j in np.flatnonzero(V[i]):
            ax.text(j, min(V[i, j], 0), c, color=COLORS[i], fontsize=6, ha='center')
    ax.set_xlim(-0.5, V.shape[1] - 0.5); ax.set_ylim(V.min() - 0.1, V.max() + 0.1)


def draw_nocache(ax, X):
    V = X.numpy()
    for i, c in enumerate('ACGT'):
        for j in np.flatnonzero(V[i]):
            p = TextPath((0, 0), c, size=1, prop=FONT)
            e = p.get_extents()
            t = Affine2D().translate(-e.x0, -e.y0).scale(0.95 / e.width, abs(V[i, j]) / e.height).translate(j - 0.475, min(V[i, j], 0))
            ax.add_patch(PathPatch(t.transform_path(p), facecolor=COLORS[i], edgecolor='none'))
    ax.set_xlim(-0.5, V.shape[1] - 0.5); ax.set_ylim(V.min() - 0.1, V.max() + 0.1)


def draw_tm(ax, X): tm_plot_logo(X, ax=ax)


def median_time(f, repeats):
    "Median of `repeats` timed runs after a warm-up; a warm-up over 2 s (slow baselines) counts as a run."
    t = time.perf_counter(); f(); warm = time.perf_counter() - t
    ts = [warm] if warm > 2 else []
    while len(ts) < repeats:
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--quick', action='store_true', help='100 and 500 positions only, 1 repeat')
    a = p.parse_args()
    sizes, repeats = ((100, 500), 1) if a.quick else ((100, 500, 2000), a.repeats)
    methods = {'meme_nb': draw_meme, 'text': draw_text, 'glyph-nocache': draw_nocache}
    if TM: methods[f'tangermeme {TM}'] = draw_tm
    rng = np.random.default_rng(0)
    print(f"## plot_logo + savefig (PNG, 20x2 in, 100 dpi)\n\nmachine: {platform.node()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs (shared); date {datetime.date.today()}; median of {repeats} run(s) after a warm-up\n")
    print('| positions | density | cells | ' + ' | '.join(f'{m} (s)' for m in methods) + ' | ' + ' | '.join(f'{m} / meme_nb' for m in list(methods)[1:]) + ' |')
    print('|' + '---|' * (3 + 2 * len(methods) - 1))
    for L in sizes:
        for density in ('observed', 'hypothetical'):
            X = track(L, density, rng)
            t = {m: median_time(lambda f=f: render(f, X), repeats) for m, f in methods.items()}
            ratios = ' | '.join(f"{t[m] / t['meme_nb']:.1f}x" for m in list(methods)[1:])
            print(f"| {L:,} | {density} | {int((X != 0).sum()):,} | " + ' | '.join(f'{v:.3f}' for v in t.values()) + f' | {ratios} |', flush=True)


if __name__ == '__main__': main()
