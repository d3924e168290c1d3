"ISM, marginalize and space agree with tangermeme (skipped when tangermeme is not installed)."
import pytest, torch

tm_ism = pytest.importorskip('tangermeme.saturation_mutagenesis', reason='tangermeme not installed')
from tangermeme.marginalize import marginalize as tm_marginalize
from tangermeme.space import space as tm_space

from meme_nb.ism import saturation_mutagenesis
from meme_nb.marginalize import marginalize
from meme_nb.space import space
from meme_nb.utils import random_one_hot


def conv_net(n_out=3):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv1d(4, 8, 7, padding=3), torch.nn.ReLU(), torch.nn.MaxPool1d(2),
                               torch.nn.Conv1d(8, 8, 5, padding=2), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(8 * 25, n_out))


@pytest.mark.parametrize('kw', [dict(), dict(hypothetical=True), dict(target=1), dict(start=10, end=30)])
def test_ism_parity(kw):
    model, X = conv_net(), random_one_hot((3, 4, 50), random_state=0).float()
    ours = saturation_mutagenesis(model, X, device='cpu', **kw)
    ref = tm_ism.saturation_mutagenesis(model, X, device='cpu', fast=False, **kw)
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-5)


def test_ism_raw_parity():
    model, X = conv_net(), random_one_hot((2, 4, 50), random_state=1).float()
    y0, y_hat = saturation_mutagenesis(model, X, start=5, end=20, raw_outputs=True, device='cpu')
    r0, r_hat = tm_ism.saturation_mutagenesis(model, X, start=5, end=20, raw_outputs=True, device='cpu', fast=False)
    torch.testing.assert_close(y0, r0, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(y_hat, r_hat.reshape(y_hat.shape), rtol=1e-5, atol=1e-6)


def test_marginalize_and_space_parity():
    model, X = conv_net(), random_one_hot((6, 4, 50), random_state=2).float()
    for a, b in zip(marginalize(model, X, "GTGACTCATC", device='cpu'), tm_marginalize(model, X, "GTGACTCATC", device='cpu')):
        torch.testing.assert_close(a, b)
    sp = torch.arange(5)[:, None]
    yb, ya = space(model, X, ["GTGACT", "ACATTG"], sp, device='cpu')
    rb, ra = tm_space(model, X, ["GTGACT", "ACATTG"], sp, device='cpu')
    torch.testing.assert_close(ya, ra, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(yb, (rb if rb.ndim == 3 else rb[:, None]).expand_as(yb))


@pytest.mark.parametrize('kw', [dict(), dict(hypothetical=True), dict(target=1, start=10, end=30)])
def test_fast_ism_parity(kw):
    "Our fast path against tangermeme's plain path."
    model, X = conv_net(), random_one_hot((3, 4, 50), random_state=3).float()
    ours = saturation_mutagenesis(model, X, device='cpu', fast=True, **kw)
    ref = tm_ism.saturation_mutagenesis(model, X, device='cpu', fast=False, **kw)
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-5)


def test_saliency_parity_captum():
    "Without the correction, saliency is captum's InputXGradient; with hypothetical=True, its Saliency without abs."
    captum = pytest.importorskip('captum.attr', reason='captum not installed')
    from meme_nb.ism import saliency
    model, X = conv_net(), random_one_hot((4, 4, 50), random_state=4).float()
    ours = saliency(model, X, target=2, gradient_correction=False)
    ref = captum.InputXGradient(model.eval()).attribute(X.clone().requires_grad_(), target=2).detach()
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)
    grad = captum.Saliency(model).attribute(X.clone().requires_grad_(), target=2, abs=False).detach()
    torch.testing.assert_close(saliency(model, X, target=2, gradient_correction=False, hypothetical=True), grad, rtol=1e-5, atol=1e-6)
