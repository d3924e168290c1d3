"Tests of meme_nb.design on a PWM-scanning oracle whose answers are known."
import re
import warnings

import pytest
import torch
from hypothesis import given, settings, strategies as st

from meme_nb.design import greedy_marginalize, greedy_substitution
from meme_nb.ersatz import substitute
from meme_nb.io import jaspar_path, read_meme
from meme_nb.predict import predict
from meme_nb.utils import MemeNbWarning, characters, random_one_hot

MSE = torch.nn.MSELoss(reduction='none')
MOTIFS = ['GCTAATTAAC', 'GTGACTCATC', 'TGATGACGTCATCGC', 'CGTCTAGACA']  # AP-1 is motif 1, CRE motif 2
AP1, CREB = 'MA0099.4 FOS::JUN', 'MA0018.5 CREB1'


class Oracle(torch.nn.Module):
    "Sum over positions of ReLU(PWM score above half its maximum), best strand, scaled so a consensus site adds 1."
    def __init__(self, pwms, threshold=0.5):
        super().__init__()
        w = [torch.log2(p.clamp_min(0.01) / 0.25) for p in pwms]
        width, k = max(x.shape[1] for x in w), len(w)
        f = torch.zeros(2 * k, 4, width)
        for i, x in enumerate(w): f[i, :, :x.shape[1]], f[k + i, :, :x.shape[1]] = x, x.flip((0, 1))
        best = torch.stack([x.max(0).values.sum() for x in w])
        self.conv = torch.nn.Conv1d(4, 2 * k, width)
        self.conv.weight.data, self.conv.bias.data = f, -threshold * best.repeat(2)
        self.register_buffer('scale', (1 / ((1 - threshold) * best)).repeat(2)[:, None])
        self.requires_grad_(False)

    def forward(self, X):
        s = torch.relu(self.conv(torch.nn.functional.pad(X, (0, self.conv.kernel_size[0] - 1)))) * self.scale
        k = s.shape[1] // 2
        return torch.maximum(s[:, :k], s[:, k:]).sum(-1)


@pytest.fixture(scope='module')
def model():
    jaspar = read_meme(jaspar_path())
    return Oracle([jaspar[AP1], jaspar[CREB]])


@pytest.fixture
def X():
    return random_one_hot((1, 4, 120), random_state=3).float()


def _log(capsys):
    "Parse the verbose log into (iteration, loss, improvement, motif, pos) rows."
    rows = []
    for line in capsys.readouterr().out.splitlines():
        m = re.match(r'Iteration (\d+) -- Loss: *([^,]+), Improvement: *([^,]+), (?:Motif )?Idx: ([^,]+), (?:Pos Idx: ([^,]+), )?Time', line)
        if m: rows.append(m.groups())
    return rows


def test_designs_the_right_motif_in(model, X, capsys):
    y = predict(model, X)
    y[0, 0] += 1                                      # one more AP-1 site, CREB unchanged
    X_hat = greedy_substitution(model, X, MOTIFS, y, max_iter=1, verbose=True)
    rows = _log(capsys)
    assert rows[0][0] == '0' and rows[0][2] == 'N/A'
    assert int(rows[1][3]) in (1, 1 + len(MOTIFS))    # the AP-1 motif or its reverse complement
    pos, motif = int(rows[1][4]), MOTIFS[int(rows[1][3]) % len(MOTIFS)]
    written = characters(X_hat[0, :, pos:pos + len(motif)])
    assert written in (motif, characters(substitute(torch.zeros(1, 4, 10), motif).flip((1, 2))[0]))
    assert (X_hat != X).any(1).sum() <= len(motif)
    after = predict(model, X_hat)
    assert after[0, 0] == pytest.approx(float(y[0, 0]), abs=0.3)


def test_knocks_out_an_unwanted_motif(model):
    X = substitute(random_one_hot((1, 4, 120), random_state=5).float(), 'ATGAGTCAT', 50)
    y = predict(model, X)
    assert y[0, 0] >= 1
    y[0, 0] = 0
    X_hat = greedy_substitution(model, X, ['A', 'C', 'G', 'T'], y, reverse_complement=False, max_iter=1)
    changed = (X_hat != X).any(1)[0].nonzero()[:, 0].tolist()
    assert len(changed) == 1 and 50 <= changed[0] < 59
    assert predict(model, X_hat)[0, 0] < 0.5


