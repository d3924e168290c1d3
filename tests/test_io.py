"Tests of meme_nb.io: MEME motif files, the shipped JASPAR file, BED/narrowPeak reading and extract_loci."
import gzip
import importlib.util
import re
import sys
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings, strategies as st, HealthCheck

from meme_nb.io import (LociControls, LociSignals, LociSignalsControls, extract_loci, jaspar_path,
                        read_bed, read_meme, write_meme)
from meme_nb.utils import MemeNbWarning, characters, one_hot_encode

HAS_BIGWIG = importlib.util.find_spec('pyBigWig') is not None
HAS_PYJASPAR = importlib.util.find_spec('pyjaspar') is not None

MEME = """MEME version 4

ALPHABET= ACGT

strands: + -

Background letter frequencies
A 0.25 C 0.25 G 0.25 T 0.25

MOTIF M1 alpha
letter-probability matrix: alength= 4 w= 3 nsites= 20 E= 0
0.1 0.2 0.3 0.4
1.0 0.0 0.0 0.0
0.0 0.0 0.5 0.5

MOTIF M2
letter-probability matrix: alength= 4 w= 2 nsites= 20 E= 0
0.0 1.0 0.0 0.0
0.25 0.25 0.25 0.25
"""


def _write(path, text):
    path.write_text(text)
    return path


def _probs(rng, m):
    "Random (4, m) float32 letter probabilities."
    return torch.from_numpy(rng.dirichlet(np.ones(4), size=m).T.astype(np.float32))


# ---------------------------------------------------------------- read_meme / write_meme

def test_read_meme_values_order_and_types(tmp_path):
    m = read_meme(_write(tmp_path / 'a.meme', MEME))
    assert list(m) == ['M1 alpha', 'M2']
    assert all(v.dtype == torch.float32 for v in m.values())
    assert torch.equal(m['M1 alpha'], torch.tensor([[0.1, 1, 0], [0.2, 0, 0], [0.3, 0, 0.5], [0.4, 0, 0.5]]))
    assert m['M2'].shape == (4, 2)
    assert list(read_meme(str(tmp_path / 'a.meme'), n_motifs=1)) == ['M1 alpha']
    assert list(read_meme(tmp_path / 'a.meme', n_motifs=5)) == ['M1 alpha', 'M2']


def test_read_meme_gzip_with_or_without_suffix(tmp_path):
    (tmp_path / 'a.meme.gz').write_bytes(gzip.compress(MEME.encode()))
    (tmp_path / 'nosuffix').write_bytes(gzip.compress(MEME.encode()))
    plain = read_meme(_write(tmp_path / 'a.meme', MEME))
    for f in ('a.meme.gz', 'nosuffix'):
        m = read_meme(tmp_path / f)
        assert list(m) == list(plain) and all(torch.equal(m[k], plain[k]) for k in m)


def test_read_meme_tolerates_meme_suite_extras(tmp_path):
    "Header variants, URL lines, log-odds blocks, CRLF line ends and no w= are all read."
    text = MEME.replace('Background letter frequencies', 'Background letter frequencies (from uniform background):')
    text = text.replace('MOTIF M2\n', 'MOTIF M2\nlog-odds matrix: alength= 4 w= 2 E= 0\n -1 2 -3 4\n 1 1 1 1\nURL http://x\n\n')
    text = text.replace(' w= 3', '').replace('\n', '\r\n')
    m = read_meme(_write(tmp_path / 'a.meme', text))
    assert list(m) == ['M1 alpha', 'M2'] and m['M2'].shape == (4, 2)


