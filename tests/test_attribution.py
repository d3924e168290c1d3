"Properties and edge cases of meme_nb.attribution.deep_lift_shap (slower and combinatorial than the notebook's tests)."
import warnings

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from meme_nb.attribution import Attributions, deep_lift_shap, maxpool_rule, rescale_rule
from meme_nb.ersatz import dinucleotide_shuffle
from meme_nb.utils import MemeNbWarning, random_one_hot

nn = torch.nn
ACTS = [nn.ReLU, nn.ReLU6, nn.ELU, nn.SELU, nn.CELU, nn.LeakyReLU, nn.PReLU, nn.Sigmoid, nn.Hardsigmoid, nn.LogSigmoid,
        nn.Tanh, nn.Hardtanh, nn.Softplus, nn.Softsign, nn.GELU, nn.SiLU, nn.Mish, nn.Hardswish, nn.Tanhshrink]
L = 48


def _init(model, seed, gain=2.0):
    "Weights large enough that outputs differ by O(1) between a sequence and its shuffles."
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (gain / p.shape[-1] ** .5 if p.ndim > 1 else 0.3))
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.normal_(generator=g); m.running_var.uniform_(0.5, 2, generator=g)
    return model.eval()


def _conv_model(act, pool, act2, seed):
    "Conv1d -> BatchNorm -> act -> pool -> Conv1d -> act2 -> Dropout -> Flatten -> Linear -> act -> Linear (3 outputs)."
    body = nn.Sequential(nn.Conv1d(4, 6, 5), nn.BatchNorm1d(6), act(), pool, nn.Conv1d(6, 5, 3, padding=1), act2(),
                         nn.Dropout(0.2), nn.Flatten())
    n = body(torch.zeros(1, 4, L)).shape[1]
    return _init(nn.Sequential(*body, nn.Linear(n, 7), act(), nn.Linear(7, 3)), seed)


POOLS = [lambda: nn.MaxPool1d(2), lambda: nn.MaxPool1d(4, 2), lambda: nn.MaxPool1d(3, 3, padding=1, ceil_mode=True),
         lambda: nn.AvgPool1d(2), lambda: nn.AdaptiveMaxPool1d(9), lambda: nn.AdaptiveAvgPool1d(11), lambda: nn.Identity()]


def _deltas(model, X, R, target, dtype=torch.float32, args=()):
    "Attributions against the single reference R[:, 0]; f(x) - f(r); and max(|f(x)|, |f(r)|)."
    a = deep_lift_shap(model, X, args=args or None, references=R, target=target, dtype=dtype, warning_threshold=1e9)
    with torch.no_grad():
        m = model.to(dtype)
        fx = m(X.to(dtype), *[t.to(dtype) for t in args])[:, target]
        fr = m(R[:, 0].to(dtype), *[t.to(dtype) for t in args])[:, target]
        model.float()
    return a.sum((1, 2)).to(dtype), fx - fr, torch.maximum(fx.abs(), fr.abs())


def _check_summation(model, X, R, target, args=()):
    """Summation-to-delta for every pair. float32: within 1e-5 of max(|f(x)-f(r)|, |f(x)|, |f(r)|) + 1e-6: a gap much smaller
    than the outputs is itself only known to float32 rounding of the forward pass (measured: up to ~50 ulps of the
    output on these random models); float64, where rounding is negligible: 1e-9 relative to |f(x)-f(r)| for every
    pair, which is what shows the rules themselves are exact."""
    s, d, f = _deltas(model, X, R, target, args=args)
    assert (d.abs() > 1e-2 * f).float().mean() >= 0.5  # the gaps are not lost in rounding
    assert ((s - d).abs() <= 1e-5 * torch.maximum(d.abs(), f) + 1e-6).all(), ((s - d).abs() / torch.maximum(d.abs(), f)).max()
    s, d, _ = _deltas(model, X, R, target, torch.float64, args=args)
    assert ((s - d).abs() <= 1e-9 * d.abs() + 1e-12).all(), ((s - d).abs() / d.abs()).max()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(act=st.sampled_from(ACTS), act2=st.sampled_from(ACTS), pool=st.sampled_from(POOLS), seed=st.integers(0, 10_000),
       target=st.integers(0, 2))
