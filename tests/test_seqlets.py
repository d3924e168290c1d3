"Planted-signal recovery, sub-span property, overlap and monotonicity properties of meme_nb.seqlets."
import numpy as np, pandas as pd, pytest, torch
from hypothesis import given, settings, strategies as st, HealthCheck
from meme_nb.seqlets import recursive_seqlets, tfmodisco_seqlets, _discretize, _NullTails

def planted(n=200, L=1000, k=3, seed=0, scale=0.02, amp=(0.1, 0.3), lens=(6, 15)):
    "Laplace noise with k non-overlapping planted spans per example; returns X (n, L) float32 and the spans."
    rng = np.random.default_rng(seed)
    X = rng.laplace(0, scale, size=(n, L))
    spans = []
    for i in range(n):
        for j, c in enumerate(sorted(rng.choice(L // 60 - 2, k, replace=False))):
            s = 60 * (c + 1) + int(rng.integers(0, 20)); e = s + int(rng.integers(*lens))
            X[i, s:e] += rng.uniform(*amp); spans.append((i, s, e))
    return torch.from_numpy(X.astype(np.float32)), spans

def _hits(df, spans):
    "For each planted span, whether a called span overlaps it; for each call, whether it overlaps a planted span."
    by = {}
    for i, s, e in spans: by.setdefault(i, []).append((s, e))
    rec = [any((df.example_idx == i) & (df.start < e) & (df.end > s)) for i, s, e in spans]
    prec = [any(s < r.end and e > r.start for s, e in by.get(r.example_idx, [])) for r in df.itertuples()]
    return np.mean(rec), np.mean(prec)

def test_recursive_recovers_planted_spans():
    # 200 x 1000 Laplace(0, 0.02) noise, 3 spans of 6-14 positions raised by 0.1-0.3 per example; threshold 1e-3
    X, spans = planted()
    recall, precision = _hits(recursive_seqlets(X, threshold=1e-3), spans)
    assert recall >= 0.9 and precision >= 0.9, (recall, precision)

def test_tfmodisco_recovers_planted_spans():
    X, spans = planted(seed=1)
    df = tfmodisco_seqlets(X)
    recall, precision = _hits(df, spans)
    assert recall >= 0.9 and precision >= 0.9, (recall, precision)
    assert (df.attribution[:len(spans)] != 0).all()

def _cores_disjoint(df, flank=0):
    for _, g in df.groupby('example_idx'):
        g = g.sort_values('start'); s, e = g.start.values + flank, g.end.values - flank
        assert (s[1:] >= e[:-1]).all()

def test_no_overlapping_cores_and_sub_span_property():
    X, _ = planted(n=60, seed=2)
    df = recursive_seqlets(X)
    _cores_disjoint(df)
    B, pmf = _discretize(X.numpy(), 1000); null = _NullTails(pmf)
    for r in df.itertuples():   # brute force: every sub-span of length >= 4 is significant
        b = B[r.example_idx, r.start:r.end].astype(np.int64); n = len(b)
        for l in range(4, n + 1):
            for s in range(0, n - l + 1):
                assert null.sf(l)[b[s:s + l].sum()] < 0.01, (r, s, l)
        assert r.start + 4 <= r.end <= r.start + 25
        np.testing.assert_allclose(r._5, null.sf(n)[b.sum()])
        np.testing.assert_allclose(r.attribution, X[r.example_idx, r.start:r.end].double().sum().item(), rtol=1e-9)
    _cores_disjoint(tfmodisco_seqlets(X), flank=10)

def test_stricter_threshold_calls_fewer_and_nested():
    X, _ = planted(n=50, seed=3)
    prev = None
    for t in (0.05, 0.01, 1e-3, 1e-5):
        df = recursive_seqlets(X, threshold=t)
        if prev is not None:
            assert len(df) <= len(prev)
            for r in df.itertuples():   # each stricter call overlaps a looser one
                assert ((prev.example_idx == r.example_idx) & (prev.start < r.end) & (prev.end > r.start)).any()
        prev = df

def test_tfmodisco_fdr_monotone():
    X, _ = planted(n=50, seed=4)
    counts = [len(tfmodisco_seqlets(X, target_fdr=f, min_passing_windows_frac=0.0, max_passing_windows_frac=1.0)) for f in (0.01, 0.1, 0.3)]
    assert counts == sorted(counts), counts

def test_inputs_untouched_and_types():
    X, _ = planted(n=5)
    X0 = X.clone(); recursive_seqlets(X, additional_flanks=3); tfmodisco_seqlets(X, flank=0)
    assert torch.equal(X, X0)
    pd.testing.assert_frame_equal(recursive_seqlets(X), recursive_seqlets(X.numpy()))

@pytest.mark.parametrize('kw,match', [
    (dict(X=torch.zeros(2, 4, 10)), 'X must have shape'), (dict(X=torch.zeros(10)), 'X must have shape'),
    (dict(X=torch.tensor([[0.0, float('nan'), 1.0, 2.0]])), 'X must be finite'),
    (dict(threshold=0.0), 'threshold'), (dict(threshold=1.01), 'threshold'), (dict(threshold=-1e-3), 'threshold'),
    (dict(min_seqlet_len=10, max_seqlet_len=5), 'max_seqlet_len'), (dict(min_seqlet_len=0), 'min_seqlet_len'),
    (dict(additional_flanks=-2), 'additional_flanks'), (dict(n_bins=0), 'n_bins')])
def test_recursive_bad_inputs(kw, match):
    args = dict(X=torch.randn(3, 50)); args.update(kw)
    with pytest.raises(ValueError, match=match): recursive_seqlets(**args)

def test_bad_types():
    with pytest.raises(TypeError, match='X'): recursive_seqlets([[0.1, 0.2]])
    with pytest.raises(TypeError, match='threshold'): recursive_seqlets(torch.randn(2, 9), threshold='0.1')
    with pytest.raises(TypeError, match='min_seqlet_len'): recursive_seqlets(torch.randn(2, 9), min_seqlet_len=4.0)
    with pytest.raises(ValueError, match='X_attr'): tfmodisco_seqlets(torch.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match='X_attr'): tfmodisco_seqlets(torch.full((2, 50), float('nan')))
    with pytest.raises(ValueError, match='flank'): tfmodisco_seqlets(torch.randn(2, 50), flank=-1)
    with pytest.raises(ValueError, match='target_fdr'): tfmodisco_seqlets(torch.randn(2, 50), target_fdr=2)

@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n=st.integers(1, 4), L=st.integers(8, 120), mn=st.integers(1, 6),
       extra=st.integers(0, 10), flanks=st.integers(0, 4), threshold=st.floats(1e-4, 1.0), n_bins=st.integers(2, 60))
def test_recursive_properties(seed, n, L, mn, extra, flanks, threshold, n_bins):
    rng = np.random.default_rng(seed)
    X = rng.laplace(0, 1, (n, L)) + (rng.random((n, L)) < 0.1) * 3
    mn = min(mn, L); mx = mn + extra
    df = recursive_seqlets(X, threshold=threshold, min_seqlet_len=mn, max_seqlet_len=mx, additional_flanks=flanks, n_bins=n_bins)
    assert list(df.columns) == ['example_idx', 'start', 'end', 'attribution', 'p-value']
    assert df['p-value'].is_monotonic_increasing and (df['p-value'] < threshold).all()
    assert ((df.start >= 0) & (df.end <= L) & (df.end - df.start >= min(mn, L))).all()
    core = recursive_seqlets(X, threshold=threshold, min_seqlet_len=mn, max_seqlet_len=mx, n_bins=n_bins)
    _cores_disjoint(core)
    assert ((core.end - core.start >= mn) & (core.end - core.start <= mx)).all()
    assert len(core) == len(df)
    B, pmf = _discretize(X, n_bins); null = _NullTails(pmf)
    for r in core.itertuples():
        b = B[r.example_idx, r.start:r.end].astype(np.int64)
        assert all(null.sf(l)[b[s:s + l].sum()] < threshold for l in range(mn, len(b) + 1) for s in range(len(b) - l + 1))


def test_bins_use_the_reference_width():
    "Issue 12: bin = floor((x - min) / w), w = (max - min) / (n_bins - 1); the maximum alone opens the last bin."
    rng = np.random.default_rng(5)
    for n_bins in (2, 7, 1000):
        X = rng.laplace(0, 1, (3, 50))
        w = (X.max() - X.min()) / (n_bins - 1)
        want = np.minimum(np.floor((X - X.min()) / w), n_bins - 1).astype(int)
        B, pmf = _discretize(X, n_bins)
        np.testing.assert_array_equal(B, want)
        np.testing.assert_allclose(pmf, np.bincount(want.ravel(), minlength=n_bins) / X.size)


def _brute_force_seqlets(X, threshold=0.01, min_len=4, max_len=25, n_bins=1000):
    "Every span whose sub-spans (length >= min_len) are all significant, then a sequential greedy in the documented order."
    B, pmf = _discretize(X, n_bins); null = _NullTails(pmf); n, L = B.shape
    sig = lambda i, s, l: null.sf(l)[B[i, s:s + l].sum()] < threshold
    cands = []
    for i in range(n):
        for l in range(min_len, max_len + 1):
            for s in range(L - l + 1):
                if all(sig(i, s + a, k) for k in range(min_len, l + 1) for a in range(l - k + 1)):
                    worst = max(null.sf(k)[B[i, s:s + k].sum()] for k in range(min_len, l + 1))   # the least significant prefix
                    cands.append((-l, worst, -int(B[i, s:s + l].sum()), i * L + s, i, s, l))
    used, out = set(), []
    for *_, i, s, l in sorted(cands):
        if not any((i, p) in used for p in range(s, s + l)):
            used |= {(i, p) for p in range(s, s + l)}; out.append((i, s, s + l))
    return sorted(out)


@pytest.mark.parametrize('seed', range(4))
def test_tie_break_equals_sequential_greedy(seed):
    "Longest first, then the smaller worst-prefix p-value, then the larger binned sum, then position."
    rng = np.random.default_rng(seed)
    X = rng.laplace(0, 0.02, (3, 120))
    for i in range(3):
        s = int(rng.integers(5, 60)); X[i, s:s + 20] += np.linspace(0.1, 0.3, 20)[::rng.choice([-1, 1])] + rng.uniform(0, 0.1, 20)
    got = recursive_seqlets(X, max_seqlet_len=8)
    assert sorted(map(tuple, got[['example_idx', 'start', 'end']].values.tolist())) == _brute_force_seqlets(X, max_len=8)


def _noise(n, L, seed, spans=(), scale=0.02):
    X = np.random.default_rng(seed).laplace(0, scale, size=(n, L))
    for i, s, e, v in spans: X[i, s:e] += v
    return torch.from_numpy(X).float()


@pytest.mark.parametrize('target', [0.1, 0.2])
def test_fdr_realised_near_target(target):
    "Planted 8-long spans in Laplace noise, control = independent background: the realised FDR is near the target."
    realised, n_called = [], []
    for seed in range(4):
        rng = np.random.default_rng(100 + seed)
        spans = [(i, int(s), int(s) + 8, float(rng.uniform(0.05, 0.1))) for i, s in zip(range(40), rng.integers(20, 480, 40))]
        X, control = _noise(40, 500, 100 + seed, spans), _noise(80, 500, 200 + seed)
        df = recursive_seqlets(X, X_control=control, target_fdr=target)
        false = [not any(r.example_idx == i and r.start < e and r.end > s for i, s, e, _ in spans) for r in df.itertuples()]
        realised.append(np.mean(false)); n_called.append(len(df))
    assert 0.3 * target <= np.mean(realised) <= 1.3 * target, (realised, n_called)
    assert min(n_called) >= 25   # still finds most of the 40 planted spans


def test_sign_both_is_positive_plus_negative():
    X = _noise(10, 300, 3, [(i, 50, 60, 0.3 * (-1) ** i) for i in range(10)])
    pos, neg, both = (recursive_seqlets(X, sign=s) for s in ('positive', 'negative', 'both'))
    key = ['example_idx', 'start', 'end']
    pd.testing.assert_frame_equal(both[both.sign == 1][key].sort_values(key).reset_index(drop=True), pos[key].sort_values(key).reset_index(drop=True))
    pd.testing.assert_frame_equal(both[both.sign == -1][key + ['p-value']].sort_values(key).reset_index(drop=True),
                                  recursive_seqlets(-X)[key + ['p-value']].sort_values(key).reset_index(drop=True))
    assert (neg.attribution < 0).all() and set(neg.example_idx[neg['p-value'] < 1e-10]) == {1, 3, 5, 7, 9}


def test_min_len_one_does_not_join_rows():
    "A significant last position of one example and first position of the next are two seqlets, not one span across rows."
    X = np.zeros((2, 10)); X[0, 9] = X[1, 0] = 1
    df = recursive_seqlets(X, threshold=0.2, min_seqlet_len=1, max_seqlet_len=2)
    assert sorted(map(tuple, df[['example_idx', 'start', 'end']].values.tolist())) == [(0, 9, 10), (1, 0, 1)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n=st.integers(1, 3), L=st.integers(5, 45), mn=st.integers(1, 4), extra=st.integers(0, 8),
       n_bins=st.integers(2, 10), threshold=st.sampled_from([0.5, 0.2, 0.05, 0.01]), ties=st.booleans())
def test_recursive_equals_brute_force(seed, n, L, mn, extra, n_bins, threshold, ties):
    "Candidates, tie-break and greedy rounds (maximal spans, uncovered pieces) against listing every span and a sequential greedy."
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 4, (n, L)).astype(float) if ties else rng.laplace(0, 1, (n, L))
    X += (rng.random((n, L)) < 0.3) * rng.integers(1, 5)
    mn = min(mn, L); mx = min(mn + extra, L)
    got = recursive_seqlets(X, threshold=threshold, min_seqlet_len=mn, max_seqlet_len=mx, n_bins=n_bins)
    assert sorted(map(tuple, got[['example_idx', 'start', 'end']].values.tolist())) == _brute_force_seqlets(X, threshold, mn, mx, n_bins)

def _valid_lows(rng, K, upto):
    "A random plan of lowest sums per length that respects the cascade (each length built from the previous one's kept sums)."
    low, nxt = np.zeros(upto + 1, np.int64), int(rng.integers(0, (K - 1) * (upto - 1) + 1))
    for l in range(upto, 1, -1):
        low[l] = nxt = max(0, min(nxt if l == upto else nxt - (K - 1) - int(rng.integers(0, K)), (K - 1) * (l - 1)))
    return low

@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), K=st.integers(2, 300), upto=st.integers(2, 14), ahead=st.sampled_from([0, 3]))
def test_restricted_null_equals_full_convolution(seed, K, upto, ahead):
    # oracle: the survival functions built from the lowest planned sum up (sliced np.convolve, on the worker thread
    # when ahead > 0) equal those of the full repeated np.convolve bit for bit on every sum they keep
    rng = np.random.default_rng(seed)
    pmf = rng.random(K) * (rng.random(K) < 0.8); pmf[[0, -1]] += 0.1; pmf /= pmf.sum()   # zero bins inside
    full, part = _NullTails(pmf), _NullTails(pmf, upto)
    part.low, part.ahead = _valid_lows(rng, K, upto), ahead   # the plan set before any length is handed to the worker
    for l in range(1, upto + 1):
        a = int(part.low[l])
        np.testing.assert_array_equal(part.sf(l)[a:], full.sf(l)[a:])
        assert np.isnan(part.sf(l)[:a]).all() and len(part.sf(l)) == len(full.sf(l))
    part.close()