@pytest.mark.parametrize('old,new,match', [
    ('0.1 0.2 0.3 0.4', '0.1 0.2 0.7', r'a\.meme, line 12: expected 4 letter probabilities'),
    ('1.0 0.0 0.0 0.0', '1.0 0.0 zero 0.0', r'a\.meme, line 13: not a number'),
    ('0.0 0.0 0.5 0.5', '0.0 0.0 0.5 0.5\n0.0 0.0 0.5 0.5', r"line 11: motif 'M1 alpha' declares w= 3 but has 4 rows"),
    ('0.0 0.0 0.5 0.5\n', '', r"line 11: motif 'M1 alpha' declares w= 3 but has 2 rows"),
    ('letter-probability matrix: alength= 4 w= 2 nsites= 20 E= 0\n', '', r"line 17: matrix row before the 'letter-probability matrix:' header of motif 'M2'"),
    ('1.0 0.0 0.0 0.0', '10 5 3 2', r'line 13: letter probabilities must be non-negative and sum to 1'),
    ('1.0 0.0 0.0 0.0', '1.2 -0.2 0.0 0.0', r'line 13: letter probabilities must be non-negative'),
    ('MOTIF M2', 'MOTIF M1 alpha', r"line 16: motif name 'M1 alpha' was already used on line 10"),
    ('ALPHABET= ACGT', 'ALPHABET= ACGU', r'line 3: only the DNA alphabet'),
    ('alength= 4 w= 2', 'alength= 20 w= 2', r'line 17: only DNA motifs \(alength= 4\)'),
])
def test_read_meme_malformed_names_file_and_line(tmp_path, old, new, match):
    assert old in MEME
    with pytest.raises(ValueError, match=match):
        read_meme(_write(tmp_path / 'a.meme', MEME.replace(old, new, 1)))


def test_read_meme_missing_header_and_empty(tmp_path):
    text = MEME.split('MOTIF M2')[0] + 'MOTIF M2\nURL x\n'
    with pytest.raises(ValueError, match="motif 'M2' has no 'letter-probability matrix:' header"):
        read_meme(_write(tmp_path / 'a.meme', text))
    with pytest.raises(ValueError, match='has no MOTIF lines'):
        read_meme(_write(tmp_path / 'b.meme', MEME.split('MOTIF')[0]))
    with pytest.raises(ValueError, match='empty letter-probability matrix'):
        read_meme(_write(tmp_path / 'c.meme', 'MOTIF X\nletter-probability matrix: alength= 4\n\n'))
    with pytest.raises(FileNotFoundError):
        read_meme(tmp_path / 'missing.meme')
    with pytest.raises(TypeError, match='filename must be a file path'):
        read_meme(None)
    with pytest.raises(ValueError, match='n_motifs'):
        read_meme(tmp_path / 'a.meme', n_motifs=-1)


names = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(names, names | st.none(), st.integers(1, 30)), min_size=1, max_size=6,
                unique_by=lambda t: (t[0], t[1])), st.integers(0, 2**32 - 1), st.booleans())
def test_meme_round_trip_exact_to_printed_precision(tmp_path, spec, seed, gz):
    rng = np.random.default_rng(seed)
    motifs = {}
    for ident, alt, m in spec:
        motifs[ident if alt is None else f"{ident} {alt}"] = _probs(rng, m)
    if len(motifs) != len(spec): return  # 'a b' + None collides with 'a' + 'b'
    f1, f2 = tmp_path / f'r1.meme{".gz" if gz else ""}', tmp_path / f'r2.meme{".gz" if gz else ""}'
    before = {k: v.clone() for k, v in motifs.items()}
    write_meme(motifs, f1)
    back = read_meme(f1)
    assert list(back) == list(motifs)
    for k in motifs:
        assert back[k].shape == motifs[k].shape and back[k].dtype == torch.float32
        assert torch.allclose(back[k], motifs[k], atol=6e-7, rtol=0)  # 5e-7 printing + float32 parsing
        assert torch.equal(motifs[k], before[k])  # input not modified
    write_meme(back, f2)
    assert f1.read_bytes() == f2.read_bytes()  # exact to printed precision, reproducible gzip


def test_write_meme_format(tmp_path):
    write_meme({'MA0001.1 X::Y': torch.tensor([[0.5], [0.25], [0.125], [0.125]]), 'S': 'AC'}, tmp_path / 'o.meme')
    text = (tmp_path / 'o.meme').read_text()
    assert text.startswith('MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\nBackground letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n')
    assert 'MOTIF MA0001.1 X::Y\nletter-probability matrix: alength= 4 w= 1 nsites= 20 E= 0\n0.500000 0.250000 0.125000 0.125000\n' in text
    assert 'MOTIF S\nletter-probability matrix: alength= 4 w= 2 nsites= 20 E= 0\n1.000000 0.000000 0.000000 0.000000\n0.000000 1.000000 0.000000 0.000000\n' in text


