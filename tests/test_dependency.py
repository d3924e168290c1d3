"Tests of meme_nb.dependency: dependency maps against a slow loop, independence gives a diagonal map, pisa against per-target deep_lift_shap."
import pytest, torch
from torch import nn

from meme_nb.attribution import deep_lift_shap
from meme_nb.dependency import dependency_map, gradient_x_input, pisa
from meme_nb.utils import random_one_hot


def test_linear_model_has_diagonal_map():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4 * 15, 2))
    d = dependency_map(model, random_one_hot((2, 4, 15), random_state=0), target=1)
    off = d.clone(); off[:, range(15), range(15)] = 0
    assert d.shape == (2, 15, 15) and off.abs().max() < 1e-6 and d.diagonal(dim1=1, dim2=2).min() > 0


def test_quadratic_pair_and_span_columns():
    class Pair(nn.Module):
        def forward(self, X): return (X[:, :, 3] * X[:, :, 9]).sum(1, keepdim=True)   # same character at 3 and 9
    X = random_one_hot((1, 4, 12), random_state=1)
    d = dependency_map(Pair(), X, start=2, end=10)
    assert d.shape == (1, 12, 8)
    nz = {tuple(t) for t in (d[0] > 1e-6).nonzero().tolist()}
    assert nz <= {(3, 1), (9, 1), (3, 7), (9, 7)} and (3, 7) in nz and (9, 1) in nz


def test_pisa_equals_deep_lift_shap_per_column():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(4, 3, 5, padding=2), nn.ReLU(), nn.Conv1d(3, 1, 3, padding=1), nn.Flatten())
    X = random_one_hot((2, 4, 20), random_state=2).float()
    P, R = pisa(model, X, n_shuffles=3, random_state=0, return_references=True, targets=[0, 7, 19])
    assert P.shape == (2, 3, 4, 20)
    for k, t in enumerate([0, 7, 19]):
        torch.testing.assert_close(P[:, k], deep_lift_shap(model, X, target=t, references=R), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match='targets must be output columns'): pisa(model, X, targets=[20])


@pytest.mark.parametrize('batch_size', [1, 4, 16, 64])   # G = 1, 1, 2 (3 passes for 5 columns), 5
def test_pisa_batching_does_not_change_results(batch_size):
    "Pairs repeated to fill a batch (replicas explaining different columns, passes not dividing the columns evenly) or split over batches: deep_lift_shap per column, with extra inputs."
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__(); torch.manual_seed(1)
            self.body = nn.Sequential(nn.Conv1d(4, 4, 5, padding=2), nn.ReLU(), nn.Conv1d(4, 1, 3, padding=1), nn.Flatten())
        def forward(self, X, w): return self.body(X) * w
    model, X = Scaled(), random_one_hot((3, 4, 16), random_state=3).float()
    w = torch.tensor([[1.], [2.], [0.5]])
    ts = [0, 3, 8, 9, 15]
    P, R = pisa(model, X, args=(w,), n_shuffles=2, random_state=1, batch_size=batch_size, targets=ts, hypothetical=True, return_references=True)
    for k, t in enumerate(ts):
        want = deep_lift_shap(model, X, args=(w,), target=t, references=R, hypothetical=True)
        torch.testing.assert_close(P[:, k], want, rtol=1e-5, atol=1e-6)
