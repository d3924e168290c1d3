"Tests of meme_nb.design on a PWM-scanning oracle whose answers are known."
import re
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from meme_nb.design import beam_substitution, greedy_marginalize, greedy_substitution, screen
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


# --- issue 18: beam search and random screens ---------------------------------------

SQ = lambda a, b: (a - b) ** 2   # squared error, broadcast over rows without torch's size warning


def small_net(L, n_out=3, seed=0):
    "Random-weight conv net: a smooth landscape in which ties between candidates are practically impossible."
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Conv1d(4, 6, 5), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(6 * (L - 4), n_out)).eval()


def _edits(x, motifs, allowed):
    "Every changing one-edit child of x (4, L), in (motif, start) order, the reverse complements last."
    out = []
    for m in motifs:
        for s in range(x.shape[1] - m.shape[1] + 1):
            if allowed[s] and not torch.equal(x[:, s:s + m.shape[1]], m):
                c = x.clone(); c[:, s:s + m.shape[1]] = m; out.append(c)
    return out


def naive_beam(f, X, motifs, beam_size, n_best, tol, max_iter, allowed):
    "Beam search written plainly: every child scored alone, beams and results deduplicated by their characters."
    ms = [substitute(torch.zeros(1, 4, len(m)), m, 0)[0] for m in motifs]
    ms += [m.flip((0, 1)) for m in ms]
    beam, seen = [X[0]], {characters(X[0]): (f(X[0]), 0, X[0])}
    best, rounds = f(X[0]), 0
    while max_iter < 0 or rounds < max_iter:
        kids = [c for b in beam for c in _edits(b, ms, allowed)]
        scored = sorted([(f(c), i, c) for i, c in enumerate(kids)], key=lambda t: (t[0], t[1]))
        for l, i, c in scored: seen.setdefault(characters(c), (l, len(seen), c))
        top, names = [], set()
        for l, i, c in scored:
            if characters(c) not in names: names.add(characters(c)); top.append((l, c))
            if len(top) == beam_size: break
        if not top or not top[0][0] < best: break
        gain, best, beam, rounds = best - top[0][0], top[0][0], [c for _, c in top], rounds + 1
        if gain < tol: break
    return torch.stack([c for l, _, c in sorted(seen.values(), key=lambda t: (t[0], t[1]))[:n_best]])


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**16), st.integers(12, 24), st.integers(1, 4), st.integers(1, 5), st.integers(1, 3))
def test_beam_matches_a_plain_beam_search(seed, length, beam_size, n_best, max_iter):
    "The batched beam search returns exactly what a plain one, scoring every child alone, returns."
    f_net, X = small_net(length, seed=seed % 7), random_one_hot((1, 4, length), random_state=seed).float()
    y = torch.tensor([[3.0, -2.0, 1.0]])
    f = lambda x: float(SQ(f_net(x[None].float()), y).mean())
    allowed = torch.rand(length, generator=torch.Generator().manual_seed(seed)) < 0.6
    allowed[0] = True
    motifs = ['AC', 'G', 'TTA']
    with torch.no_grad():
        want = naive_beam(f, X, motifs, beam_size, n_best, 1e-3, max_iter, allowed)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', MemeNbWarning)
        got = beam_substitution(f_net, X, y, motifs, beam_size=beam_size, n_best=n_best, max_iter=max_iter, input_mask=allowed, batch_size=17)
    assert [characters(x) for x in got] == [characters(x) for x in want]


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**16), st.integers(10, 40), st.booleans(), st.integers(-1, 4), st.sampled_from([0.0, 1e-3, 0.5]))
def test_beam_size_one_is_greedy_substitution(seed, length, rc, max_iter, tol):
    "By construction: a beam of one keeps the best child every round, with greedy substitution's candidates, ties and stopping rule."
    f, X = small_net(length, seed=seed % 5), random_one_hot((1, 4, length), random_state=seed).float()
    y, motifs = torch.tensor([[2.0, 0.0, -1.0]]), ['GA', 'T', 'CCA']
    kw = dict(reverse_complement=rc, max_iter=max_iter, tol=tol, batch_size=23)
    assert torch.equal(beam_substitution(f, X, y, motifs, beam_size=1, **kw), greedy_substitution(f, X, motifs, y, **kw))