@pytest.mark.parametrize('motifs,err,match', [
    ([torch.ones(4, 2) / 4], TypeError, 'motifs must be a dict'),
    ({}, ValueError, 'motifs must not be empty'),
    ({'a\tb': torch.ones(4, 2) / 4}, ValueError, 'single spaces'),
    ({' a': torch.ones(4, 2) / 4}, ValueError, 'single spaces'),
    ({'a': torch.ones(4, 2)}, ValueError, r"motifs\['a'\] must hold letter probabilities"),
    ({'a': torch.full((4, 2), float('nan'))}, ValueError, r"motifs\['a'\] must hold letter probabilities"),
    ({'a': torch.ones(5, 2) / 5}, ValueError, r"motifs\['a'\] must have 4 rows"),
    ({'a': np.ones((4, 2)) / 4}, TypeError, r"motifs\['a'\] must be a str or a torch.Tensor"),
    ({'a': torch.ones(2, 4, 2) / 4}, ValueError, r"motifs\['a'\] must have shape"),
])
def test_write_meme_bad_input_writes_nothing(tmp_path, motifs, err, match):
    with pytest.raises(err, match=match):
        write_meme(motifs, tmp_path / 'x.meme')
    assert not (tmp_path / 'x.meme').exists()


# ---------------------------------------------------------------- JASPAR

def test_jaspar_file_contents():
    motifs = read_meme(jaspar_path())
    assert len(motifs) == 879
    assert all(re.fullmatch(r'MA\d{4}\.\d+ \S+', k) for k in motifs)
    base = [k.split('.')[0] for k in motifs]
    assert len(set(base)) == len(base)  # one (the latest) version of each matrix
    tfs = {k.split(' ', 1)[1] for k in motifs}
    assert {'FOS::JUN', 'GATA1', 'CTCF', 'SP1', 'NFYA', 'MAX::MYC', 'ELK1', 'CREB1', 'Yy1', 'REST'} <= tfs
    for v in motifs.values():
        assert torch.allclose(v.sum(0), torch.ones(v.shape[1]), atol=3e-6) and (v >= 0).all()
    assert characters(motifs['MA0099.4 FOS::JUN'], force=True) == 'ATGAGTCAT'
    assert characters(motifs['MA0036.4 GATA2'], force=True) == 'CTTATCT'  # reverse complement of AGATAAG
    assert characters(motifs['MA0035.5 GATA1'], force=True) == 'CTAATCT'  # JASPAR 2024's GATA1 matrix is not the canonical WGATAR


@pytest.mark.skipif(not HAS_PYJASPAR, reason='pyjaspar (dev-only) is not installed')
def test_jaspar_file_matches_pyjaspar():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'tools'))
    try: from build_jaspar import fetch_motifs
    finally: sys.path.pop(0)
    fresh, shipped = fetch_motifs(), read_meme(jaspar_path())
    assert list(fresh) == list(shipped)
    for k in fresh: assert torch.allclose(fresh[k].float(), shipped[k], atol=6e-7, rtol=0), k


# ---------------------------------------------------------------- read_bed

def test_read_bed_narrowpeak_gz_and_comments(tmp_path):
    text = ("track type=narrowPeak\nbrowser hide all\n# a comment\n"
            "chr1\t10\t50\tp1\t900\t+\t3.5\t-1\t2.25\t7\n\n"
            "chrX\t0\t5\t.\t0\t.\t1\t1\t1\t-1\n")
    (tmp_path / 'p.bed.gz').write_bytes(gzip.compress(text.encode()))
    df = read_bed(tmp_path / 'p.bed.gz')
    assert list(df.columns) == ['chrom', 'start', 'end', 'name', 'score', 'strand', 'signalValue', 'pValue', 'qValue', 'summit']
    assert df['chrom'].tolist() == ['chr1', 'chrX'] and df['summit'].tolist() == [7, -1]
    assert df['start'].dtype == np.int64 and df['summit'].dtype == np.int64
    assert df['pValue'].tolist() == [-1.0, 1.0] and df['strand'].tolist() == ['+', '.']


def test_read_bed_numeric_chrom_names_stay_text(tmp_path):
    df = read_bed(_write(tmp_path / 'a.bed', '1\t5\t9\n01\t6\t8\n'))
    assert df['chrom'].tolist() == ['1', '01']


