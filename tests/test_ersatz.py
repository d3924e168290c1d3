"""Property, uniformity and error tests for meme_nb.ersatz (the notebook holds the worked examples)."""
from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from scipy.stats import chisquare

from meme_nb.ersatz import delete, dinucleotide_shuffle, insert, local_dinucleotide_shuffle, multisubstitute, randomize, shuffle, substitute
from meme_nb.utils import characters, one_hot_encode, random_one_hot

DTYPES = (torch.int8, torch.float16, torch.float32, torch.bool)
dna = st.text(alphabet='ACGT', min_size=1, max_size=60)


def seqs(*strings, dtype=torch.int8):
    return torch.stack([one_hot_encode(s, dtype=dtype) for s in strings])


def strs(X):
    "Strings of a 3-d batch, or of every draw (flattened) of a 4-d batch."
    if X.ndim == 4: X = X.reshape(-1, *X.shape[2:])
    return [characters(x, allow_N=True) for x in X]


def dinucs(s):
    return Counter(s[i:i + 2] for i in range(len(s) - 1))


def multiset_permutations(counts):
    "Every distinct arrangement of the multiset `counts` (dict char -> count), by brute force."
    if not any(counts.values()):
        yield ''
        return
    for c in sorted(counts):
        if counts[c]:
            counts[c] -= 1
            for rest in multiset_permutations(counts): yield c + rest
            counts[c] += 1


def same_dinucleotide_sequences(s):
    "Brute force: all sequences with the dinucleotide counts, first and last character of `s`."
    target = dinucs(s)
    inner = (s[0] + p + s[-1] for p in multiset_permutations(Counter(s[1:-1])))
    return {t for t in inner if dinucs(t) == target}


# --- uniformity -------------------------------------------------------------

def test_brute_force_count_is_27():
    assert len(same_dinucleotide_sequences('ACCCACGATGATG')) == 27


def _chi_square(s, n, seed):
    allowed = same_dinucleotide_sequences(s)
    got = Counter(strs(dinucleotide_shuffle(seqs(s), n=n, random_state=seed)))
    assert set(got) <= allowed, f"shuffles outside the allowed set: {set(got) - allowed}"
    assert set(got) == allowed, f"missed {len(allowed - set(got))} of {len(allowed)}"
    return chisquare([got[t] for t in sorted(allowed)]).pvalue


def test_dinucleotide_shuffle_uniform_on_27():
    p = _chi_square('ACCCACGATGATG', 20_000, seed=2024)
    print(f"chi-square p-value over 27 sequences, 20,000 shuffles: {p:.4f}")
    assert p > 1e-3


@pytest.mark.parametrize('s', ['AACAAGAATAAG', 'TTAGACATTGCA', 'GGGCGCCCGTCG', 'CACATACAGAGC', 'GACGACGATCAG'])
def test_dinucleotide_shuffle_uniform_other_sequences(s):
    # self-loops (AA), a bottleneck vertex, CpG-rich sequence, and two where a vertex has parallel edges
    # (e.g. C -> A twice), so last exits must be weighted by edge multiplicity to be uniform
    assert _chi_square(s, 20_000, seed=7) > 1e-3


def test_uniform_in_a_span_and_across_a_batch():
    # the same sequence at two places of a batch, shuffled inside a span, is uniform in each row
    s = 'ACCCACGATGATG'
    X = seqs('TT' + s + 'GG', 'CC' + s + 'AA')
    Y = dinucleotide_shuffle(X, 2, 15, n=8000, random_state=5)
    allowed = same_dinucleotide_sequences(s)
    for row, (pre, post) in zip(Y, [('TT', 'GG'), ('CC', 'AA')]):
        got = Counter(t[2:15] for t in strs(row[None]))
        assert all(t[:2] == pre and t[15:] == post for t in strs(row[None]))
        assert set(got) == allowed
        assert chisquare([got[t] for t in sorted(allowed)]).pvalue > 1e-3


