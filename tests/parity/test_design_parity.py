"Parity of meme_nb.design.greedy_substitution with tangermeme's (run with /work/peers-venv/bin/python)."
import warnings

import pytest
import torch

tangermeme_design = pytest.importorskip('tangermeme.design', reason='tangermeme is not installed')

from meme_nb.design import greedy_substitution
from meme_nb.utils import random_one_hot

MOTIFS = ['GTGACTCATC', 'TGATGACGTCATCGC', 'ACATTCCA', 'CGTCTAGACA']


def small_model(L, n_out=5):
    "Random-weight conv net: ties between candidates are practically impossible."
    torch.manual_seed(0)
    conv = torch.nn.Sequential(torch.nn.Conv1d(4, 8, 7), torch.nn.ReLU(), torch.nn.MaxPool1d(4))
    with torch.no_grad(): n = conv(torch.zeros(1, 4, L)).numel()
    return torch.nn.Sequential(conv, torch.nn.Flatten(), torch.nn.Linear(n, n_out)).eval()


def theirs(model, X, motifs, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return tangermeme_design.greedy_substitution(model, X, y=y, motifs=motifs, device='cpu', **kw)


@pytest.mark.parametrize('motifs, rc', [(MOTIFS, True), (['A', 'C', 'G', 'T'], False)])
@pytest.mark.parametrize('masked', [False, True])
def test_same_design_as_tangermeme(motifs, rc, masked):
    L = 150
    model, X = small_model(L), random_one_hot((1, 4, L), random_state=0).float()
    y = torch.tensor([[2.0, -1.0, 0.5, 3.0, 0.0]])
    mask = None
    if masked:
        mask = torch.zeros(L, dtype=torch.bool); mask[40:90] = True
    kw = dict(loss=torch.nn.MSELoss(reduction='none'), reverse_complement=rc, input_mask=mask, max_iter=3, batch_size=64)
    ours = greedy_substitution(model, X, motifs, y, **kw)
    assert torch.equal(ours, theirs(model, X, motifs, y, **kw))


def test_same_design_with_output_mask():
    L = 120
    model, X = small_model(L), random_one_hot((1, 4, L), random_state=1).float()
    y, om = torch.tensor([[5.0, 0.0, 0.0, 0.0, -5.0]]), torch.tensor([True, False, False, False, True])
    kw = dict(loss=torch.nn.MSELoss(reduction='none'), output_mask=om, max_iter=2)
    assert torch.equal(greedy_substitution(model, X, MOTIFS, y, **kw), theirs(model, X, MOTIFS, y, **kw))
