"""Tests of meme_nb.variant_effect: edits against slow string versions, windows against the genome, scores against
predict, the command line, and the truth check on the synthetic genome (planted-core variants against background ones)."""
import argparse, gzip, math, warnings

import numpy as np, pandas as pd, pyfaidx, pytest, torch
from hypothesis import given, settings, strategies as st

from meme_nb.utils import MemeNbWarning, characters, one_hot_encode, random_one_hot
from meme_nb.predict import predict
from meme_nb.models import CountWrapper, auroc, jensen_shannon, load_pretrained
from meme_nb.datasets import MOTIFS, motif_pwms, write_genome
from meme_nb.io import jaspar_path, read_meme
from meme_nb.annotate import tomtom
from meme_nb.variant_effect import (add_variants_parser, deletion_effect, insertion_effect, read_vcf, run_variants,
                                    substitution_effect, variant_effects, variant_windows)


def identity(X): return X.float()
def text(X): return characters(X, allow_N=True)
def seqs(X): return [text(x) for x in X]


# ---------- low level against slow string versions ----------

@st.composite
def edit_case(draw, n_cols, unique=True, extra=0, max_pos_plus=0):
    n, L = draw(st.integers(1, 4)), draw(st.integers(3, 12))
    k = draw(st.integers(0, 8))
    rows = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, L - 1 + max_pos_plus), st.integers(0, 3)),
                         max_size=k, unique_by=(lambda r: r[:2]) if unique else None))
    seed = draw(st.integers(0, 2 ** 16))
    return n, L, rows, seed


@settings(max_examples=60, deadline=None)
@given(edit_case(3), st.sampled_from([torch.int8, torch.float32, torch.bool]))
def test_substitution_matches_slow(case, dtype):
    n, L, rows, seed = case
    X = random_one_hot((n, 4, L), random_state=seed).to(dtype)
    X0 = X.clone()
    before, after = substitution_effect(identity, X, torch.tensor(rows, dtype=torch.long).reshape(-1, 3))
    want = [list(s) for s in seqs(X)]
    for e, p, c in rows: want[e][p] = 'ACGT'[c]
    assert seqs(after) == [''.join(w) for w in want] and seqs(before) == seqs(X)
    assert torch.equal(X, X0)


@settings(max_examples=60, deadline=None)
@given(edit_case(2), st.booleans())
def test_deletion_matches_slow(case, left):
    n, L, rows, seed = case
    rows = [r[:2] for r in rows]
    m = max(np.bincount([e for e, _ in rows], minlength=n)) if rows else 0
    if m >= L: return
    X = random_one_hot((n, 4, L), random_state=seed).to(torch.int8)
    before, after = deletion_effect(identity, X, torch.tensor(rows, dtype=torch.long).reshape(-1, 2), left=left)
    keep = L - m
    for e, s in enumerate(seqs(X)):
        kept = ''.join(ch for p, ch in enumerate(s) if (e, p) not in set(rows))
        assert text(after[e]) == (kept[-keep:] if left else kept[:keep])
        assert text(before[e]) == (s[-keep:] if left else s[:keep])


@settings(max_examples=60, deadline=None)
@given(edit_case(3, unique=False, max_pos_plus=1), st.booleans())
def test_insertion_matches_slow(case, left):
    n, L, rows, seed = case
    X = random_one_hot((n, 4, L), random_state=seed).to(torch.float16)
    before, after = insertion_effect(identity, X, torch.tensor(rows, dtype=torch.long).reshape(-1, 3), left=left)
    for e, s in enumerate(seqs(X)):
        out = ''
        for p in range(L + 1):
            here = [c for (ee, pp, c) in rows if ee == e and pp == p][::-1]   # same position: last row first
            out += ''.join('ACGT'[c] for c in here) + (s[p] if p < L else '')
        assert text(after[e]) == (out[-L:] if left else out[:L])
    assert torch.equal(before, X.float())
    raw = insertion_effect(None, X, torch.tensor(rows, dtype=torch.long).reshape(-1, 3), left=left, func=lambda m, X: X).y_after
    assert raw.dtype == torch.float16   # the edited sequences keep X's dtype