@pytest.mark.parametrize('text,match', [
    ('chr1\t1\t2\nchr1\t3\t4\t5\n', r'a\.bed, line 2: expected 3 tab-separated fields like line 1; got 4'),
    ('#h\nchr1\t1\n', r'line 2: a BED line needs at least 3'),
    ('chr1\t1\t2\nchr1\t-3\t4\n', r'line 2: need 0 <= start <= end'),
    ('chr1\t1\t2\nchr1\t9\t4\n', r'line 2: need 0 <= start <= end'),
    ('chr1\t1\t2\nchr1\tx\t4\n', r"line 2: start must be an integer; got 'x'"),
    ('\n'.join(['chr1\t1\t2\t.\t0\t.\t1\t1\t1\t0'] * 3 + ['chr1\t1\t2\t.\t0\t.\t1\t1\t1\tnone']), r"line 4: summit must be an integer"),
    ('track x\n', r'has no BED records'),
])
def test_read_bed_errors_name_line(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        read_bed(_write(tmp_path / 'a.bed', text))


# ---------------------------------------------------------------- extract_loci

@pytest.fixture
def genome(tmp_path):
    "A random soft-masked genome written as FASTA (line width 50), and the same as a dict."
    rng = np.random.default_rng(1)
    seqs = {'chr1': ''.join(rng.choice(list('ACGTacgtN'), 1000)), 'chr2': ''.join(rng.choice(list('ACGTacgt'), 500))}
    fa = tmp_path / 'g.fa'
    fa.write_text(''.join(f">{c} description\n" + '\n'.join(s[i:i + 50] for i in range(0, len(s), 50)) + '\n' for c, s in seqs.items()))
    return fa, seqs


def _enc(s): return one_hot_encode(s.upper())


def _naive(df, seqs, in_window, max_jitter=0):
    "Reference windows with a Python loop over loci; None where a window does not fit."
    out = []
    for _, r in df.iterrows():
        summit = r.get('summit', np.nan)
        c = r.start + int(summit) if pd.notna(summit) and summit >= 0 else (r.start + r.end) // 2
        s = c - in_window // 2 - max_jitter
        e = s + in_window + 2 * max_jitter
        out.append(_enc(seqs[r.chrom][s:e]) if r.chrom in seqs and s >= 0 and e <= len(seqs[r.chrom]) else None)
    return out


def _quiet(f, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', MemeNbWarning)
        return f(*a, **k)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(['chr1', 'chr2', 'chr3']), st.integers(0, 1100), st.integers(0, 300),
                          st.integers(-1, 300) | st.none()), min_size=1, max_size=25),
       st.integers(1, 200), st.integers(0, 20))
def test_extract_loci_matches_naive_reference(genome, loci, in_window, max_jitter):
    fa, seqs = genome
    df = pd.DataFrame(loci, columns=['chrom', 'start', 'length', 'summit'])
    df['end'] = df['start'] + df['length']
    df['summit'] = df['summit'].astype(float)
    ref = [x for x in _naive(df, seqs, in_window, max_jitter) if x is not None]
    if not ref:
        with pytest.raises(ValueError, match='no locus fits'):
            _quiet(extract_loci, df, fa, in_window=in_window, max_jitter=max_jitter)
        return
    for source in (fa, seqs):
        X = _quiet(extract_loci, df, source, in_window=in_window, max_jitter=max_jitter)
        assert X.dtype == torch.int8 and X.shape == (len(ref), 4, in_window + 2 * max_jitter)
        assert torch.equal(X, torch.stack(ref))


def test_skip_counts_by_reason(genome):
    fa, seqs = genome
    df = pd.DataFrame({'chrom': ['chr1', 'chr1', 'chrZ', 'chr2', 'chrZ', 'chrY', 'chr2'],
                       'start': [500, 0, 10, 480, 20, 30, 200], 'end': [520, 10, 20, 500, 30, 40, 220]})
    with pytest.warns(MemeNbWarning) as rec:
        X = extract_loci(df, fa, in_window=100)
    assert len(rec) == 1
    assert str(rec[0].message) == ("extract_loci skipped 5 of 7 loci: 2 whose window runs off a chromosome end; "
                                   "3 on chromosomes missing from sequences ('chrZ', 'chrY')")
    assert X.shape == (2, 4, 100)
    assert torch.equal(X[0], _enc(seqs['chr1'][460:560]))
    assert torch.equal(X[1], _enc(seqs['chr2'][160:260]))


