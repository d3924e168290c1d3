"Tests of meme_nb.predict: batching, structure, dtypes, devices, state restoration, errors."
import pytest, torch
from hypothesis import given, settings, strategies as st

from meme_nb.predict import predict
from meme_nb.utils import random_one_hot


def conv_model(seed=0, dropout=0.0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv1d(4, 8, 7, padding=3), torch.nn.ReLU(), torch.nn.Dropout(dropout),
        torch.nn.Conv1d(8, 8, 5, padding=2), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
        torch.nn.AdaptiveMaxPool1d(1), torch.nn.Flatten(), torch.nn.Linear(8, 2))


def reference(model, X):
    "One forward pass over all of X in eval mode (float32)."
    flags = [m.training for m in model.modules()]
    model.eval()
    with torch.no_grad(): y = model(X.float())
    for m, f in zip(model.modules(), flags): m.training = f
    return y


class TwoHeads(torch.nn.Module):
    "Profile and count heads, the BPNet shape, with an extra input added to the counts."
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(4, 2, 5, padding=2)
    def forward(self, x, ctrl):
        p = self.conv(x)
        return p, p.sum(dim=-1) + ctrl.sum(dim=-1)


@pytest.fixture(scope='module')
def X(): return random_one_hot((23, 4, 40), random_state=1)


@pytest.mark.parametrize('batch_size', [1, 2, 5, 22, 23, 24, 100])
def test_batch_sizes_agree(X, batch_size):
    model = conv_model()
    y = predict(model, X, batch_size=batch_size)
    assert y.shape == (23, 2) and y.dtype == torch.float32 and y.device.type == 'cpu'
    torch.testing.assert_close(y, reference(model, X), rtol=1e-5, atol=1e-6)


def test_single_row(X):
    model = conv_model()
    torch.testing.assert_close(predict(model, X[:1], batch_size=32), reference(model, X[:1]))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 30), batch_size=st.integers(1, 40))
def test_args_sliced_with_X(n, batch_size):
    X = random_one_hot((n, 4, 6), random_state=n)
    a = torch.arange(n, dtype=torch.float32) * 10
    idx = torch.arange(n).flip(0)
    model = lambda x, a, idx: x.sum(dim=(1, 2)) + a + idx
    y = predict(model, X, args=(a, idx), batch_size=batch_size)
    torch.testing.assert_close(y, 6 + a + idx)


def test_integer_args_keep_dtype(X):
    seen = []
    predict(lambda x, i: (seen.append(i.dtype), x[:, 0, 0])[1], X, args=(torch.arange(23),), batch_size=10)
    assert seen == [torch.int64] * 3


def test_multi_output_returns_list(X):
    model, ctrl = TwoHeads(), torch.rand(23, 2, 40)
    ys = predict(model, X, args=(ctrl,), batch_size=6)
    assert isinstance(ys, list) and len(ys) == 2
    with torch.no_grad(): p, c = model(X.float(), ctrl)
    torch.testing.assert_close(ys[0], p); torch.testing.assert_close(ys[1], c)
    ys = predict(lambda x: [x[:, 0]], X, batch_size=6)
    assert isinstance(ys, list) and len(ys) == 1 and torch.equal(ys[0], X[:, 0].float())


def test_func_applied_per_batch(X):
    model, calls = conv_model(), []
    def func(y):
        calls.append(y.shape[0]); return y.softmax(-1)[:, 1]
    y = predict(model, X, batch_size=10, func=func)
    assert calls == [10, 10, 3]
    torch.testing.assert_close(y, reference(model, X).softmax(-1)[:, 1])
    ys = predict(TwoHeads(), X, args=(torch.zeros(23, 2, 40),), func=lambda y: y[1])
    assert isinstance(ys, torch.Tensor) and ys.shape == (23, 2)


def test_training_state_restored_and_dropout_off(X):
    model = conv_model(dropout=0.9).train()
    model[4].eval()                      # a submodule deliberately left in eval
    before = [m.training for m in model.modules()]
    y1, y2 = predict(model, X), predict(model, X)
    assert torch.equal(y1, y2)
    assert [m.training for m in model.modules()] == before
    assert model[4].training is False and model.training is True


def test_state_restored_when_forward_raises(X):
    model = conv_model().train()
    w = model[0].weight
    def fail(y): raise RuntimeError('boom')
    with pytest.raises(RuntimeError, match='boom'):
        predict(model, X, dtype=torch.float64, func=fail)
    assert model.training and all(m.training for m in model.modules())
    assert model[0].weight is w and w.dtype == torch.float32


@pytest.mark.parametrize('dt', [torch.int8, torch.uint8, torch.bool, torch.float16, torch.float32, torch.float64])
def test_input_dtypes(X, dt):
    model = conv_model()
    y = predict(model, X.to(dt), batch_size=7)
    assert y.dtype == torch.float32
    torch.testing.assert_close(y, reference(model, X), rtol=1e-5, atol=1e-6)


def test_plain_function_dtypes(X):
    assert predict(lambda x: x, X).dtype == torch.float32
    assert predict(lambda x: x, X.bool()).dtype == torch.float32
    assert predict(lambda x: x, X.half()).dtype == torch.float16
    assert predict(lambda x: x, X.double()).dtype == torch.float64
    assert predict(lambda x: x, X, dtype=torch.bfloat16).dtype == torch.bfloat16
    assert torch.equal(predict(lambda x: x, X, batch_size=4), X.float())


