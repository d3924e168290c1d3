"""Exactness of deep_lift_shap on models drawn from every supported operation, in module and functional form (issue 14).

Property: for every example-reference pair, the attributions add up to f(x) - f(r): in float64 within 1e-9 relative to
|f(x) - f(r)|; in float32 within FLOAT32_BOUND relative to max(|f(x)|, |f(r)|) (the documented bound: with softmax and
normalisation layers float32 rounding of the forward pass itself is of that order). A module and its functional twin give
the same attributions. An op without a rule that is not linear raises, naming it."""
import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from meme_nb.attribution import deep_lift_shap
from meme_nb.ersatz import dinucleotide_shuffle
from meme_nb.utils import MemeNbWarning, random_one_hot

nn = torch.nn
C, L = 6, 16
FLOAT32_BOUND = 1e-4


class Op(nn.Module):
    "One step (batch, C, L) -> (batch, C, L), as modules (`functional=False`) or as functional calls and operators."
    def __init__(self, kind, functional):
        super().__init__()
        self.kind, self.functional = kind, functional
        self.conv = nn.Conv1d(C, C, 3, padding=1)
        self.conv2 = nn.Conv1d(C, 2 * C, 1)
        self.act = {'relu': nn.ReLU(), 'gelu': nn.GELU(), 'silu': nn.SiLU(), 'mish': nn.Mish(), 'softplus': nn.Softplus(),
                    'sigmoid': nn.Sigmoid(), 'tanh': nn.Tanh(), 'elu': nn.ELU(), 'leaky': nn.LeakyReLU(0.1)}.get(kind)
        self.sm1, self.sm2 = nn.Softmax(1), nn.Softmax(-1)
        self.ln, self.rms, self.glu = nn.LayerNorm(L), nn.RMSNorm(L, eps=1e-6), nn.GLU(1)
        self.pool = nn.MaxPool1d(3, 1, padding=1)
        self.mha = nn.MultiheadAttention(C, 2, batch_first=True)

    def forward(self, x):
        k, f = self.kind, self.functional
        if self.act is not None:
            if not f: return self.act(self.conv(x))
            g = {'relu': torch.relu, 'gelu': F.gelu, 'silu': F.silu, 'mish': F.mish, 'softplus': F.softplus,
                 'sigmoid': lambda t: t.sigmoid(), 'tanh': torch.tanh, 'elu': F.elu, 'leaky': lambda t: F.leaky_relu(t, 0.1)}[k]
            return g(self.conv(x))
        h = self.conv(x)
        if k == 'exp': return torch.exp(torch.tanh(h)) if f else h.tanh().exp()
        if k == 'log': return torch.log(1 + h * h) if f else (h.pow(2) + 1).log()
        if k == 'div': return h / (1 + h * h) if f else torch.div(h, h.square() + 1)
        if k == 'softmax_c': return torch.softmax(h, 1) if f else self.sm1(h)
        if k == 'softmax_l': return h.softmax(-1) if f else self.sm2(h)
        if k == 'log_softmax': return F.log_softmax(h, -1) if f else h.log_softmax(dim=-1)
        if k == 'logsumexp': return h - torch.logsumexp(h, 1, keepdim=True) if f else h - h.logsumexp(dim=1, keepdim=True)
        if k == 'layernorm': return F.layer_norm(h, (L,), self.ln.weight, self.ln.bias) if f else self.ln(h)
        if k == 'rmsnorm': return F.rms_norm(h, (L,), self.rms.weight, 1e-6) if f else self.rms(h)
        if k == 'glu': return F.glu(self.conv2(h), 1) if f else self.glu(self.conv2(h))
        if k == 'mul': return h * x if f else torch.mul(h, x)
        if k == 'matmul': return (h @ x.transpose(-1, -2)) @ x / L if f else torch.bmm(torch.bmm(h, x.transpose(1, 2)), x) / L
        if k == 'einsum': return torch.einsum('bcd,bdl->bcl', torch.einsum('bcl,bdl->bcd', h, x), h) / L
        if k == 'maxpool': return F.max_pool1d(h, 3, 1, 1) if f else self.pool(h)
        if k == 'attention':
            t = h.transpose(1, 2)
            if f:
                q, kk, v = (F.linear(t, w, b) for w, b in zip(self.mha.in_proj_weight.chunk(3), self.mha.in_proj_bias.chunk(3)))
                q, kk, v = (u.view(-1, L, 2, C // 2).transpose(1, 2) for u in (q, kk, v))
                o = F.scaled_dot_product_attention(q, kk, v).transpose(1, 2).reshape(-1, L, C)
                o = F.linear(o, self.mha.out_proj.weight, self.mha.out_proj.bias)
            else: o = self.mha(t, t, t)[0]
            return (t + o).transpose(1, 2)
        raise ValueError(k)


KINDS = ['relu', 'gelu', 'silu', 'mish', 'softplus', 'sigmoid', 'tanh', 'elu', 'leaky', 'exp', 'log', 'div', 'softmax_c',
         'softmax_l', 'log_softmax', 'logsumexp', 'layernorm', 'rmsnorm', 'glu', 'mul', 'matmul', 'einsum', 'maxpool', 'attention']


class Head(nn.Module):
    "Attention pooling over positions (as in Enformer) or flatten, then a dense layer; an optional second input scales."
    def __init__(self, pool):
        super().__init__()
        self.pool, self.logit = pool, nn.Conv1d(C, 1, 1)
        self.dense = nn.Linear(C if pool else C * L, 3)

    def forward(self, h, s=None):
        if s is not None: h = h * s[:, :, None]
        if self.pool: h = (torch.softmax(self.logit(h), -1) * h).sum(-1)
        else: h = h.flatten(1)
        return self.dense(h)


class Model(nn.Module):
    def __init__(self, kinds, functional, pool):
        super().__init__()
        self.stem = nn.Conv1d(4, C, 5, padding=2)
        self.ops = nn.ModuleList([Op(k, functional) for k in kinds])
        self.head = Head(pool)

    def forward(self, x, s=None):
        h = self.stem(x)
        for op in self.ops: h = op(h)
        return self.head(h, s)


def _init(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters(): p.copy_(torch.randn(p.shape, generator=g) * (1.5 / p.shape[-1] ** .5 if p.ndim > 1 else 0.3))
    return model.eval()


def _pairs(model, X, R, args=(), dtype=torch.float64, target=0, **kw):
    "Attribution sums, f(x) - f(r) and max(|f(x)|, |f(r)|) for each pair (one reference each)."
    a = deep_lift_shap(model, X, args=args or None, references=R, target=target, dtype=dtype, warning_threshold=1e9, **kw)
    with torch.no_grad():
        m = model.to(dtype)
        fx = m(X.to(dtype), *[t.to(dtype) for t in args])[:, target]
        fr = m(R[:, 0].to(dtype), *[t.to(dtype) for t in args])[:, target]
        model.float()
    return a.sum((1, 2)).to(dtype), fx - fr, torch.maximum(fx.abs(), fr.abs()), a


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=3), pool=st.booleans(), two=st.booleans(),
       seed=st.integers(0, 10_000), target=st.integers(0, 2))
def test_random_models_exact_and_same_as_functional_twin(kinds, pool, two, seed, target):
    X = random_one_hot((4, 4, L), random_state=seed).float()
    R = dinucleotide_shuffle(X, n=1, random_state=seed + 1)
    args = (torch.rand(4, C, generator=torch.Generator().manual_seed(seed)) + 0.5,) if two else ()
    mod = _init(Model(kinds, False, pool), seed)
    fun = _init(Model(kinds, True, pool), seed)
    s, d, f, a_mod = _pairs(mod, X, R, args, target=target)
    assume((d.abs() > 1e-3 * f).all())  # outputs that barely move test nothing
    assert ((s - d).abs() <= 1e-9 * d.abs()).all(), (kinds, ((s - d).abs() / d.abs()).max())
    s2, d2, _, a_fun = _pairs(fun, X, R, args, target=target)
    assert ((s2 - d2).abs() <= 1e-9 * d2.abs()).all(), (kinds, ((s2 - d2).abs() / d2.abs()).max())
    torch.testing.assert_close(a_fun, a_mod, rtol=1e-7, atol=1e-9 * float(d.abs().max()))
    s, d, f, _ = _pairs(mod, X, R, args, dtype=torch.float32, target=target)
    assert ((s - d).abs() <= FLOAT32_BOUND * torch.maximum(f, d.abs()) + 1e-6).all(), (kinds, ((s - d).abs() / f).max())


class Block(nn.Module):
    "A transformer block: multi-head attention and a GELU MLP, each with a pre-LayerNorm and a residual."
    def __init__(self, d, heads):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.mha = nn.MultiheadAttention(d, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))

    def forward(self, t):
        u = self.ln1(t)
        t = t + self.mha(u, u, u, need_weights=False)[0]
        return t + self.mlp(self.ln2(t))


