"Tests of meme_nb.space: equivalence with multisubstitute, shapes from the spacing seed, validation."
import numpy as np, pytest, torch
from hypothesis import given, settings, strategies as st

import meme_nb.space as space_mod
from meme_nb.ersatz import multisubstitute
from meme_nb.predict import predict
from meme_nb.space import space
from meme_nb.utils import random_one_hot


def beluga_like(seed=0, n_out=5):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Conv1d(4, 8, 9), torch.nn.ReLU(), torch.nn.MaxPool1d(4),
                               torch.nn.Conv1d(8, 8, 5), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool1d(1),
                               torch.nn.Flatten(), torch.nn.Linear(8, n_out))


def test_seed_shapes():
    model, X = beluga_like(), random_one_hot((8, 4, 300), random_state=0).type(torch.float32)
    yb, ya = space(model, X, ["GTGACTCATC", "GTGACTCATC"], spacing=[[10]], device='cpu')
    assert yb.shape == ya.shape == (8, 1, 5)
    yb, ya = space(model, X, ["GTGACTCATC", "GTGACTCATC"], spacing=torch.arange(50)[:, None], device='cpu')
    assert yb.shape == ya.shape == (8, 50, 5)
    assert torch.equal(yb[:, 0], yb[:, 49])
    for sp in ([[10, 10]], [[4, 10]]):
        yb, ya = space(model, X, ["GTGACTCATC", "ACATTG", "ATAGA"], spacing=sp, device='cpu')
        assert ya.shape == (8, 1, 5)
    spacing = torch.zeros(50, 2); spacing[:, 0] = torch.arange(50); spacing[:, 1] = 10
    yb, ya = space(model, X, ["CTCAGTGATG", "ACATTG", "ATAGA"], spacing=spacing, device='cpu')
    assert ya.shape == (8, 50, 5)
    torch.testing.assert_close(ya[:, 17], predict(model, multisubstitute(X, ["CTCAGTGATG", "ACATTG", "ATAGA"], [17, 10])))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 5), L=st.integers(20, 50), k=st.integers(1, 3), S=st.integers(1, 6),
       rows=st.sampled_from([1, 3, 1024]), centred=st.booleans(), seed=st.integers(0, 10**6))
def test_row_k_equals_multisubstitute(n, L, k, S, rows, centred, seed):
    rng = np.random.default_rng(seed)
    motifs = [''.join(rng.choice(list('ACGT'), rng.integers(1, 5))) for _ in range(k)]
    spacing = torch.from_numpy(rng.integers(0, 4, size=(S, k - 1)))
    span = sum(map(len, motifs)) + int(spacing.sum(1).max())
    start = None if centred else int(rng.integers(0, L - span + 1))
    X = random_one_hot((n, 4, L), random_state=seed)
    a = torch.from_numpy(rng.random((n, 1))).float()
    f = lambda x, a: x[:, 0].float() * 2 + x[:, 1].float() + a
    old, space_mod._ROWS = space_mod._ROWS, rows
    try: yb, ya = space(f, X, motifs, spacing, start=start, args=(a,), batch_size=3)
    finally: space_mod._ROWS = old
    assert ya.shape == yb.shape == (n, S, L)
    for r in range(S):
        torch.testing.assert_close(ya[:, r], f(multisubstitute(X, motifs, spacing[r].tolist() if k > 1 else [], start=start), a))
        torch.testing.assert_close(yb[:, r], f(X, a))


def test_before_computed_once_and_multi_output():
    calls = []
    def two_heads(model, X, args=None):
        calls.append(len(X))
        return [X[:, 0].float(), X.float().sum(dim=(1, 2))]
    X = random_one_hot((3, 4, 40), random_state=0)
    (p0, c0), (p1, c1) = space(None, X, ["AA", "CC"], torch.arange(5)[:, None], func=two_heads)
    assert calls == [15, 3]
    assert p0.shape == p1.shape == (3, 5, 40) and c0.shape == c1.shape == (3, 5)


def test_inputs_not_modified():
    X = random_one_hot((3, 4, 40), random_state=0).float()
    X0, sp = X.clone(), torch.tensor([[1], [2]])
    sp0 = sp.clone()
    space(lambda x: x.mul_(5)[:, 0], X, ["AAA", "CC"], sp)
    assert torch.equal(X, X0) and torch.equal(sp, sp0)


@pytest.mark.parametrize('kw, err, match', [
    (dict(spacing=[[-1]]), ValueError, 'spacing'),
    (dict(spacing=[[1, 2]]), ValueError, 'spacing'),
    (dict(spacing=[1]), ValueError, 'spacing'),
    (dict(spacing=5), ValueError, 'spacing'),
    (dict(spacing=[[0.5]]), ValueError, 'spacing'),
    (dict(spacing=[[0], [35]]), ValueError, 'spacing row 1'),
    (dict(spacing=[['x']]), TypeError, 'spacing'),
    (dict(motifs=["A" * 41, "A"]), ValueError, r'motifs\[0\]'),
    (dict(motifs="AAAA"), TypeError, 'motifs'),
    (dict(start=35), ValueError, 'start'),
    (dict(args=(torch.rand(2, 1),)), ValueError, r'args\[0\]'),
    (dict(bogus=3), TypeError, 'bogus'),
])
def test_errors_before_any_work(kw, err, match):
    calls = []
    def spy(model, X, args=None): calls.append(1); return X
    X = random_one_hot((3, 4, 40), random_state=0)
    base = dict(motifs=["AAAA", "CCC"], spacing=[[1]], func=spy) | kw
    with pytest.raises(err, match=match):
        space(None, X, **base)
    assert calls == []


def test_keyword_both_direct_and_in_additional_func_kwargs_is_a_type_error():
    calls = []
    def spy(model, X, batch_size=1): calls.append(batch_size); return X.float().sum((1, 2))[:, None]
    X = random_one_hot((3, 4, 40), random_state=0)
    with pytest.raises(TypeError, match=r"'batch_size'.*both"):
        space(None, X, ["AAAA", "CCC"], [[1]], func=spy, batch_size=2, additional_func_kwargs={'batch_size': 3})
    assert calls == []
    space(None, X, ["AAAA", "CCC"], [[1]], func=spy, additional_func_kwargs={'batch_size': 3})
    assert set(calls) == {3}


def test_space_refuses_X_that_is_not_one_hot():
    X = random_one_hot((3, 4, 40), random_state=0).float()
    X[1, :, 5] = 1
    with pytest.raises(ValueError, match='X must be one-hot'):
        space(lambda x: x.float().sum((1, 2))[:, None], X, ["AAAA", "CCC"], [[1]])