def test_func_kwargs_and_args():
    "A func gets args and keywords; keywords named like the caller's go through additional_func_kwargs."
    seen = {}
    def func(model, X, args=None, left=None, batch_size=None):
        seen.update(args=args, left=left, batch_size=batch_size); return X.float().sum((1, 2))
    X = random_one_hot((2, 4, 8), random_state=0)
    a = (torch.ones(2, 3),)
    deletion_effect(None, X, [[0, 1]], args=a, func=func, additional_func_kwargs={'left': 'for func'}, batch_size=7)
    assert seen['args'] is a and seen['left'] == 'for func' and seen['batch_size'] == 7
    with pytest.raises(TypeError, match='both'):
        substitution_effect(None, X, [[0, 1, 2]], func=func, batch_size=1, additional_func_kwargs={'batch_size': 2})
    with pytest.raises(TypeError, match='does not accept'):
        substitution_effect(None, X, [[0, 1, 2]], func=func, nope=1)


@pytest.mark.parametrize('call,match', [
    (lambda X: substitution_effect(identity, X, [[0, 1, 2], [0, 1, 3]]), 'repeat'),
    (lambda X: substitution_effect(identity, X, [[0, 1, 2.5]]), 'integer'),
    (lambda X: substitution_effect(identity, X, torch.tensor([[True, False, True]])), 'bool'),
    (lambda X: substitution_effect(identity, X, [[0, 1, 2, 3]]), '3 columns'),
    (lambda X: substitution_effect(identity, X[0], [[0, 1, 2]]), 'shape'),
    (lambda X: deletion_effect(identity, X, [[0, 8]]), r'deletions\[0\]'),
    (lambda X: deletion_effect(identity, X, [[0, 1], [0, 1]]), 'repeat'),
    (lambda X: insertion_effect(identity, X, [[0, 9, 1]]), r'insertions\[0\]'),
    (lambda X: insertion_effect(identity, X, [[0, 1, 1]], left='yes'), 'left'),
    (lambda X: insertion_effect(identity, X * 2, [[0, 1, 1]]), 'one-hot'),
])
def test_bad_edits(call, match):
    X = random_one_hot((2, 4, 8), random_state=0)
    with pytest.raises((ValueError, TypeError), match=match): call(X)


# ---------- VCF and windows ----------

def test_read_vcf(tmp_path):
    body = ('##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n'
            'c1\t3\t.\tA\tC,G,T\t50\tPASS\t.\tGT\t0/1\nc1\t7\tx\tACG\tA\t.\t.\t.\tGT\t1/1\n')
    (tmp_path / 'a.vcf').write_text(body)
    with gzip.open(tmp_path / 'a.vcf.gz', 'wt') as f: f.write(body)
    for p in ('a.vcf', 'a.vcf.gz'):
        v = read_vcf(tmp_path / p)
        assert v[['pos', 'ref', 'alt', 'S1']].values.tolist() == [[3, 'A', 'C', '0/1'], [3, 'A', 'G', '0/1'], [3, 'A', 'T', '0/1'], [7, 'ACG', 'A', '1/1']]
        assert list(v.columns[:5]) == ['chrom', 'pos', 'id', 'ref', 'alt']
    (tmp_path / 'b.vcf').write_text('c1\t3\t.\tA\tC\n')   # no header at all: the standard names
    assert read_vcf(tmp_path / 'b.vcf')[['chrom', 'pos', 'ref', 'alt']].values.tolist() == [['c1', 3, 'A', 'C']]
    (tmp_path / 'c.vcf').write_text('#CHROM\tPOS\tID\tREF\tALT\nc1\tthree\t.\tA\tC\n')
    with pytest.raises(ValueError, match="'pos'"): read_vcf(tmp_path / 'c.vcf')