# --- properties ---------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(dna, st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_dinucleotide_shuffle_keeps_counts_and_ends(s, n, seed):
    Y = strs(dinucleotide_shuffle(seqs(s), n=n, random_state=seed))
    for y in Y:
        assert (y[0], y[-1], Counter(y), dinucs(y)) == (s[0], s[-1], Counter(s), dinucs(s))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet='ACGT', min_size=8, max_size=8), min_size=1, max_size=4),
       st.integers(0, 8), st.integers(0, 8), st.integers(0, 2**32 - 1))
def test_dinucleotide_shuffle_span_of_a_batch(rows, a, b, seed):
    start, end = min(a, b), max(a, b)
    Y = dinucleotide_shuffle(seqs(*rows), start, end, n=3, random_state=seed)
    assert Y.shape == (len(rows), 3, 4, 8)
    for s, ys in zip(rows, Y):
        for y in strs(ys[None]):
            assert y[:start] == s[:start] and y[end:] == s[end:]
            inner, orig = y[start:end], s[start:end]
            assert Counter(inner) == Counter(orig) and dinucs(inner) == dinucs(orig)
            if orig: assert (inner[0], inner[-1]) == (orig[0], orig[-1])


@settings(max_examples=100, deadline=None)
@given(st.lists(dna, min_size=1, max_size=3), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_shuffle_keeps_composition(rows, n, seed):
    L = min(map(len, rows))
    rows = [r[:L] for r in rows]
    Y = shuffle(seqs(*rows), n=n, random_state=seed)
    assert Y.shape == (len(rows), n, 4, L)
    for s, ys in zip(rows, Y):
        assert all(Counter(y) == Counter(s) for y in strs(ys[None]))


@settings(max_examples=100, deadline=None)
@given(dna, st.text(alphabet='ACGTN', min_size=1, max_size=60), st.data())
def test_substitute_reads_back_the_motif(s, motif, data):
    if len(motif) > len(s): motif = motif[:len(s)]
    start = data.draw(st.one_of(st.none(), st.integers(0, len(s) - len(motif))))
    Y = substitute(seqs(s), motif, start=start)
    at = len(s) // 2 - len(motif) // 2 if start is None else start
    y = strs(Y)[0]
    assert y[at:at + len(motif)] == motif
    assert y[:at] == s[:at] and y[at + len(motif):] == s[at + len(motif):]


@settings(max_examples=100, deadline=None)
@given(dna, st.text(alphabet='ACGT', min_size=1, max_size=20), st.data(), st.sampled_from(DTYPES))
def test_insert_then_delete_is_identity(s, motif, data, dtype):
    start = data.draw(st.integers(0, len(s)))
    X = seqs(s, s[::-1], dtype=dtype)
    Y = insert(X, motif, start=start)
    assert Y.shape == (2, 4, len(s) + len(motif)) and Y.dtype == dtype
    assert strs(Y)[0][start:start + len(motif)] == motif
    assert torch.equal(delete(Y, start, start + len(motif)), X)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(['dinucleotide', 'shuffle', 'randomize']))
def test_same_random_state_same_result(seed, which):
    X = random_one_hot((3, 4, 30), random_state=1)
    f = {'dinucleotide': lambda r: dinucleotide_shuffle(X, n=4, random_state=r),
         'shuffle': lambda r: shuffle(X, n=4, random_state=r),
         'randomize': lambda r: randomize(X, 5, 25, n=4, random_state=r)}[which]
    assert torch.equal(f(seed), f(seed))
    assert torch.equal(f(np.random.default_rng(seed)), f(np.random.default_rng(seed)))
    assert not torch.equal(f(seed), f(seed + 1))


# --- dtypes, copies, inputs untouched ------------------------------------------

