"Tests of meme_nb.ism.saturation_mutagenesis: closed form, brute force, raw outputs, batching, state, errors."
import pytest, torch
from hypothesis import given, settings, strategies as st

from meme_nb.ism import saturation_mutagenesis
from meme_nb.predict import predict
from meme_nb.utils import random_one_hot


def linear_model(A=4, L=15, n_out=3, seed=0):
    torch.manual_seed(seed)
    m = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(A * L, n_out))
    return m, m[1].weight.detach().reshape(n_out, A, L)


def brute_force(model, X, start, end):
    "Predictions for every mutant, built one by one: (n, A, end-start, ...)."
    n, A, L = X.shape
    out = torch.empty(n, A, end - start, *predict(model, X[:1]).shape[1:])
    for c in range(A):
        for p in range(start, end):
            Xe = X.clone().float(); Xe[:, :, p] = 0; Xe[:, c, p] = 1
            out[:, c, p - start] = predict(model, Xe)
    return out


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 4), L=st.integers(2, 20), bs=st.integers(1, 50), seed=st.integers(0, 1000), data=st.data())
def test_linear_closed_form(n, L, bs, seed, data):
    model, W = linear_model(L=L, seed=seed)
    start = data.draw(st.integers(0, L - 1)); end = data.draw(st.integers(start + 1, L))
    target = data.draw(st.sampled_from([None, 0, 2, slice(1, 3), [0, 2]]))
    X = random_one_hot((n, 4, L), random_state=seed)
    Wt = W if target is None else W[target if not isinstance(target, int) else [target]]
    centred = (Wt - Wt.mean(dim=1, keepdim=True)).mean(dim=0)[:, start:end]
    hyp = saturation_mutagenesis(model, X, start=start, end=end, batch_size=bs, target=target, hypothetical=True)
    torch.testing.assert_close(hyp, centred[None].expand(n, -1, -1), rtol=1e-4, atol=1e-5)
    attr = saturation_mutagenesis(model, X, start=start, end=end, batch_size=bs, target=target)
    torch.testing.assert_close(attr, centred[None] * X[:, :, start:end], rtol=1e-4, atol=1e-5)


def test_nonlinear_matches_brute_force_and_raw():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv1d(4, 8, 5, padding=2), torch.nn.ELU(), torch.nn.MaxPool1d(2),
                                torch.nn.Conv1d(8, 3, 3), torch.nn.Flatten(), torch.nn.Linear(3 * 8, 4))
    X = random_one_hot((3, 4, 20), random_state=1)
    yh = brute_force(model, X, 4, 17)
    y0, y_hat = saturation_mutagenesis(model, X, start=4, end=17, raw_outputs=True, batch_size=13)
    torch.testing.assert_close(y0, predict(model, X))
    torch.testing.assert_close(y_hat, yh, rtol=1e-5, atol=1e-6)
    d = (yh - y0[:, None, None]).mean(-1)
    torch.testing.assert_close(saturation_mutagenesis(model, X, start=4, end=17, hypothetical=True),
                               d - d.mean(1, keepdim=True), rtol=1e-5, atol=1e-6)


def test_multi_output_needs_raw_outputs():
    class Two(torch.nn.Module):
        def __init__(self):
            super().__init__(); torch.manual_seed(0)
            self.conv = torch.nn.Conv1d(4, 2, 3, padding=1)
        def forward(self, X, ctrl): return self.conv(X) + ctrl, self.conv(X).sum((1, 2))[:, None]
    X, ctrl = random_one_hot((2, 4, 10), random_state=0), torch.rand(2, 2, 10)
    with pytest.raises(ValueError, match='raw_outputs=True'):
        saturation_mutagenesis(Two(), X, args=(ctrl,))
    (p0, c0), (ph, ch) = saturation_mutagenesis(Two(), X, args=(ctrl,), raw_outputs=True, start=2, end=6)
    assert ph.shape == (2, 4, 4, 2, 10) and ch.shape == (2, 4, 4, 1)
    Xe = X.clone().float(); Xe[1, :, 3] = torch.tensor([0., 0., 0., 1.])
    torch.testing.assert_close(ph[1, 3, 1], Two()(Xe, ctrl)[0][1])


def test_batches_flat_and_no_op_skipped():
    "Every forward pass sees at most batch_size rows; the observed character is never run; reference once per sequence."
    model, _ = linear_model(L=300)
    sizes = []
    f = lambda x: (sizes.append(x.shape[0]), model(x))[1]
    X = random_one_hot((5, 4, 300), random_state=0)
    saturation_mutagenesis(f, X, batch_size=64)
    assert max(sizes) == 64
    assert sum(sizes) == 5 + 5 * 300 * 3


def test_state_inputs_and_dtypes():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv1d(4, 4, 3), torch.nn.Dropout(0.5), torch.nn.Flatten(), torch.nn.Linear(4 * 8, 2))
    X = random_one_hot((3, 4, 10), random_state=0)
    X0, w = X.clone(), model[0].weight
    a = saturation_mutagenesis(model, X)
    assert model.training and model[0].weight is w and torch.equal(X, X0)
    torch.testing.assert_close(saturation_mutagenesis(model, X), a)  # dropout off
    torch.testing.assert_close(saturation_mutagenesis(model, X.bool(), dtype=torch.float64), a, rtol=1e-5, atol=1e-6)
    assert saturation_mutagenesis(model, X, dtype=torch.bfloat16).dtype == torch.float32
    assert model[0].weight.dtype == torch.float32


@pytest.mark.parametrize('kw, err, match', [
    (dict(X=torch.rand(2, 4, 10)), ValueError, 'X must be one-hot'),
    (dict(X=random_one_hot((2, 4, 10))[0]), ValueError, 'X must have shape'),
    (dict(X=random_one_hot((2, 4, 10)).numpy()), TypeError, 'X must be a torch.Tensor'),
    (dict(start=11), ValueError, 'start'), (dict(start=-2), ValueError, 'start'),
    (dict(start=4, end=4), ValueError, 'end'), (dict(end=12), ValueError, 'end'),
    (dict(args=(torch.rand(3, 1),)), ValueError, r'args\[0\]'), (dict(args=torch.rand(2, 1)), TypeError, 'args'),
    (dict(batch_size=0), ValueError, 'batch_size'), (dict(target=1.5), TypeError, 'target'),
    (dict(device='nope'), ValueError, 'device'), (dict(dtype=torch.int32), ValueError, 'dtype'),
])
def test_errors_before_any_work(kw, err, match):
    calls = []
    f = lambda x, *a: (calls.append(1), x.sum((1, 2))[:, None])[1]
    base = dict(X=random_one_hot((2, 4, 10), random_state=0)) | kw
    with pytest.raises(err, match=match):
        saturation_mutagenesis(f, **base)
    assert calls == []


def test_target_out_of_range_checked_before_mutants():
    calls = []
    f = lambda x: (calls.append(len(x)), x.sum((1, 2))[:, None])[1]
    with pytest.raises(ValueError, match='target 1 does not index'):
        saturation_mutagenesis(f, random_one_hot((2, 4, 10), random_state=0), target=1)
    assert calls == [2]
