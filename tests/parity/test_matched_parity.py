"""local_dinucleotide_shuffle and extract_matching_loci agree with tangermeme 1.6.0 at the level of properties and distributions
(the random draws differ, so the outputs themselves cannot be compared); skipped when it is not installed."""
import sys, warnings
from collections import Counter
from pathlib import Path

import numpy as np, pytest, torch

pytest.importorskip('tangermeme', reason='tangermeme not installed')
from tangermeme.ersatz import local_dinucleotide_shuffle as tm_local

from meme_nb.ersatz import local_dinucleotide_shuffle
from meme_nb.utils import characters, random_one_hot

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_ersatz import slow_bins   # the bin-layout oracle of the unit tests


def strs(Y): return [characters(y, allow_N=True) for y in Y.reshape(-1, *Y.shape[-2:])]
def dinucs(s): return Counter(s[i:i + 2] for i in range(len(s) - 1))


def fitting_first_bins(s, y, bin_size, min_bin_size):
    "First-bin lengths f in [1, bin_size] whose layout every bin of `y` fits (same ends and dinucleotide counts as in `s`)."
    ok = lambda bins: all((y[a], y[b - 1], dinucs(y[a:b])) == (s[a], s[b - 1], dinucs(s[a:b])) for a, b in bins)
    return [f for f in range(1, bin_size + 1) if ok(slow_bins(len(s), bin_size, min_bin_size, f))]


def ref(X, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return tm_local(X, **kw)


@pytest.mark.parametrize('L,bin_size,min_bin_size', [(100, 30, 10), (130, 40, 40), (200, 50, 20), (95, 30, 5)])
def test_both_follow_the_documented_layout(L, bin_size, min_bin_size):
    """Every shuffle of both libraries fits the layout for some first-bin length in [min_bin_size, bin_size], and,
    over many shuffles, the fitting lengths of both cover that whole range (the first bin's length is drawn from it)."""
    X = random_one_hot((2, 4, L), random_state=L)
    s = strs(X)
    for name, Y in (('ours', local_dinucleotide_shuffle(X, n=60, bin_size=bin_size, min_bin_size=min_bin_size, random_state=0)),
                    ('tangermeme', ref(X.float(), n=60, bin_size=bin_size, min_bin_size=min_bin_size, random_state=0))):
        seen = set()
        for i, ys in enumerate(Y):
            for y in strs(ys):
                fits = fitting_first_bins(s[i], y, bin_size, min_bin_size)
                assert any(min_bin_size <= f <= bin_size for f in fits), (name, y)
                if len(fits) == 1: seen |= set(fits)
                seen.add(max(fits))
        assert min(seen) <= min_bin_size + 2 and max(seen) == bin_size, (name, sorted(seen))


def test_same_gc_profile_along_a_step():
    "On 6 kb with a GC step in the middle, the mean GC of the shuffles in 200 bp windows agrees (the step is smeared alike)."
    rng = np.random.default_rng(0)
    p = np.r_[[[0.1, 0.4, 0.4, 0.1]] * 3000, [[0.4, 0.1, 0.1, 0.4]] * 3000]
    X = torch.from_numpy(np.eye(4, dtype=np.int8)[(rng.random(len(p))[:, None] > p.cumsum(1)).sum(1)].T[None].copy())
    gc = lambda Z: Z[0, :, 1:3, :].float().sum(1).reshape(Z.shape[1], 30, 200).mean((0, 2))
    ours = gc(local_dinucleotide_shuffle(X, n=80, random_state=0))
    theirs = gc(ref(X.float(), n=80, random_state=0))
    torch.testing.assert_close(ours, theirs, atol=0.04, rtol=0)
    assert ours[:10].min() > 0.7 and ours[-10:].max() < 0.3


def test_short_sequences_where_the_reference_refuses():
    "A sequence no longer than bin_size: the reference raises, ours shuffles it as a single bin (documented)."
    X = random_one_hot((1, 4, 500), random_state=3)
    with pytest.raises(ValueError): ref(X.float(), n=2)
    s, Y = strs(X)[0], strs(local_dinucleotide_shuffle(X, n=3, random_state=0))
    assert all((y[0], y[-1], dinucs(y)) == (s[0], s[-1], dinucs(s)) for y in Y)


# --- extract_matching_loci ------------------------------------------------------------

from meme_nb.datasets import write_genome
from meme_nb.io import extract_loci, read_bed
from meme_nb.match import _free_tiles, extract_matching_loci
from tangermeme.match import extract_matching_loci as tm_match


@pytest.fixture(scope='module')
def genome(tmp_path_factory):
    return write_genome(tmp_path_factory.mktemp('genome'), n_chroms=3, chrom_length=1_000_000, n_peaks=500, random_state=0)


def window_gc(loci, fasta, w=2114):
    X = extract_loci(loci, fasta, in_window=w).float()
    return ((X[:, 1] + X[:, 2]).sum(-1) / X.sum((1, 2))).numpy()


def quiet(f, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return f(*a, **k)


@pytest.mark.parametrize('subset', ['all', 'gc_rich'])
def test_same_gc_distribution_as_the_reference(genome, subset, tmp_path):
    "Both libraries' windows have the peaks' GC distribution: same quantiles within one bin, same mean within 0.005."
    peaks = read_bed(genome.peaks)
    if subset == 'gc_rich':   # the GC-richest third of the peaks: matching must pull the background up
        gc = window_gc(peaks, genome.fasta)
        peaks = peaks.iloc[np.argsort(-gc)[:170]].sort_values(['chrom', 'start'])
    path = tmp_path / 'peaks.narrowPeak'
    peaks.to_csv(path, sep='\t', header=False, index=False)
    ours = quiet(extract_matching_loci, path, genome.fasta, random_state=0)
    ref = quiet(tm_match, str(path), str(genome.fasta), random_state=0)
    g_p, g_o, g_r = window_gc(peaks, genome.fasta), window_gc(ours, genome.fasta), window_gc(ref, genome.fasta)
    q = [0.1, 0.25, 0.5, 0.75, 0.9]
    assert np.abs(np.quantile(g_o, q) - np.quantile(g_r, q)).max() <= 0.02
    assert np.abs(np.quantile(g_o, q) - np.quantile(g_p, q)).max() <= 0.02
    assert abs(g_o.mean() - g_r.mean()) < 0.005 and abs(g_o.mean() - g_p.mean()) < 0.005
    assert len(ours) + ours.attrs['n_unmatched'] == len(peaks)


def test_same_candidate_windows_as_the_reference(genome):
    "The reference's windows are tiles of in_window from each chromosome's start that overlap no peak: all lie in our candidate set."
    ref = quiet(tm_match, str(genome.peaks), str(genome.fasta), random_state=0)
    peaks = read_bed(genome.peaks)
    for c, g in ref.groupby('chrom'):
        on = peaks[peaks.chrom == c]
        free = set(_free_tiles(1_000_000, 2114, on.start.to_numpy(), on.end.to_numpy()).tolist())
        assert set(g.start.tolist()) <= free and (g.end - g.start == 2114).all()
