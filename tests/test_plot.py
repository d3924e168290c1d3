"""Rendering, property and error tests for meme_nb.plot (the notebook holds the worked examples).

Every test draws on the Agg backend and inspects what was drawn: glyph paths, their extents,
axis limits, annotation bars and labels, and pixels of the saved image."""
import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings, strategies as st
from matplotlib.colors import to_rgb
from matplotlib.image import imread

from meme_nb.io import jaspar_path, read_meme
from meme_nb.plot import plot_logo, plot_pwm
from meme_nb.utils import one_hot_encode


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close('all')


def glyphs(ax):
    "gid -> list of path extents of the letter collections of `ax`."
    return {c.get_gid(): [p.get_extents() for p in c.get_paths()] for c in ax.collections if str(c.get_gid()).startswith('logo:')}


def cells(ax):
    "Every drawn cell as (char, x centre, y0, y1), sorted."
    return sorted((g[5:], round((e.x0 + e.x1) / 2, 6), round(e.y0, 6), round(e.y1, 6)) for g, es in glyphs(ax).items() for e in es)


def expected_cells(V, xs, alphabet='ACGT'):
    "Cells a logo of `V` (A, L) at positions `xs` must have: positives stacked up, negatives down, smallest |v| nearest 0."
    out = []
    for j, x in enumerate(xs):
        up = down = 0.0
        for i in sorted(range(V.shape[0]), key=lambda i: (abs(V[i, j]), i)):
            v = V[i, j]
            if v > 0: out.append((alphabet[i], x, up, up + v)); up += v
            elif v < 0: out.append((alphabet[i], x, down + v, down)); down += v
    return sorted((c, round(float(x), 6), round(float(a), 6), round(float(b), 6)) for c, x, a, b in out)


def labels(ax):
    return [t for t in ax.texts if t.get_gid() == 'annotation:label']


def bars(ax):
    return [l for l in ax.lines if l.get_gid() == 'annotation:bar']


sparse_vals = st.lists(st.sampled_from([0.0, 0.0, 0.25, -0.5, 1.0, -1.5, 0.125, 2.0]), min_size=4, max_size=4 * 30).filter(lambda v: len(v) % 4 == 0)


@settings(max_examples=30, deadline=None)
@given(sparse_vals)
def test_cells_match_values(vals):
    "One glyph per non-zero cell, at its position, with ink exactly spanning its stacked interval."
    V = np.array(vals).reshape(-1, 4).T
    fig, ax = plt.subplots()
    plot_logo(V, ax=ax)
    assert sum(len(es) for es in glyphs(ax).values()) == int((V != 0).sum())
    assert cells(ax) == expected_cells(V, range(V.shape[1]))
    plt.close(fig)


@settings(max_examples=20, deadline=None)
@given(sparse_vals, st.data())
def test_window_keeps_real_coordinates(vals, data):
    V = np.array(vals).reshape(-1, 4).T
    L = V.shape[1]
    start = data.draw(st.integers(0, L - 1))
    end = data.draw(st.integers(start + 1, L))
    fig, ax = plt.subplots()
    plot_logo(torch.tensor(V), ax=ax, start=start, end=end)
    assert ax.get_xlim() == (start - 0.5, end - 0.5)
    assert cells(ax) == expected_cells(V[:, start:end], range(start, end))
    plt.close(fig)


def test_negative_letters_are_upright_and_seed_slices_work():
    V = torch.zeros(4, 2000)
    V[3, 1000], V[3, 1001] = 1.0, -1.0
    fig, ax = plt.subplots()
    plot_logo(V[:, 950:1100], ax=ax)   # the seed's slicing: positions restart at 0
    (c_up, c_down) = ax.collections[3].get_paths()
    np.testing.assert_allclose(c_down.vertices - [1, -1], c_up.vertices, atol=1e-9)   # same shape, shifted, not mirrored
    assert ax.get_xlim() == (-0.5, 149.5)


