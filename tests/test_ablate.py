"Tests of meme_nb.ablate: shuffled copies against a per-copy loop, properties, annotations, truth on the shipped classifier."
import numpy as np, pandas as pd, pytest, torch
from hypothesis import given, settings, strategies as st

from meme_nb.ablate import ablate, ablate_annotations
from meme_nb.ersatz import shuffle, dinucleotide_shuffle
from meme_nb.predict import predict
from meme_nb.utils import random_one_hot


def conv_net(seed=0, n_out=3):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Conv1d(4, 8, 5), torch.nn.ReLU(), torch.nn.AdaptiveMaxPool1d(1),
                               torch.nn.Flatten(), torch.nn.Linear(8, n_out)).eval()


def reverse_span(X, start=0, end=-1, n=1, random_state=None):
    "A deterministic 'shuffle': copy k has the span rolled by k + 1 positions."
    out = X[:, None].repeat(1, n, 1, 1)
    for k in range(n): out[:, k, :, start:end] = X[:, :, start:end].roll(k + 1, dims=-1)
    return out


def test_after_equals_model_on_each_copy():
    "y_after[i, k] is the model on copy k of sequence i, computed one copy at a time."
    model, X = conv_net(), random_one_hot((4, 4, 40), random_state=0).float()
    yb, ya = ablate(model, X, 10, 25, n=5, shuffle_fn=shuffle, random_state=7, batch_size=3)
    copies = shuffle(X, start=10, end=25, n=5, random_state=7)
    with torch.no_grad():
        slow = torch.stack([torch.stack([model(copies[i, k][None])[0] for k in range(5)]) for i in range(4)])
        torch.testing.assert_close(yb, model(X))
    torch.testing.assert_close(ya, slow)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(2, 30), st.data())
def test_copies_permute_only_the_span(n_seqs, length, data):
    start = data.draw(st.integers(0, length)); end = data.draw(st.integers(start, length)); n = data.draw(st.integers(1, 4))
    X = random_one_hot((n_seqs, 4, length), random_state=data.draw(st.integers(0, 99)))
    X0 = X.clone()
    yb, ya = ablate(lambda x: x, X, start, end, n=n, func=lambda m, x: x, random_state=1)
    assert torch.equal(X, X0) and torch.equal(yb, X)
    assert ya.shape == (n_seqs, n, 4, length)
    assert torch.equal(ya[..., :start], X[:, None, :, :start].expand(-1, n, -1, -1))
    assert torch.equal(ya[..., end:], X[:, None, :, end:].expand(-1, n, -1, -1))
    assert torch.equal(ya[..., start:end].sum(-1), X[:, None, :, start:end].sum(-1).expand(-1, n, -1))


def test_position_free_model_is_unchanged():
    "A model that only counts characters cannot see a shuffle: y_after == y_before for every copy."
    X = random_one_hot((3, 4, 50), random_state=2).float()
    counts = lambda x: x.sum(-1)
    yb, ya = ablate(counts, X, 5, 45, n=8, random_state=0)
    torch.testing.assert_close(ya, yb[:, None].expand(-1, 8, -1))


def test_seeded_and_func_random_state():
    X = random_one_hot((2, 4, 30), random_state=3)
    seen = []
    def f(model, X, random_state=None): seen.append(random_state); return X.float().sum(1)
    a = ablate(None, X, 0, 30, n=3, func=f, random_state=11).y_after
    b = ablate(None, X, 0, 30, n=3, func=f, random_state=11).y_after
    assert torch.equal(a, b) and seen == [11, 11, 11, 11]
    ablate(None, X, 0, 30, n=3, func=f, random_state=11, additional_func_kwargs={'random_state': 5})
    assert seen[-2:] == [5, 5]


def test_annotations_match_ablate_per_row():
    model, X = conv_net(1), random_one_hot((5, 4, 40), random_state=4).float()
    ann = pd.DataFrame({'example_idx': [3, 0, 3], 'start': [0, 12, 30], 'end': [8, 20, 40], 'name': list('abc')})
    yb, ya = ablate_annotations(model, X, ann, n=4, shuffle_fn=reverse_span)
    assert yb.shape == (3, 1, 3) and ya.shape == (3, 1, 4, 3)
    for r, (i, s, e) in enumerate(ann[['example_idx', 'start', 'end']].itertuples(index=False)):
        rb, ra = ablate(model, X[i:i + 1], s, e, n=4, shuffle_fn=reverse_span)
        torch.testing.assert_close(yb[r], rb); torch.testing.assert_close(ya[r], ra)