@pytest.mark.parametrize('dtype', DTYPES)
def test_dtype_kept_and_input_untouched(dtype):
    X = seqs('ACGTTGCAACGGTA', 'TTGACANNACGTAC', dtype=dtype)
    X0 = X.clone()
    outs = [substitute(X, 'GG'), insert(X, 'GG'), multisubstitute(X, ['A', 'C'], 2), delete(X, 2, 5),
            randomize(X, 0, 6, n=2), shuffle(X, n=2), dinucleotide_shuffle(X, 0, 6, n=2)]
    for out in outs:
        assert out.dtype == dtype
        assert out.data_ptr() != X.data_ptr()
    assert torch.equal(X, X0)
    assert strs(X) == ['ACGTTGCAACGGTA', 'TTGACANNACGTAC']
    # editing an output never writes through to X
    for out in outs: out.zero_()
    assert torch.equal(X, X0)


def test_short_spans_are_copies():
    X = seqs('ACGTAC')
    for s, e in [(0, 0), (2, 3), (2, 4), (5, 6)]:
        Y = dinucleotide_shuffle(X, s, e, n=3, random_state=0)
        assert torch.equal(Y, X[:, None].expand(1, 3, 4, 6))


def test_randomize_probs_per_sequence():
    X = seqs('A' * 500, 'A' * 500)
    Y = randomize(X, 0, -1, probs=torch.tensor([[0.1, 0.2, 0.3, 0.4], [0., 0., 0., 1.]]), n=4, random_state=0)
    f = Y[0].float().mean(dim=(0, 2))
    assert torch.allclose(f, torch.tensor([0.1, 0.2, 0.3, 0.4]), atol=0.03)
    assert set(''.join(strs(Y[1:]))) == {'T'}


def test_shuffle_is_uniform_over_permutations():
    X = seqs('ACGT')
    got = Counter(strs(shuffle(X, n=24_000, random_state=0)))
    assert len(got) == 24
    assert chisquare(list(got.values())).pvalue > 1e-3


# --- errors ----------------------------------------------------------------------

def test_errors_name_the_argument():
    X = seqs('ACGTACGTAC')
    with pytest.raises(ValueError, match='motif has length 11'): substitute(X, 'A' * 11)
    with pytest.raises(ValueError, match=r'start must be in \[0, 7\]'): substitute(X, 'ACG', start=8)
    with pytest.raises(ValueError, match=r'start must be in \[0, 10\]'): insert(X, 'ACG', start=11)
    with pytest.raises(ValueError, match=r'spacing\[1\] must be in \[0, inf\]'): multisubstitute(X, ['A', 'C', 'G'], [1, -2])
    with pytest.raises(ValueError, match='spacing must have len'): multisubstitute(X, ['A', 'C'], [1, 2])
    with pytest.raises(ValueError, match='motifs and spacing cover 12'): multisubstitute(X, ['AAAAA', 'CCCCC'], 2)
    with pytest.raises(TypeError, match='motifs must be'): multisubstitute(X, 'AC', 1)
    with pytest.raises(ValueError, match=r'motifs\[1\]'): multisubstitute(X, ['A', 'CZ'], 1)
    with pytest.raises(ValueError, match='end must be >= start'): delete(X, 5, 2)
    with pytest.raises(ValueError, match='every position'): delete(X, 0, -1)
    with pytest.raises(ValueError, match='probs must have shape'): randomize(X, 0, 5, probs=[[0.5, 0.5]])
    with pytest.raises(ValueError, match=r'n must be in \[1, inf\]'): shuffle(X, n=0)
    with pytest.raises(TypeError, match='n must be an int'): dinucleotide_shuffle(X, n=2.0)
    with pytest.raises(TypeError, match='random_state'): dinucleotide_shuffle(X, random_state='seed')
    with pytest.raises(TypeError, match='X must be a torch.Tensor'): dinucleotide_shuffle(X.numpy())
    with pytest.raises(ValueError, match='X must be one-hot'): dinucleotide_shuffle(X.float() * 0.5)
    with pytest.raises(ValueError, match="X's dtype torch.int8 cannot hold"): substitute(X, torch.full((4, 2), 0.25))