def test_no_warning_when_everything_fits(genome):
    fa, _ = genome
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        extract_loci(pd.DataFrame({'chrom': ['chr1'], 'start': [400], 'end': [600]}), fa, in_window=100)


def test_summit_centring_and_midpoint_fallback(tmp_path, genome):
    fa, seqs = genome
    _write(tmp_path / 'p.narrowPeak', 'chr1\t100\t400\t.\t0\t.\t1\t1\t1\t250\nchr1\t100\t400\t.\t0\t.\t1\t1\t1\t-1\n')
    X = extract_loci(tmp_path / 'p.narrowPeak', fa, in_window=11)
    assert torch.equal(X[0], _enc(seqs['chr1'][345:356]))  # centre 350, odd window
    assert torch.equal(X[1], _enc(seqs['chr1'][245:256]))  # midpoint 250


def test_list_is_concatenated_in_order(tmp_path, genome):
    fa, seqs = genome
    _write(tmp_path / 'a.bed', 'chr2\t100\t120\nchr1\t300\t320\n')
    (tmp_path / 'b.bed.gz').write_bytes(gzip.compress(b'chr1\t700\t720\n'))
    df = pd.DataFrame({'chrom': ['chr1'], 'start': [50], 'end': [70]})
    X = extract_loci([df, tmp_path / 'a.bed', str(tmp_path / 'b.bed.gz')], fa, in_window=20)
    want = [seqs['chr1'][50:70], seqs['chr2'][100:120], seqs['chr1'][300:320], seqs['chr1'][700:720]]
    assert torch.equal(X, torch.stack([_enc(s) for s in want]))


def test_chroms_filter_and_n_loci(genome):
    fa, seqs = genome
    df = pd.DataFrame({'chrom': ['chr1', 'chr2', 'chrZ', 'chr1', 'chr2', 'chr1'],
                       'start': [100, 100, 0, 0, 300, 600], 'end': [120, 120, 20, 20, 320, 620]})
    X = _quiet(extract_loci, df, fa, chroms=['chr2'], in_window=20)
    assert torch.equal(X, torch.stack([_enc(seqs['chr2'][100:120]), _enc(seqs['chr2'][300:320])]))
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # chrZ was filtered out, not skipped
        extract_loci(df, fa, chroms=('chr2',), in_window=20)
    with pytest.warns(MemeNbWarning, match=r'skipped 1 of 4 loci: 1 on chromosomes missing'):
        X = extract_loci(df, fa, n_loci=3, in_window=20)
    assert torch.equal(X[2], _enc(seqs['chr1'][0:20]))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert extract_loci(df, fa, n_loci=2, in_window=20).shape == (2, 4, 20)  # stops before chrZ
    assert _quiet(extract_loci, df, fa, n_loci=100, in_window=20).shape == (5, 4, 20)


def test_jitter_widens_both_windows(genome):
    fa, seqs = genome
    track = {'chr1': np.arange(1000.), 'chr2': np.arange(500.)}
    df = pd.DataFrame({'chrom': ['chr1'], 'start': [400], 'end': [500]})
    X, y = extract_loci(df, fa, signals=[track], in_window=40, out_window=10, max_jitter=5)
    assert torch.equal(X[0], _enc(seqs['chr1'][425:475]))
    assert torch.equal(y[0, 0], torch.arange(440., 460.))


def test_soft_masked_read_as_upper_and_ignore(genome):
    fa, seqs = genome
    df = pd.DataFrame({'chrom': ['chr1'], 'start': [0], 'end': [1000]})
    X = extract_loci(df, fa, in_window=1000)
    s = seqs['chr1']
    assert characters(X[0], allow_N=True) == s.upper()
    assert (X[0].sum(0) == 0).sum() == s.count('N')
    with pytest.raises(ValueError, match=r"'N' at chr1:\d+"):
        extract_loci(df, fa, in_window=1000, ignore=())


def test_bad_character_names_chromosome_position():
    seqs = {'c': 'ACGTACGTRACGT'}
    with pytest.raises(ValueError, match=r"'R' at c:8, which is neither in alphabet"):
        extract_loci(pd.DataFrame({'chrom': ['c'], 'start': [2], 'end': [12]}), seqs, in_window=10)