def test_dinucleotide_shuffle_and_multi_output():
    class Two(torch.nn.Module):
        def forward(self, X): return X.sum(-1), (X[:, 2, :-1] * X[:, 0, 1:]).sum(-1, keepdim=True)
    X = random_one_hot((3, 4, 60), random_state=5)
    yb, ya = ablate(Two(), X, 0, 60, n=6, shuffle_fn=dinucleotide_shuffle, random_state=0)
    torch.testing.assert_close(ya[1], yb[1][:, None].expand(-1, 6, -1))   # GA count kept
    torch.testing.assert_close(ya[0], yb[0][:, None].expand(-1, 6, -1))   # composition kept


def test_truth_on_beluga_mini():
    "Ablating a planted GATA site lowers the GATA logit; a background span of the same width does not."
    from meme_nb.models import load_pretrained, task_names
    from meme_nb.datasets import make_classifier_data
    model, data = load_pretrained('beluga_mini'), make_classifier_data(40, length=1000, random_state=8)
    gata = task_names('beluga_mini').index('GATA')
    t = data.truth
    counts = t[t.motif == 'GATA'].example_idx.value_counts()
    site = t[(t.motif == 'GATA') & t.example_idx.isin(counts[counts == 1].index)].head(8)
    bg = []
    for i, s, e in site[['example_idx', 'start', 'end']].itertuples(index=False):
        el = t[t.example_idx == i]
        b = next(b for b in range(30, 1000 - (e - s) - 30) if ((el.end + 30 <= b) | (el.start >= b + (e - s) + 30)).all())
        bg.append((i, b, b + e - s))
    yb, ya = ablate_annotations(model, data.X, site, n=10, shuffle_fn=dinucleotide_shuffle, random_state=0)
    bb, ba = ablate_annotations(model, data.X, np.array(bg), n=10, shuffle_fn=dinucleotide_shuffle, random_state=0)
    called = yb[:, 0, gata] > 0   # sequences the model calls GATA-positive: their one site must be the driver
    assert called.sum() >= 3
    assert ((yb[called, 0, gata] - ya[called, 0, :, gata].mean(-1)) > 1).all()
    assert ((bb[:, 0, gata] - ba[:, 0, :, gata].mean(-1)).abs() < 0.5).all()


def test_errors_before_any_call():
    calls = []
    f = lambda model, X: calls.append(1) or X
    X = random_one_hot((2, 4, 20), random_state=0)
    with pytest.raises(ValueError, match='end must be in'): ablate(None, X, 0, 21, func=f)
    with pytest.raises(TypeError, match='n must be an int'): ablate(None, X, 0, 5, n=2.5, func=f)
    with pytest.raises(ValueError, match='shuffle_fn must return'): ablate(None, X, 0, 5, func=f, shuffle_fn=lambda X, **k: X)
    with pytest.raises(ValueError, match=r'annotations\[1\]'): ablate_annotations(None, X, [[0, 0, 5], [2, 0, 5]], func=f)
    with pytest.raises(ValueError, match='integer indices'): ablate_annotations(None, X, np.array([[0, 0, np.nan]]), func=f)
    assert calls == []


def test_fast_none_captures_only_once_enough_copies_were_asked_for(monkeypatch):
    "fast=None: a small call runs plain and captures nothing; once the copies asked for reach the threshold the model is captured and windows give predict's numbers."
    import meme_nb.ism as ism
    monkeypatch.setattr(ism, '_FAST_MIN_EDITS', 25)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv1d(4, 4, 5, padding=2), torch.nn.ReLU(), torch.nn.Conv1d(4, 2, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.Flatten(), torch.nn.Linear(2 * 40, 3)).eval()
    X = random_one_hot((2, 4, 40), random_state=1).float()
    calls = []
    net.register_forward_pre_hook(lambda m, a: calls.append(1))
    plain = lambda model, X, fast=None, **kw: predict(model, X, **kw)
    first = ablate(net, X, 10, 20, n=5, random_state=0)              # 10 copies asked for: plain
    assert net not in ism._PROGRAMS and len(calls) == 2
    second = ablate(net, X, 10, 20, n=5, random_state=0)             # 20: still plain
    assert net not in ism._PROGRAMS
    third = ablate(net, X, 10, 20, n=5, random_state=0)              # 30 >= 25: captured, copies by windows
    assert net in ism._PROGRAMS
    expect = ablate(net, X, 10, 20, n=5, random_state=0, func=plain)
    for r in (first, second, third): torch.testing.assert_close(r.y_after, expect.y_after, atol=1e-5, rtol=1e-5)
