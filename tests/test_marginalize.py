"Tests of meme_nb.marginalize: closed forms, keyword routing, annotations, seed-shaped calls, errors."
import numpy as np, pandas as pd, pytest, torch
from hypothesis import given, settings, strategies as st

from meme_nb.ersatz import substitute, multisubstitute, dinucleotide_shuffle
from meme_nb.marginalize import marginalize, marginalize_annotations
from meme_nb.predict import predict
from meme_nb.ism import saturation_mutagenesis
from meme_nb.utils import random_one_hot, one_hot_encode


def beluga_like(seed=0, n_out=7):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Conv1d(4, 8, 9), torch.nn.ReLU(), torch.nn.MaxPool1d(4),
                               torch.nn.Conv1d(8, 8, 5), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool1d(1),
                               torch.nn.Flatten(), torch.nn.Linear(8, n_out))


def sum_model(X):
    "Weighted position sums: row c weighted by c + 1; closed-form changes under substitution."
    return (X.float() * torch.arange(1., 5.)[None, :, None]).sum(dim=(1, 2))[:, None]


def fake_dls(model, X, args=None, target=0, n_shuffles=20, random_state=None, warning_threshold=1e-3, device=None):
    "Same shape as deep_lift_shap: returns (n, A, L), records the keywords it was given."
    fake_dls.calls.append(dict(target=target, n_shuffles=n_shuffles, warning_threshold=warning_threshold, device=device))
    return X.float() * (target + n_shuffles)
fake_dls.calls = []


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 6), L=st.integers(10, 40), m=st.integers(1, 10), seed=st.integers(0, 1000), data=st.data())
def test_sum_model_closed_form(n, L, m, seed, data):
    X = random_one_hot((n, 4, L), random_state=seed)
    motif = random_one_hot((1, 4, m), random_state=seed + 1)[0]
    start = data.draw(st.one_of(st.none(), st.integers(0, L - m)))
    s = L // 2 - m // 2 if start is None else start
    yb, ya = marginalize(sum_model, X, motif, start=start)
    w = torch.arange(1., 5.)[None, :, None]
    expect = ((motif[None].float() - X[:, :, s:s + m].float()) * w).sum(dim=(1, 2))[:, None]
    torch.testing.assert_close(ya - yb, expect)
    torch.testing.assert_close(yb, sum_model(X))


def test_seed_calls_shapes():
    model = beluga_like()
    X = random_one_hot((10, 4, 200), random_state=0).type(torch.float32)
    yb, ya = marginalize(model, X, "GTGACTCATC", device='cpu')
    assert yb.shape == ya.shape == (10, 7)
    X1 = random_one_hot((1, 4, 200), random_state=0).type(torch.float32)
    ab, aa = marginalize(model, X1, "GTGACTCATC", func=saturation_mutagenesis, target=3, device='cpu')
    assert ab.shape == aa.shape == (1, 4, 200)
    ab2, aa2 = marginalize(model, X1, "GTGACTCATC", func=saturation_mutagenesis, device='cpu',
                           additional_func_kwargs={'target': 3, 'start': 95, 'end': 105})
    assert aa2.shape == (1, 4, 10)
    torch.testing.assert_close(aa2, aa[:, :, 95:105], rtol=1e-4, atol=1e-5)


def test_routing_to_deep_lift_shap_shaped_func():
    fake_dls.calls.clear()
    X = random_one_hot((3, 4, 30), random_state=0).float()
    yb, ya = marginalize(None, X, "ACGT", func=fake_dls, target=267, n_shuffles=1, device='cpu')
    assert fake_dls.calls == [dict(target=267, n_shuffles=1, warning_threshold=1e-3, device='cpu')] * 2
    torch.testing.assert_close(ya, substitute(X, "ACGT").float() * 268)
    fake_dls.calls.clear()
    marginalize(None, X, "ACGT", func=fake_dls, additional_func_kwargs={'target': 267})
    assert [c['target'] for c in fake_dls.calls] == [267, 267]
    with pytest.raises(TypeError, match='n_shufles'):
        marginalize(None, X, "ACGT", func=fake_dls, n_shufles=3)
    fake_dls.calls.clear()
    yb, ya = marginalize_annotations(None, X, X, np.array([[0, 2, 9]]), func=fake_dls, warning_threshold=5e-3)
    assert ya.shape == (1, 3, 4, 30) and {c['warning_threshold'] for c in fake_dls.calls} == {5e-3}
    assert len(fake_dls.calls) == 2  # y_before once, one after per annotation


def test_args_and_multi_output():
    class FlattenDense(torch.nn.Module):
        def __init__(self):
            super().__init__(); torch.manual_seed(0)
            self.dense = torch.nn.Linear(4 * 20, 2)
        def forward(self, X, alpha, beta): return self.dense(X.flatten(1)) * beta + alpha
    X = random_one_hot((5, 4, 20), random_state=0)
    alpha, beta = torch.rand(5, 1), torch.rand(5, 1)
    yb, ya = marginalize(FlattenDense(), X, "ACGT", args=(alpha, beta), batch_size=2)
    torch.testing.assert_close(ya, predict(FlattenDense(), substitute(X, "ACGT"), args=(alpha, beta)))
    with pytest.raises(ValueError, match=r'args\[1\]'):
        marginalize(FlattenDense(), X, "ACGT", args=(alpha, beta[:4]))