def test_rendered_pixels_show_the_letter_in_its_colour(tmp_path):
    "The saved image has the A's green exactly over position 3 above zero, and nothing of it elsewhere."
    V = np.zeros((4, 8)); V[0, 3] = 1.0
    fig, ax = plt.subplots(figsize=(4, 2), dpi=100)
    plot_logo(V, ax=ax, ylim=(-1, 1))
    fig.savefig(tmp_path / 'a.png', dpi=100)
    img = imread(tmp_path / 'a.png')[..., :3]
    green = np.all(np.abs(img - to_rgb('#109648')) < 0.02, axis=-1)
    ys, xs = np.nonzero(green)
    assert len(xs) > 50
    (x0, y0), (x1, y1) = ax.transData.transform([(2.5, 0), (3.5, 1)])
    H = img.shape[0]
    assert x0 - 1 <= xs.min() and xs.max() <= x1 + 1
    assert H - y1 - 1 <= ys.min() and ys.max() <= H - y0 + 1   # image rows grow downward
    assert xs.max() - xs.min() > 0.8 * (x1 - x0)


def test_colours_and_custom_alphabet():
    fig, ax = plt.subplots()
    plot_logo(torch.ones(4, 3), ax=ax)
    want = {'logo:A': '#109648', 'logo:C': '#255C99', 'logo:G': '#F7B32B', 'logo:T': '#D62839'}
    for c in ax.collections:
        np.testing.assert_allclose(c.get_facecolor()[0][:3], to_rgb(want[c.get_gid()]))
    fig, ax = plt.subplots()
    plot_logo(np.ones((3, 2)), ax=ax, alphabet=('X', 'Y', 'Z'), color=['r', 'g', 'b'])
    assert [c.get_gid() for c in ax.collections] == ['logo:X', 'logo:Y', 'logo:Z']
    np.testing.assert_allclose(ax.collections[2].get_facecolor()[0][:3], to_rgb('b'))


def test_axes_and_return(tmp_path):
    fig = plt.figure()
    ax1 = plt.subplot(211); ax2 = plt.subplot(212)
    assert plot_logo(torch.ones(4, 5)) is ax2          # None: the current axes
    assert plot_logo(torch.ones(4, 5), ax=ax1) is ax1
    assert len(ax1.collections) == len(ax2.collections) == 4
    fig.savefig(tmp_path / 'two.svg')
    assert (tmp_path / 'two.svg').stat().st_size > 1000


def test_ylim_default_and_given():
    V = np.array([[1.0, -0.5], [0.5, 0.0], [0, 0], [0, 0]])
    fig, ax = plt.subplots()
    plot_logo(V, ax=ax)
    np.testing.assert_allclose(ax.get_ylim(), (-0.5 - 0.1, 1.5 + 0.1))
    plot_logo(V, ax=ax, ylim=(-2, 3))
    assert ax.get_ylim() == (-2, 3)
    plot_logo(V, ax=ax, ylim=0.7)
    assert ax.get_ylim() == (-0.7, 0.7)


# ---------------------------------------------------------------- annotations
def seqlet_frame(rng, n, L):
    s = rng.integers(0, L - 2, size=n)
    e = s + rng.integers(2, 20, size=n)
    return pd.DataFrame({'example_idx': rng.integers(0, 3, size=n), 'start': s, 'end': np.minimum(e, L),
                         'attribution': rng.normal(size=n), 'p-value': rng.random(n)})


@pytest.mark.parametrize('seed', range(6))
def test_labels_never_overlap(seed, tmp_path):
    "Crowded random seqlets: after rendering, no two labels overlap and bars in one row do not overlap."
    rng = np.random.default_rng(seed)
    L = 200
    df = seqlet_frame(rng, 25, L)
    df['example_idx'] = [f'MOTIF{i}' for i in range(len(df))]
    fig, ax = plt.subplots(figsize=(8, 3))
    plot_logo(torch.randn(4, L) * 0.1, ax=ax, annotations=df, score_key='attribution')
    fig.savefig(tmp_path / 'ann.png')
    r = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(r) for t in labels(ax)]
    assert len(boxes) == len(df)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    lines = [l.get_window_extent(r) for l in bars(ax)]
    for i, a in enumerate(lines):
        for b in lines[i + 1:]:
            if abs(a.y0 - b.y0) < 0.5: assert a.x1 <= b.x0 or b.x1 <= a.x0


@pytest.mark.parametrize('seed', range(3))
def test_bars_sit_below_the_letters(seed, tmp_path):
    "When the rows fit in 60% of the axes, every bar is below the lowest letter."
    rng = np.random.default_rng(seed)
    df = seqlet_frame(rng, 6, 200)
    fig, ax = plt.subplots(figsize=(8, 3))
    plot_logo(torch.randn(4, 200) * 0.1, ax=ax, annotations=df, score_key='p-value')
    fig.savefig(tmp_path / 'b.png')
    r = fig.canvas.get_renderer()
    ymin = min(e.y0 for es in glyphs(ax).values() for e in es)
    top_of_band = max(l.get_window_extent(r).y1 for l in bars(ax))
    assert top_of_band <= ax.transData.transform((0, ymin))[1] + 0.5
    assert len(bars(ax)) == len(df)


