"""Behaviour parity of meme_nb.seqlets with tangermeme's seqlet callers (skipped when tangermeme is missing).

recursive_seqlets uses the reference's bin width, (max - min) / (n_bins - 1), and its tie-break between
overlapping candidates of one length (the smaller worst prefix p-value wins), so the default call
returns the same seqlets. p-values agree to 1e-4 relative down to 1e-10; below that the reference's own tails
drift from our exact float64 convolution by up to about 1% (checked: our tails match brute-force convolution)."""
import numpy as np, pytest, torch
tangermeme_seqlet = pytest.importorskip('tangermeme.seqlet')
from meme_nb.seqlets import recursive_seqlets, tfmodisco_seqlets

def planted(n, L, seed, k=3):
    rng = np.random.default_rng(seed)
    X = rng.laplace(0, 0.02, size=(n, L))
    for i in range(n):
        for p in rng.choice(L - 30, k, replace=False): X[i, p:p + rng.integers(5, 15)] += rng.uniform(0.05, 0.3)
    return torch.from_numpy(X.astype(np.float32))

def spans(df): return set(map(tuple, df[['example_idx', 'start', 'end']].values.tolist()))

@pytest.mark.parametrize('seed,kw', [(0, {}), (1, dict(threshold=1e-3)), (2, dict(additional_flanks=2)),
                                     (3, dict(min_seqlet_len=5)), (4, dict(threshold=0.05, n_bins=500))])
def test_recursive_spans_agree(seed, kw):
    X = planted(100, 1000, seed)
    a, b = recursive_seqlets(X, **kw), tangermeme_seqlet.recursive_seqlets(X, **kw)
    A, B = spans(a), spans(b)
    assert len(A & B) / len(A | B) >= 0.95, (len(A), len(B), len(A & B))
    m = a.merge(b, on=['example_idx', 'start', 'end'])
    np.testing.assert_allclose(m.attribution_x, m.attribution_y, rtol=1e-5, atol=1e-6)
    assert np.abs(np.log10(m['p-value_x'] / m['p-value_y'])).max() < 0.1   # exact null vs the reference's approximate tails

def test_recursive_p_values_close_on_short_spans():
    X = planted(20, 500, 7)
    a, b = recursive_seqlets(X, max_seqlet_len=4), tangermeme_seqlet.recursive_seqlets(X, max_seqlet_len=4)
    m = a.merge(b, on=['example_idx', 'start', 'end'])
    assert len(m) >= 0.95 * len(b)
    assert np.abs(np.log10(m['p-value_x'] / m['p-value_y'])).max() < 0.05   # same binning; tails agree within ~3%

def test_tfmodisco_agrees_at_defaults():
    X = planted(100, 1000, 5)
    a, b = tfmodisco_seqlets(X), tangermeme_seqlet.tfmodisco_seqlets(X)
    A, B = spans(a), spans(b)
    # The reference keeps many more (weaker) windows on this data (its passing-fraction bound and suppression
    # differ), so only containment is checked: what meme_nb calls, the reference calls too.
    assert len(A & B) / len(A) >= 0.9, (len(A), len(B), len(A & B))
    assert len(B) >= len(A)


@pytest.mark.parametrize('seed', range(6))
def test_recursive_default_call_equal(seed):
    "Issue 12: the default call returns exactly the reference's seqlets (same rows, same order of spans) and p-values."
    X = planted(20, 500, 100 + seed)
    a, b = recursive_seqlets(X), tangermeme_seqlet.recursive_seqlets(X)
    assert spans(a) == spans(b), (sorted(spans(a) - spans(b)), sorted(spans(b) - spans(a)))
    m = a.merge(b, on=['example_idx', 'start', 'end'])
    np.testing.assert_allclose(m.attribution_x, m.attribution_y, rtol=1e-5, atol=1e-6)
    big = m['p-value_y'] > 1e-10
    np.testing.assert_allclose(m['p-value_x'][big], m['p-value_y'][big], rtol=1e-4)
    np.testing.assert_allclose(m['p-value_x'][~big], m['p-value_y'][~big], rtol=0.02)


def test_recursive_tie_break_on_long_regions():
    "Regions longer than max_seqlet_len (ramps, two-level blocks): the reference's choice among same-length candidates."
    rng = np.random.default_rng(0)
    for vals, mx in [(np.linspace(0.2, 0.4, 30), 25), (np.r_[np.full(6, .3), np.full(6, .5), np.full(6, .3)], 10),
                     (np.r_[np.full(12, .3), np.full(6, .5)], 10), (np.r_[np.full(12, .3), np.full(4, .8)], 10)]:
        X = rng.laplace(0, 0.02, size=(4, 300)); X[0, 100:100 + len(vals)] += vals
        X = torch.from_numpy(X.astype(np.float32))
        a, b = recursive_seqlets(X, max_seqlet_len=mx), tangermeme_seqlet.recursive_seqlets(X, max_seqlet_len=mx)
        assert spans(a) == spans(b), (vals, sorted(spans(a) ^ spans(b)))


def test_recursive_default_call_equal_at_benchmark_size():
    "2,000 x 2,114 planted track of the benchmark: every one of ~6,000 seqlets is the reference's."
    rng = np.random.default_rng(0)
    n, L = 2000, 2114
    X = rng.laplace(0, 0.02, size=(n, L)).astype(np.float32)
    st, ln, amp = rng.integers(0, L - 30, (n, 3)), rng.integers(5, 15, (n, 3)), rng.uniform(0.05, 0.3, (n, 3))
    pos = np.arange(L)[None]
    for j in range(3): X += ((pos >= st[:, j:j + 1]) & (pos < st[:, j:j + 1] + ln[:, j:j + 1])) * amp[:, j:j + 1].astype(np.float32)
    X = torch.from_numpy(X)
    assert spans(recursive_seqlets(X)) == spans(tangermeme_seqlet.recursive_seqlets(X))
