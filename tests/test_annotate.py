"Property and brute-force tests for meme_nb.annotate (tomtom, annotate_seqlets, count/pairwise annotations)."
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings, strategies as st, HealthCheck

from meme_nb.annotate import tomtom, annotate_seqlets, count_annotations, pairwise_annotations
from meme_nb.io import read_meme, jaspar_path
from meme_nb.utils import one_hot_encode


def _dirichlet(n, L, alpha, seed):
    g = np.random.default_rng(seed)
    return [torch.from_numpy(g.dirichlet(np.full(4, alpha), size=int(l)).T.copy()) for l in g.integers(L[0], L[1] + 1, n)]


def _score(Q, T, metric):
    if metric == 'euclidean': return -np.sqrt(((Q[:, :, None] - T[:, None, :]) ** 2).sum(0))
    q, t = Q - Q.mean(0), T - T.mean(0)
    return (q.T @ t) / np.sqrt((q ** 2).sum(0)[:, None] * (t ** 2).sum(0)[None])


def _reference(Q, Ts, rc=True, nb=100, metric='euclidean'):
    "Naive Tomtom: loops over targets, strands and offsets; exact nulls by repeated np.convolve."
    Q = Q.numpy()
    strands = lambda T: [T] + ([T[::-1, ::-1]] if rc else [])
    cols = np.concatenate([s for T in Ts for s in []] + [T.numpy() for T in Ts] + ([T.numpy()[::-1, ::-1] for T in Ts] if rc else []), 1)
    S = _score(Q, cols, metric); med = np.median(S, 1)[:, None]
    smin = np.floor((S - med).min()); k = np.floor(nb / ((S - med).max() - smin))
    Z = np.round((S - med - smin) * k).astype(int); z0 = int(np.round(-smin * k)); m = Q.shape[1]
    H = [np.bincount(Z[i], minlength=nb + 1) / Z.shape[1] for i in range(m)]
    def sf(a, e, t):
        pmf = np.array([1.0])
        for i in range(a, e): pmf = np.convolve(pmf, H[i])
        return 1.0 if t <= 0 else (pmf[t:].sum() if t < len(pmf) else 0.0)
    out = []
    for T in Ts:
        best = None
        for strand, TT in enumerate(strands(T.numpy())):
            Zt = np.round((_score(Q, TT, metric) - med - smin) * k).astype(int); n = TT.shape[1]
            for o in range(-(m - 1), n):
                s = sum(Zt[i, i + o] if 0 <= i + o < n else z0 for i in range(m))
                if best is None or s > best[0] or (s == best[0] and strand > best[2]): best = (s, o, strand)
        n, q = T.shape[1], 1.0
        for o in range(-(m - 1), n):
            a, e = max(0, -o), min(m, n - o)
            q *= 1 - sf(a, e, best[0] - z0 * (m - (e - a)))
        out.append((1 - q ** 2 if rc else 1 - q, best[0], best[1], best[2]))
    return out


@pytest.mark.parametrize('seed,rc,nb', [(0, True, 100), (1, False, 100), (2, True, 30), (3, True, 7)])
def test_tomtom_matches_brute_force(seed, rc, nb):
    Ts = _dirichlet(15, (1, 7), 0.5, seed)
    Qs = _dirichlet(3, (1, 8), 0.7, seed + 100) + [one_hot_encode('ACGGT').double()]
    r = tomtom(Qs, Ts, reverse_complement=rc, n_score_bins=nb)
    for i, Q in enumerate(Qs):
        ref = _reference(Q, Ts, rc=rc, nb=nb)
        np.testing.assert_allclose(r.p_values[i].numpy(), [x[0] for x in ref], rtol=1e-8, atol=1e-14)
        assert r.scores[i].tolist() == [float(x[1]) for x in ref]
        assert r.offsets[i].tolist() == [x[2] for x in ref]
        assert r.strands[i].tolist() == [x[3] for x in ref]


