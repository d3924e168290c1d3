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


# ---------------------------------------------------------------- fast path: exact against the plain path
import warnings
import torch.nn.functional as F
from meme_nb.models import load_pretrained, CountWrapper, ProfileWrapper
from meme_nb.utils import MemeNbWarning


class Random1d(torch.nn.Module):
    "A random 1-d conv net built from `spec`: convs, pools, crops, pads, residual dilated blocks, elementwise ops; several heads."
    def __init__(self, spec, head, n_ctl=0, C=6, L=48):
        super().__init__()
        self.spec, self.head_kind, self.n_ctl = spec, head, n_ctl
        self.layers = torch.nn.ModuleList()
        c = 4
        for kind, *p in spec:
            if kind == 'conv':
                k, d, pad, s = p
                self.layers.append(torch.nn.Conv1d(c, C, k, dilation=d, padding=pad, stride=s))
            elif kind == 'res': self.layers.append(torch.nn.Conv1d(c, c, 3, dilation=p[0]))
            elif kind == 'bn':
                bn = torch.nn.BatchNorm1d(c); bn.running_mean.uniform_(-1, 1); bn.running_var.uniform_(0.5, 2); bn.weight.data.uniform_(0.5, 1.5)
                self.layers.append(bn)
            else: self.layers.append(torch.nn.Identity())
            if kind == 'conv': c = C
        self.ctl = torch.nn.Conv1d(n_ctl, c, 1) if n_ctl else None
        self.c = c
        self.dense = torch.nn.Linear(c * _out_len(spec, L), 3) if head == 'dense' else None

    def forward(self, X, *args):
        h = X
        for (kind, *p), layer in zip(self.spec, self.layers):
            if kind == 'conv': h = F.elu(layer(h))
            elif kind == 'res': h = h[:, :, p[0]:-p[0]] + torch.relu(layer(h))
            elif kind == 'bn': h = layer(h)
            elif kind == 'maxpool': h = F.max_pool1d(h, p[0], p[1], p[2])
            elif kind == 'avgpool': h = F.avg_pool1d(h, p[0], p[1], p[2])
            elif kind == 'crop': h = h[:, :, p[0]:h.shape[-1] - p[1]]
            elif kind == 'pad': h = F.pad(h, (p[0], p[1]))
            elif kind == 'sigmoid': h = torch.sigmoid(h) * 2 - h
        if self.ctl is not None: h = torch.cat([h, args[0][:, :, :h.shape[-1]]], 1)[:, :self.c] + self.ctl(args[0][:, :, -h.shape[-1]:])
        if self.head_kind == 'dense': return self.dense(h.flatten(1))
        if self.head_kind == 'mean': return h.mean(-1)
        return h                                                  # profile: (n, C, L')


def _out_len(spec, L):
    "Length after `spec`, or None when some layer would leave nothing."
    for kind, *p in spec:
        if kind == 'conv':
            k, d, pad, s = p
            pad = d * (k - 1) // 2 if pad == 'same' else pad
            L = (L + 2 * pad - d * (k - 1) - 1) // s + 1
        elif kind == 'res': L -= 2 * p[0]
        elif kind in ('maxpool', 'avgpool'): L = (L + 2 * p[2] - p[0]) // p[1] + 1
        elif kind == 'crop': L -= p[0] + p[1]
        elif kind == 'pad': L += p[0] + p[1]
        if L < 1: return None
    return L


layer = st.one_of(
    st.tuples(st.just('conv'), st.integers(1, 7), st.integers(1, 3), st.sampled_from([0, 1, 2]), st.sampled_from([1, 1, 2])),
    st.tuples(st.just('conv'), st.sampled_from([3, 5]), st.integers(1, 2), st.just('same'), st.just(1)),
    st.tuples(st.just('res'), st.integers(1, 4)),
    st.tuples(st.just('bn')), st.tuples(st.just('sigmoid')),
    st.tuples(st.just('maxpool'), st.integers(2, 4), st.integers(1, 4), st.integers(0, 1)),
    st.tuples(st.just('avgpool'), st.integers(2, 3), st.integers(1, 3), st.integers(0, 1)),
    st.tuples(st.just('crop'), st.integers(0, 5), st.integers(0, 5)),
    st.tuples(st.just('pad'), st.integers(0, 3), st.integers(0, 3)))