@pytest.mark.parametrize('dt', [torch.bfloat16, 'bfloat16', torch.float64])
def test_dtype_casts_model_for_the_call_only(X, dt):
    model = conv_model()
    w, rm = model[0].weight, model[4].running_mean
    w0 = w.detach().clone()
    y = predict(model, X, dtype=dt, batch_size=8)
    want = torch.bfloat16 if dt != torch.float64 else torch.float64
    assert y.dtype == want
    torch.testing.assert_close(y.float(), reference(model, X), rtol=5e-2, atol=5e-2)
    assert model[0].weight is w and w.dtype == torch.float32 and torch.equal(w, w0)  # exact, not re-rounded
    assert model[4].running_mean is rm and rm.dtype == torch.float32


def test_half_model_keeps_half(X):
    model = conv_model().to(torch.bfloat16)
    y = predict(model, X)
    assert y.dtype == torch.bfloat16 and model[0].weight.dtype == torch.bfloat16


def test_explicit_cpu_device(X):
    model = conv_model()
    w = model[0].weight
    for device in ('cpu', torch.device('cpu')):
        torch.testing.assert_close(predict(model, X, device=device), reference(model, X))
    assert model[0].weight is w


def test_gradients_of_model_untouched(X):
    model = conv_model()
    model(X.float()).sum().backward()
    g = model[0].weight.grad.clone()
    y = predict(model, X, dtype=torch.float64)
    assert not y.requires_grad and y.grad_fn is None
    assert model[0].weight.grad.dtype == torch.float32 and torch.equal(model[0].weight.grad, g)


def test_inputs_never_modified(X):
    Xf, ctrl = X.float(), torch.rand(23, 2)
    X0, c0, Xi0 = Xf.clone(), ctrl.clone(), X.clone()
    inplace = lambda x, c: x.mul_(3).sum(dim=(1, 2)) + c.add_(1).sum(-1)
    predict(inplace, Xf, args=(ctrl,), batch_size=5)
    predict(lambda x: x.zero_()[:, 0], X, batch_size=5)
    assert torch.equal(Xf, X0) and torch.equal(ctrl, c0) and torch.equal(X, Xi0)


def test_output_is_not_a_view_of_X(X):
    Xf = X.float()
    y = predict(lambda x: x, Xf, batch_size=100)
    y.zero_()
    assert Xf.sum() == 23 * 40


def test_verbose_progress_bar(X, capsys):
    y = predict(conv_model(), X, batch_size=5, verbose=True)
    assert y.shape == (23, 2)
    assert '5/5' in capsys.readouterr().err


@pytest.mark.parametrize('call, err, match', [
    (lambda m, X: predict(m, X.numpy()), TypeError, r'X must be a torch\.Tensor'),
    (lambda m, X: predict(m, [[0, 1]]), TypeError, r'X must be a torch\.Tensor'),
    (lambda m, X: predict(m, X[0]), ValueError, r'X must have shape'),
    (lambda m, X: predict(m, X[:0]), ValueError, r'X must not be empty'),
    (lambda m, X: predict(m, X, args=(torch.zeros(5),)), ValueError, r'args\[0\] must have first dimension 23'),
    (lambda m, X: predict(m, X, args=torch.zeros(23)), TypeError, r'args must be a tuple'),
    (lambda m, X: predict(m, X, args=([0] * 23,)), TypeError, r'args\[0\] must be a torch\.Tensor'),
    (lambda m, X: predict(m, X, batch_size=0), ValueError, r'batch_size must be in \[1'),
    (lambda m, X: predict(m, X, batch_size=-3), ValueError, r'batch_size must be in \[1'),
    (lambda m, X: predict(m, X, batch_size=8.0), TypeError, r'batch_size must be an int'),
    (lambda m, X: predict(None, X), TypeError, r'model must be a torch\.nn\.Module or a callable'),
    (lambda m, X: predict(m, X, func='softmax'), TypeError, r'func must be None or a callable'),
    (lambda m, X: predict(m, X, device='tpu:x'), ValueError, r'device must name a torch device'),
    (lambda m, X: predict(m, X, device=0.5), TypeError, r'device must be None'),
    (lambda m, X: predict(m, X, dtype=torch.int32), ValueError, r'dtype must be a floating dtype'),
    (lambda m, X: predict(m, X, dtype='halfish'), TypeError, r'dtype must be None or a floating'),
    (lambda m, X: predict(lambda x: {'y': x}, X), TypeError, r'model must return a torch\.Tensor or a tuple/list of tensors; got dict'),
    (lambda m, X: predict(lambda x: x.sum().item(), X), TypeError, r'model must return .*got float'),
    (lambda m, X: predict(lambda x: (x, 'a'), X), TypeError, r"model must return .*tuple of \['Tensor', 'str'\]"),
    (lambda m, X: predict(lambda x: x.sum(), X), ValueError, r'model output 0 must have the batch'),
    (lambda m, X: predict(m, X, func=lambda y: y.T), ValueError, r'func output 0 must have the batch \(32 rows\)'),
])
def test_bad_input(X, call, err, match):
    Xa = random_one_hot((40, 4, 10), random_state=0) if 'T,' in match or '32 rows' in match else X
    with pytest.raises(err, match=match): call(conv_model(), Xa)


def test_bad_input_raised_before_any_forward(X):
    calls = []
    model = lambda x: calls.append(1) or x[:, 0]
    with pytest.raises(ValueError, match='args'): predict(model, X, args=(torch.zeros(3),))
    with pytest.raises(TypeError, match='dtype'): predict(model, X, dtype=object())
    assert calls == []


def test_changing_output_structure_is_an_error(X):
    state = {'n': 0}
    def model(x):
        state['n'] += 1
        return x[:, 0] if state['n'] == 1 else (x[:, 0], x[:, 1])
    with pytest.raises(ValueError, match='batch starting at row 5'): predict(model, X, batch_size=5)