def test_summation_to_delta_random_models(act, act2, pool, seed, target):
    model = _conv_model(act, pool(), act2, seed)
    X = random_one_hot((6, 4, L), random_state=seed).float()
    R = dinucleotide_shuffle(X, n=1, random_state=seed + 1)
    _, d, f = _deltas(model, X, R, target)
    assume((d.abs() > 1e-2 * f).float().mean() >= 0.5)  # a random model whose outputs barely move tests nothing
    _check_summation(model, X, R, target)


@pytest.mark.parametrize('pool', [nn.MaxPool2d((1, 2)), nn.AdaptiveMaxPool2d((1, 7)), nn.AvgPool2d((1, 3))])
def test_summation_to_delta_2d(pool):
    "Conv2d over the one-hot as an image (Unflatten), with 2-d pooling."
    body = nn.Sequential(nn.Unflatten(1, (1, 4)), nn.Conv2d(1, 6, (4, 5)), nn.ReLU(), pool, nn.Flatten())
    n = body(torch.zeros(1, 4, L)).shape[1]
    model = _init(nn.Sequential(*body, nn.Linear(n, 4), nn.Softplus(), nn.Linear(4, 2)), 0)
    X = random_one_hot((6, 4, L), random_state=1).float()
    _check_summation(model, X, dinucleotide_shuffle(X, n=1, random_state=2), 1)


class TwoInputs(nn.Module):
    "Sequence branch and a second input combined before a nonlinearity; the ReLU module is called twice."
    def __init__(self):
        super().__init__()
        self.conv, self.relu, self.pool = nn.Conv1d(4, 5, 7), nn.ReLU(), nn.MaxPool1d(3)
        self.ctl, self.dense, self.out = nn.Linear(2, 5 * 14), nn.Linear(5 * 14, 4), nn.Tanh()
    def forward(self, x, c):
        h = self.pool(self.relu(self.conv(x))).flatten(1)
        return self.dense(self.relu(h + self.ctl(c)))


def test_summation_to_delta_two_inputs():
    model = _init(TwoInputs(), 3)
    X = random_one_hot((8, 4, L), random_state=4).float()
    c = torch.randn(8, 2, generator=torch.Generator().manual_seed(5))
    _check_summation(model, X, dinucleotide_shuffle(X, n=1, random_state=6), 2, args=(c,))


def test_several_references_average_and_batch_size():
    "The result is the mean over references of single-reference results, and does not depend on batch_size."
    model = _conv_model(nn.ReLU, nn.MaxPool1d(2), nn.ELU, 7)
    X = random_one_hot((5, 4, L), random_state=8).float()
    R = dinucleotide_shuffle(X, n=6, random_state=9)
    a = deep_lift_shap(model, X, references=R)
    one = torch.stack([deep_lift_shap(model, X, references=R[:, j:j + 1]) for j in range(6)]).mean(0)
    torch.testing.assert_close(a, one, atol=1e-6, rtol=1e-5)
    for bs in (1, 4, 7, 100):
        torch.testing.assert_close(deep_lift_shap(model, X, references=R, batch_size=bs), a, atol=1e-6, rtol=1e-5)
    seeded = deep_lift_shap(model, X, n_shuffles=6, random_state=9, batch_size=5)
    torch.testing.assert_close(seeded, a, atol=1e-6, rtol=1e-5)


def test_hypothetical_projection():
    "hyp[c] = m[c] - sum_a r[a] m[a] averaged over references; hyp * X is the attribution; columns sum like (X - R) m."
    model = _conv_model(nn.Softplus, nn.AvgPool1d(2), nn.Tanh, 11)
    X = random_one_hot((4, 4, L), random_state=12).float()
    R = dinucleotide_shuffle(X, n=3, random_state=13)
    hyp = deep_lift_shap(model, X, references=R, hypothetical=True)
    attr = deep_lift_shap(model, X, references=R)
    torch.testing.assert_close(hyp * X, attr, atol=1e-7, rtol=0)
    # hypothetical contributions differ between characters and are not zero off the observed one
    assert (hyp * (1 - X)).abs().sum() > 0
    # the difference between two characters' hypothetical contributions is the difference of their multipliers,
    # the same for every reference: check against a single-reference run
    h1 = deep_lift_shap(model, X, references=R[:, :1], hypothetical=True)
    assert h1.shape == X.shape