def test_N_in_span_names_example_and_position():
    X = seqs('ACGTACGTAC', 'ACGTANGTAC')
    with pytest.raises(ValueError, match=r'X\[1\] has an N .* at position 5.*start/end'):
        dinucleotide_shuffle(X)
    Y = dinucleotide_shuffle(X, 6, 10, n=2, random_state=0)  # leaving the N out works
    assert all(y[:6] in ('ACGTAC', 'ACGTAN') for y in strs(Y))


# --- scale (timing is in benchmarks/bench_foundation.py, never in tests) -----------

def test_many_long_sequences_keep_dinucleotide_counts():
    "At benchmark-like lengths every shuffle keeps its dinucleotide counts and ends."
    X = random_one_hot((50, 4, 2000), random_state=0)
    Y = dinucleotide_shuffle(X, n=5, random_state=0)
    assert Y.shape == (50, 5, 4, 2000) and Y.dtype == X.dtype
    idx, idy = X.argmax(1), Y.argmax(2)
    pair = lambda i: i[..., :-1] * 4 + i[..., 1:]
    cx = torch.nn.functional.one_hot(pair(idx), 16).sum(-2)
    cy = torch.nn.functional.one_hot(pair(idy), 16).sum(-2)
    assert torch.equal(cy, cx[:, None].expand_as(cy))
    assert torch.equal(idy[..., 0], idx[:, None, 0].expand(50, 5)) and torch.equal(idy[..., -1], idx[:, None, -1].expand(50, 5))
    assert not torch.equal(idy[:, 0], idx)


# --- issue 12: X must be one-hot, motif tensors must be one-hot/N/probability columns, empty motifs ---

EDITS = {'substitute': lambda X: substitute(X, 'AC'), 'insert': lambda X: insert(X, 'AC'),
         'multisubstitute': lambda X: multisubstitute(X, ['A', 'C'], 1), 'delete': lambda X: delete(X, 1, 3),
         'randomize': lambda X: randomize(X, 0, 4, random_state=0), 'shuffle': lambda X: shuffle(X, random_state=0),
         'dinucleotide_shuffle': lambda X: dinucleotide_shuffle(X, random_state=0),
         'local_dinucleotide_shuffle': lambda X: local_dinucleotide_shuffle(X, bin_size=4, min_bin_size=2, random_state=0)}


@pytest.mark.parametrize('name', EDITS)
@pytest.mark.parametrize('bad', ['rand', 'two', 'multi_hot', 'negative', 'half'])
def test_every_edit_refuses_X_that_is_not_one_hot(name, bad):
    X = seqs('ACGTACGTAC', 'TTGACAGGAC', dtype=torch.float32)
    if bad == 'rand': X = torch.rand(2, 4, 10, generator=torch.Generator().manual_seed(0))
    elif bad == 'two': X[1, 2, 7] = 2
    elif bad == 'multi_hot': X[1, :, 7] = 1
    elif bad == 'negative': X[0, 0, 9] = -1
    elif bad == 'half': X[0, :2, 3] = 0.5
    X0 = X.clone()
    with pytest.raises(ValueError, match='X must be one-hot'):
        EDITS[name](X)
    assert torch.equal(X, X0) or bad == 'rand'


@pytest.mark.parametrize('name', EDITS)
@pytest.mark.parametrize('dtype', DTYPES)
def test_every_edit_accepts_one_hot_X_with_Ns(name, dtype):
    X = seqs('ACGTNNGTAC', 'TTGACAGGAC', dtype=dtype)
    if name in ('dinucleotide_shuffle', 'local_dinucleotide_shuffle'): X = X[:, :, 6:]
    EDITS[name](X)