def test_tomtom_small_p_values_stay_exact():
    "A long motif against itself: the p-value is far below float64 epsilon and still exact."
    Ts = _dirichlet(40, (4, 12), 0.3, 7)
    Q = Ts[5]
    p = tomtom([Q], Ts).p_values[0, 5].item()
    ref = _reference(Q, Ts)[5][0]
    assert p < 1e-10 and p == pytest.approx(ref, rel=1e-8)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_q=st.integers(1, 6), k=st.integers(1, 6), rc=st.booleans())
def test_tomtom_properties(seed, n_q, k, rc):
    g = np.random.default_rng(seed)
    Ts = _dirichlet(int(g.integers(1, 12)), (1, 10), float(g.choice([0.2, 1.0, 5.0])), seed)
    Qs = [torch.eye(4, dtype=torch.float64)[torch.from_numpy(g.integers(0, 4, int(L)))].T for L in g.integers(1, 12, n_q)]
    copies = [q.clone() for q in Qs]
    full = tomtom(Qs, Ts, reverse_complement=rc)
    p = full.p_values
    assert p.shape == (n_q, len(Ts)) and not p.isnan().any() and (p >= 0).all() and (p <= 1).all()
    m = torch.tensor([q.shape[1] for q in Qs])[:, None]; n = torch.tensor([t.shape[1] for t in Ts])[None]
    assert ((full.offsets > -m) & (full.offsets < n)).all()
    assert (full.overlaps == torch.minimum(n - full.offsets, m) - (-full.offsets).clamp_min(0)).all()
    assert (full.overlaps >= 1).all()
    if not rc: assert (full.strands == 0).all()
    near = tomtom(Qs, Ts, n_nearest=k, reverse_complement=rc)
    kk = min(k, len(Ts))
    assert near.idxs.shape == (n_q, kk)
    torch.testing.assert_close(near.p_values, p.sort(dim=1).values[:, :kk], rtol=1e-10, atol=1e-300)
    torch.testing.assert_close(p.gather(1, near.idxs), near.p_values, rtol=1e-10, atol=1e-300)
    for a, b in zip(Qs, copies): assert torch.equal(a, b)


def test_tomtom_order_and_batching_do_not_matter():
    Ts = _dirichlet(25, (3, 14), 0.5, 11)
    Qs = _dirichlet(12, (3, 14), 0.5, 12)
    a = tomtom(Qs, Ts)
    b = tomtom(Qs[::-1], Ts)
    torch.testing.assert_close(a.p_values, b.p_values.flip(0), rtol=1e-10, atol=1e-300)
    one = torch.cat([tomtom([q], Ts).p_values for q in Qs])
    torch.testing.assert_close(a.p_values, one, rtol=1e-10, atol=1e-300)
    perm = torch.randperm(25, generator=torch.Generator().manual_seed(0))
    c = tomtom(Qs, [Ts[i] for i in perm])
    torch.testing.assert_close(a.p_values[:, perm], c.p_values, rtol=1e-10, atol=1e-300)
    assert torch.equal(a.scores[:, perm], c.scores)


def test_tomtom_threads_small_and_forced(monkeypatch):
    "Small calls use one side thread (span nulls next to phase 1), larger ones the pool; both give bitwise the results of one thread."
    import meme_nb.annotate as A
    Ts = _dirichlet(30, (3, 14), 0.5, 21)
    Qs = _dirichlet(40, (3, 16), 0.5, 22)
    one = [tomtom(Qs, Ts, n_jobs=1), tomtom(Qs, Ts, n_jobs=1, n_nearest=3)]
    started = []
    class Pool(A.ThreadPoolExecutor):
        def __init__(self, n, *a, **k): started.append(n); super().__init__(n, *a, **k)
    monkeypatch.setattr(A, 'ThreadPoolExecutor', Pool)
    assert started == [] and tomtom(Qs, Ts, n_jobs=1) and started == []   # one thread: no pool at all
    small = [tomtom(Qs, Ts, n_jobs=2), tomtom(Qs, Ts, n_jobs=2, n_nearest=3)]
    assert started == [1, 1]
    monkeypatch.setattr(A, '_SERIAL_PAIRS', 0)
    forced = [tomtom(Qs, Ts, n_jobs=2), tomtom(Qs, Ts, n_jobs=2, n_nearest=3)]
    assert started[2:] == [2, 2]
    for a, b, c in zip(one, small, forced):
        for x, y, z in zip(a, b, c): assert torch.equal(x, y) and torch.equal(x, z)


