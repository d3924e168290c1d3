"Parity of meme_nb.attribution.deep_lift_shap with tangermeme's deep_lift_shap and captum's DeepLift on the same references."
import warnings

import pytest
import torch

from meme_nb.attribution import deep_lift_shap
from meme_nb.ersatz import dinucleotide_shuffle
from meme_nb.utils import random_one_hot

nn = torch.nn
L = 60


def _model(act, pool, seed):
    torch.manual_seed(seed)
    body = nn.Sequential(nn.Conv1d(4, 8, 5), nn.BatchNorm1d(8), act(), pool, nn.Conv1d(8, 6, 3), act(), nn.Dropout(0.2),
                         nn.Flatten())
    n = body(torch.zeros(1, 4, L)).shape[1]
    model = nn.Sequential(*body, nn.Linear(n, 5), act(), nn.Linear(5, 3))
    with torch.no_grad():
        for p in model.parameters(): p.mul_(2)
        model[1].running_mean.normal_(); model[1].running_var.uniform_(0.5, 2)
    return model.eval()


def _data(n=6, n_refs=5, seed=1):
    X = random_one_hot((n, 4, L), random_state=seed).float()
    return X, dinucleotide_shuffle(X, n=n_refs, random_state=seed + 1)


def _close(a, b):
    "Agreement to 1e-4 of the attributions' scale."
    scale = b.abs().max()
    assert (a - b).abs().max() <= 1e-4 * scale, ((a - b).abs().max() / scale).item()


ACTS = [nn.ReLU, nn.ELU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.GELU, nn.SiLU]
POOLS = {'maxpool': lambda: nn.MaxPool1d(2), 'avgpool': lambda: nn.AvgPool1d(2), 'none': lambda: nn.Identity()}


@pytest.mark.parametrize('hypothetical', [False, True])
@pytest.mark.parametrize('pool', list(POOLS))
@pytest.mark.parametrize('act', ACTS, ids=lambda a: a.__name__)
def test_tangermeme_same_references(act, pool, hypothetical):
    tdls = pytest.importorskip('tangermeme.deep_lift_shap').deep_lift_shap
    model, (X, R) = _model(act, POOLS[pool](), 0), _data()
    ours = deep_lift_shap(model, X, references=R, target=1, hypothetical=hypothetical, batch_size=7)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        theirs = tdls(model, X, references=R, target=1, hypothetical=hypothetical, batch_size=7)
    _close(ours, theirs)


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.relu, self.pool = nn.Conv1d(4, 5, 7), nn.ReLU(), nn.MaxPool1d(3)
        self.ctl, self.dense = nn.Linear(2, 5 * 18), nn.Linear(5 * 18, 4)
    def forward(self, x, c):
        return self.dense(self.relu(self.pool(self.relu(self.conv(x))).flatten(1) + self.ctl(c)))


def test_tangermeme_two_inputs():
    tdls = pytest.importorskip('tangermeme.deep_lift_shap').deep_lift_shap
    torch.manual_seed(0)
    model, (X, R) = TwoInputs().eval(), _data()
    c = torch.randn(len(X), 2)
    ours = deep_lift_shap(model, X, args=(c,), references=R, target=2)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        theirs = tdls(model, X, args=(c,), references=R, target=2)
    _close(ours, theirs)


def _captum_per_position(model, X, R, target):
    "captum DeepLift against each reference, averaged; summed over characters (captum spreads (x - r) m over both)."
    DeepLift = pytest.importorskip('captum.attr').DeepLift
    dl = DeepLift(model)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        a = torch.stack([dl.attribute(X, baselines=R[:, j], target=target) for j in range(R.shape[1])]).mean(0)
    return a.sum(1)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_captum_relu_linear_models(seed):
    "On ReLU/linear-only models (where captum's DeepLift is exact) the per-position contributions agree."
    model, (X, R) = _model(nn.ReLU, nn.AvgPool1d(2), seed), _data(seed=seed)
    theirs = _captum_per_position(model, X, R, 2)
    ours = deep_lift_shap(model, X, references=R, target=2).sum(1)
    _close(ours, theirs)