def test_input_mask_limits_the_starts(model, X, capsys):
    y = predict(model, X)
    y[0, 0] += 2
    mask = torch.zeros(120, dtype=torch.bool)
    mask[40:50] = True
    X_hat = greedy_substitution(model, X, MOTIFS, y, input_mask=mask, max_iter=3, verbose=True)
    starts = [int(r[4]) for r in _log(capsys)[1:]]
    assert starts and all(40 <= s < 50 for s in starts)
    changed = (X_hat != X).any(1)[0].nonzero()[:, 0]
    assert changed.min() >= 40 and changed.max() < 50 + 15


def test_output_mask_ignores_other_outputs(model, X):
    y = torch.tensor([[2.0, -100.0]])                 # the CREB target is absurd but masked out
    X_hat = greedy_substitution(model, X, MOTIFS, y, output_mask=torch.tensor([True, False]), max_iter=3)
    assert predict(model, X_hat)[0, 0] == pytest.approx(2, abs=0.3)


def test_losses_decrease_monotonically_and_tol_stops(model, X, capsys):
    y = predict(model, X)
    y[0, 0] += 3
    greedy_substitution(model, X, MOTIFS, y, tol=0.05, verbose=True)
    rows = _log(capsys)
    losses = [float(r[1]) for r in rows]
    gains = [float(r[2]) for r in rows[1:]]
    assert all(b < a for a, b in zip(losses, losses[1:]))
    assert all(g >= 0.05 for g in gains[:-1])         # every edit but the last improved by at least tol
    assert len(rows) >= 3


def test_max_iter_counts_edits(model, X, capsys):
    y = predict(model, X)
    y[0, 0] += 5
    X_hat = greedy_substitution(model, X, MOTIFS, y, max_iter=3, tol=0, verbose=True)
    assert len(_log(capsys)) == 4
    assert 3 <= int((X_hat != X).any(1).sum()) <= 3 * 15
    assert torch.equal(greedy_substitution(model, X, MOTIFS, y, max_iter=0), X)


def test_stops_when_nothing_improves(model, X, capsys):
    y = predict(model, X)                             # already perfect: loss 0
    X_hat = greedy_substitution(model, X, MOTIFS, y, verbose=True)
    assert torch.equal(X_hat, X) and len(_log(capsys)) == 1


def test_inputs_not_modified(model, X):
    X0, y = X.clone(), torch.tensor([[3.0, 0.0]])
    y0, mask = y.clone(), torch.ones(120, dtype=torch.bool)
    greedy_substitution(model, X, MOTIFS, y, input_mask=mask, max_iter=2)
    Xs = random_one_hot((4, 4, 80), random_state=1).float()
    Xs0 = Xs.clone()
    greedy_marginalize(model, Xs, MOTIFS, y, max_iter=2)
    assert torch.equal(X, X0) and torch.equal(y, y0) and torch.equal(Xs, Xs0) and mask.all()


def test_batch_of_two_and_scalar_losses_raise(model, X):
    y = torch.zeros(1, 2)
    with pytest.raises(ValueError, match='X must hold one sequence'):
        greedy_substitution(model, X.repeat(2, 1, 1), MOTIFS, y)
    with pytest.raises(ValueError, match=r"loss must return one value per example.*reduction='none'"):
        greedy_substitution(model, X, MOTIFS, y, loss=torch.nn.MSELoss())
    with pytest.raises(ValueError, match='loss must return one value per example'):
        greedy_substitution(model, X, MOTIFS, y, loss=lambda a, b: ((a - b) ** 2).mean().reshape(1))
    with pytest.raises(ValueError, match="reduction='none'"):
        greedy_marginalize(model, X.repeat(3, 1, 1), MOTIFS, y, loss=torch.nn.L1Loss())


