"""Oracle, property and memory tests for meme_nb.match.extract_matching_loci (the notebook holds the worked example)."""
import json, subprocess, sys, warnings
from collections import Counter

import numpy as np, pandas as pd, pytest
from hypothesis import given, settings, strategies as st
from scipy.stats import chisquare

from meme_nb.datasets import write_genome
from meme_nb.io import extract_loci
from meme_nb.match import extract_matching_loci
from meme_nb.utils import MemeNbWarning


def random_genome(rng, n_chroms, length):
    "Chromosomes of blocks of varying GC, with soft-masked stretches and N runs."
    out = {}
    for c in range(n_chroms):
        parts = []
        while sum(map(len, parts)) < length:
            k, gc = int(rng.integers(50, 400)), rng.uniform(0.1, 0.9)
            p = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
            s = ''.join(rng.choice(list('ACGT'), size=k, p=p))
            r = rng.random()
            parts.append('N' * k if r < 0.08 else s.lower() if r < 0.2 else s)
        out[f'c{c}'] = ''.join(parts)[:length]
    return out


def random_peaks(rng, genome, n):
    names = list(genome)
    chrom = rng.choice(names, size=n)
    start = np.array([rng.integers(0, len(genome[c]) - 50) for c in chrom])
    end = start + rng.integers(0, 120, size=n)
    df = pd.DataFrame({'chrom': chrom, 'start': start, 'end': np.minimum(end, [len(genome[c]) for c in chrom])})
    if rng.random() < 0.5: df['summit'] = (df.end - df.start) // 2
    return df


def slow_counts(text, s, w):
    t = text[s:s + w]
    return sum(ch in 'GCgc' for ch in t), sum(ch not in 'ACGTacgt' for ch in t)


def slow_bin(gc, nn, w, max_n, width, n_bins):
    if nn > max_n * w or nn == w: return None
    return min(int(np.floor(gc / (w - nn) / width + 1e-9)), n_bins - 1)


def oracle(genome, peaks, w, max_n, width):
    "Slow bins of the usable peaks and of the free tiles (by chromosome and start)."
    n_bins = int(np.ceil(1 / width - 1e-9))
    pk = []
    for r in peaks.itertuples(index=False):
        centre = r.start + int(r.summit) if 'summit' in peaks and not np.isnan(r.summit) else (r.start + r.end) // 2
        s = centre - w // 2
        if s < 0 or s + w > len(genome[r.chrom]): continue
        b = slow_bin(*slow_counts(genome[r.chrom], s, w), w, max_n, width, n_bins)
        if b is not None: pk.append(b)
    tiles = {}
    for c, text in genome.items():
        on = peaks[peaks.chrom == c]
        for s in range(0, len(text) - w + 1, w):
            if any((a < s + w and max(e, a + 1) > s) for a, e in zip(on.start, on.end)): continue
            b = slow_bin(*slow_counts(text, s, w), w, max_n, width, n_bins)
            if b is not None: tiles[(c, s)] = b
    return pk, tiles, n_bins


def quiet(*a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', MemeNbWarning)
        return extract_matching_loci(*a, **k)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3), st.sampled_from([50, 97, 200]), st.sampled_from([0.0, 0.1, 0.5]),
       st.sampled_from([0.02, 0.05, 0.1, 0.3]), st.integers(1, 40))
def test_against_a_slow_oracle(seed, n_chroms, w, max_n, width, n_peaks):
    rng = np.random.default_rng(seed)
    genome = random_genome(rng, n_chroms, int(rng.integers(600, 3000)))
    peaks = random_peaks(rng, genome, n_peaks)
    pk, tiles, n_bins = oracle(genome, peaks, w, max_n, width)
    if not pk and not tiles: return
    try: out = quiet(peaks, genome, in_window=w, max_n_perc=max_n, gc_bin_width=width, random_state=seed)
    except ValueError as e:   # no locus fits on any chromosome: said, not returned empty
        assert 'no locus fits' in str(e) and not pk; return
    t = out.attrs['gc_bins']
    got = list(zip(out.chrom, out.start))
    assert len(set(got)) == len(got) and all(k in tiles for k in got)          # free tiles, N-filtered, no peak overlap
    assert (out.end - out.start == w).all() and list(out.columns) == ['chrom', 'start', 'end']
    assert t.peaks.tolist() == np.bincount(pk, minlength=n_bins).tolist()
    assert t.candidates.tolist() == np.bincount(list(tiles.values()), minlength=n_bins).tolist()
    assert t.matched.tolist() == np.bincount([tiles[k] for k in got], minlength=n_bins).astype(int).tolist()
    assert len(out) + out.attrs['n_unmatched'] == len(pk) and t.unmatched.sum() == out.attrs['n_unmatched']
    assert out.attrs['n_skipped'] == len(peaks) - len(pk)
    # a peak is left unmatched only when its bin and both neighbours are used up; windows come from a bin or its neighbours
    for b in np.flatnonzero(t.unmatched.to_numpy()):
        for nb in (b - 1, b, b + 1):
            if 0 <= nb < n_bins: assert t.matched[nb] == t.candidates[nb]
    need = np.pad(t.peaks.to_numpy(), 1)
    assert (t.matched.to_numpy() <= need[:-2] + need[1:-1] + need[2:]).all()
    # genome order
    order = {c: i for i, c in enumerate(genome)}
    assert got == sorted(got, key=lambda k: (order[k[0]], k[1]))


