"""Tests of meme_nb.datasets: the synthetic grammar, profile data and genome (slower and many-case checks)."""
import time

import numpy as np
import pandas as pd
import pytest
import torch

from meme_nb.datasets import (CLASSIFIER_TASKS, MOTIFS, TRANSITIONS, background, make_classifier_data,
                              make_profile_data, motif_pwms, write_genome, _stationary)
from meme_nb.io import extract_loci, jaspar_path, read_bed, read_meme


@pytest.fixture(scope='module')
def clf():
    return make_classifier_data(6000, random_state=11)


@pytest.fixture(scope='module')
def prof():
    return make_profile_data(1500, random_state=12)


def _best_strength(x, pwm):
    "Strength of letter indices `x` (m,) under `pwm`, scaled so the consensus scores 1 (independent re-implementation)."
    lo = np.log2(np.maximum(pwm.double().numpy(), 1e-4) / 0.25)
    return lo[x, np.arange(len(x))].sum() / lo.max(0).sum()


def _composition(X):
    c, g = X[:, 1].double(), X[:, 2].double()
    return (c + g).mean().item(), ((c[:, :-1] * g[:, 1:]).mean() / (c.mean() * g.mean())).item()


def test_motif_names_exist_in_shipped_jaspar():
    db = read_meme(jaspar_path())
    for short, name in MOTIFS.items():
        assert name in db, f"{short}: {name} not in the shipped JASPAR file"
        torch.testing.assert_close(motif_pwms()[short], db[name].float())
    assert CLASSIFIER_TASKS[:10] == tuple(MOTIFS) and len(CLASSIFIER_TASKS) == 13


def test_transition_matrix_is_human_like():
    np.testing.assert_allclose(TRANSITIONS.sum(1), 1)
    pi = _stationary(TRANSITIONS)
    assert abs(pi[1] + pi[2] - 0.41) < 0.01
    assert pi[1] * TRANSITIONS[1, 2] / (pi[1] * pi[2]) < 0.3


@pytest.mark.parametrize('n,length', [(400, 1000), (2, 200_000)])
def test_background_composition(n, length):
    gc, cpg = _composition(background(n, length, random_state=0))
    assert abs(gc - 0.41) < 0.02 and cpg < 0.5, (gc, cpg)


def test_classifier_shapes_dtypes_determinism():
    a, b = make_classifier_data(30, random_state=1), make_classifier_data(30, random_state=1)
    c = make_classifier_data(30, random_state=2)
    assert a.X.shape == (30, 4, 1000) and a.X.dtype == torch.float32
    assert a.y.shape == a.logits.shape == (30, 13) and a.y.dtype == a.logits.dtype == torch.float32
    assert torch.equal(a.X, b.X) and torch.equal(a.y, b.y) and torch.equal(a.logits, b.logits)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not torch.equal(a.X, c.X)
    assert list(a.truth.columns) == ['example_idx', 'start', 'end', 'motif', 'jaspar', 'strand']
    assert torch.equal(a.X.sum(1), torch.ones(30, 1000))
    g = np.random.default_rng(5)
    assert make_classifier_data(3, random_state=g).X.shape == (3, 4, 1000)


def test_classifier_composition(clf):
    gc, cpg = _composition(clf.X)
    assert abs(gc - 0.41) < 0.02 and cpg < 0.5, (gc, cpg)


def test_truth_matches_sequences(clf):
    "Every planted instance carries its motif on the stated strand, and the rows agree with MOTIFS."
    pwms, X = motif_pwms(), clf.X.numpy().argmax(1)
    t = clf.truth
    assert (t.jaspar == t.motif.map(MOTIFS)).all()
    assert ((t.end - t.start) == t.motif.map({k: v.shape[1] for k, v in pwms.items()})).all()
    for r in t.sample(3000, random_state=0).itertuples():
        x = X[r.example_idx, r.start:r.end]
        fwd, rev = _best_strength(x, pwms[r.motif]), _best_strength(3 - x[::-1], pwms[r.motif])
        stated = fwd if r.strand == '+' else rev
        assert stated >= 0.7, (r, stated)
    # instances of one sequence never overlap
    s = t.sort_values(['example_idx', 'start'])
    same = s.example_idx.to_numpy()[1:] == s.example_idx.to_numpy()[:-1]
    assert (s.start.to_numpy()[1:][same] >= s.end.to_numpy()[:-1][same]).all()