def test_annotation_window_labels_and_coordinates():
    df = pd.DataFrame({'example_idx': [0, 0, 0, 0], 'start': [1028, 1573, 927, 957], 'end': [1044, 1588, 942, 972],
                       'attribution': [0.727307, -0.032544, -0.001295, 0.643915], 'p-value': [4.8e-3, 4.7e-15, 5.3e-3, 6.7e-3]})
    before = df.copy()
    X_attr = torch.randn(1, 4, 2000)
    fig, ax = plt.subplots(figsize=(12, 2))
    plot_logo(X_attr[0], ax=ax, start=925, end=1100, annotations=df, score_key='attribution')   # the seed's call
    assert sorted(t.get_text() for t in labels(ax)) == ['0: -0.00129', '0: 0.644', '0: 0.727']
    assert sorted(tuple(b.get_xdata()) for b in bars(ax)) == [(926.5, 941.5), (956.5, 971.5), (1027.5, 1043.5)]
    assert ax.get_xlim() == (924.5, 1099.5)
    pd.testing.assert_frame_equal(df, before)
    fig, ax = plt.subplots()
    plot_logo(X_attr[0], ax=ax, start=1030, end=1040, annotations=df.assign(motif_name=['AP-1', 'x', 'y', 'z']), show_score=False)
    assert [t.get_text() for t in labels(ax)] == ['AP-1']
    assert [tuple(b.get_xdata()) for b in bars(ax)] == [(1029.5, 1039.5)]   # clipped to the window


def test_bars_stay_visible_after_user_ylim(tmp_path):
    "The seeds set ylim after the call; the bars live in axes coordinates, so they stay inside the axes."
    df = pd.DataFrame({'example_idx': ['MYC'], 'start': [10], 'end': [20], 'attribution': [0.4]})
    fig, ax = plt.subplots(figsize=(6, 1.5))
    plot_logo(torch.rand(4, 50), ax=ax, annotations=df, show_score=False, score_key='attribution')
    plt.ylim(-0.01, plt.gca().get_ylim()[1])
    fig.savefig(tmp_path / 'y.png')
    r = fig.canvas.get_renderer()
    ab, bb = ax.get_window_extent(r), bars(ax)[0].get_window_extent(r)
    assert ab.y0 < bb.y0 < ab.y1


# ---------------------------------------------------------------- errors and immutability
@pytest.mark.parametrize('kwargs, exc, match', [
    (dict(X_attr=torch.zeros(1, 4, 10)), ValueError, r'X_attr must have shape \(4, length\).*X_attr\[0\]'),
    (dict(X_attr=torch.zeros(5, 10)), ValueError, r'X_attr must have shape \(4, length\)'),
    (dict(X_attr=[[0.0] * 3] * 4), TypeError, 'X_attr must be a torch.Tensor or numpy array'),
    (dict(X_attr=torch.tensor([[0.0, float('inf')]] * 4)), ValueError, r'X_attr must be finite; got inf at index \(0, 1\)'),
    (dict(X_attr=np.full((4, 3), np.nan)), ValueError, 'X_attr must be finite; got nan'),
    (dict(start=5, end=5), ValueError, r'end must be > start \(5\)'),
    (dict(start=6, end=5), ValueError, r'end must be > start \(6\)'),
    (dict(start=10), ValueError, r'start must be in \[0, 9\]'),
    (dict(end=11), ValueError, r'end must be in \[1, 10\]'),
    (dict(start=-1), ValueError, r'start must be in \[0, 9\]'),
    (dict(end=2.5), TypeError, 'end must be an int'),
    (dict(color='notacolour'), ValueError, 'color must be'),
    (dict(color={'A': 'r'}), ValueError, 'color must give a colour for every character'),
    (dict(ylim=(1, 0)), ValueError, 'ylim must be'),
    (dict(ylim=-1), ValueError, 'ylim must be'),
    (dict(alphabet=['A', 'A', 'G', 'T']), ValueError, 'alphabet must not repeat'),
    (dict(ax=3), TypeError, 'ax must be a matplotlib Axes'),
    (dict(annotations=np.zeros((2, 3))), TypeError, 'annotations must be a pandas DataFrame'),
    (dict(annotations=pd.DataFrame({'name': ['a'], 'begin': [1], 'end': [3]})), ValueError, r"annotations must have columns 'start' and 'end'; missing \['start'\]"),
    (dict(annotations=pd.DataFrame({'name': ['a'], 'start': [1], 'end': [3]})), ValueError, "score_key 'score' is not a column of annotations"),
    (dict(annotations=pd.DataFrame({'name': ['a'], 'start': [4], 'end': [3]}), show_score=False), ValueError, 'annotations must have numeric start < end'),
    (dict(annotations=pd.DataFrame({'name': ['a'], 'start': ['x'], 'end': [3]}), show_score=False), ValueError, 'annotations must have numeric start < end'),
])
def test_bad_input_raises_before_drawing(kwargs, exc, match):
    fig, ax = plt.subplots()
    kwargs = {'X_attr': torch.ones(4, 10), 'ax': ax, **kwargs}
    with pytest.raises(exc, match=match):
        plot_logo(**kwargs)
    assert len(ax.collections) == 0 and len(ax.texts) == 0


