"substitution_effect, deletion_effect and insertion_effect agree with tangermeme's on the same inputs (skipped when tangermeme is not installed)."
import numpy as np, pytest, torch

tm_ve = pytest.importorskip('tangermeme.variant_effect', reason='tangermeme not installed')

from meme_nb.utils import random_one_hot
from meme_nb.variant_effect import deletion_effect, insertion_effect, substitution_effect

pytestmark = pytest.mark.parity


def conv_net(n_out=3):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv1d(4, 8, 7, padding=3), torch.nn.ReLU(), torch.nn.MaxPool1d(2),
                               torch.nn.Conv1d(8, 8, 5, padding=2), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(8 * 25, n_out))


class Identity(torch.nn.Module):
    "Returns the edited sequences themselves, so any difference shows where (the reference needs a module with parameters)."
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))
    def forward(self, X): return X.float() * self.w


identity = Identity()


def edits(seed, n, L, k, n_cols, unique=True, max_pos=None):
    "Random edit rows: example, position (distinct per example when `unique`), character."
    rng = np.random.default_rng(seed)
    rows = set() if unique else []
    while len(rows) < k:
        r = (int(rng.integers(n)), int(rng.integers((max_pos or L - 1) + 1)))
        rows.add(r) if unique else rows.append(r)
    rows = sorted(rows) if unique else rows
    out = np.array(rows, dtype=np.int64)
    if n_cols == 3: out = np.c_[out, rng.integers(0, 4, len(out))]
    return torch.from_numpy(out[rng.permutation(len(out))])


def close(a, b): torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('seed', range(4))
def test_substitution_parity(seed):
    X = random_one_hot((5, 4, 50), random_state=seed).float()
    s = edits(seed, 5, 50, 12, 3)
    for model in (identity, conv_net()):
        for a, b in zip(substitution_effect(model, X, s), tm_ve.substitution_effect(model, X, s)): close(a, b)


@pytest.mark.parametrize('seed,left', [(0, False), (1, True), (2, False), (3, True)])
def test_deletion_parity(seed, left):
    X = random_one_hot((5, 4, 56), random_state=seed).float()
    d = edits(seed, 5, 56, 14, 2)
    m = int(torch.bincount(d[:, 0]).max())
    X = X[:, :, :50 + m]
    d = d[d[:, 1] < 50 + m]
    for a, b in zip(deletion_effect(identity, X, d, left=left), tm_ve.deletion_effect(identity, X, d, left=left)): close(a, b)
    if m == 6:
        for a, b in zip(deletion_effect(conv_net(), X, d, left=left), tm_ve.deletion_effect(conv_net(), X, d, left=left)): close(a, b)


@pytest.mark.parametrize('seed,left', [(0, False), (1, True), (2, False), (3, True)])
def test_insertion_parity(seed, left):
    X = random_one_hot((5, 4, 50), random_state=seed).float()
    ins = edits(seed, 5, 50, 15, 3, unique=False, max_pos=49)   # repeated positions: stretches inserted in reverse order
    for model in (identity, conv_net()):
        for a, b in zip(insertion_effect(model, X, ins, left=left), tm_ve.insertion_effect(model, X, ins, left=left)): close(a, b)


def test_func_and_kwargs_parity():
    "Another func (deep_lift_shap-like keyword routing) and args pass through the same way."
    X = random_one_hot((3, 4, 50), random_state=5).float()
    s = edits(5, 3, 50, 4, 3)
    ours = substitution_effect(conv_net(), X, s, batch_size=2, device='cpu')
    ref = tm_ve.substitution_effect(conv_net(), X, s, batch_size=2, device='cpu')
    for a, b in zip(ours, ref): close(a, b)