def test_return_references_and_random_state():
    model = _conv_model(nn.ReLU, nn.MaxPool1d(2), nn.ReLU, 0)
    X = random_one_hot((3, 4, L), random_state=0).float()
    res = deep_lift_shap(model, X, n_shuffles=4, random_state=5, return_references=True)
    assert isinstance(res, Attributions)
    attr, refs = res
    assert torch.equal(refs, dinucleotide_shuffle(X, n=4, random_state=5))
    torch.testing.assert_close(deep_lift_shap(model, X, references=refs), attr)
    torch.testing.assert_close(deep_lift_shap(model, X, n_shuffles=4, random_state=5)[0], attr[0])
    other = deep_lift_shap(model, X, n_shuffles=4, random_state=6)
    assert not torch.allclose(other, attr)


def test_custom_references_function_and_uniform_background():
    model = _conv_model(nn.ReLU, nn.MaxPool1d(2), nn.Sigmoid, 1)
    X = random_one_hot((3, 4, L), random_state=0).float()
    def uniform(X, n, random_state): return torch.full((len(X), n, 4, X.shape[-1]), 0.25)
    a = deep_lift_shap(model, X, references=uniform, n_shuffles=2)
    with torch.no_grad(): d = model(X)[:, 0] - model(torch.full_like(X, 0.25))[:, 0]
    torch.testing.assert_close(a.sum((1, 2)), d, atol=1e-5, rtol=1e-4)


def test_target_selects_column():
    model = _conv_model(nn.GELU, nn.MaxPool1d(2), nn.ReLU, 2)
    X = random_one_hot((3, 4, L), random_state=0).float()
    class Col(nn.Module):
        def __init__(self, m, k): super().__init__(); self.m, self.k = m, k
        def forward(self, x): return self.m(x)[:, self.k:self.k + 1]
    for k in range(3):
        torch.testing.assert_close(deep_lift_shap(model, X, target=k, n_shuffles=3, random_state=0),
                                   deep_lift_shap(Col(model, k), X, n_shuffles=3, random_state=0))
    class Trailing(nn.Module):
        def __init__(self): super().__init__(); self.m = model
        def forward(self, x): return self.m(x)[:, :, None]
    torch.testing.assert_close(deep_lift_shap(Trailing(), X, target=1, n_shuffles=2, random_state=0),
                               deep_lift_shap(model, X, target=1, n_shuffles=2, random_state=0))


def test_inputs_and_model_unchanged():
    model = _init(TwoInputs(), 3).train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    X = random_one_hot((4, 4, L), random_state=1).to(torch.int8)
    c = torch.randn(4, 2)
    R = dinucleotide_shuffle(X, n=2, random_state=0)
    X0, c0, R0 = X.clone(), c.clone(), R.clone()
    deep_lift_shap(model, X, args=(c,), references=R, dtype=torch.float64)
    deep_lift_shap(model, X, args=(c,), n_shuffles=2, hypothetical=True)
    assert torch.equal(X, X0) and torch.equal(c, c0) and torch.equal(R, R0)
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert model.training and all(m.training for m in model.modules())
    assert all(len(m._forward_hooks) == 0 for m in model.modules())
    assert all(p.grad is None for p in model.parameters())