def assert_fast_equals_plain(model, X, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter('error', MemeNbWarning)
        fast = saturation_mutagenesis(model, X, fast=True, **kw)
    plain = saturation_mutagenesis(model, X, fast=False, **kw)
    flat = lambda r: [t for v in (r if isinstance(r, tuple) else (r,)) for t in (v if isinstance(v, list) else [v])]
    y0 = predict(model, X, args=kw.get('args'))
    y_scale = max(float(t.abs().max()) for t in (y0 if isinstance(y0, list) else [y0]))
    assert len(flat(fast)) == len(flat(plain))
    for a, b in zip(flat(fast), flat(plain)):   # 1e-5 relative to the larger of the values and the model's outputs (deltas of outputs)
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5 * max(float(b.abs().max()), y_scale, 1e-6))


def random_case(spec, head, n_ctl, n, seed, L=48):
    "A random net of `spec` with its head and control track, n one-hot sequences of length L and the control inputs; None when its output is too long."
    Lo = _out_len(spec, L)
    if Lo is None or Lo > 80: return None
    torch.manual_seed(seed)
    model = Random1d(spec, head, n_ctl).eval()
    X = random_one_hot((n, 4, L), random_state=seed)
    return model, X, ((torch.rand(n, n_ctl, max(L, 80)),) if n_ctl else None)


@settings(max_examples=25, deadline=None)
@given(spec=st.lists(layer, min_size=1, max_size=5), head=st.sampled_from(['dense', 'mean', 'profile']), n_ctl=st.sampled_from([0, 0, 2]),
       n=st.integers(1, 3), bs=st.sampled_from([1, 5, 32, 500]), seed=st.integers(0, 100), data=st.data())
def test_fast_random_models(spec, head, n_ctl, n, bs, seed, data):
    "Random stacks of convs (dilated, strided, padded), pools, crops, pads, residual blocks: fast == plain, raw and attributions."
    case = random_case(spec, head, n_ctl, n, seed)
    if case is None: return
    model, X, args = case
    L = X.shape[-1]
    start = data.draw(st.integers(0, L - 1)); end = data.draw(st.integers(start + 1, L))
    assert_fast_equals_plain(model, X, args=args, start=start, end=end, batch_size=bs, raw_outputs=True)
    target = data.draw(st.sampled_from([None, 0, slice(0, 2), [0, 2]]))
    assert_fast_equals_plain(model, X, args=args, start=start, end=end, batch_size=bs, target=target,
                             hypothetical=data.draw(st.booleans()))


def test_fast_shipped_beluga_mini():
    model = load_pretrained('beluga_mini')
    X = random_one_hot((2, 4, 300), random_state=0)
    assert_fast_equals_plain(model, X, batch_size=64, hypothetical=True)
    assert_fast_equals_plain(model, X, batch_size=100, target=[1, 5], start=20, end=90, raw_outputs=True)


def test_fast_shipped_bpnet_gata():
    "The (profile, counts) model with its control track, raw, and both wrappers; windows at the crop edges and the centre."
    model = load_pretrained('bpnet_gata')
    X, ctl = random_one_hot((2, 4, 2114), random_state=1), torch.rand(2, 2, 2114) * 3
    for start, end in ((440, 470), (1040, 1070), (1630, 1660)):
        assert_fast_equals_plain(model, X, args=(ctl,), start=start, end=end, batch_size=64, raw_outputs=True)
    assert_fast_equals_plain(CountWrapper(model), X, args=(ctl,), start=1000, end=1030, batch_size=30, hypothetical=True)
    assert_fast_equals_plain(ProfileWrapper(model), X[:1], args=(ctl[:1],), start=1000, end=1020, batch_size=64)