def test_dict_sequences_str_and_tensor_agree_with_fasta(genome):
    fa, seqs = genome
    df = pd.DataFrame({'chrom': ['chr2', 'chr1'], 'start': [10, 900], 'end': [60, 950]})
    X = extract_loci(df, fa, in_window=30)
    tens = {c: _enc(s) for c, s in seqs.items()}
    before = {c: t.clone() for c, t in tens.items()}
    assert torch.equal(extract_loci(df, seqs, in_window=30), X)
    assert torch.equal(extract_loci(df, tens, in_window=30), X)
    assert all(torch.equal(tens[c], before[c]) for c in tens)


def test_inputs_not_modified(tmp_path, genome):
    fa, seqs = genome
    df = pd.DataFrame({'chrom': ['chr1', 'chr2'], 'start': [100, 100], 'end': [140, 140], 'summit': [5, -1]})
    df0 = df.copy()
    track = {'chr1': np.full(1000, np.nan), 'chr2': np.ones(500)}
    t0 = {c: v.copy() for c, v in track.items()}
    loci = [df]
    extract_loci(loci, fa, signals=[track], in_window=20, out_window=10)
    pd.testing.assert_frame_equal(df, df0)
    assert loci == [df] and all(np.array_equal(track[c], t0[c], equal_nan=True) for c in track)


def test_signals_dict_nan_zero_and_output_window_must_fit(genome):
    fa, seqs = genome
    track = {'chr1': torch.arange(1000.), 'chr2': np.where(np.arange(500) % 2, np.nan, 1.0)}
    df = pd.DataFrame({'chrom': ['chr2', 'chr1', 'chr1'], 'start': [200, 0, 500], 'end': [210, 20, 520]})
    with pytest.warns(MemeNbWarning, match='skipped 1 of 3 loci: 1 whose window runs off'):
        r = extract_loci(df, fa, signals=[track, track], in_window=10, out_window=40)
    assert isinstance(r, LociSignals) and r.y.dtype == torch.float32
    assert r.y.shape == (2, 2, 40) and r.X.shape == (2, 4, 10)
    assert torch.equal(r.y[0, 0], torch.tensor([0., 1.] * 20))  # window 185-225: odd positions are NaN
    assert torch.equal(r.y[1, 1], torch.arange(490., 530.))
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # without signals the output window does not matter
        assert extract_loci(df, fa, in_window=10, out_window=40).shape == (3, 4, 10)


def test_signal_missing_chromosome_reads_as_zero_with_one_warning(genome):
    "The FASTA decides which loci fit; a chromosome a track does not list is zero signal, counted in one warning."
    fa, seqs = genome
    df = pd.DataFrame({'chrom': ['chr2', 'chr1', 'chr2'], 'start': [200, 200, 300], 'end': [210, 210, 310]})
    with pytest.warns(MemeNbWarning) as rec:
        r = extract_loci(df, fa, signals=[{'chr1': np.ones(1000)}], in_signals=[{'chr1': np.ones(1000)}], in_window=10, out_window=10)
    assert len(rec) == 1
    assert "2 of 3 loci" in str(rec[0].message) and "'chr2'" in str(rec[0].message) and 'zero' in str(rec[0].message)
    assert r.X.shape[0] == 3 and torch.equal(r.X[0], _enc(seqs['chr2'][200:210]))
    assert (r.y[[0, 2]] == 0).all() and (r.y[1] == 1).all() and (r.X_ctl[[0, 2]] == 0).all()


def test_in_signals_return_types(genome):
    fa, _ = genome
    track = {'chr1': np.arange(1000.), 'chr2': np.arange(500.)}
    df = pd.DataFrame({'chrom': ['chr1'], 'start': [100], 'end': [120]})
    r = extract_loci(df, fa, signals=[track], in_signals=[track, track], in_window=20, out_window=4)
    assert isinstance(r, LociSignalsControls)
    X, y, X_ctl = r
    assert X_ctl.shape == (1, 2, 20) and torch.equal(X_ctl[0, 1], torch.arange(100., 120.))
    assert torch.equal(y[0, 0], torch.arange(108., 112.))
    r = extract_loci(df, fa, in_signals=[track], in_window=20)
    assert isinstance(r, LociControls) and r.X_ctl.shape == (1, 1, 20)
    assert isinstance(extract_loci(df, fa, in_window=20), torch.Tensor)