def test_beam_returns_the_best_sequences_it_evaluated(model, X):
    "Every sequence the model saw is recorded; the results are the n_best lowest losses among them, distinct, best first."
    seen = []
    def f(x): seen.append(x.clone()); return model(x)
    y = torch.tensor([[2.0, 0.0]])
    mask = torch.zeros(120, dtype=torch.bool); mask[30:60] = True
    got = beam_substitution(f, X, y, MOTIFS, beam_size=3, n_best=5, input_mask=mask, max_iter=3)
    allx = torch.cat(seen)
    losses = SQ(model(allx), y).mean(1)
    best = {}
    for l, x in zip(losses.tolist(), allx):
        best.setdefault(characters(x), l)
    want = sorted(best.values())[:5]
    got_l = SQ(model(got), y).mean(1).tolist()
    assert got.shape == (5, 4, 120) and len({characters(x) for x in got}) == 5
    assert got_l == pytest.approx(want, abs=1e-6)


def test_beam_reaches_the_design_tutorials_goal_at_least_as_well_as_greedy():
    "The design tutorial's setting: beluga_mini, GATA logit 3, every motif at the 30 central starts, three rounds."
    from meme_nb.datasets import motif_pwms
    from meme_nb.models import load_pretrained
    beluga = load_pretrained('beluga_mini')
    names = list(beluga.task_names)
    jaspar = read_meme(jaspar_path())
    motifs = [characters(p, force=True) for p in motif_pwms().values()]
    motifs += [characters(jaspar[e], force=True) for e in ['MA0113.4 NR3C1', 'MA0052.5 MEF2A', 'MA0090.4 TEAD1']]
    X = random_one_hot((1, 4, 1000), random_state=0).float()
    gata = torch.tensor([n == 'GATA' for n in names])
    y = torch.zeros(1, len(names)); y[:, gata] = 3
    window = torch.zeros(1000, dtype=torch.bool); window[485:515] = True
    kw = dict(output_mask=gata, input_mask=window, max_iter=3, batch_size=256)
    loss = lambda x: float(((predict(beluga, x)[:, gata] - 3) ** 2).mean())
    greedy = greedy_substitution(beluga, X, motifs, y, **kw)
    beam = beam_substitution(beluga, X, y, motifs, beam_size=4, n_best=2, **kw)
    assert loss(beam[:1]) <= loss(greedy) + 1e-6
    assert loss(beam[:1]) < 1e-2 and loss(beam[:1]) <= loss(beam[1:])


@pytest.mark.parametrize('kw, exc, match', [
    (dict(beam_size=0), ValueError, r'beam_size must be in \[1, inf\]'),
    (dict(beam_size=2.5), TypeError, 'beam_size must be an int'),
    (dict(n_best=0), ValueError, r'n_best must be in \[1, inf\]'),
    (dict(n_best=True), TypeError, 'n_best'),
    (dict(y=None), ValueError, 'y must be given'),
    (dict(y=[['a']]), TypeError, 'y must be numbers'),
    (dict(input_mask=torch.ones(119, dtype=torch.bool)), ValueError, r'input_mask must have shape \(120,\)'),
    (dict(max_iter=-2), ValueError, r'max_iter must be in \[-1, inf\]'),
    (dict(tol=float('nan')), ValueError, 'tol must be a non-negative number'),
    (dict(motifs=['ACGU']), ValueError, r"motifs\[0\] has character 'U'"),
])
def test_beam_bad_input(model, X, kw, exc, match):
    call = dict(y=torch.zeros(1, 2), motifs=MOTIFS) | kw
    with pytest.raises(exc, match=match):
        beam_substitution(model, X, **call)


def test_beam_keeps_inputs_and_model_state(model, X):
    X0, y = X.clone(), torch.tensor([[3.0, 0.0]])
    model.train()
    beam_substitution(model, X, y, MOTIFS, max_iter=1, beam_size=2)
    assert model.training and torch.equal(X, X0)
    model.eval()