def test_strands_balanced(clf):
    assert abs((clf.truth.strand == '+').mean() - 0.5) < 0.03


def test_positive_rates(clf):
    rates = clf.y.mean(0).numpy()
    for task, r in zip(CLASSIFIER_TASKS, rates):
        assert 0.15 <= r <= 0.55, (task, r)
    # labels follow the logits: mean label ~ mean sigmoid(logit)
    np.testing.assert_allclose(rates, torch.sigmoid(clf.logits).mean(0).numpy(), atol=0.02)


def _auc(score, y):
    from scipy.stats import rankdata
    r, p = rankdata(score), y.sum()
    return (r[y == 1].sum() - p * (p + 1) / 2) / (p * (len(y) - p))


def test_labels_are_learnable(clf):
    "The true logits separate the labels well (the ceiling any model can reach)."
    for j, task in enumerate(CLASSIFIER_TASKS):
        assert _auc(clf.logits[:, j].numpy(), clf.y[:, j].numpy()) > 0.93, task


def test_single_motif_tasks_follow_their_motif(clf):
    for j, m in enumerate(MOTIFS):
        has = np.zeros(len(clf.y), bool)
        has[clf.truth.example_idx[clf.truth.motif == m].unique()] = True
        assert clf.y[has, j].mean() > 0.75 and clf.y[~has, j].mean() < 0.05, m


def test_spacing_rule(clf):
    "Among sequences with exactly two AP-1 sites, helical spacings give a much higher spacing logit."
    ap = clf.truth[clf.truth.motif == 'AP-1']
    d = ap.groupby('example_idx').filter(lambda g: len(g) == 2).groupby('example_idx').start.agg(lambda s: s.max() - s.min())
    logit = clf.logits[np.array(d.index), CLASSIFIER_TASKS.index('AP-1 spacing')].numpy()
    helical = logit[np.isin(d.to_numpy(), [10, 11, 21])]
    other = logit[np.isin(d.to_numpy(), [14, 15, 16, 17, 26, 27, 28, 29, 30])]
    assert len(helical) > 200 and len(other) > 100
    assert helical.mean() > other.mean() + 4
    # the AP-1 task itself does not care about spacing
    a1 = clf.logits[np.array(d.index), CLASSIFIER_TASKS.index('AP-1')].numpy()
    assert abs(a1[np.isin(d.to_numpy(), [10, 11, 21])].mean() - a1[np.isin(d.to_numpy(), [14, 15, 16, 17])].mean()) < 1


def test_composite_rule(clf):
    "GATA and E-box within ~35 bp switch the composite task on; either alone barely moves it."
    t, j = clf.truth, CLASSIFIER_TASKS.index('GATA+E-box')
    gata = set(t.example_idx[t.motif == 'GATA']); ebox = set(t.example_idx[t.motif == 'E-box'])
    g, e = t[t.motif == 'GATA'], t[t.motif == 'E-box']
    pairs = g.merge(e, on='example_idx')
    close = set(pairs.example_idx[(pairs.start_x - pairs.start_y).abs() <= 25])
    only_g, only_e = np.array(sorted(gata - ebox)), np.array(sorted(ebox - gata))
    neither = np.array(sorted(set(range(len(clf.y))) - gata - ebox))
    lg = clf.logits[:, j].numpy()
    assert len(close) > 500
    assert lg[np.array(sorted(close))].mean() > 2
    assert lg[only_g].mean() < lg[neither].mean() + 0.8 and lg[only_e].mean() < lg[neither].mean() + 0.8
    assert clf.y[np.array(sorted(close)), j].mean() > 0.8 and clf.y[only_g, j].mean() < 0.1