def test_tomtom_layout_segments_cover_every_block_once():
    import meme_nb.annotate as A
    T = A.TomtomTargets(list(read_meme(jaspar_path()).values()))
    for M in (1, 9, 25):
        tg = T.layout(M)
        for budget in (1, 500, 4096, 10 ** 7):
            seen = []
            for st, end, blocks in A._segments(tg, budget):
                assert end - st <= max(budget, max((c1 - c0) * (n + tg.pad) for s, n, c0, c1, o in blocks))
                for s, n, c0, c1, o in blocks:
                    assert int(tg.first[s, c0]) == st + o and st + o + (c1 - c0) * (n + tg.pad) <= end
                    seen += [(s, c) for c in range(c0, c1)]
            assert sorted(seen) == [(s, c) for s in range(2) for c in range(len(T))]


def test_tomtom_uniform_query():
    Ts = list(read_meme(jaspar_path()).values())
    U = torch.full((4, 12), 0.25)
    informative = [i for i, T in enumerate(Ts) if (T.max(0).values >= 0.5).all()]
    assert tomtom([U], Ts).p_values[0, informative].min() > 0.05
    assert (tomtom([U], Ts, metric='pearson').p_values == 1).all()


@pytest.mark.parametrize('kw,exc,match', [
    (dict(n_nearest=0), ValueError, 'n_nearest'), (dict(n_nearest=1.0), TypeError, 'n_nearest'),
    (dict(n_score_bins=0), ValueError, 'n_score_bins'), (dict(n_median_bins=0), ValueError, 'n_median_bins'),
    (dict(n_target_bins=0), ValueError, 'n_target_bins'), (dict(n_cache=-1), ValueError, 'n_cache'),
    (dict(reverse_complement=1), TypeError, 'reverse_complement'), (dict(n_jobs=0), ValueError, 'n_jobs'),
    (dict(metric='ed'), ValueError, 'metric')])
def test_tomtom_bad_arguments(kw, exc, match):
    with pytest.raises(exc, match=match): tomtom([torch.ones(4, 3) / 4], [torch.ones(4, 3) / 4], **kw)


@pytest.mark.parametrize('Qs,Ts,exc,match', [
    ([], [torch.ones(4, 2)], ValueError, 'Qs'), ([torch.ones(4, 2)], [], ValueError, 'Ts'),
    ('ACGT', [torch.ones(4, 2)], TypeError, 'Qs'), ([torch.ones(4, 2)], [torch.ones(4, 2), torch.ones(3, 2)], ValueError, r'Ts\[1\]'),
    ([torch.full((4, 2), float('nan'))], [torch.ones(4, 2)], ValueError, r'Qs\[0\]'), ([torch.ones(4)], [torch.ones(4, 2)], ValueError, r'Qs\[0\]'),
    ([torch.ones(3, 2)], [torch.ones(3, 2)], ValueError, 'reverse_complement')])
def test_tomtom_bad_motifs(Qs, Ts, exc, match):
    with pytest.raises(exc, match=match): tomtom(Qs, Ts)