@pytest.mark.parametrize('motif,col', [
    (torch.tensor([[1, 0], [0, 0], [0, 2], [0, 0]]), 1),                       # a 2
    (torch.tensor([[1, 1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]]), 1),           # multi-hot
    (torch.tensor([[0.2, 0.3], [0.2, 0.3], [0.2, 0.3], [0.2, 0.3]]), 0),       # sums to 0.8 / 1.2
    (torch.tensor([[1.5, 0.], [-0.5, 0.], [0., 1.], [0., 0.]]), 0),            # negative entry summing to 1
    (torch.tensor([[1., float('nan')], [0., 0.], [0., 0.], [0., 0.]]), 1),    # NaN
])
def test_motif_tensor_columns_must_be_one_hot_N_or_probabilities(motif, col):
    X = seqs('ACGTACGTAC', dtype=torch.float32)
    for f in (lambda m: substitute(X, m), lambda m: insert(X, m), lambda m: multisubstitute(X, ['A', m], 1)):
        with pytest.raises(ValueError, match=r'motif.* column %d' % col):
            f(motif)


def test_motif_tensor_random_floats_refused_and_probability_columns_accepted():
    X = seqs('ACGTACGTAC', dtype=torch.float32)
    with pytest.raises(ValueError, match=r'motif must have columns that are one-hot, all zero \(N\) or probability vectors'):
        substitute(X, torch.rand(4, 3, generator=torch.Generator().manual_seed(0)))
    pwm = torch.tensor([[0.25, 1, 0, 0.7], [0.25, 0, 0, 0.1], [0.25, 0, 0, 0.1], [0.25, 0, 0, 0.1002]])  # within 1e-3 of 1
    assert torch.equal(substitute(X, pwm, start=2)[0, :, 2:6], pwm)
    assert torch.equal(substitute(X, pwm[None].half(), start=2)[0, :, 2:6], pwm.half().float())


def test_multisubstitute_empty_list_is_a_value_error():
    X = seqs('ACGTACGTAC')
    for empty in ([], ()):
        with pytest.raises(ValueError, match='motifs must not be empty'):
            multisubstitute(X, empty, 1)


@pytest.mark.parametrize('dtype', DTYPES)
def test_empty_motif_is_a_no_op_edit(dtype):
    X = seqs('ACGTACGTAC', 'TTGACANNAC', dtype=dtype)
    for m in ('', torch.zeros(4, 0, dtype=dtype), torch.zeros(1, 4, 0)):
        for start in (None, 0, 10):
            Y = substitute(X, m, start=start)
            assert torch.equal(Y, X) and Y.dtype == dtype and Y.data_ptr() != X.data_ptr()
        assert torch.equal(insert(X, m), X)
    assert torch.equal(multisubstitute(X, ['AC', '', 'G'], [1, 2], start=0), multisubstitute(X, ['AC', 'G'], [3], start=0))


# --- issue 18: local_dinucleotide_shuffle ----------------------------------------

def slow_bins(L, bin_size, min_bin_size, first):
    "Oracle for the bin layout, one bin at a time: `(start, end)` pairs."
    cuts, pos = [0], min(first, L)
    while pos < L:
        cuts.append(pos); pos = min(pos + bin_size, L)
    cuts.append(L)
    bins = [(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]
    if len(bins) > 1 and bins[-1][1] - bins[-1][0] < min_bin_size: bins[-2:] = [(bins[-2][0], L)]
    return bins


def first_bins(N, n, bin_size, min_bin_size, seed):
    "The first-bin lengths local_dinucleotide_shuffle draws first from its generator, one per sequence and shuffle (row-major)."
    return np.random.default_rng(seed).integers(min_bin_size, bin_size + 1, size=N * n).reshape(N, n)


def check_bins(rows, Y, bin_size, min_bin_size, seed):
    "Every bin of every shuffle keeps its ends and its dinucleotide counts (slow Counter oracle); returns the number of bins seen."
    N, n = Y.shape[:2]
    firsts, seen = first_bins(N, n, bin_size, min_bin_size, seed), 0
    for s, ys, fs in zip(rows, Y, firsts):
        for y, f in zip(strs(ys[None]), fs):
            bins = slow_bins(len(s), bin_size, min_bin_size, int(f))
            assert sum(b - a for a, b in bins) == len(s)
            for a, b in bins:
                assert (y[a], y[b - 1], dinucs(y[a:b])) == (s[a], s[b - 1], dinucs(s[a:b])), (s, y, a, b)
            seen += len(bins)
    return seen


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet='ACGT', min_size=40, max_size=40), min_size=1, max_size=3),
       st.integers(1, 12), st.data(), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_local_shuffle_keeps_every_bin(rows, bin_size, data, n, seed):
    min_bin_size = data.draw(st.integers(0, bin_size))
    Y = local_dinucleotide_shuffle(seqs(*rows), n=n, bin_size=bin_size, min_bin_size=min_bin_size, random_state=seed)
    assert Y.shape == (len(rows), n, 4, 40)
    check_bins(rows, Y, bin_size, min_bin_size, seed)