def test_accessibility_pioneers_and_repressor(clf):
    t, j = clf.truth, CLASSIFIER_TASKS.index('accessibility')
    rest = np.zeros(len(clf.y), bool); rest[t.example_idx[t.motif == 'REST'].unique()] = True
    ctcf = np.zeros(len(clf.y), bool); ctcf[t.example_idx[t.motif == 'CTCF'].unique()] = True
    lg = clf.logits[:, j].numpy()
    assert lg[ctcf & ~rest].mean() > lg[~ctcf & ~rest].mean() + 1.5
    assert lg[ctcf & rest].mean() < lg[ctcf & ~rest].mean() - 3


def test_centre_preference(clf):
    t = clf.truth[clf.truth.motif == 'CTCF']
    one = t.groupby('example_idx').filter(lambda g: len(g) == 1)
    centre = (one.start + one.end) / 2
    lg = clf.logits[np.array(one.example_idx), CLASSIFIER_TASKS.index('CTCF')].numpy()
    mid, edge = np.abs(centre - 500) < 100, np.abs(centre - 500) > 400
    assert lg[mid].mean() > lg[edge].mean() + 1.5


def test_profile_shapes_and_determinism():
    a, b = make_profile_data(20, random_state=3), make_profile_data(20, random_state=3)
    assert a.X.shape == (20, 4, 2114) and a.control.shape == (20, 2, 2114) and a.profile.shape == (20, 2, 1000)
    assert a.X.dtype == a.control.dtype == a.profile.dtype == torch.float32
    for x, y in zip(a[:3], b[:3]): assert torch.equal(x, y)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert (a.profile >= 0).all() and torch.equal(a.profile, a.profile.round())


def test_profile_reads_peak_on_the_right_strands(prof):
    lo = (2114 - 1000) // 2
    sites = prof.truth[prof.truth.motif == 'GATA']
    assert ((sites.start >= lo) & (sites.end <= lo + 1000)).all()
    offsets = np.arange(-30, 31)
    pile = np.zeros((2, len(offsets)))
    for r in sites.itertuples():
        c = (r.start + r.end) // 2 - lo
        if 30 <= c < 970: pile += prof.profile[r.example_idx, :, c + offsets].numpy()
    plus, minus = offsets[pile[0].argmax()], offsets[pile[1].argmax()]
    assert -9 <= plus <= -2 and 2 <= minus <= 9, (plus, minus)


def test_profile_counts_depend_on_sites_and_control(prof):
    lo = (2114 - 1000) // 2
    n_sites = np.bincount(prof.truth.example_idx[prof.truth.motif == 'GATA'], minlength=len(prof.X))
    total = prof.profile.sum((1, 2)).numpy()
    means = [total[n_sites == k].mean() for k in range(4)]
    assert all(a < b for a, b in zip(means, means[1:])), means
    # without sites, the profile follows the control
    ctl = prof.control[:, :, lo:lo + 1000].sum((1, 2)).numpy()
    none = n_sites == 0
    assert np.corrcoef(ctl[none], total[none])[0, 1] > 0.5
    # the control is low-level and similar on both strands
    assert prof.control.mean() < 1
    assert np.corrcoef(prof.control[:, 0].sum(1), prof.control[:, 1].sum(1))[0, 1] > 0.8


@pytest.mark.parametrize('factor', ['CTCF', 'E-box', 'REST'])
def test_profile_other_factors(factor):
    d = make_profile_data(200, length=1000, output_length=500, factor=factor, random_state=0)
    assert d.profile.shape == (200, 2, 500)
    bound = d.truth[d.truth.motif == factor]
    assert len(bound) > 150 and (bound.start >= 250).all() and (bound.end <= 750).all()