def test_every_free_tile_of_a_bin_is_equally_likely():
    "Two peaks and five candidate tiles of the same GC: each tile is chosen with probability 2/5 (chi-square over seeds)."
    genome = {'c': 'GCAT' * 25 * 6}                       # six tiles of 100, all GC 0.5
    peaks = pd.DataFrame({'chrom': ['c', 'c'], 'start': [40, 45], 'end': [70, 75]})   # both in tile 0 (their windows fit)
    counts = Counter()
    for seed in range(600):
        counts.update(extract_matching_loci(peaks, genome, in_window=100, random_state=seed).start.tolist())
    assert set(counts) == {100, 200, 300, 400, 500}
    assert chisquare([counts[s] for s in sorted(counts)]).pvalue > 1e-3


def test_matches_the_gc_that_extract_loci_reads(tmp_path):
    "On the synthetic genome (narrowPeak with summits), the target histogram is that of the summit-centred windows extract_loci reads."
    f = write_genome(tmp_path, n_chroms=2, chrom_length=400_000, n_peaks=150, n_background=0, random_state=3)
    out = quiet(f.peaks, f.fasta, in_window=1000, random_state=0)
    X = extract_loci(f.peaks, f.fasta, in_window=1000).float()
    gc = ((X[:, 1] + X[:, 2]).sum(-1) / X.sum((1, 2))).numpy()
    assert out.attrs['gc_bins'].peaks.tolist() == np.bincount(np.floor(gc / 0.02 + 1e-9).astype(int), minlength=50).tolist()
    Y = extract_loci(out, f.fasta, in_window=1000).float()
    gy = ((Y[:, 1] + Y[:, 2]).sum(-1) / Y.sum((1, 2))).numpy()
    if out.attrs['n_unmatched'] == 0: assert np.abs(np.sort(gc) - np.sort(gy)).max() < 0.04
    assert out.equals(quiet(f.peaks, f.fasta, in_window=1000, random_state=0))
    assert not out.equals(quiet(f.peaks, f.fasta, in_window=1000, random_state=1))
    assert quiet(f.peaks, f.fasta, in_window=1000, random_state=np.random.default_rng(5)).equals(
           quiet(f.peaks, f.fasta, in_window=1000, random_state=np.random.default_rng(5)))


def test_skips_are_counted_in_warnings():
    genome = {'c': 'ACGT' * 500}
    peaks = pd.DataFrame({'chrom': ['c', 'c', 'x', 'c'], 'start': [1000, 10, 50, 1500], 'end': [1100, 20, 60, 1600]})
    with pytest.warns(MemeNbWarning, match=r'extract_matching_loci skipped 2 of 4 loci'):
        out = extract_matching_loci(peaks, genome, in_window=200, random_state=0)
    assert out.attrs['n_skipped'] == 2 and len(out) + out.attrs['n_unmatched'] == 2


def test_inputs_not_modified():
    genome = {'c': 'ACGTTGCA' * 300}
    peaks = pd.DataFrame({'chrom': ['c', 'c'], 'start': [500, 1500], 'end': [600, 1600]})
    p0, g0 = peaks.copy(), dict(genome)
    extract_matching_loci(peaks, genome, in_window=200, random_state=0)
    assert peaks.equals(p0) and genome == g0


def test_bigwig_and_other_arguments():
    genome, peaks = {'c': 'ACGT' * 500}, pd.DataFrame({'chrom': ['c'], 'start': [900], 'end': [1000]})
    with pytest.raises(ValueError, match='bigwig must be None'): extract_matching_loci(peaks, genome, bigwig='a.bw')
    with pytest.raises(ValueError, match=r'max_n_perc must be in \[0, 1\]; got -0.1'): extract_matching_loci(peaks, genome, max_n_perc=-0.1)
    with pytest.raises(TypeError, match='out_window must be an int'): extract_matching_loci(peaks, genome, out_window=1.5)
    with pytest.raises(TypeError, match='signal_beta must be a number'): extract_matching_loci(peaks, genome, signal_beta='x')
    with pytest.raises(TypeError, match='in_window must be an int'): extract_matching_loci(peaks, genome, in_window=200.0)
    assert len(extract_matching_loci(peaks, genome, in_window=200, n_jobs=-1, random_state=0)) == 1


MEMORY_CHILD = r'''
import json, resource, sys, warnings
warnings.simplefilter('ignore')
from meme_nb.match import extract_matching_loci
import pandas, numpy, torch, pyfaidx
def status(key):   # kB, from /proc/self/status: VmHWM (peak RSS) starts afresh at exec, unlike ru_maxrss, which keeps the forking parent's
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith(key + ':'))
base = status('VmRSS')   # current RSS after imports
out = extract_matching_loci(sys.argv[1], sys.argv[2], in_window=2114, random_state=0)
print(json.dumps(dict(extra_mb=(status('VmHWM') - base) / 1024, n=len(out))))
'''


def test_memory_does_not_grow_with_the_chromosome(tmp_path):
    "A 40 Mb chromosome: the scan adds (fresh process, peak RSS over the RSS after imports) less than two bytes per base (80 MB; one float64 per base would be 320 MB). Measured: about 30 MB."
    L, rng = 40_000_000, np.random.default_rng(0)
    seq = rng.choice(np.frombuffer(b'ACGT', np.uint8), size=L)
    fa = tmp_path / 'g.fa'
    with open(fa, 'wb') as f:
        f.write(b'>chr1\n'); f.write(np.hstack([seq.reshape(-1, 80), np.full((L // 80, 1), 10, np.uint8)]).tobytes())
    del seq
    starts = np.sort(rng.integers(0, L - 5000, 5000))
    pd.DataFrame({'chrom': 'chr1', 'start': starts, 'end': starts + 400}).to_csv(tmp_path / 'p.bed', sep='\t', header=False, index=False)
    r = subprocess.run([sys.executable, '-c', MEMORY_CHILD, str(tmp_path / 'p.bed'), str(fa)], capture_output=True, text=True, check=True)
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res['n'] > 4000
    assert res['extra_mb'] < 80, res
