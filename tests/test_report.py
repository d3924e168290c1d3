"""`meme-nb report` end to end on the synthetic genome, checked against the planted truth."""
import subprocess, sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from meme_nb.annotate import tomtom
from meme_nb.datasets import motif_pwms, write_genome
from meme_nb.io import jaspar_path, read_meme
from meme_nb.report import main, report


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp('report')
    rep = report(out=out, n_loci=60, n_shuffles=8, verbose=False)
    truth = pd.read_csv(out / 'genome' / 'truth.tsv', sep='\t')
    return out, rep, truth


def _overlapping_truth(seqlets, truth):
    "For each seqlet, the index of a planted instance it overlaps (-1 when none)."
    hit = np.full(len(seqlets), -1)
    for i, s in enumerate(seqlets.itertuples()):
        t = truth[(truth.chrom == s.chrom) & (truth.start < s.genome_end) & (truth.end > s.genome_start)]
        if len(t): hit[i] = t.index[0]
    return hit


def test_files_and_tables(run):
    out, rep, _ = run
    for f in ('report.html', 'predictions.tsv', 'seqlets.tsv', 'motif_counts.tsv', 'cooccurrence.tsv', 'marginalization.tsv'):
        assert (out / f).stat().st_size > 0, f
    assert len(rep.predictions) == 60
    assert pd.read_csv(out / 'seqlets.tsv', sep='\t').shape[0] == len(rep.seqlets)
    html = rep.html.read_text()
    assert html.count('data:image/png;base64,') >= 2 and 'accessibility' in html


def test_seqlets_sit_on_planted_sites(run):
    "Most strong seqlets of the accessibility task overlap a planted instance."
    _, rep, truth = run
    strong = rep.seqlets[rep.seqlets['p-value'] < 1e-3]
    assert len(strong) >= 20
    precision = (_overlapping_truth(strong, truth) >= 0).mean()
    assert precision >= 0.7, precision


def test_annotations_name_the_planted_family(run):
    "Seqlets over planted sites are annotated with a JASPAR motif that Tomtom finds similar to the planted one."
    _, rep, truth = run
    hit = _overlapping_truth(rep.seqlets, truth)
    s, t = rep.seqlets[hit >= 0], truth.loc[hit[hit >= 0]]
    motifs, pwms = read_meme(jaspar_path()), motif_pwms()
    ok = [tomtom([motifs[a]], [pwms[b]]).p_values[0, 0].item() < 0.05 for a, b in zip(s['motif'], t['motif'])]
    assert len(ok) >= 20 and np.mean(ok) >= 0.7, (len(ok), np.mean(ok))


def test_top_marginal_effects_are_real(run):
    "The most frequent motifs raise accessibility when written into shuffled loci (the grammar's pioneers do)."
    _, rep, _ = run
    assert (rep.marginalization['mean_change'].head(3) > 0).all(), rep.marginalization


def test_cli_errors(tmp_path):
    assert main(['report', '--fasta', str(tmp_path / 'no.fa'), '--bed', str(tmp_path / 'no.bed'), '--out', str(tmp_path / 'r'), '--quiet']) == 2
    assert main(['report', '--target', '99', '--out', str(tmp_path / 'r'), '--quiet', '--n-loci', '2']) == 2


def test_off_chromosome_loci_are_counted(tmp_path):
    g = write_genome(tmp_path / 'g', n_chroms=1, chrom_length=60_000, n_peaks=8, n_background=2, random_state=3)
    bed = pd.read_csv(g.peaks, sep='\t', header=None)
    bed.loc[0, [1, 2, 9]] = [5, 40, 10]
    bed.to_csv(tmp_path / 'p.narrowPeak', sep='\t', header=False, index=False)
    rep = report(fasta=g.fasta, bed=tmp_path / 'p.narrowPeak', out=tmp_path / 'r', n_shuffles=2, n_top=1, verbose=False)
    assert len(rep.predictions) == len(bed) - 1
    assert '1 ran off a chromosome end' in rep.html.read_text()


def test_console_entry_point():
    "The installed `meme-nb` command (pyproject [project.scripts]) parses its arguments; --help exits 0."
    exe = Path(sys.executable).parent / 'meme-nb'
    if not exe.exists(): pytest.skip('meme-nb is not installed in this environment (pip install -e .)')
    r = subprocess.run([str(exe), 'report', '--help'], capture_output=True, text=True)
    assert r.returncode == 0 and '--fasta' in r.stdout, r.stderr