def test_integer_args_keep_their_dtype():
    class Indexed(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.conv, self.relu = nn.Embedding(3, 1), nn.Conv1d(4, 1, 5), nn.ReLU()
        def forward(self, x, i): return self.relu(self.conv(x).sum(-1) + self.emb(i))
    X = random_one_hot((4, 4, L), random_state=1).float()
    i = torch.tensor([0, 1, 2, 1])
    a = deep_lift_shap(Indexed(), X, args=(i,), n_shuffles=2, random_state=0,
                       additional_nonlinear_ops={nn.Embedding: None})
    assert a.shape == X.shape


def test_functional_nonlinearity_equals_module_twin():
    "torch.relu in forward (issue 14: once a silent gradient with a warning) now gets the ReLU rule: same as nn.ReLU, no warning."
    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.dense = nn.Conv1d(4, 6, 5), nn.Linear(6 * (L - 4), 1)
        def forward(self, x): return self.dense(torch.relu(self.conv(x)).flatten(1))
    model = _init(Functional(), 0)
    twin = nn.Sequential(model.conv, nn.ReLU(), nn.Flatten(), model.dense)
    X = random_one_hot((5, 4, L), random_state=1).float()
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        a = deep_lift_shap(model, X, n_shuffles=3, random_state=0)
        model.forward = lambda x: model.dense(nn.ReLU()(model.conv(x)).flatten(1))  # a module created in forward
        b = deep_lift_shap(model, X, n_shuffles=3, random_state=0)
        deep_lift_shap(_conv_model(nn.ReLU, nn.MaxPool1d(2), nn.ReLU, 0), X, n_shuffles=3, random_state=0)
    torch.testing.assert_close(a, deep_lift_shap(twin, X, n_shuffles=3, random_state=0), rtol=0, atol=1e-6)
    torch.testing.assert_close(b, a, rtol=0, atol=1e-6)


def test_print_convergence_deltas_and_verbose(capsys):
    model = _conv_model(nn.ReLU, nn.MaxPool1d(2), nn.ReLU, 0)
    X = random_one_hot((3, 4, L), random_state=1).float()
    deep_lift_shap(model, X, n_shuffles=2, random_state=0, print_convergence_deltas=True, verbose=True, batch_size=4)
    out = capsys.readouterr()
    assert 'convergence deltas (n, n_refs)' in out.out
    assert '6/6' in out.err and 'pair' in out.err


def test_additional_ops_override_and_custom_rule():
    "A registered rule replaces the built-in one and receives stacked examples/references."
    seen = []
    def gradient_rule(module, x, y, grad_y):
        seen.append(x.shape)
        return grad_y * (x > 0)
    model = _conv_model(nn.ReLU, nn.AvgPool1d(2), nn.ReLU, 4)
    X = random_one_hot((3, 4, L), random_state=1).float()
    with pytest.warns(MemeNbWarning):  # the plain gradient does not add up
        a = deep_lift_shap(model, X, n_shuffles=2, random_state=0, batch_size=6, additional_nonlinear_ops={nn.ReLU: gradient_rule})
    assert seen and seen[0][0] == 12
    assert not torch.allclose(a, deep_lift_shap(model, X, n_shuffles=2, random_state=0))


def test_bfloat16_runs():
    model = _conv_model(nn.ReLU, nn.MaxPool1d(2), nn.ReLU, 0)
    X = random_one_hot((3, 4, L), random_state=1).float()
    a = deep_lift_shap(model, X, n_shuffles=2, random_state=0, dtype=torch.bfloat16, warning_threshold=1.0)
    b = deep_lift_shap(model, X, n_shuffles=2, random_state=0)
    assert a.dtype == torch.float32 and model[0].weight.dtype == torch.float32
    assert (a - b).abs().max() < 0.05 * b.abs().max() + 1e-3


def test_error_in_rule_restores_model():
    def boom(module, x, y, grad_y): raise RuntimeError('rule failed')
    model = _conv_model(nn.ReLU, nn.MaxPool1d(2), nn.ReLU, 0).train()
    model[2].inplace = True
    X = random_one_hot((2, 4, L), random_state=1).float()
    with pytest.raises(RuntimeError, match='rule failed'):
        deep_lift_shap(model, X, n_shuffles=2, additional_nonlinear_ops={nn.ReLU: boom}, dtype=torch.float64)
    assert model.training and model[2].inplace and model[0].weight.dtype == torch.float32
    assert all(len(m._forward_hooks) == 0 for m in model.modules())


@pytest.mark.parametrize('kwargs, exc, match', [
    (dict(X='ACGT'), TypeError, 'X must be a torch.Tensor'),
    (dict(X=torch.ones(2, 4, 10)), ValueError, 'X must be one-hot'),
    (dict(target=1.5), TypeError, 'target must be an int'),
    (dict(target=3), ValueError, r'target must be in \[0, 2\]'),
    (dict(batch_size=0), ValueError, 'batch_size'),
    (dict(n_shuffles=-1), ValueError, 'n_shuffles'),
    (dict(warning_threshold='high'), ValueError, 'warning_threshold'),
    (dict(references=torch.zeros(3, 2, 4, L)), ValueError, r'references must have shape \(n, n_refs, A, L\) = \(2, n_refs, 4, 48\)'),
    (dict(references=[1, 2]), TypeError, 'references must be a function'),
    (dict(args=torch.zeros(2, 1)), TypeError, r'args must be a tuple'),
    (dict(additional_nonlinear_ops={nn.ReLU: 'rescale'}), TypeError, r'additional_nonlinear_ops\[ReLU\]'),
    (dict(device='tpu9'), ValueError, 'device'),
    (dict(dtype=torch.int32), ValueError, 'dtype'),
    (dict(random_state='seed'), TypeError, 'random_state'),
])
def test_bad_input(kwargs, exc, match):
    model = _conv_model(nn.ReLU, nn.MaxPool1d(2), nn.ReLU, 0)
    kw = dict(X=random_one_hot((2, 4, L), random_state=1).float(), n_shuffles=2)
    kw.update(kwargs)
    with pytest.raises(exc, match=match):
        deep_lift_shap(model, **kw)
    assert all(len(m._forward_hooks) == 0 for m in model.modules())


def test_op_without_rule_raises_naming_it():
    "A nonlinear op with no rule (cumprod) raises before returning, naming the op and the module; registering a rule fixes it."
    class CumProd(nn.Module):
        def forward(self, x): return torch.cumprod(x, -1)
    model = _init(nn.Sequential(nn.Conv1d(4, 2, 3), nn.Sigmoid(), CumProd(), nn.Flatten(), nn.Linear(2 * (L - 2), 1)), 0)
    X = random_one_hot((2, 4, L), random_state=1).float()
    with pytest.raises(ValueError, match=r"op 'cumprod' called in module '2 \(CumProd\)'.*additional_nonlinear_ops=\{cumprod: "):
        deep_lift_shap(model, X, n_shuffles=2)
    from meme_nb.attribution_ops import integrated_gradients_rule
    with pytest.warns(MemeNbWarning):  # an approximate rule: summation-to-delta is not exact
        deep_lift_shap(model, X, n_shuffles=2, warning_threshold=1e-9, additional_nonlinear_ops={torch.cumprod: integrated_gradients_rule(8)})
    a = deep_lift_shap(model, X, n_shuffles=2, additional_nonlinear_ops={torch.cumprod: integrated_gradients_rule(256)})
    assert a.shape == X.shape


def test_layer_norm_model_is_exact():
    "LayerNorm (once refused) is now exact."
    model = _init(nn.Sequential(nn.Conv1d(4, 2, 3), nn.LayerNorm(L - 2), nn.Flatten(), nn.Linear(2 * (L - 2), 1)), 0)
    X = random_one_hot((6, 4, L), random_state=1).float()
    _check_summation(model, X, dinucleotide_shuffle(X, n=1, random_state=2), 0)


def test_rules_are_exact_on_pairs():
    "rescale_rule and maxpool_rule contributions add up to the output difference for random tensors."
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 3, 20, generator=g, dtype=torch.float64)
    for mod in (nn.MaxPool1d(4), nn.MaxPool1d(5, 2, padding=2), nn.AdaptiveMaxPool1d(3), nn.Softplus(), nn.ELU()):
        y = mod(x)
        w = torch.randn(y.shape, generator=g, dtype=torch.float64)[:3].repeat(2, 1, 1)
        rule = maxpool_rule if 'Pool' in type(mod).__name__ else rescale_rule
        out = rule(mod, x, y, w)
        gx = out[0] if isinstance(out, tuple) else out
        lhs = ((x[:3] - x[3:]) * gx[:3]).sum((1, 2))
        rhs = ((y[:3] - y[3:]) * w[:3]).sum((1, 2))
        torch.testing.assert_close(lhs, rhs, atol=1e-12, rtol=1e-10)