class Transformer(nn.Module):
    "Conv stem with pooling, learned positions, two transformer blocks, attention pooling, dense head (13 outputs)."
    def __init__(self, d=16, L=64):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv1d(4, d, 7, padding=3), nn.ReLU(), nn.MaxPool1d(2))
        self.pos = nn.Parameter(torch.zeros(L // 2, d))
        self.blocks = nn.Sequential(Block(d, 4), Block(d, 4))
        self.logit = nn.Linear(d, 1)
        self.out = nn.Linear(d, 13)

    def forward(self, x):
        t = self.stem(x).transpose(1, 2) + self.pos
        t = self.blocks(t)
        w = torch.softmax(self.logit(t), dim=1)
        return self.out((w * t).sum(1))


def test_transformer_float64_exact():
    model = _init(Transformer(), 3)
    X = random_one_hot((6, 4, 64), random_state=0).float()
    R = dinucleotide_shuffle(X, n=1, random_state=1)
    for target in (0, 7):
        s, d, f, _ = _pairs(model, X, R, target=target)
        assert (d.abs() > 1e-3 * f).all()
        assert ((s - d).abs() <= 1e-9 * d.abs()).all(), ((s - d).abs() / d.abs()).max()
        s, d, f, _ = _pairs(model, X, R, dtype=torch.float32, target=target)
        assert ((s - d).abs() <= FLOAT32_BOUND * torch.maximum(f, d.abs()) + 1e-6).all(), ((s - d).abs() / f).max()


def test_multihead_attention_masks_and_weights():
    "need_weights=True (baddbmm path), a causal mask and a key padding mask are exact too; batch_first=False as well."
    class M(nn.Module):
        def __init__(self, batch_first):
            super().__init__()
            self.stem, self.bf = nn.Conv1d(4, 8, 3, padding=1), batch_first
            self.mha = nn.MultiheadAttention(8, 2, batch_first=batch_first)
            self.dense = nn.Linear(8, 1)
        def forward(self, x):
            t = self.stem(x).transpose(1, 2)
            if not self.bf: t = t.transpose(0, 1)
            causal = torch.ones(t.shape[1 if self.bf else 0], t.shape[1 if self.bf else 0], dtype=torch.bool).triu(1)
            pad = torch.zeros(x.shape[0], x.shape[-1], dtype=torch.bool); pad[:, -3:] = True
            o, w = self.mha(t, t, t, attn_mask=causal, key_padding_mask=pad)
            if not self.bf: o = o.transpose(0, 1)
            return self.dense(o.mean(1)) + w.sum((1, 2))[:, None]
    X = random_one_hot((4, 4, 20), random_state=0).float()
    R = dinucleotide_shuffle(X, n=1, random_state=1)
    for bf in (True, False):
        s, d, f, _ = _pairs(_init(M(bf), 0), X, R)
        assert ((s - d).abs() <= 1e-9 * d.abs()).all(), ((s - d).abs() / d.abs()).max()


NO_RULE = {'cumprod': lambda h: torch.cumprod(h, -1), 'sort': lambda h: torch.sort(h, -1).values,
           'amax': lambda h: h - h.amax(-1, keepdim=True), 'where': lambda h: torch.where(h > 0, h, 0.1 * h),
           'norm': lambda h: F.normalize(h, dim=-1),
           'max': lambda h: torch.max(h, -1).values[..., None] + h}


@pytest.mark.parametrize('name', list(NO_RULE))
def test_op_without_rule_and_not_linear_raises(name):
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem, self.dense = nn.Conv1d(4, C, 5, padding=2), nn.Linear(C * L, 1)
        def forward(self, x): return self.dense(NO_RULE[name](torch.tanh(self.stem(x))).flatten(1))
    X = random_one_hot((3, 4, L), random_state=0).float()
    expect = {'amax': 'amax', 'where': 'where', 'norm': 'norm', 'max': 'max', 'sort': 'sort'}.get(name, name)
    with pytest.raises(ValueError, match=rf"no rule for op '\w*{expect}\w*'.*additional_nonlinear_ops"):
        deep_lift_shap(_init(M(), 0), X, n_shuffles=2, random_state=0)


def test_linear_wrappers_pass_the_check():
    "Unknown but linear ops (diff, scatter into a bigger tensor, crop, unfold windows) keep their gradient, exactly."
    class Wrap(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem, self.dense = nn.Conv1d(4, C, 5, padding=2), nn.Linear(C * (2 * L - 1), 2)
        def forward(self, x):
            h = torch.tanh(self.stem(x))
            big = torch.zeros(h.shape[0], C, 2 * L, dtype=h.dtype).index_copy(2, torch.arange(0, 2 * L, 2), h)
            h2 = torch.sigmoid(h.mT).mT  # a transpose read as an attribute
            return self.dense(torch.diff(big, dim=-1).flatten(1)) + torch.trapezoid(h2, dim=-1).sum(1, keepdim=True)
    X = random_one_hot((4, 4, L), random_state=0).float()
    R = dinucleotide_shuffle(X, n=1, random_state=1)
    s, d, _, _ = _pairs(_init(Wrap(), 0), X, R)
    assert ((s - d).abs() <= 1e-9 * d.abs()).all()


def test_unused_nonlinear_op_does_no_harm():
    "A max used only for a Python decision (data-dependent control flow) does not raise."
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem, self.dense = nn.Conv1d(4, C, 5, padding=2), nn.Linear(C * L, 1)
        def forward(self, x):
            h = self.stem(x)
            if h.amax() > 1e6: h = h * 0  # never true; the max does not reach the output
            return self.dense(torch.relu(h).flatten(1))
    X = random_one_hot((4, 4, L), random_state=0).float()
    R = dinucleotide_shuffle(X, n=1, random_state=1)
    s, d, _, _ = _pairs(_init(M(), 0), X, R)
    assert ((s - d).abs() <= 1e-9 * d.abs()).all()


def test_out_of_sight_falls_back_to_hooks_with_one_warning():
    "A model whose output is computed where the mode cannot see it falls back to module hooks, saying so once."
    class Hidden(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.relu, self.dense = nn.Conv1d(4, 3, 5), nn.ReLU(), nn.Linear(3 * (L - 4), 1)
        def forward(self, x):
            with torch._C.DisableTorchFunction(): return self.dense(self.relu(self.conv(x)).flatten(1))
    model = _init(Hidden(), 0)
    twin = nn.Sequential(model.conv, model.relu, nn.Flatten(), model.dense)
    X = random_one_hot((3, 4, L), random_state=0).float()
    with pytest.warns(MemeNbWarning, match='falling back to rules on module types') as rec:
        a = deep_lift_shap(model, X, n_shuffles=2, random_state=0, batch_size=2)
    assert sum('falling back' in str(w.message) for w in rec) == 1
    torch.testing.assert_close(a, deep_lift_shap(twin, X, n_shuffles=2, random_state=0), rtol=0, atol=1e-6)
    assert all(len(m._forward_hooks) == 0 for m in model.modules())


def test_torchscript_is_refused():
    model = _init(nn.Sequential(nn.Conv1d(4, 3, 5), nn.ReLU(), nn.Flatten(), nn.Linear(3 * (L - 4), 1)), 0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        scripted = torch.jit.script(model)
    with pytest.raises(TypeError, match='needs the Python model'):
        deep_lift_shap(scripted, random_one_hot((3, 4, L), random_state=0).float(), n_shuffles=2)


def test_inplace_functional_and_methods():
    "F.relu(inplace=True), x.relu_(), x.exp_() and x *= y behave like their out-of-place forms."
    class M(nn.Module):
        def __init__(self, inplace):
            super().__init__()
            self.stem, self.stem2, self.dense, self.inplace = nn.Conv1d(4, C, 5, padding=2), nn.Conv1d(4, C, 3, padding=1), nn.Linear(C * L, 1), inplace
        def forward(self, x):
            h, g = self.stem(x), torch.tanh(self.stem2(x))
            if self.inplace:
                h = F.relu(h, inplace=True); h.mul_(0.5).tanh_(); h *= g; h.exp_()
            else: h = torch.exp(torch.tanh(torch.relu(h) * 0.5) * g)
            return self.dense(h.flatten(1))
    X = random_one_hot((4, 4, L), random_state=0).float()
    R = dinucleotide_shuffle(X, n=1, random_state=1)
    s, d, _, a = _pairs(_init(M(True), 0), X, R)
    assert ((s - d).abs() <= 1e-9 * d.abs()).all()
    torch.testing.assert_close(a, _pairs(_init(M(False), 0), X, R)[3], rtol=1e-9, atol=1e-12)


def test_audit_rows_per_op():
    "One row per nonlinear op with its rule; exact rules audit at rounding level, an approximate rule shows in its own row."
    from meme_nb.attribution import deep_lift_shap_audit
    from meme_nb.attribution_ops import integrated_gradients_rule
    X = random_one_hot((3, 4, 64), random_state=0).float()
    audit = deep_lift_shap_audit(_init(Transformer(), 3), X, n_shuffles=2, random_state=0, dtype=torch.float64)
    assert list(audit.columns) == ['module', 'op', 'rule', 'calls', 'max_abs_error', 'max_rel_error']
    assert set(audit.op) == {'relu', 'max_pool1d', 'layer_norm', 'multi_head_attention_forward', 'gelu', 'softmax', 'mul'}
    assert (audit.max_rel_error < 1e-9).all() and (audit.calls == 1).all()
    assert audit.set_index('op').loc['softmax', 'rule'] == 'logsumexp + rescale'

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem, self.dense = nn.Conv1d(4, C, 5, padding=2), nn.Linear(C * L, 1)
        def forward(self, x): return self.dense(torch.cumprod(torch.sigmoid(self.stem(x)), -1).flatten(1))
    X = random_one_hot((3, 4, L), random_state=0).float()
    audit = deep_lift_shap_audit(_init(M(), 0), X, n_shuffles=2, random_state=0, dtype=torch.float64,
                                 additional_nonlinear_ops={torch.cumprod: integrated_gradients_rule(3)})
    rows = audit.set_index('op')
    assert rows.loc['cumprod', 'rule'] == 'integrated_gradients' and rows.loc['cumprod', 'max_abs_error'] > 1e-6
    assert rows.loc['sigmoid', 'max_abs_error'] < 1e-12


def test_audit_has_rows_for_rules_registered_on_module_types():
    "A rule registered for a module type gets its own audit row: exact for a correct rule, a large error for a wrong one."
    from meme_nb.attribution import deep_lift_shap_audit
    from meme_nb.attribution_ops import rescale_rule
    from meme_nb.utils import random_one_hot

    class XTanh(torch.nn.Module):
        def forward(self, x): return x * torch.tanh(x)

    def halved(module, x, y, grad_y):  # a deliberately wrong rule: half the rescale multiplier
        e, r = x.chunk(2); ye, yr = y.chunk(2)
        m = torch.where((e - r).abs() > 1e-12, (ye - yr) / (e - r), torch.ones_like(e))
        return grad_y * torch.cat([m, m]) / 2

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv1d(4, 8, 5), XTanh(), torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten(), torch.nn.Linear(8, 2)).double()
    X = random_one_hot((3, 4, 40), random_state=0)
    a = deep_lift_shap_audit(net, X, n_shuffles=3, random_state=0, additional_nonlinear_ops={XTanh: rescale_rule})
    row = a[a['op'] == 'XTanh']
    assert len(row) == 1 and row['rule'].iloc[0] == 'rescale_rule' and row['max_rel_error'].iloc[0] <= 1e-9, a
    b = deep_lift_shap_audit(net, X, n_shuffles=3, random_state=0, additional_nonlinear_ops={XTanh: halved})
    assert b.loc[b['op'] == 'XTanh', 'max_rel_error'].iloc[0] > 1e-3, b