def test_annotations_equal_marginalize_each():
    model = beluga_like()
    X = random_one_hot((2, 4, 120), random_state=3).float()
    X = multisubstitute(X, ["GTGACTCATC", "GTGACTCATC", "ACTTCCGCG"], [25, 25])
    X0 = dinucleotide_shuffle(X[:1], n=6, random_state=0)[0]
    seqlets = pd.DataFrame({'example_idx': [0, 1, 0], 'start': [30, 40, 55], 'end': [45, 52, 70],
                            'attribution': [1., .5, .2], 'p-value': [.01, .02, .03]})
    for ann in (seqlets, seqlets[['example_idx', 'start', 'end']].values, torch.tensor(seqlets[['example_idx', 'start', 'end']].values)):
        yb, ya = marginalize_annotations(model, X, X0, ann)
        assert yb.shape == ya.shape == (3, 6, 7)
        for k, (i, s, e) in enumerate(seqlets[['example_idx', 'start', 'end']].values):
            b, a = marginalize(model, X0, X[i, :, s:e])
            torch.testing.assert_close(ya[k], a); torch.testing.assert_close(yb[k], b)


def test_inputs_not_modified():
    X = random_one_hot((4, 4, 30), random_state=0).float()
    X0, m = X.clone(), one_hot_encode("ACGTA").float()
    m0, kw = m.clone(), {'batch_size': 2}
    marginalize(lambda x: x.mul_(3), X, m, additional_func_kwargs=kw)
    marginalize_annotations(lambda x: x.mul_(3), X, X, torch.tensor([[0, 1, 5]]))
    assert torch.equal(X, X0) and torch.equal(m, m0) and kw == {'batch_size': 2}


@pytest.mark.parametrize('bad, err, match', [
    (dict(motif="A" * 31), ValueError, 'motif'),
    (dict(start=-1), ValueError, 'start'),
    (dict(start=27), ValueError, 'start'),
    (dict(motif=3), TypeError, 'motif'),
    (dict(func='predict'), TypeError, 'func'),
    (dict(additional_func_kwargs=[1]), TypeError, 'additional_func_kwargs'),
    (dict(bogus=1), TypeError, 'bogus'),
    (dict(alphabet='ACGT'), TypeError, 'alphabet'),
])
def test_marginalize_errors(bad, err, match):
    calls = []
    def spy(model, X, batch_size=1): calls.append(1); return X
    kw = dict(motif="ACGT", func=spy) | bad
    with pytest.raises(err, match=match):
        marginalize(None, random_one_hot((2, 4, 30), random_state=0), **kw)
    assert calls == []


@pytest.mark.parametrize('ann, match', [
    (np.array([[0, 1, 5, 3]]), 'annotations'), (np.array([[2, 1, 5]]), 'annotations'),
    (np.array([[0, 5, 2]]), 'annotations'), (np.array([[0, -1, 2]]), 'annotations'),
    (np.array([[0, 0, 31]]), 'annotations'), (np.array([[0., 1.5, 3]]), 'annotations'),
    (pd.DataFrame({'a': [0], 'start': [1], 'end': [3]}), 'annotations')])
def test_annotation_errors(ann, match):
    X = random_one_hot((2, 4, 30), random_state=0)
    with pytest.raises(ValueError, match=match):
        marginalize_annotations(lambda x: x, X, X, ann)
    with pytest.raises(TypeError, match='annotations'):
        marginalize_annotations(lambda x: x, X, X, "0 1 3")
    with pytest.raises(ValueError, match='X0'):
        marginalize_annotations(lambda x: x, X, X[:, :3], np.array([[0, 1, 3]]))


# --- issue 12: a keyword given twice, annotations read through the shared index validator ---

@pytest.mark.parametrize('call', ['marginalize', 'marginalize_annotations'])
def test_keyword_both_direct_and_in_additional_func_kwargs_is_a_type_error(call):
    calls = []
    def spy(model, X, target=0, batch_size=1): calls.append(target); return X.float()
    X = random_one_hot((2, 4, 30), random_state=0)
    f = (lambda **kw: marginalize(None, X, "ACGT", func=spy, **kw)) if call == 'marginalize' else \
        (lambda **kw: marginalize_annotations(None, X, X, [[0, 2, 6]], func=spy, **kw))
    with pytest.raises(TypeError, match=r"'target'.*both"):
        f(target=1, additional_func_kwargs={'target': 267})
    assert calls == []
    f(batch_size=2, additional_func_kwargs={'target': 5})      # different names combine
    assert set(calls) == {5}


@pytest.mark.parametrize('ann', [torch.Tensor([[0, 3, 8]]), np.array([[0., 3., 8.]]), [[0, 3, 8]],
                                 pd.DataFrame({'example_idx': [0.], 'start': [3.], 'end': [8.]})])
def test_annotations_accept_integral_floats(ann):
    X = random_one_hot((2, 4, 30), random_state=0)
    yb, ya = marginalize_annotations(sum_model, X, X[:1], ann)
    assert torch.equal(ya[0], sum_model(substitute(X[:1], X[0, :, 3:8])))


@pytest.mark.parametrize('ann, what', [(torch.tensor([[0, 3.5, 8]]), '3.5'), (np.array([[0, np.nan, 8]]), 'nan'),
                                       (np.array([[0, 3, np.inf]]), 'inf'), (torch.tensor([[False, True, True]]), 'booleans')])
def test_annotations_fractions_nan_inf_bool_name_the_argument(ann, what):
    X = random_one_hot((2, 4, 30), random_state=0)
    with pytest.raises(ValueError, match=r'annotations must hold integer indices.*' + what):
        marginalize_annotations(sum_model, X, X, ann)


@pytest.mark.parametrize('motif', ['', torch.zeros(4, 0)])
def test_empty_motif_is_a_no_op_edit(motif):
    model, X = beluga_like(), random_one_hot((3, 4, 60), random_state=1).float()
    yb, ya = marginalize(model, X, motif)
    assert torch.equal(yb, ya)