@st.composite
def variant_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    genome = ''.join(rng.choice(list('ACGT'), 80))
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        p, r, a = draw(st.integers(0, 79)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
        ref = genome[p:p + r]
        alt = ref[0] + ''.join(rng.choice(list('ACGT'), a - 1)) if r > 1 or a > 1 else 'ACGT'[('ACGT'.index(ref) + 1) % 4]
        rows.append((p, ref if draw(st.booleans()) or not ref else 'N' * len(ref), alt))
    return genome, rows


@settings(max_examples=60, deadline=None)
@given(variant_case(), st.integers(2, 20))
def test_windows_match_slow(case, L):
    genome, rows = case
    df = pd.DataFrame({'chrom': 'g', 'pos': [p + 1 for p, _, _ in rows], 'ref': [r for _, r, _ in rows], 'alt': [a for _, _, a in rows]})
    w = variant_windows(df, {'g': genome}, L)
    j = 0
    for i, (p, ref, alt) in enumerate(rows):
        s, need = p - L // 2, L + max(0, len(ref) - len(alt))
        if s < 0 or s + need > len(genome) or p + len(ref) > len(genome): assert w.status[i] == 'window off chromosome'; continue
        if genome[p:p + len(ref)] != ref: assert w.status[i].startswith('REF mismatch'); continue
        assert w.status[i] == 'ok' and w.ok[j] == i
        assert text(w.X_ref[j]) == genome[s:s + L]
        assert text(w.X_alt[j]) == (genome[s:p] + alt + genome[p + len(ref):])[:L]
        j += 1
    assert j == len(w.X_ref)


def test_statuses_and_warning():
    g = {'c1': 'ACGTACGTACGTACGTACGT'}
    df = pd.DataFrame({'chrom': ['c1', 'c1', 'c2', 'c1', 'c1'], 'pos': [10, 10, 10, 10, 1], 'ref': ['C', 'C', 'A', 'G', 'A'],
                       'alt': ['<DEL>', 'T', 'C', 'T', 'G'], 'keep': list('abcde')})
    with pytest.warns(MemeNbWarning, match='did not score 4 of 5 variants: .*unsupported allele 1.*') as rec:
        res = variant_effects(lambda X: X.float().sum(2), df, g, in_window=6)
    msg = str(rec[0].message)
    assert 'chromosome missing 1' in msg and 'REF mismatch 1' in msg and 'window off chromosome 1' in msg
    assert res.status.tolist()[:3] == ['unsupported allele', 'ok', 'chromosome missing'] and res.keep.tolist() == list('abcde')
    assert res.diff_output_0.isna().tolist() == [True, False, True, True, True]
    assert res.diff_output_1[1] == -1 and res.diff_output_3[1] == 1


# ---------- scores ----------

@pytest.fixture(scope='module')
def genome(tmp_path_factory):
    g = write_genome(tmp_path_factory.mktemp('genome'), n_chroms=2, chrom_length=300_000, n_peaks=150, n_background=60, random_state=1)
    return g, pd.read_csv(g.truth, sep='\t'), pyfaidx.Fasta(str(g.fasta), as_raw=True)


def breaking_snv(site, pwms):
    "The most informative base of a planted site and the least likely base there (strand-aware)."
    p = pwms[site.motif]
    j = int((2 + (p * p.clamp(min=1e-9).log2()).sum(0)).argmax())
    if site.strand == '+': return site.start + j, 'ACGT'[int(p[:, j].argmin())]
    return site.start + p.shape[1] - 1 - j, 'ACGT'[int(p[:, j].flip(0).argmin())]


@pytest.fixture(scope='module')
def truth_variants(genome):
    g, truth, fa = genome
    pwms = motif_pwms()
    sites = truth.groupby('motif').head(8)
    core, alt = zip(*[breaking_snv(s, pwms) for s in sites.itertuples()])
    snv = pd.DataFrame({'chrom': sites.chrom.values, 'pos': np.array(core) + 1, 'ref': [fa[c][p:p + 1] for c, p in zip(sites.chrom, core)],
                        'alt': alt, 'kind': sites.motif.values, 'site': sites.index.values})
    bg = pd.read_csv(g.background, sep='\t', header=None, names=['chrom', 'start', 'end', 'name'])
    rng = np.random.default_rng(0)
    bp = bg.start.to_numpy() + rng.integers(0, 400, len(bg))
    bref = [fa[c][p:p + 1] for c, p in zip(bg.chrom, bp)]
    bgv = pd.DataFrame({'chrom': bg.chrom, 'pos': bp + 1, 'ref': bref, 'alt': [rng.choice([b for b in 'ACGT' if b != r]) for r in bref],
                        'kind': 'background', 'site': -1})
    return pd.concat([snv, bgv], ignore_index=True)


@pytest.fixture(scope='module')
def beluga(): return load_pretrained('beluga_mini')


@pytest.fixture(scope='module')
def scored(beluga, genome, truth_variants): return variant_effects(beluga, truth_variants, genome[0].fasta)


def test_scores_are_predict_differences(beluga, genome, truth_variants, scored):
    g, _, fa = genome
    sub = truth_variants.iloc[[0, 9, 100]]
    refs, alts = [], []
    for r in sub.itertuples():
        s = r.pos - 1 - 500
        t = fa[r.chrom][s:s + 1000].upper()
        refs.append(one_hot_encode(t)); alts.append(one_hot_encode(t[:500] + r.alt + t[501:]))
    y0, y1 = predict(beluga, torch.stack(refs)), predict(beluga, torch.stack(alts))
    got = scored.iloc[[0, 9, 100]]
    for j, name in enumerate(beluga.task_names):
        np.testing.assert_allclose(got[f'diff_{name}'], (y1 - y0)[:, j].numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(got[f'ref_{name}'], y0[:, j].numpy(), rtol=1e-4, atol=1e-5)
    d = (y1 - y0).abs()
    np.testing.assert_allclose(got.max_abs_diff, d.max(1).values.numpy(), rtol=1e-4, atol=1e-5)
    assert got.max_abs_output.tolist() == [beluga.task_names[i] for i in d.argmax(1).tolist()]
    sel = variant_effects(beluga, sub, g.fasta, target=['GATA', 0], score=['diff', 'log2fc'])
    assert [c for c in sel.columns if c.startswith('diff_')] == ['diff_GATA', 'diff_AP-1']
    np.testing.assert_allclose(sel.log2fc_GATA, sel.diff_GATA / math.log(2))


def test_profile_model_scores(genome, truth_variants):
    g, _, fa = genome
    bpnet = load_pretrained('bpnet_gata')
    sub = truth_variants[truth_variants.kind.isin(['GATA', 'background'])].groupby('kind').head(3)
    res = variant_effects(bpnet, sub, g.fasta)
    assert {'ref_counts', 'alt_counts', 'diff_counts', 'log2fc', 'jsd'} <= set(res.columns)
    r = sub.iloc[0]
    s = r.pos - 1 - bpnet.length // 2
    t = fa[r.chrom][s:s + bpnet.length].upper()
    (p0, c0), (p1, c1) = predict(bpnet, one_hot_encode(t)[None]), predict(bpnet, one_hot_encode(t[:1057] + r.alt + t[1058:])[None])
    sm = lambda p: torch.softmax(p.reshape(1, -1).double(), -1)
    assert math.isclose(res.jsd.iloc[0], jensen_shannon(sm(p0), sm(p1)).item(), rel_tol=1e-4, abs_tol=1e-6)
    assert math.isclose(res.log2fc.iloc[0], (c1 - c0).item() / math.log(2), rel_tol=1e-4, abs_tol=1e-6)
    assert res[res.kind == 'GATA'].jsd.min() > res[res.kind == 'background'].jsd.max()
    cw = variant_effects(CountWrapper(bpnet), sub, g.fasta, in_window=bpnet.length)
    np.testing.assert_allclose(cw.log2fc_GATA, res.log2fc, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match='jsd'): variant_effects(CountWrapper(bpnet), sub, g.fasta, in_window=2114, score='jsd')


# ---------- truth check on the synthetic genome ----------

def test_planted_cores_outrank_background(scored):
    "Per family: breaking SNVs at planted cores against background SNVs, scored by |diff| of the matching task."
    neg = scored[scored.kind == 'background']
    for m in MOTIFS:
        pos = scored[scored.kind == m]
        y = torch.tensor([1] * len(pos) + [0] * len(neg))
        a = float(auroc(y, torch.tensor(np.r_[pos[f'diff_{m}'].abs(), neg[f'diff_{m}'].abs()])))
        assert a >= 0.9, (m, a)
    y = torch.tensor((scored.kind != 'background').astype(int).to_numpy())
    assert float(auroc(y, torch.tensor(scored.max_abs_diff.to_numpy()))) >= 0.9


def test_site_deletion_scores_like_breaking_snv(beluga, genome, truth_variants, scored):
    "Deleting a whole planted site (VCF-style, anchored on the base before it) changes the matching task like breaking its core."
    g, truth, fa = genome
    snv = scored[scored.kind.isin(['GATA', 'CTCF', 'AP-1', 'E-box'])]
    sites = truth.loc[snv.site]
    dels = pd.DataFrame({'chrom': sites.chrom.values, 'pos': sites.start.values, 'kind': sites.motif.values,
                         'ref': [fa[c][s - 1:e] for c, s, e in zip(sites.chrom, sites.start, sites.end)],
                         'alt': [fa[c][s - 1:s] for c, s in zip(sites.chrom, sites.start)]})
    res = variant_effects(beluga, dels, g.fasta)
    d_del = np.array([res[f'diff_{k}'].iloc[i] for i, k in enumerate(res.kind)])
    d_snv = np.array([snv[f'diff_{k}'].iloc[i] for i, k in enumerate(snv.kind)])
    assert (d_del < 0).mean() >= 0.9 and (d_snv < 0).mean() >= 0.9
    assert np.corrcoef(d_del, d_snv)[0, 1] > 0.5
    assert 0.5 < np.median(d_del) / np.median(d_snv) < 2


def ap1_pair_variants(truth, fa, n=6):
    "Insert 5 bp half way between two AP-1 sites ~21 bp apart (centre to centre) in the same peak."
    ap = truth[truth.motif == 'AP-1'].sort_values(['peak', 'start'])
    rows = []
    for _, grp in ap.groupby('peak'):
        for a, b in zip(grp.itertuples(), grp.iloc[1:].itertuples()):
            d = (b.start + b.end) / 2 - (a.start + a.end) / 2
            if 19 <= d <= 23 and b.start > a.end:
                p = (a.end + b.start) // 2                          # 0-based, inside the gap
                rows.append({'chrom': a.chrom, 'pos': p, 'ref': fa[a.chrom][p - 1:p], 'alt': fa[a.chrom][p - 1:p] + 'ACCAT'})
    return pd.DataFrame(rows[:n])


def test_ap1_half_turn_insertion_lowers_spacing(tmp_path, beluga):
    g = write_genome(tmp_path / 'g', n_chroms=3, chrom_length=500_000, n_peaks=400, n_background=0, random_state=3)
    truth, fa = pd.read_csv(g.truth, sep='\t'), pyfaidx.Fasta(str(g.fasta), as_raw=True)
    ins = ap1_pair_variants(truth, fa)
    assert len(ins) >= 3
    res = variant_effects(beluga, ins, g.fasta, target=['AP-1 spacing', 'AP-1'])
    assert (res['diff_AP-1 spacing'] < 0).all()
    assert res['diff_AP-1 spacing'].median() < -1 and res['diff_AP-1 spacing'].median() < res['diff_AP-1'].median()


@pytest.mark.slow
def test_annotation_names_planted_family(beluga, genome, truth_variants):
    "The motif column names a JASPAR motif similar (Tomtom p < 0.01) to the planted one for most planted-core variants."
    g, _, _ = genome
    sub = truth_variants[truth_variants.kind != 'background'].groupby('kind').head(3)
    res = variant_effects(beluga, sub, g.fasta, annotate=True, n_shuffles=5)
    db = read_meme(jaspar_path()); names = list(db)
    pv = tomtom([motif_pwms()[k] for k in MOTIFS], list(db.values())).p_values
    fam = [pv[list(MOTIFS).index(k), names.index(m)].item() < 0.01 if m else False for k, m in zip(res.kind, res.motif)]
    assert np.mean(fam) >= 0.6, list(zip(res.kind, res.motif))
    inside = (res.seqlet_start <= res.pos - 1) & (res.pos - 1 < res.seqlet_end)
    assert inside[res.motif != ''].all()


# ---------- command line ----------

def cli(argv):
    p = argparse.ArgumentParser(prog='meme-nb'); add_variants_parser(p.add_subparsers(dest='command', required=True))
    return p.parse_args(['variants'] + argv)


def test_command(tmp_path, genome, truth_variants, scored):
    g = genome[0]
    v = truth_variants.iloc[[0, 1, 80, 81]].copy()
    v.loc[v.index[-1], 'ref'] = 'N'                                 # a REF mismatch is listed, not scored
    (tmp_path / 'v.vcf').write_text('##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n' +
                                     ''.join(f'{r.chrom}\t{r.pos}\tv{i}\t{r.ref}\t{r.alt}\n' for i, r in enumerate(v.itertuples())))
    a = cli(['--model', 'pretrained:beluga_mini', '--fasta', str(g.fasta), '--vcf', str(tmp_path / 'v.vcf'), '--out', str(tmp_path / 'o'),
             '--target', 'AP-1,accessibility', '--score', 'diff', '--top', '2', '--n-shuffles', '2', '--quiet'])
    assert a.func(a) == 0
    out = pd.read_csv(tmp_path / 'o' / 'variants.tsv', sep='\t')
    assert out.id.tolist() == ['v0', 'v1', 'v2', 'v3'] and out.status.tolist()[:3] == ['ok'] * 3 and out.status[3].startswith('REF mismatch')
    np.testing.assert_allclose(out['diff_AP-1'][:3], scored['diff_AP-1'].iloc[[0, 1, 80]], rtol=1e-4, atol=1e-5)
    assert len(list((tmp_path / 'o').glob('variant_*.png'))) == 2
    assert run_variants(cli(['--fasta', str(tmp_path / 'none.fa'), '--vcf', str(tmp_path / 'v.vcf'), '--out', str(tmp_path / 'o2'), '--quiet'])) == 2
    assert run_variants(cli(['--fasta', str(g.fasta), '--vcf', str(tmp_path / 'v.vcf'), '--out', str(tmp_path / 'o3'), '--score', 'jsd', '--quiet'])) == 2


def test_reference_window_run_once_per_site():
    "ALT alleles of one site share one reference window (run once) and each gets its own reference output back."
    g = {'c': 'ACGTTGCAACGTAGCTAGCATCGACTAGC' * 3}
    df = pd.DataFrame({'chrom': 'c', 'pos': [30, 20, 30, 20, 20], 'ref': ['A'] * 5, 'alt': ['ACG', 'C', 'T', 'G', 'T']})
    calls = []
    def f(X): calls.append(len(X)); return X.float().sum(2)
    r = variant_effects(f, df, g, in_window=10)
    assert calls == [2, 5]
    for i, row in r.iterrows():
        s = row.pos - 1 - 5
        assert [row[f'ref_output_{k}'] for k in range(4)] == [g['c'][s:s + 10].count(b) for b in 'ACGT']


def test_command_chunks_and_resume(tmp_path, genome, truth_variants):
    "--chunk-size saves each chunk; a rerun reuses saved chunks (a marked chunk comes back as saved) and refuses other arguments."
    g = genome[0]
    truth_variants.iloc[[0, 1, 2, 80, 81]][['chrom', 'pos', 'ref', 'alt', 'kind']].to_csv(tmp_path / 'v.tsv', sep='\t', index=False)
    argv = ['--fasta', str(g.fasta), '--vcf', str(tmp_path / 'v.tsv'), '--out', str(tmp_path / 'o'), '--target', 'GATA', '--top', '0', '--quiet']
    assert run_variants(cli(argv + ['--chunk-size', '2'])) == 0
    parts = sorted((tmp_path / 'o' / 'parts').glob('chunk_*.tsv'))
    assert [p.name for p in parts] == ['chunk_000000.tsv', 'chunk_000001.tsv', 'chunk_000002.tsv']
    whole = pd.read_csv(tmp_path / 'o' / 'variants.tsv', sep='\t')
    one = variant_effects(load_pretrained('beluga_mini'), tmp_path / 'v.tsv', g.fasta, target='GATA')
    np.testing.assert_allclose(whole.diff_GATA, one.diff_GATA, rtol=1e-4, atol=1e-5)
    marked = pd.read_csv(parts[1], sep='\t'); marked['kind'] = 'reused'; marked.to_csv(parts[1], sep='\t', index=False)
    parts[2].unlink()
    assert run_variants(cli(argv + ['--chunk-size', '2'])) == 0
    again = pd.read_csv(tmp_path / 'o' / 'variants.tsv', sep='\t')
    assert again.kind.tolist()[2:4] == ['reused', 'reused'] and len(again) == 5
    np.testing.assert_allclose(again.diff_GATA, whole.diff_GATA)
    assert run_variants(cli(argv + ['--chunk-size', '3'])) == 2


# ---------- fast path: windowed recomputation equals two plain passes ----------

from test_ism import layer, random_case   # the random conv-net zoo of the ISM fast-path tests
import meme_nb.variant_effect as ve
import meme_nb.ism as ism


def flat(y): return [t for v in y for t in (v if isinstance(v, list) else [v])]


def assert_same_pairs(fast, plain, y_scale=None):
    "Both (y_before, y_after) agree to 1e-5 relative to the largest output (float32 rounding of another summation order)."
    a, b = flat(fast), flat(plain)
    assert len(a) == len(b)
    scale = y_scale or max(float(t.abs().max()) for t in b)
    for x, y in zip(a, b): torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-5 * max(scale, 1e-6))


edit_rows = st.lists(st.tuples(st.integers(0, 4), st.one_of(st.sampled_from([0, 1, 46, 47]), st.integers(0, 47)), st.integers(0, 3)),
                     max_size=14, unique_by=lambda r: r[:2])


@settings(max_examples=25, deadline=None)
@given(spec=st.lists(layer, min_size=1, max_size=5), head=st.sampled_from(['dense', 'mean', 'profile']), n_ctl=st.sampled_from([0, 0, 2]),
       n=st.integers(1, 5), bs=st.sampled_from([1, 2, 64]), seed=st.integers(0, 100), rows=edit_rows)
def test_fast_substitutions_random_models(spec, head, n_ctl, n, bs, seed, rows):
    "Random conv nets (dilated, strided, padded convs, pools, crops, pads, residuals; dense/mean/profile heads, a control track): fast == plain."
    case = random_case(spec, head, n_ctl, n, seed)
    if case is None: return
    model, X, args = case
    s = torch.tensor([r for r in rows if r[0] < n], dtype=torch.long).reshape(-1, 3)   # several per example, edges included, some examples none
    fast = substitution_effect(model, X, s, args=args, batch_size=bs, fast=True)
    plain = substitution_effect(model, X, s, args=args, batch_size=bs, fast=False)
    assert_same_pairs(fast, plain)
    untouched = sorted(set(range(n)) - set(s[:, 0].tolist()))
    for y0, y1 in zip(flat([fast.y_before]), flat([fast.y_after])): assert torch.equal(y0[untouched], y1[untouched])


def test_fast_substitutions_shipped_beluga_mini():
    "beluga_mini on 1 kb: single SNVs, neighbouring pairs, edits at both ends, a whole-length span; every fast setting equals fast=False."
    model = load_pretrained('beluga_mini')
    X = random_one_hot((7, 4, 1000), random_state=0)
    ep = torch.tensor([[0, 500], [0, 501], [1, 0], [2, 999], [3, 0], [3, 999], [4, 250], [4, 260], [6, 998]])
    s = torch.cat([ep, ((X[ep[:, 0], :, ep[:, 1]].argmax(1) + 1) % 4)[:, None]], 1)   # every substitution changes its base
    plain = substitution_effect(model, X, s, batch_size=3, fast=False)
    assert_same_pairs(substitution_effect(model, X, s, batch_size=3, fast=True), plain)
    calls = []
    h = model.register_forward_pre_hook(lambda m, a: calls.append(len(a[0])))
    try: none = substitution_effect(model, X, s, batch_size=3)               # captured above: fast=None windows the short spans
    finally: h.remove()
    assert_same_pairs(none, plain)
    assert calls == [1]                                                        # only example 3 (span over the whole length) ran plain
    assert torch.equal(none.y_after[5], none.y_before[5])                     # no substitution: exactly the reference output


def test_fast_substitutions_shipped_bpnet_gata():
    "The (profile, counts) model with its control track: a list of two outputs, both equal to the plain path."
    model = load_pretrained('bpnet_gata')
    X, ctl = random_one_hot((3, 4, 2114), random_state=1), torch.rand(3, 2, 2114) * 3
    s = torch.tensor([[0, 1057, 2], [0, 1060, 0], [1, 0, 1], [1, 2113, 3], [2, 500, 1]])
    fast = substitution_effect(model, X, s, args=(ctl,), batch_size=2, fast=True)
    assert isinstance(fast.y_after, list) and len(fast.y_after) == 2
    assert_same_pairs(fast, substitution_effect(model, X, s, args=(ctl,), batch_size=2, fast=False))


class NoRule(torch.nn.Module):
    def __init__(self):
        super().__init__(); torch.manual_seed(0)
        self.conv = torch.nn.Conv1d(4, 3, 5)
    def forward(self, X): return self.conv(X).logcumsumexp(-1)[:, :, -1]


def test_fast_fallback_and_errors(monkeypatch):
    "Small first calls stay plain; a model the engine cannot capture falls back silently with fast=None; fast=True names why."
    X = random_one_hot((3, 4, 30), random_state=0)
    s = torch.tensor([[0, 3, 1], [2, 29, 0]])
    torch.manual_seed(1)
    conv = torch.nn.Sequential(torch.nn.Conv1d(4, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 28, 2))
    calls = []
    conv.register_forward_pre_hook(lambda m, a: calls.append(1))    # (reading the batch size here would make the capture fail)
    plain = substitution_effect(conv, X, s)                          # 2 edits < _FAST_MIN_EDITS and nothing captured yet: plain
    assert calls == [1, 1] and conv not in ism._PROGRAMS
    monkeypatch.setattr(ism, '_FAST_MIN_EDITS', 7)
    substitution_effect(conv, X, s)                                  # 6 copies asked for so far (3 a call): still plain
    assert calls == [1, 1, 1, 1] and conv not in ism._PROGRAMS
    assert_same_pairs(substitution_effect(conv, X, s), plain)        # enough edits: captured (one traced call), then windows only
    assert conv in ism._PROGRAMS
    calls.clear()
    assert_same_pairs(substitution_effect(conv, X, s), plain)
    assert calls == []
    monkeypatch.setattr(ism, '_FAST_MIN_EDITS', 1)                  # every call tries to capture
    nr = NoRule()
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert_same_pairs(substitution_effect(nr, X, s), substitution_effect(nr, X, s, fast=False))
    assert [type(v).__name__ for v in ism._PROGRAMS[nr].values()] == ['_NoFast']   # the capture was tried and refused
    with pytest.raises(ValueError, match='fast=True.*logcumsumexp'): substitution_effect(NoRule(), X, s, fast=True)
    with pytest.raises(ValueError, match='fast=True.*not a torch.nn.Module'): substitution_effect(lambda X: X.float().sum(2), X, s, fast=True)
    with pytest.raises(ValueError, match='func is not predict'): substitution_effect(NoRule(), X, s, func=lambda m, X: X, fast=True)
    with pytest.raises(ValueError, match="keyword 'func'"): substitution_effect(NoRule(), X, s, fast=True, func=predict, additional_func_kwargs={'func': torch.exp})
    with pytest.raises(TypeError, match='fast must be'): substitution_effect(NoRule(), X, s, fast='yes')


def test_fast_variant_effects_equal_plain(beluga, genome, truth_variants):
    "SNVs, an MNV, indels and a multi-allelic site, both strands: fast=True and fast=None give the plain path's table."
    g, _, fa = genome
    v = truth_variants.iloc[[0, 1, 9, 40, 100, 101]][['chrom', 'pos', 'ref', 'alt']].reset_index(drop=True)
    r = v.iloc[0]
    two = fa[r.chrom][r.pos - 1:r.pos + 1].upper()
    other = {'A': 'C', 'C': 'G', 'G': 'T', 'T': 'A'}
    extra = pd.DataFrame({'chrom': [r.chrom] * 4, 'pos': [r.pos, r.pos, r.pos, r.pos],
                          'ref': [r.ref, two, two, r.ref], 'alt': [other[r.ref], other[two[0]] + other[two[1]], two[0], r.ref + 'GA']})
    v = pd.concat([v, extra], ignore_index=True)           # second ALT of site 0, an MNV, a deletion, an insertion
    for rc in (False, True):
        plain = variant_effects(beluga, v, g.fasta, reverse_complement=rc, batch_size=4, fast=False)
        for fast in (True, None):
            got = variant_effects(beluga, v, g.fasta, reverse_complement=rc, batch_size=4, fast=fast)
            assert (got.status == 'ok').all() and got.max_abs_output.tolist() == plain.max_abs_output.tolist()
            num = [c for c in plain.columns if c.startswith(('ref_', 'alt_', 'diff_', 'max_abs_diff'))]
            np.testing.assert_allclose(got[num].to_numpy(float), plain[num].to_numpy(float), rtol=1e-5, atol=1e-5)
    with pytest.raises(TypeError, match='fast must be'): variant_effects(beluga, v, g.fasta, fast=0)