@pytest.mark.parametrize('kw, exc, match', [
    (dict(input_mask=torch.ones(120)), TypeError, 'input_mask must be None or a bool tensor'),
    (dict(input_mask=torch.zeros(120, dtype=torch.bool)), ValueError, 'input_mask must select something'),
    (dict(output_mask=torch.ones(3, dtype=torch.bool)), ValueError, r'output_mask must have shape \(2,\)'),
    (dict(tol=-0.1), ValueError, 'tol must be a non-negative number'),
    (dict(max_iter=-5), ValueError, r'max_iter must be in \[-1, inf\]'),
    (dict(batch_size=0), ValueError, 'batch_size'),
    (dict(args=(torch.zeros(3, 1),)), ValueError, r'args\[0\] must have first dimension 1'),
    (dict(motifs=[]), TypeError, 'motifs must be a non-empty list'),
    (dict(motifs='ACGT'), TypeError, 'motifs must be a non-empty list'),
    (dict(motifs=['ACGU']), ValueError, r"motifs\[0\] has character 'U'"),
    (dict(y=torch.zeros(2, 2)), ValueError, r'y must have shape \(1, \.\.\.\)'),   # a 1-D y is one row; two rows are not
    (dict(y=torch.zeros(1, 7)), ValueError, "y must have the shape of the model's output"),
])
def test_bad_input(model, X, kw, exc, match):
    call = dict(motifs=MOTIFS, y=torch.zeros(1, 2)) | kw
    with pytest.raises(exc, match=match):
        greedy_substitution(model, X, call.pop('motifs'), call.pop('y'), **call)


def test_half_and_bfloat16_pick_the_same_edits(model, X):
    y = torch.tensor([[2.0, 0.0]])
    ref = greedy_substitution(model, X, MOTIFS, y, max_iter=2)
    half = greedy_substitution(model.half(), X.half(), MOTIFS, y.half(), max_iter=2)
    model.float()
    assert half.dtype == torch.float16 and (half != X).any(1).sum() <= 30
    # ties between equally good starts may break differently in low precision: compare the outcome
    assert torch.allclose(predict(model, half.float()), predict(model, ref), atol=0.05)
    bf = greedy_substitution(model, X, MOTIFS, y, max_iter=2, dtype=torch.bfloat16)
    assert bf.dtype == torch.float32 and torch.allclose(predict(model, bf), predict(model, ref), atol=0.05)
    assert model.conv.weight.dtype == torch.float32


def test_model_state_restored(model, X):
    model.train()
    greedy_substitution(model, X, MOTIFS, torch.zeros(1, 2), max_iter=1)
    assert model.training
    model.eval()


def test_marginalize_builds_a_construct_with_the_asked_effect(model, capsys):
    Xs = random_one_hot((8, 4, 100), random_state=2).float()
    y = torch.tensor([[1.0, 0.0]])
    C = greedy_marginalize(model, Xs, MOTIFS, y, max_iter=3, verbose=True)
    rows = _log(capsys)
    assert int(rows[1][3]) in (1, 1 + len(MOTIFS))    # AP-1 first
    assert C.shape[0] == 4 and C.dtype == Xs.dtype
    effect = (predict(model, substitute(Xs, C)) - predict(model, Xs)).mean(0)
    assert float(MSE(effect, y[0]).mean()) == pytest.approx(float(rows[-1][1]), rel=1e-3, abs=1e-6)
    assert effect[0] == pytest.approx(1, abs=0.2)
    assert all(float(b) < float(a) for a, b in zip([r[1] for r in rows], [r[1] for r in rows[1:]]))


def test_marginalize_first_motif_is_centred_and_max_iter_counts_motifs(model):
    Xs = random_one_hot((4, 4, 100), random_state=2).float()
    y = torch.tensor([[1.0, 0.0]])
    one = greedy_marginalize(model, Xs, MOTIFS, y, max_iter=1)
    assert characters(one) in MOTIFS + [characters(substitute(torch.zeros(1, 4, 15), m, 0)[0, :, :len(m)].flip((0, 1))) for m in MOTIFS]
    assert greedy_marginalize(model, Xs, MOTIFS, y, max_iter=0).shape == (4, 0)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**16), st.integers(1, 4), st.integers(0, 3))