@pytest.mark.parametrize('call,msg', [
    (lambda: make_classifier_data(0), 'n must be in [1, inf]; got 0'),
    (lambda: make_classifier_data(10, length=100), 'length must be in [200, inf]; got 100'),
    (lambda: make_classifier_data(10, random_state=-1), 'random_state must be'),
    (lambda: make_profile_data(10, factor='Gata'), "factor must be one of ['AP-1', 'GATA', 'CTCF'"),
    (lambda: make_profile_data(10, length=900), 'length must be >= output_length (1000); got 900'),
    (lambda: make_profile_data(10, output_length=50, length=100), 'output_length must be in [200, inf]; got 50'),
    (lambda: background(-1, 10), 'n must be in [1, inf]; got -1'),
    (lambda: write_genome('/tmp/x', n_chroms=0), 'n_chroms must be in [1, inf]; got 0'),
    (lambda: write_genome('/tmp/x', n_background=-1), 'n_background must be in [0, inf]; got -1'),
    (lambda: write_genome('/tmp/x', n_chroms=1, chrom_length=100_000, n_peaks=30, n_background=10), 'n_peaks + n_background must be <= 38'),
])
def test_bad_input(call, msg):
    with pytest.raises((ValueError, TypeError)) as e: call()
    assert msg in str(e.value)


def test_bad_genome_input_writes_nothing(tmp_path):
    with pytest.raises(ValueError): write_genome(tmp_path / 'g', n_peaks=0)
    assert not (tmp_path / 'g').exists()


def test_genome_files(tmp_path):
    f = write_genome(tmp_path, n_chroms=2, chrom_length=300_000, n_peaks=100, n_background=50, random_state=4)
    assert f.fasta.exists() and f.fasta.with_name('genome.fa.fai').exists()
    peaks, bg = read_bed(f.peaks), read_bed(f.background)
    assert len(peaks) == 100 and len(bg) == 50 and peaks.shape[1] == 10
    assert (peaks.summit == 200).all()
    X = extract_loci(f.peaks, f.fasta, in_window=1000)
    Xb = extract_loci(f.background, f.fasta, in_window=2114)
    assert X.shape == (100, 4, 1000) and Xb.shape == (50, 4, 2114)
    truth = pd.read_csv(f.truth, sep='\t')
    assert list(truth.columns) == ['chrom', 'start', 'end', 'motif', 'jaspar', 'strand', 'peak']
    # the truth, read back through extract_loci windows, carries the motifs on the stated strands
    import pyfaidx
    fa = pyfaidx.Fasta(str(f.fasta))
    pwms = motif_pwms()
    for r in truth.itertuples():
        x = np.array(['ACGT'.index(c) for c in str(fa[r.chrom][r.start:r.end])])
        x = x if r.strand == '+' else 3 - x[::-1]
        assert _best_strength(x, pwms[r.motif]) >= 0.7
    # no planted instance within 1,057 bp of a background locus centre
    for c, g in bg.groupby('chrom'):
        mids = ((g.start + g.end) // 2).to_numpy()
        t = truth[truth.chrom == c]
        assert (np.abs(t.start.to_numpy()[:, None] - mids[None]) > 1057 - 20).all()
    # composition of the whole genome
    seq = ''.join(str(fa[c][:]) for c in fa.keys())
    gc = (seq.count('G') + seq.count('C')) / len(seq)
    cpg = seq.count('CG') / len(seq) / ((seq.count('C') / len(seq)) * (seq.count('G') / len(seq)))
    assert abs(gc - 0.41) < 0.02 and cpg < 0.5, (gc, cpg)


def test_genome_is_deterministic(tmp_path):
    a = write_genome(tmp_path / 'a', n_chroms=1, chrom_length=100_000, n_peaks=20, n_background=10, random_state=7)
    b = write_genome(tmp_path / 'b', n_chroms=1, chrom_length=100_000, n_peaks=20, n_background=10, random_state=7)
    c = write_genome(tmp_path / 'c', n_chroms=1, chrom_length=100_000, n_peaks=20, n_background=10, random_state=8)
    for x, y in zip(a, b): assert x.read_bytes() == y.read_bytes()
    assert a.fasta.read_bytes() != c.fasta.read_bytes()


@pytest.mark.slow
def test_timing():
    "Timings are printed, not asserted (the machine is shared)."
    t = time.time(); make_classifier_data(50_000, random_state=0); print(f"\nclassifier 50,000 x 1,000: {time.time() - t:.1f} s")
    t = time.time(); make_profile_data(10_000, random_state=0); print(f"profile 10,000 x 2,114: {time.time() - t:.1f} s")
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        t = time.time(); write_genome(d); print(f"genome 3 x 1 Mb: {time.time() - t:.1f} s")