def test_annotate_seqlets_matches_tomtom_and_checks_input():
    motifs = dict(list(read_meme(jaspar_path()).items())[:40])
    g = torch.Generator().manual_seed(0)
    X = torch.nn.functional.one_hot(torch.randint(0, 4, (5, 100), generator=g), 4).permute(0, 2, 1).float()
    sl = pd.DataFrame({'example_idx': [0, 3, 4, 1], 'start': [5, 40, 80, 0], 'end': [17, 52, 100, 9], 'attribution': 1.0})
    X0, sl0 = X.clone(), sl.copy()
    idxs, pvals = annotate_seqlets(X, sl, motifs, n_nearest=3)
    r = tomtom([X[e, :, s:t] for e, s, t in zip(sl.example_idx, sl.start, sl.end)], list(motifs.values()), n_nearest=3)
    assert torch.equal(idxs, r.idxs) and torch.equal(pvals, r.p_values)
    assert torch.equal(X, X0); pd.testing.assert_frame_equal(sl, sl0)
    with pytest.raises(ValueError, match='example_idx'): annotate_seqlets(X, sl.assign(example_idx=[0, 3, 5, 1]), motifs)
    with pytest.raises(ValueError, match='end'): annotate_seqlets(X, sl.assign(end=[17, 52, 101, 9]), motifs)
    with pytest.raises(ValueError, match='start'): annotate_seqlets(X, sl.assign(start=[-1, 40, 80, 0]), motifs)
    with pytest.raises(TypeError, match='motifs'): annotate_seqlets(X, sl, 3)
    with pytest.raises(ValueError, match='n_nearest'): annotate_seqlets(X, sl, motifs, n_nearest=41)
    with pytest.raises(TypeError, match='X'): annotate_seqlets(X.numpy(), sl, motifs)
    with pytest.raises(TypeError, match='seqlets'): annotate_seqlets(X, sl.values, motifs)


def _brute_pairs(e, m, k, unique, symmetric):
    out = np.zeros((k, k), int)
    for x in np.unique(e):
        ms = m[e == x]; c = np.zeros((k, k), int)
        for i in range(len(ms)):
            for j in range(i + 1, len(ms)):
                a, b = (min(ms[i], ms[j]), max(ms[i], ms[j])) if symmetric else (ms[i], ms[j])
                c[a, b] += 1
        if unique: c = (c > 0).astype(int)
        if symmetric: c = c + c.T - np.diag(c.diagonal())
        out += c
    return out


@settings(max_examples=40, deadline=None)
@given(ann=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 5)), max_size=60), unique=st.booleans(), symmetric=st.booleans())
def test_counts_match_brute_force(ann, unique, symmetric):
    e = np.array([a for a, _ in ann], dtype=np.int64); m = np.array([b for _, b in ann], dtype=np.int64)
    C = count_annotations((e, m), shape=(8, 6), dtype=torch.int64)
    ref = np.zeros((8, 6), int)
    np.add.at(ref, (e, m), 1)
    assert (C.numpy() == ref).all()
    assert torch.equal(count_annotations(np.stack([e, m], 1).reshape(-1, 2), shape=(8, 6), dtype=torch.int64), C)
    P = pairwise_annotations((pd.Series(e), torch.from_numpy(m)), shape=6, unique=unique, symmetric=symmetric)
    assert (P.numpy() == _brute_pairs(e, m, 6, unique, symmetric)).all()
    if symmetric: assert torch.equal(P, P.T)


def test_counts_bad_input():
    e, m = torch.tensor([0, 1, 2]), torch.tensor([1, 1, 0])
    with pytest.raises(ValueError, match=r'X.*\(2, n\)'): count_annotations(torch.stack([e, m]))
    with pytest.raises(ValueError, match=r'X.*\(2, n\)'): pairwise_annotations(np.stack([e, m]))
    with pytest.raises(ValueError, match='example index 2'): count_annotations((e, m), shape=(2, 2))
    with pytest.raises(ValueError, match='motif index 1'): pairwise_annotations((e, m), shape=1)
    with pytest.raises(ValueError, match='shape'): count_annotations((e, m), shape=(3,))
    with pytest.raises(ValueError, match='equal length'): count_annotations((e, m[:2]))
    with pytest.raises(ValueError, match='integer'): count_annotations((e, m.float() + 0.25))
    with pytest.raises(TypeError, match='symmetric'): pairwise_annotations((e, m), symmetric=None)
    with pytest.raises(ValueError, match='dim'): count_annotations((e, m), dim=-1)