@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 10**6), K=st.integers(2, 200), upto=st.integers(2, 12), threshold=st.sampled_from([1e-8, 1e-3, 0.01, 0.2]))
def test_restricted_null_cuts_and_restart(seed, K, upto, threshold):
    # the cut of every length equals the full null's, also when the planned lowest sums are too high (the null rebuilds everything)
    rng = np.random.default_rng(seed)
    pmf = rng.random(K) ** 3; pmf /= pmf.sum()
    full, guessed, forced = _NullTails(pmf), _NullTails(pmf, upto, 0, threshold), _NullTails(pmf, upto, 0, threshold)
    forced.low = _valid_lows(rng, K, upto)
    for l in range(1, upto + 1):
        c = full.cut(l, threshold)
        assert guessed.cut(l, threshold) == c and forced.cut(l, threshold) == c

def test_restricted_null_restarts_when_the_plan_is_too_high():
    pmf = np.full(10, 0.1)
    null = _NullTails(pmf, 6, 0, 0.01); null.low = np.array([0, 0, 0, 5, 14, 23, 32])   # every cut (26 for length 3, 44 for length 6) lies above its planned lowest sum
    full = _NullTails(pmf)
    assert [null.cut(l, 0.01) for l in range(1, 4)] == [full.cut(l, 0.01) for l in range(1, 4)] and null.low.any()
    null.low = np.array([0, 0, 0, 5, 14, 23, 45])   # length 6's cut lies below 45: the null rebuilds every sum and still answers right
    assert null.cut(6, 0.01) == full.cut(6, 0.01) and not null.low.any()
    np.testing.assert_array_equal(null.sf(6), full.sf(6))

def test_null_worker_thread_large_input_identical():
    # large X takes the threaded path (null ahead on the worker, two-thread binning): same table as with the worker disabled
    import meme_nb.seqlets as S
    X, _ = planted(n=600, L=4000, seed=3)   # 2.4M positions
    threaded = recursive_seqlets(X, sign='both')
    class Inline:
        def submit(self, f, *a):
            from concurrent.futures import Future
            fu = Future(); fu.set_result(f(*a)); return fu
    pool = S._pool
    try:
        S._pool = lambda: Inline()
        pd.testing.assert_frame_equal(threaded, recursive_seqlets(X, sign='both'), check_exact=True)
    finally: S._pool = pool