def test_fast_two_inputs_fixed():
    torch.manual_seed(3)
    model = Random1d([('conv', 5, 2, 0, 1), ('res', 2), ('maxpool', 2, 2, 0)], 'dense', n_ctl=2, L=40).eval()
    X, ctl = random_one_hot((3, 4, 40), random_state=3), torch.rand(3, 2, 80)
    assert_fast_equals_plain(model, X, args=(ctl,), batch_size=17, target=1)


def test_fast_default_is_fast_and_exact():
    "fast=None takes the fast path on a conv net (the model's forward sees one reference batch per sequence only)."
    torch.manual_seed(0)
    model = Random1d([('conv', 7, 1, 3, 1), ('maxpool', 2, 2, 0), ('conv', 3, 2, 0, 1)], 'dense', L=40).eval()
    X = random_one_hot((2, 4, 40), random_state=0)
    calls = []
    h = model.register_forward_pre_hook(lambda m, a: calls.append(a[0].shape[0]))
    with warnings.catch_warnings():
        warnings.simplefilter('error', MemeNbWarning)
        a = saturation_mutagenesis(model, X, batch_size=64)
    h.remove()
    assert sum(calls) < 2 * 40 * 3 / 4                            # the plain path would run 240 mutants through forward
    torch.testing.assert_close(a, saturation_mutagenesis(model, X, fast=False), rtol=1e-5, atol=1e-6)


def test_fast_inplace_relu_and_state():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv1d(4, 8, 5), torch.nn.ReLU(inplace=True), torch.nn.BatchNorm1d(8), torch.nn.Dropout(0.3),
                                torch.nn.MaxPool1d(3), torch.nn.Flatten(), torch.nn.Linear(8 * 10, 2))
    X = random_one_hot((2, 4, 34), random_state=0)
    X0, w = X.clone(), model[0].weight
    assert_fast_equals_plain(model, X, batch_size=9)
    assert model.training and model[0].weight is w and torch.equal(X, X0)


class NoRule(torch.nn.Module):
    def __init__(self):
        super().__init__(); torch.manual_seed(0)
        self.conv = torch.nn.Conv1d(4, 3, 5)
    def forward(self, X): return self.conv(X).logcumsumexp(-1)[:, :, -1]


def test_fallback_one_warning_naming_the_op():
    X = random_one_hot((2, 4, 20), random_state=0)
    with pytest.warns(MemeNbWarning, match='no window rule for logcumsumexp') as rec:
        a = saturation_mutagenesis(NoRule(), X)
    assert len([r for r in rec if issubclass(r.category, MemeNbWarning)]) == 1
    torch.testing.assert_close(a, saturation_mutagenesis(NoRule(), X, fast=False))
    with pytest.raises(ValueError, match='fast=True.*logcumsumexp'):
        saturation_mutagenesis(NoRule(), X, fast=True)
    with pytest.raises(ValueError, match='fast=True.*not a torch.nn.Module'):
        saturation_mutagenesis(lambda x: NoRule()(x), X, fast=True)
    with warnings.catch_warnings():  # a plain function runs the plain path without a warning: there is nothing to capture
        warnings.simplefilter('error', MemeNbWarning)
        torch.testing.assert_close(saturation_mutagenesis(lambda x: NoRule()(x), X), a)


def test_nothing_to_gain_runs_plain_silently():
    model, _ = linear_model(L=12)
    with warnings.catch_warnings():
        warnings.simplefilter('error', MemeNbWarning)
        saturation_mutagenesis(model, random_one_hot((2, 4, 12), random_state=0))
    with pytest.raises(TypeError, match='fast must be None, True or False'):
        saturation_mutagenesis(model, random_one_hot((2, 4, 12), random_state=0), fast='yes')


def test_fast_batchnorm_channels_equal_length():
    "Batch norm's per-channel statistics are not positional, even when the channel count equals the length."
    torch.manual_seed(0)
    model = Random1d([('conv', 4, 1, 1, 2), ('conv', 4, 1, 1, 2), ('bn',)], 'profile', L=26).eval()
    X = random_one_hot((2, 4, 26), random_state=0)
    assert model(X.float()).shape[1:] == (6, 6)
    assert_fast_equals_plain(model, X, batch_size=5, raw_outputs=True)