def test_count_saturates_with_a_warning():
    "300 annotations of one motif in one example do not fit uint8: the count stops at 255 and says so."
    from meme_nb.utils import MemeNbWarning
    e = torch.zeros(300, dtype=torch.long)
    with pytest.warns(MemeNbWarning, match='saturated'):
        c = count_annotations((e, e.clone()), shape=(1, 1))
    assert c.dtype == torch.uint8 and c.item() == 255


_GOOD = [lambda a: torch.from_numpy(a), lambda a: a, lambda a: pd.Series(a), lambda a: a.astype(np.float32),
         lambda a: torch.from_numpy(a).double(), lambda a: a.tolist()]
_BAD = [(0.5, 'got 0.5'), (np.nan, 'got nan'), (np.inf, 'got inf'), (-np.inf, 'got -inf')]


@pytest.mark.parametrize('form', range(len(_GOOD)))
def test_index_inputs_accepted_in_every_form(form):
    "Issue 12: integer tensors/arrays/Series/lists and integral floats are the same indices everywhere."
    e, m = np.array([0, 0, 1, 2, 2]), np.array([1, 1, 0, 2, 1])
    f = _GOOD[form]
    assert torch.equal(count_annotations((f(e), f(m)), shape=(3, 3)), count_annotations((e, m), shape=(3, 3)))
    assert torch.equal(pairwise_annotations((f(e), f(m)), shape=3), pairwise_annotations((e, m), shape=3))
    rows = np.stack([e, m], 1)
    assert torch.equal(count_annotations(f(rows) if form != 2 else pd.DataFrame(rows), shape=(3, 3)), count_annotations((e, m), shape=(3, 3)))


@pytest.mark.parametrize('bad,msg', _BAD)
@pytest.mark.parametrize('where', ['tuple', 'rows'])
def test_index_inputs_refused(bad, msg, where):
    "Fractions, NaN and infinities are a ValueError naming the argument, for both functions and both layouts."
    e, m = np.array([0., 0, 1]), np.array([1., 1, 0]); m[1] = bad
    X = (e, m) if where == 'tuple' else np.stack([e, m], 1)
    for f in (count_annotations, pairwise_annotations):
        with pytest.raises(ValueError, match=r'X.*must hold integer indices.*' + msg): f(X)


def test_bool_indices_refused():
    e, m = torch.tensor([0, 1]), torch.tensor([True, False])
    for f in (count_annotations, pairwise_annotations):
        with pytest.raises(ValueError, match='booleans'): f((e, m))


@pytest.mark.parametrize('col', ['example_idx', 'start', 'end'])
@pytest.mark.parametrize('bad', [0.5, np.nan, np.inf])
def test_annotate_seqlets_index_columns(col, bad):
    "Seqlet table columns are read by the same validator: integral floats pass, the rest name the column."
    from meme_nb.utils import random_one_hot
    X = random_one_hot((2, 4, 50), random_state=0).float()
    sl = pd.DataFrame({'example_idx': [0, 1], 'start': [3, 10], 'end': [15, 22]})
    motifs = {'a': torch.full((4, 6), 0.25), 'b': torch.eye(4).repeat(1, 2)}
    ok = annotate_seqlets(X, sl, motifs)
    assert torch.equal(annotate_seqlets(X, sl.astype(float), motifs).idxs, ok.idxs)
    bad_sl = sl.astype(float); bad_sl.loc[1, col] = bad
    with pytest.raises(ValueError, match=f"seqlets column '{col}' must hold integer indices"): annotate_seqlets(X, bad_sl, motifs)