def _counting(calls):
    def func(shape, random_state=None, **kw):
        calls.append(random_state)
        return random_one_hot(shape, random_state=random_state, **kw)
    return func


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 1000), st.integers(1, 6), st.integers(3, 40), st.sampled_from([-1, 1, 3]))
def test_screen_keeps_the_best_of_everything_it_drew(seed, n_best, batch_size, max_iter):
    "Recomputed independently: the batches are drawn again from the seeds random_state + i and scored one by one."
    f, y = small_net(20, seed=seed % 3), torch.tensor([[1.0, 0.0, -1.0]])
    calls = []
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', MemeNbWarning)
        got = screen(f, (4, 20), y, n_best=n_best, batch_size=batch_size, max_iter=max_iter, func=_counting(calls), random_state=seed)
    assert calls == [seed + i for i in range(len(calls))] and (max_iter < 0 or len(calls) <= max_iter)
    drawn = torch.cat([random_one_hot((batch_size, 4, 20), random_state=seed + i) for i in range(len(calls))])
    with torch.no_grad():
        scores = {}
        for x in drawn: scores.setdefault(characters(x), float(SQ(f(x[None].float()), y).mean()))
        got_l = SQ(f(got.float()), y).mean(1).tolist()
    assert got.dtype == torch.int8 and len({characters(x) for x in got}) == len(got) == min(n_best, len(scores))
    assert got_l == pytest.approx(sorted(scores.values())[:n_best], abs=1e-5)


def test_screen_stops_at_the_first_batch_that_does_not_help(capsys):
    "max_iter=-1: every batch but the last lowered the kept mean by at least tol (or filled the kept set); the last did not."
    f, y = small_net(20), torch.tensor([[1.0, 0.0, -1.0]])
    screen(f, (4, 20), y, n_best=2, batch_size=4, tol=1e-3, random_state=3, verbose=True)
    gains = [float(g) for g in re.findall(r'Improvement: *([^,]+),', capsys.readouterr().out)]
    assert len(gains) >= 2
    assert all(g >= 1e-3 for g in gains[:-1]) and not gains[-1] >= 1e-3


def test_screen_reproducible_with_seeds_and_generators():
    f, y = small_net(20), torch.tensor([[1.0, 0.0, -1.0]])
    kw = dict(n_best=3, batch_size=8, max_iter=4)
    assert torch.equal(screen(f, (4, 20), y, random_state=5, **kw), screen(f, (4, 20), y, random_state=5, **kw))
    a = screen(f, (4, 20), y, random_state=np.random.default_rng(1), **kw)
    assert torch.equal(a, screen(f, (4, 20), y, random_state=np.random.default_rng(1), **kw))
    p = screen(f, (4, 20), y, random_state=5, additional_func_kwargs={'probs': [[0.7, 0.1, 0.1, 0.1]]}, **kw)
    assert float(p[:, 0].float().mean()) > 0.5               # the kwargs reach func: A-rich sequences


@pytest.mark.parametrize('kw, exc, match', [
    (dict(shape=(1, 4, 20)), ValueError, r'shape must be the shape of one sequence, \(4, length\)'),
    (dict(shape=(4, -1)), ValueError, r'shape\[1\] must be in \[1, inf\]'),
    (dict(shape='4x20'), ValueError, 'shape must be'),
    (dict(n_best=0), ValueError, 'n_best'),
    (dict(max_iter=0), ValueError, 'max_iter must be -1'),
    (dict(y=torch.zeros(1, 4)), ValueError, "y must have the shape of the model's output"),
    (dict(batch_size=0), ValueError, 'batch_size'),
    (dict(random_state='seed'), TypeError, 'random_state must be'),
    (dict(additional_func_kwargs=[1]), TypeError, 'additional_func_kwargs must be None or a dict'),
    (dict(loss=torch.nn.MSELoss()), ValueError, "reduction='none'"),
    (dict(alphabet=('A', 'C', 'G')), ValueError, r'shape\[0\] must be len\(alphabet\) = 3'),
])
def test_screen_bad_input(kw, exc, match):
    call = dict(model=small_net(20), shape=(4, 20), y=torch.zeros(1, 3), random_state=0) | kw
    with pytest.raises(exc, match=match):
        screen(**call)