@pytest.mark.parametrize('kw,err,match', [
    (dict(in_window=0), ValueError, 'in_window must be in'),
    (dict(out_window=-5), ValueError, 'out_window must be in'),
    (dict(max_jitter=1.5), TypeError, 'max_jitter must be an int'),
    (dict(n_loci=0), ValueError, 'n_loci must be in'),
    (dict(chroms='chr1'), TypeError, 'chroms must be a list'),
    (dict(chroms=['chrQ']), ValueError, 'no locus of loci is on chroms'),
    (dict(signals='x.bw'), TypeError, 'signals must be a list'),
    (dict(in_signals=[3]), TypeError, r'in_signals\[0\] must be a bigWig path'),
    (dict(signals=[{'chr1': np.ones((3, 3))}]), ValueError, r"signals\[0\]\['chr1'\] must be a 1-D"),
    (dict(in_window=5000), ValueError, 'no locus fits: extract_loci skipped 1 of 1 loci'),
    (dict(alphabet=['A', 'C', 'G', 'G']), ValueError, 'alphabet must not repeat'),
])
def test_extract_loci_bad_arguments(genome, kw, err, match):
    fa, _ = genome
    df = pd.DataFrame({'chrom': ['chr1'], 'start': [100], 'end': [120]})
    with pytest.raises(err, match=match):
        extract_loci(df, fa, **kw)


def test_extract_loci_bad_loci_and_sequences(tmp_path, genome):
    fa, _ = genome
    df = pd.DataFrame({'chrom': ['chr1'], 'start': [100], 'end': [120]})
    with pytest.raises(TypeError, match='loci must be a BED/narrowPeak path'): extract_loci(np.zeros((1, 3)), fa)
    with pytest.raises(ValueError, match=r"loci\[1\] must have columns chrom, start, end"): extract_loci([df, df[['chrom']]], fa)
    with pytest.raises(ValueError, match='loci must hold at least one locus'): extract_loci(df.iloc[:0], fa)
    with pytest.raises(TypeError, match='sequences must be a FASTA path'): extract_loci(df, 42)
    with pytest.raises(FileNotFoundError, match='sequences: no FASTA file'): extract_loci(df, tmp_path / 'none.fa')
    with pytest.raises(FileNotFoundError, match=r'signals\[0\]: no bigWig file'): extract_loci(df, fa, signals=[tmp_path / 'none.bw'])


def test_missing_pybigwig_says_how_to_install(tmp_path, genome):
    fa, _ = genome
    (tmp_path / 'x.bw').write_bytes(b'')
    df = pd.DataFrame({'chrom': ['chr1'], 'start': [100], 'end': [120]})
    with mock.patch.dict(sys.modules, {'pyBigWig': None}):
        with pytest.raises(ImportError, match=re.escape('pip install "meme_nb[bigwig]"')):
            extract_loci(df, fa, signals=[tmp_path / 'x.bw'], in_window=20, out_window=10)


@pytest.mark.skipif(not HAS_BIGWIG, reason='optional pyBigWig is not installed')
def test_bigwig_signals_match_dict_signals(tmp_path, genome):
    import pyBigWig
    fa, _ = genome
    rng = np.random.default_rng(0)
    vals = {'chr1': rng.random(1000).astype(np.float32), 'chr2': rng.random(500).astype(np.float32)}
    vals['chr1'][100:110] = np.nan  # no data there: read as 0
    bw = pyBigWig.open(str(tmp_path / 's.bw'), 'w')
    bw.addHeader([('chr1', 1000), ('chr2', 500)])
    for c, v in vals.items():
        ok = np.flatnonzero(~np.isnan(v))
        bw.addEntries(c, ok.tolist(), values=v[ok].astype(float).tolist(), span=1)
    bw.close()
    df = pd.DataFrame({'chrom': ['chr1', 'chr2', 'chr1'], 'start': [80, 250, 990], 'end': [120, 260, 1000]})
    with pytest.warns(MemeNbWarning, match='1 whose window runs off'):
        X, y, X_ctl = extract_loci(df, fa, signals=[tmp_path / 's.bw'], in_signals=[str(tmp_path / 's.bw')], in_window=60, out_window=30)
    X2, y2, c2 = _quiet(extract_loci, df, fa, signals=[vals], in_signals=[vals], in_window=60, out_window=30)
    assert torch.equal(X, X2) and torch.allclose(y, y2) and torch.allclose(X_ctl, c2)
    assert (y[0, 0, 15:25] == 0).all()