def test_tomtom_span_nulls_built_ahead_any_budget(monkeypatch):
    "However many levels the side thread builds before its budget stops it, phase 2 builds the rest: results bitwise those of one thread."
    import meme_nb.annotate as A
    Ts = _dirichlet(30, (3, 14), 0.5, 23)
    Qs = _dirichlet(40, (3, 16), 0.5, 24)
    one = [tomtom(Qs, Ts, n_jobs=1), tomtom(Qs, Ts, n_jobs=1, n_nearest=2)]
    for budget in (0, 200_000, 1 << 40):
        monkeypatch.setattr(A, '_AHEAD_BYTES', budget)
        for serial in (1 << 18, 0):   # the side thread of small calls, and the pool task of larger ones
            monkeypatch.setattr(A, '_SERIAL_PAIRS', serial)
            got = [tomtom(Qs, Ts, n_jobs=2), tomtom(Qs, Ts, n_jobs=2, n_nearest=2)]
            for a, b in zip(one, got):
                for x, y in zip(a, b): assert torch.equal(x, y)


def test_tomtom_side_thread_error_is_raised_not_hung(monkeypatch):
    "An error while building span nulls on the side thread reaches the caller (phase 2 does not wait for ever)."
    import threading
    import meme_nb.annotate as A
    level = A._level
    def failing(*a, **k):
        if threading.current_thread() is not threading.main_thread(): raise RuntimeError('side thread failed')
        return level(*a, **k)
    monkeypatch.setattr(A, '_level', failing)
    Qs = _dirichlet(5, (3, 8), 0.5, 25)
    with pytest.raises(RuntimeError, match='side thread failed'): tomtom(Qs, Qs, n_jobs=2)


def test_tomtom_main_thread_error_does_not_hang(monkeypatch):
    "An error in phase 1 while the side thread waits for phase 2 to take its levels: the error is raised, the side thread stops."
    import threading
    import meme_nb.annotate as A
    monkeypatch.setattr(A, '_AHEAD_BYTES', 0)   # the side thread waits after every level
    def failing(*a, **k): raise RuntimeError('phase 1 failed')
    monkeypatch.setattr(A, '_best_offsets', failing)
    Qs, out = _dirichlet(5, (3, 8), 0.5, 26), []
    def call():
        try: tomtom(Qs, Qs, n_jobs=2)
        except RuntimeError as e: out.append(str(e))
    t = threading.Thread(target=call, daemon=True); t.start(); t.join(120)
    assert not t.is_alive() and out == ['phase 1 failed']


def test_tomtom_centred_scores_cached_per_targets(monkeypatch):
    "Centred column scores of query columns seen before come from the targets' cache: the same numbers as computed afresh, any order, capped."
    import meme_nb.annotate as A
    T = A.TomtomTargets(_dirichlet(20, (4, 12), 0.5, 31))
    U = torch.cat([torch.eye(4, dtype=torch.float64), _dirichlet(3, (1, 1), 0.5, 32)[0].T.repeat(1, 1)])
    fresh = A._centred(U, T.null, 'euclidean')
    got = A._centred(U, T.null, 'euclidean', T._centred)
    assert torch.equal(got, fresh) and len(T._centred) == len(U)
    perm = torch.tensor([3, 0, 4, 2, 1])
    assert torch.equal(A._centred(U[perm], T.null, 'euclidean', T._centred), fresh[perm])
    assert torch.equal(A._centred(U[:2], T.null, 'pearson', T._centred), A._centred(U[:2], T.null, 'pearson'))   # metric is part of the key
    monkeypatch.setattr(A, '_CENTRED_CACHE', 6)
    A._centred(_dirichlet(1, (4, 4), 0.5, 33)[0].T, T.null, 'euclidean', T._centred)
    assert len(T._centred) <= 6
    Qs = _dirichlet(6, (3, 9), 0.5, 34)
    a, b = tomtom(Qs, T), tomtom(Qs, T)   # second call: cached rows
    for x, y in zip(a, b): assert torch.equal(x, y)