@pytest.mark.parametrize('L,bin_size,min_bin_size', [(5000, 1024, 512), (3000, 700, 700), (2100, 1000, 100), (900, 1024, 512)])
def test_local_shuffle_keeps_every_bin_at_scale(L, bin_size, min_bin_size):
    rows = strs(random_one_hot((3, 4, L), random_state=L))
    Y = local_dinucleotide_shuffle(seqs(*rows), n=4, bin_size=bin_size, min_bin_size=min_bin_size, random_state=9)
    assert check_bins(rows, Y, bin_size, min_bin_size, 9) >= 12
    assert all(y != s for s, ys in zip(rows, Y) for y in strs(ys[None]))   # something moved


def test_local_shuffle_layout_oracle_is_needed():
    "The bin check fails for a whole-window shuffle: the test can see a bin that lost its counts."
    rows = strs(random_one_hot((2, 4, 3000), random_state=0))
    Y = dinucleotide_shuffle(seqs(*rows), n=3, random_state=0)
    with pytest.raises(AssertionError): check_bins(rows, Y, 1000, 1000, 0)


def test_local_shuffle_bins_are_uniform_and_independent():
    "Fixed bins of 13 over two copies of ACCCACGATGATG: each bin uniform over its 27 shuffles, the pair over 27 x 27."
    s = 'ACCCACGATGATG'
    Y = strs(local_dinucleotide_shuffle(seqs(s + s), n=20_000, bin_size=13, min_bin_size=13, random_state=11))
    allowed = sorted(same_dinucleotide_sequences(s))
    for part in (slice(0, 13), slice(13, 26)):
        got = Counter(y[part] for y in Y)
        assert set(got) == set(allowed)
        assert chisquare([got[t] for t in allowed]).pvalue > 1e-3
    joint = Counter((y[:13], y[13:]) for y in Y)
    assert chisquare([joint[(a, b)] for a in allowed for b in allowed]).pvalue > 1e-3


def bins_hold(s, y, bins):
    return all((y[a], y[b - 1], dinucs(y[a:b])) == (s[a], s[b - 1], dinucs(s[a:b])) for a, b in bins)


def test_local_shuffle_first_bin_length_varies():
    "The cut after the first bin moves between shuffles: neither the layout with first bin min_bin_size nor the one with bin_size fits every shuffle."
    s = strs(random_one_hot((1, 4, 60), random_state=4))[0]
    Y = strs(local_dinucleotide_shuffle(seqs(s), n=200, bin_size=20, min_bin_size=8, random_state=1))
    for f in (8, 20):
        assert not all(bins_hold(s, y, slow_bins(60, 20, 8, f)) for y in Y)
    # and the drawn first-bin lengths span [min_bin_size, bin_size], both ends included
    assert set(first_bins(1, 200, 20, 8, 1).ravel().tolist()) == set(range(8, 21))