def test_fasta_index_is_built_lazily(genome):
    fa, _ = genome
    fai = Path(str(fa) + '.fai')
    assert not fai.exists()
    extract_loci(pd.DataFrame({'chrom': ['chr1'], 'start': [100], 'end': [120]}), fa, in_window=20)
    assert fai.exists()


# --- issue 12: soft-masking whatever the alphabet; bigWigs that omit chromosomes ------

@pytest.mark.parametrize('alphabet, ignore', [(('A', 'C', 'G', 'T', '-'), ('N',)), (('A', 'C', 'G', 'T'), ('N', '-')), (('A', 'C', 'G', 'T', 'a'), ('N',)),
                                              (('A', 'C', 'G', 'T'), ('N', 'n', 'a'))])
def test_soft_masked_read_as_upper_whatever_the_alphabet(genome, alphabet, ignore):
    fa, seqs = genome
    df = pd.DataFrame({'chrom': ['chr1', 'chr2'], 'start': [0, 0], 'end': [1000, 1000]})
    X = extract_loci(df.iloc[:1], fa, in_window=1000, alphabet=alphabet, ignore=ignore)
    s = seqs['chr1'].upper()
    assert X.shape == (1, len(alphabet), 1000)
    assert characters(X[0, :4], allow_N=True) == s
    assert torch.equal(extract_loci(df.iloc[:1], seqs, in_window=1000, alphabet=alphabet, ignore=ignore), X)


def _write_bigwig(path, chroms):
    "A bigWig with per-base values for `chroms` (name -> 1-D float array, NaN: no entry)."
    import pyBigWig
    bw = pyBigWig.open(str(path), 'w')
    bw.addHeader([(c, len(v)) for c, v in chroms.items()])
    for c, v in chroms.items():
        ok = np.flatnonzero(~np.isnan(v))
        bw.addEntries(c, ok.tolist(), values=v[ok].astype(float).tolist(), span=1)
    bw.close()
    return path


@pytest.mark.skipif(not HAS_BIGWIG, reason='optional pyBigWig is not installed')
def test_bigwig_without_a_chromosome_reads_zero_and_fasta_decides_fit(tmp_path, genome):
    fa, seqs = genome
    bw = _write_bigwig(tmp_path / 'chr1.bw', {'chr1': np.arange(1000, dtype=np.float32)})   # no chr2: no reads there
    df = pd.DataFrame({'chrom': ['chr2', 'chr1', 'chr2', 'chr2'], 'start': [100, 400, 300, 495], 'end': [110, 410, 310, 500]})
    with pytest.warns(MemeNbWarning) as rec:
        X, y = extract_loci(df, fa, signals=[bw], in_window=20, out_window=10)
    msgs = [str(r.message) for r in rec]
    assert len(msgs) == 2                               # one for the locus off chr2's end, one for the zero signal
    assert any('1 whose window runs off a chromosome end' in m for m in msgs)
    zero = [m for m in msgs if 'zero' in m]
    assert len(zero) == 1 and '2 of 3 loci' in zero[0] and "'chr2'" in zero[0]
    assert X.shape == (3, 4, 20) and torch.equal(X[2], _enc(seqs['chr2'][295:315]))
    assert (y[[0, 2]] == 0).all() and torch.equal(y[1, 0], torch.arange(400., 410.))


@pytest.mark.skipif(not HAS_BIGWIG, reason='optional pyBigWig is not installed')
def test_bigwig_listing_every_chromosome_gives_no_zero_warning(tmp_path, genome):
    fa, _ = genome
    bw = _write_bigwig(tmp_path / 'all.bw', {'chr1': np.ones(1000, dtype=np.float32), 'chr2': np.full(500, 2, dtype=np.float32)})
    df = pd.DataFrame({'chrom': ['chr2', 'chr1'], 'start': [100, 400], 'end': [110, 410]})
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        X, y = extract_loci(df, fa, signals=[bw], in_window=20, out_window=10)
    assert (y[0] == 2).all() and (y[1] == 1).all()