def test_inputs_not_modified():
    X = torch.randn(4, 30, requires_grad=True)
    X0 = X.detach().clone()
    A = X0.numpy().copy(); A0 = A.copy()
    fig, ax = plt.subplots()
    plot_logo(X, ax=ax); plot_logo(A, ax=ax, start=3, end=20)
    assert torch.equal(X.detach(), X0) and np.array_equal(A, A0)
    P = torch.tensor([[2.0, 0], [2, 0], [0, 3], [0, 1]]); P0 = P.clone()
    plot_pwm(P, ax=ax)
    assert torch.equal(P, P0)


# ---------------------------------------------------------------- plot_pwm
def information(p):
    with np.errstate(divide='ignore', invalid='ignore'):
        return 2 + np.nansum(p * np.log2(p), axis=0)


def test_pwm_heights_are_information_content():
    motifs = read_meme(jaspar_path())
    for name in list(motifs)[:5]:
        fig, ax = plt.subplots()
        assert plot_pwm(motifs[name], ax=ax, name=name) is ax
        p = motifs[name].double().numpy(); p = p / p.sum(0)
        h = p * information(p)
        got = sorted(e.height for es in glyphs(ax).values() for e in es)
        np.testing.assert_allclose(got, sorted(h[h > 0]), atol=1e-6)
        assert ax.get_ylim() == (0, 2) and ax.get_title() == name and ax.get_ylabel() == 'bits'
        assert max(e.y1 for es in glyphs(ax).values() for e in es) <= 2 + 1e-9


def test_pwm_extremes_and_forms():
    fig, ax = plt.subplots()
    plot_pwm(np.full((1, 4, 3), 0.25), ax=ax)        # uniform: zero bits, so nothing (or nothing visible) is drawn
    assert all(e.height < 1e-12 for es in glyphs(ax).values() for e in es)
    fig, ax = plt.subplots()
    plot_pwm(one_hot_encode('GATTACA').float() * 7, ax=ax)    # counts are normalized; certain columns are 2 bits
    assert cells(ax) == sorted((c, float(i), 0.0, 2.0) for i, c in enumerate('GATTACA'))


@pytest.mark.parametrize('pwm, kwargs, exc, match', [
    (torch.ones(5, 3), {}, ValueError, r'pwm must have shape \(4, length\)'),
    (torch.ones(2, 4, 3), {}, ValueError, r'pwm must have shape \(4, length\)'),
    ('ACGT', {}, TypeError, 'pwm must be a torch.Tensor or numpy array'),
    (torch.full((4, 3), -0.1), {}, ValueError, 'pwm must be non-negative'),
    (torch.tensor([[1.0, 0], [0, 0], [0, 0], [0, 0]]), {}, ValueError, 'pwm has a column summing to 0 at position 1'),
    (torch.full((4, 2), float('nan')), {}, ValueError, 'pwm must be finite'),
    (torch.full((4, 2), 0.25), {'name': 5}, TypeError, 'name must be a str or None'),
])
def test_pwm_bad_input(pwm, kwargs, exc, match):
    fig, ax = plt.subplots()
    with pytest.raises(exc, match=match):
        plot_pwm(pwm, ax=ax, **kwargs)
    assert len(ax.collections) == 0