def test_construct_gaps_stay_within_max_spacing(seed, max_iter, max_spacing):
    "Every run of N columns inside a construct is at most max_spacing long, and the construct starts and ends with a motif."
    Xs = random_one_hot((2, 4, 60), random_state=seed).float()
    f = lambda x: x[:, :, 20:40].sum((1, 2))[:, None] * 0 + x[:, 0, 25:35].sum(-1, keepdim=True)
    C = greedy_marginalize(f, Xs, ['AAT', 'CG', 'T'], torch.tensor([[10.0]]), max_spacing=max_spacing, max_iter=max_iter, tol=0)
    if C.shape[1] == 0: return                       # no single motif helped: an empty construct
    s = characters(C, allow_N=True)
    assert s[0] != 'N' and s[-1] != 'N'
    assert all(len(g) <= max_spacing for g in re.findall('N+', s))


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**16), st.integers(20, 60), st.integers(0, 19), st.integers(1, 10))
def test_substitution_matches_brute_force(seed, length, lo, width):
    "One greedy step equals the best of all single edits scored one by one."
    X = random_one_hot((1, 4, length), random_state=seed).float()
    w = torch.randn(4, length, generator=torch.Generator().manual_seed(seed))
    f = lambda x: (x * w).sum((1, 2))[:, None]
    mask = torch.zeros(length, dtype=torch.bool)
    mask[lo:lo + width] = True
    motifs = ['AC', 'G', 'TTA']
    X_hat = greedy_substitution(f, X, motifs, torch.tensor([[100.0]]), input_mask=mask, max_iter=1, reverse_complement=True)
    best = min(((float(f(substitute(X, m, s))[0, 0]) - 100) ** 2, s, m)
               for m in motifs + ['GT', 'C', 'TAA'] for s in range(length - len(m) + 1) if mask[s])
    assert (float(f(X_hat)[0, 0]) - 100) ** 2 == pytest.approx(min(best[0], (float(f(X)[0, 0]) - 100) ** 2), rel=1e-5)


# --- issue 12: y as any numeric array-like, an empty construct says so ---------------

@pytest.mark.parametrize('as_y', [lambda t: t.tolist(), lambda t: t.numpy(), lambda t: t.double(), lambda t: t.half(),
                                  lambda t: t.numpy().astype('float64'), lambda t: t[0], lambda t: t[0].tolist()])
def test_y_any_numeric_array_like(model, X, as_y):
    y = torch.tensor([[1.0, 0.5]])
    ref = greedy_substitution(model, X, MOTIFS, y, max_iter=2)
    assert torch.equal(greedy_substitution(model, X, MOTIFS, as_y(y), max_iter=2), ref)
    Xs = random_one_hot((3, 4, 100), random_state=2).float()
    ref = greedy_marginalize(model, Xs, MOTIFS, y, max_iter=2)
    assert torch.equal(greedy_marginalize(model, Xs, MOTIFS, as_y(y), max_iter=2), ref)


def test_y_nested_list_from_the_reference_tests():
    f = lambda x: x[:, 0, 25:35].sum(-1, keepdim=True)
    Xs = random_one_hot((2, 4, 60), random_state=0).float()
    C = greedy_marginalize(f, Xs, ['AAT', 'CG', 'T'], [[10.0]], max_iter=1)
    assert characters(C) in ('AAT', 'ATT')
    X1 = greedy_substitution(f, Xs[:1], ['AAT', 'CG', 'T'], [[10.0]], max_iter=1)
    assert X1.shape == (1, 4, 60)


@pytest.mark.parametrize('y, exc, match', [([['a']], TypeError, 'y must be'), ([[1.0], [2.0]], ValueError, r'y must have shape \(1, \.\.\.\)'),
                                           (torch.tensor(3.0), ValueError, 'y must have shape'), ([[True]], TypeError, 'y must be'),
                                           (torch.tensor([[1 + 1j]]), TypeError, 'y must be')])
def test_y_refused_when_not_numeric_or_not_one_row(model, X, y, exc, match):
    with pytest.raises(exc, match=match):
        greedy_substitution(model, X, MOTIFS, y)


def test_marginalize_with_nothing_worth_adding_warns_and_returns_empty_construct():
    f = lambda x: x[:, 0, 25:35].sum(-1, keepdim=True) * 0     # no motif changes anything
    Xs = random_one_hot((2, 4, 60), random_state=0).float()
    with pytest.warns(MemeNbWarning, match='no motif'):
        C = greedy_marginalize(f, Xs, ['AAT', 'CG'], [[10.0]])
    assert C.shape == (4, 0) and C.dtype == Xs.dtype
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert greedy_marginalize(f, Xs, ['AAT', 'CG'], [[10.0]], max_iter=0).shape == (4, 0)   # asked for none: no warning