def test_level_plans_equal_level_by_level():
    "The all-levels bookkeeping of the side thread equals the plain level-by-level one (same spans, ids, kernels, parents)."
    import meme_nb.annotate as A
    T = A.TomtomTargets(list(read_meme(jaspar_path()).values()))
    g = torch.Generator().manual_seed(41)
    seqlets = [torch.eye(4, dtype=torch.float64)[:, torch.randint(0, 4, (int(L),), generator=g)] for L in torch.randint(1, 20, (40,), generator=g)]
    for Qs in (seqlets, _dirichlet(15, (1, 12), 0.5, 42)):
        qs = A._queries(A._motif_list(Qs, 'Qs'), T.null, 100)
        rows = torch.argsort(qs.lens, stable=True)
        G, prev = A._span_hashes(qs), None
        plans = A._level_plans(qs, rows, G)
        assert len(plans) == int(qs.lens.max())
        for L, got in enumerate(plans, 1):
            want = A._level_plan(qs, rows, G, L, prev)
            assert got[0] == want[0] and all(torch.equal(x, y) for x, y in zip(got[1:4], want[1:4]))
            assert (got[4] is None) == (want[4] is None) == (L == 1) and (L == 1 or torch.equal(got[4], want[4]))
            prev = A._Level(L, 0, want[0], want[1], want[2], None, None, 0)


@pytest.mark.parametrize('logged', [True, False])
def test_accumulate_all_equals_level_by_level(logged):
    "All levels at once, over any split of the rows, adds the same terms in the same order as level by level: bitwise the same sums."
    import meme_nb.annotate as A
    T = A.TomtomTargets(_dirichlet(40, (2, 18), 0.5, 51))
    g = torch.Generator().manual_seed(52)
    Qs = [torch.eye(4, dtype=torch.float64)[:, torch.randint(0, 4, (int(L),), generator=g)] for L in torch.randint(1, 22, (30,), generator=g)]
    Qs += _dirichlet(6, (1, 12), 0.5, 53)
    qs = A._queries(A._motif_list(Qs, 'Qs'), T.null, 100)
    rows = torch.argsort(qs.lens, stable=True)
    m, nl = qs.lens[rows], A._nulls(qs, logged)
    lvs, prev = [], None
    for L in range(1, int(m[-1]) + 1):
        prev = A._level(qs, nl.H, nl.lo, rows, nl.G, L, prev, nl.TT, A._serial, logged=logged)
        lvs.append(prev)
    u, cnt = torch.unique(T.lens, return_counts=True)
    for n in (T.lens, torch.repeat_interleave(u, cnt.clamp(max=2))):   # full matrices and n_nearest's candidate columns
        S = torch.randint(-150, 900, (len(Qs), len(n))).double()
        N = S[rows].neg().to(torch.int32)
        want = torch.zeros(S.shape, dtype=torch.float64)
        for lv in lvs: A._accumulate(want, N, lv, rows, m, n, qs.z0, A._serial)
        fl = A._flat(lvs, rows, qs.z0)
        for r in (0, 1, 17, len(Qs)):
            for chunk in (1 << 19, 1000):   # row chunks of any size
                got = torch.zeros(S.shape, dtype=torch.float64)
                A._accumulate_all(got, N, fl, m, n, (0, r), chunk)
                A._accumulate_all(got, N, fl, m, n, (r, len(Qs)), chunk)
                assert torch.equal(got, want)