def test_local_shuffle_follows_composition_along_the_window():
    "A GC-rich half next to an AT-rich half keeps the step; a whole-window shuffle flattens it."
    rng = np.random.default_rng(0)
    p = np.r_[[[0.1, 0.4, 0.4, 0.1]] * 4096, [[0.4, 0.1, 0.1, 0.4]] * 4096]
    X = torch.from_numpy(np.eye(4, dtype=np.int8)[(rng.random(len(p))[:, None] > p.cumsum(1)).sum(1)].T[None].copy())
    gc = lambda Z: Z[..., 1:3, :].float().sum(-2).reshape(*Z.shape[:-2], 8, 1024).mean(-1)
    Y = local_dinucleotide_shuffle(X, n=20, random_state=0)
    torch.testing.assert_close(gc(Y)[0].mean(0)[[0, 1, 6, 7]], gc(X)[0][[0, 1, 6, 7]], atol=0.02, rtol=0)
    assert (gc(Y)[0, :, :2].min() > 0.7) and (gc(Y)[0, :, 6:].max() < 0.3)


def test_local_shuffle_same_seed_same_result():
    X = random_one_hot((3, 4, 3000), random_state=2)
    a, b = (local_dinucleotide_shuffle(X, n=3, random_state=5) for _ in range(2))
    assert torch.equal(a, b)
    assert not torch.equal(a, local_dinucleotide_shuffle(X, n=3, random_state=6))
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    assert torch.equal(local_dinucleotide_shuffle(X, n=2, random_state=g1), local_dinucleotide_shuffle(X, n=2, random_state=g2))


@pytest.mark.parametrize('dtype', DTYPES)
def test_local_shuffle_dtype_kept_input_untouched(dtype):
    X = seqs('ACGTACGGTAACCGTTGCA', 'TTGACAGGACCATGCATGC', dtype=dtype)
    X0 = X.clone()
    Y = local_dinucleotide_shuffle(X, n=3, bin_size=6, min_bin_size=3, random_state=0)
    assert Y.dtype == dtype and Y.shape == (2, 3, 4, 19) and torch.equal(X, X0)
    check_bins(strs(X), Y, 6, 3, 0)


def test_local_shuffle_N_and_argument_errors():
    X = seqs('ACGTACGTAC', 'ACGTANGTAC')
    with pytest.raises(ValueError, match=r'X\[1\] has an N .* at position 5'): local_dinucleotide_shuffle(X)
    X = seqs('ACGTACGTAC')
    with pytest.raises(ValueError, match=r'bin_size must be in \[1, inf\]; got 0'): local_dinucleotide_shuffle(X, bin_size=0)
    with pytest.raises(TypeError, match='bin_size must be an int'): local_dinucleotide_shuffle(X, bin_size=4.5)
    with pytest.raises(ValueError, match=r'min_bin_size must be in \[0, 4\]; got 5'): local_dinucleotide_shuffle(X, bin_size=4, min_bin_size=5)
    with pytest.raises(ValueError, match=r'min_bin_size must be in \[0, 1024\]; got -1'): local_dinucleotide_shuffle(X, min_bin_size=-1)
    with pytest.raises(TypeError, match='min_bin_size must be an int'): local_dinucleotide_shuffle(X, min_bin_size=None)
    with pytest.raises(ValueError, match=r'n must be in \[1, inf\]'): local_dinucleotide_shuffle(X, n=0)
    with pytest.raises(TypeError, match='X must be a torch.Tensor'): local_dinucleotide_shuffle(X.numpy())


def test_local_shuffle_many_rows_two_walks(monkeypatch):
    "With many rows, short bins and merged last bins run as two walks; every bin still keeps its counts."
    import meme_nb.ersatz as ersatz
    seen = []
    real = ersatz._length_groups
    monkeypatch.setattr(ersatz, '_length_groups', lambda *a, **k: seen.append(real(*a, **k)) or seen[-1])
    rows = strs(random_one_hot((250, 4, 2114), random_state=1))
    Y = local_dinucleotide_shuffle(seqs(*rows), n=4, random_state=2)
    assert len([g for g in seen[0] if len(g)]) == 2
    check_bins(rows, Y, 1024, 512, 2)