def test_tomtom_phase2_helps_build_span_nulls(monkeypatch):
    "When phase 2 waits for a level, it runs some of that level's blocks itself: results bitwise those of one thread."
    import threading, time
    import meme_nb.annotate as A
    Ts = _dirichlet(30, (3, 14), 0.5, 54)
    Qs = _dirichlet(40, (3, 16), 0.5, 55)
    level = A._level
    monkeypatch.setattr(A, '_level', lambda *a, **k: level(*a, **{**k, 'step': 8}))   # many blocks per level
    one = [tomtom(Qs, Ts, n_jobs=1), tomtom(Qs, Ts, n_jobs=1, n_nearest=2)]
    plans, run_one, helped = A._level_plans, A._Ahead._run_one, []
    def slow_plans(*a, **k): time.sleep(0.3); return plans(*a, **k)   # phase 1 ends first: phase 2 waits for every level
    def counting(self):
        ran = run_one(self)
        if ran and threading.current_thread() is threading.main_thread(): helped.append(1)
        return ran
    monkeypatch.setattr(A, '_level_plans', slow_plans)
    monkeypatch.setattr(A._Ahead, '_run_one', counting)
    got = [tomtom(Qs, Ts, n_jobs=2), tomtom(Qs, Ts, n_jobs=2, n_nearest=2)]
    assert len(helped) > 0
    for a, b in zip(one, got):
        for x, y in zip(a, b): assert torch.equal(x, y)


def test_compiled_blocks_agree_with_python(monkeypatch):
    "The blocks compiled by TorchScript (span nulls, look-ups, phase 1's scan) and the same functions run by Python give bitwise the same results; a torch that cannot compile falls back to Python."
    import meme_nb.annotate as A
    Ts = _dirichlet(25, (3, 14), 0.5, 61)
    Qs = _dirichlet(30, (2, 16), 0.5, 62) + [torch.eye(4, dtype=torch.float64)[:, torch.randint(0, 4, (int(L),), generator=torch.Generator().manual_seed(L))] for L in range(4, 22, 3)]
    fs = (A._fill_rows, A._lookup_rows, A._scan)
    compiled = [A._script(f) for f in fs]
    def h(x: torch.Tensor) -> torch.Tensor: return x * 2
    if A._script(h) is not h:   # a torch with TorchScript: the package's blocks compile too
        assert all(c is not f for c, f in zip(compiled, fs))
    got = {}
    for name, impl in (('compiled', compiled), ('python', fs)):
        for f, c in zip(fs, impl): monkeypatch.setitem(A._SCRIPTED, f, c)
        got[name] = [tomtom(Qs, Ts, n_jobs=j, n_nearest=k) for j in (1, 2) for k in (None, 2)]
    for a, b in zip(got['compiled'], got['python']):
        for x, y in zip(a, b): assert torch.equal(x, y)
    def no_script(f): raise RuntimeError('no TorchScript here')
    monkeypatch.setattr(torch.jit, 'script', no_script)
    def g(x: torch.Tensor) -> torch.Tensor: return x + 1
    assert A._script(g) is g


def test_tomtom_integer_keys_equal_float_keys(monkeypatch):
    "Phase 1 with int64 keys (used when float32 could not hold them exactly) gives the results of the float32 keys, compiled or not, one-hot or not."
    import meme_nb.annotate as A
    Ts = _dirichlet(25, (3, 14), 0.5, 71)
    Qs = _dirichlet(8, (2, 12), 0.5, 72) + [torch.eye(4, dtype=torch.float64)[:, torch.randint(0, 4, (int(L),), generator=torch.Generator().manual_seed(i))] for i, L in enumerate(range(3, 20, 2))]
    want = [tomtom(Qs, Ts), tomtom(Qs[8:], Ts)]
    monkeypatch.setattr(A, '_F32_KEYS', 0)
    for f in (A._script(A._scan), A._scan):
        monkeypatch.setitem(A._SCRIPTED, A._scan, f)
        for a, b in zip(want, [tomtom(Qs, Ts), tomtom(Qs[8:], Ts)]):
            for x, y in zip(a, b): assert torch.equal(x, y)
