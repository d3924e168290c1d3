"""Genome-scale runs (meme_nb.runs): identical results whatever the layout (one process, torchrun with two
gloo ranks, --shard job arrays, other chunk sizes), equal to the in-process calls; resume after SIGKILL;
the parameter guard; skipped loci; partial chunks never read; exports."""
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from meme_nb.attribution import deep_lift_shap
from meme_nb.datasets import write_genome
from meme_nb.ism import saturation_mutagenesis
from meme_nb.models import load_pretrained
from meme_nb.predict import predict
from meme_nb.runs import _nearest_segments, export, open_run, run

L, N_SHUF = 200, 3
ENV = {**os.environ, 'OMP_NUM_THREADS': '1'}


@pytest.fixture(scope='module')
def genome(tmp_path_factory):
    d = tmp_path_factory.mktemp('genome')
    g = write_genome(d, n_chroms=2, chrom_length=60_000, n_peaks=30, n_background=10, random_state=1)
    as_peak = lambda c, a, b, name: '\t'.join([c, str(a), str(b), name, '0', '.', '0', '0', '0', str((int(b) - int(a)) // 2)])
    peaks = Path(g.peaks).read_text().splitlines() + [as_peak(*l.split('\t')) for l in Path(g.background).read_text().splitlines()]
    bad = [as_peak('chrUn', 100, 300, 'nowhere'), as_peak('chr2', 59950, 59990, 'edge')]
    bed = d / 'loci.bed'
    bed.write_text('\n'.join(peaks[:20] + bad + peaks[20:]) + '\n')
    return g.fasta, bed


@pytest.fixture(scope='module')
def model(): return load_pretrained('beluga_mini')


def _cli(*args, torchrun=None, check=True):
    pre = [sys.executable, '-m', 'torch.distributed.run', '--standalone', f'--nproc-per-node={torchrun}'] if torchrun else [sys.executable]
    p = subprocess.run(pre + ['-m', 'meme_nb', *map(str, args)], capture_output=True, text=True, env=ENV, timeout=600)
    if check and p.returncode != 0: raise AssertionError(f'exit {p.returncode}\n{p.stdout}\n{p.stderr}')
    return p


def _attr_args(fasta, bed, out, *extra):
    return ['attribute', '--model', 'pretrained:beluga_mini', '--fasta', fasta, '--bed', bed, '--out', out, '--in-window', L,
            '--n-shuffles', N_SHUF, '--target', 'AP-1', '--hypothetical', '--quiet', *extra]


@pytest.fixture(scope='module')
def reference_run(genome, tmp_path_factory):
    fasta, bed = genome
    out = tmp_path_factory.mktemp('runs') / 'one'
    run('attribute', 'pretrained:beluga_mini', fasta, bed, out, target='AP-1', n_shuffles=N_SHUF, in_window=L, hypothetical=True,
        chunk_size=8, verbose=False)
    return out


def test_skipped_and_loci(reference_run):
    r = open_run(reference_run)
    assert len(r.loci) == 40 and r.complete
    assert sorted(r.skipped['reason']) == ['chromosome missing from the FASTA', 'window runs off the chromosome end']
    assert r.skipped['bed_row'].tolist() == [20, 21]
    assert (r.loci['end'] - r.loci['start']).eq(L).all()


def test_equal_to_in_process_calls(reference_run, model):
    r = open_run(reference_run)
    X = torch.from_numpy(r.ohe[:])
    t = model.task_names.index('AP-1')
    for i in (0, 7, 8, 21, 39):
        ref = deep_lift_shap(model, X[i:i + 1], target=t, n_shuffles=N_SHUF, random_state=i, hypothetical=True)
        np.testing.assert_allclose(r.hypothetical[i:i + 1], ref.numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.asarray(r.attributions[:]), r.hypothetical[:] * r.ohe[:], rtol=0, atol=0)


@pytest.mark.slow
def test_layouts_identical(genome, reference_run, tmp_path):
    "torchrun with 2 gloo ranks, two --shard processes, and another chunk size give the same arrays as one process."
    fasta, bed = genome
    want = open_run(reference_run).hypothetical[:]
    _cli(*_attr_args(fasta, bed, tmp_path / 'tr', '--chunk-size', 8), torchrun=2)
    procs = [subprocess.Popen([sys.executable, '-m', 'meme_nb', *map(str, _attr_args(fasta, bed, tmp_path / 'sh', '--chunk-size', 8, '--shard', f'{i}/2'))],
                              env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    for p in procs: assert p.wait(timeout=600) == 0, p.stderr.read()
    _cli(*_attr_args(fasta, bed, tmp_path / 'c5', '--chunk-size', 5))
    for d in ('tr', 'sh', 'c5'):
        r = open_run(tmp_path / d)
        assert r.complete, d
        np.testing.assert_array_equal(r.hypothetical[:], want, err_msg=d)
    assert len(open_run(tmp_path / 'sh').done) == 5


@pytest.mark.slow
def test_sigkill_and_resume(genome, reference_run, tmp_path):
    fasta, bed = genome
    out = tmp_path / 'killed'
    p = subprocess.Popen([sys.executable, '-m', 'meme_nb', *map(str, _attr_args(fasta, bed, out, '--chunk-size', 2))], env=ENV,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while len(list((out / 'chunks').glob('*.json'))) < 3 and time.time() - t0 < 300 and p.poll() is None: time.sleep(0.02)
    p.send_signal(signal.SIGKILL); p.wait()
    done = len(list((out / 'chunks').glob('*.json')))
    assert 3 <= done < 20, f'the run was not killed half-way ({done} chunks done)'
    res = _cli(*_attr_args(fasta, bed, out, '--chunk-size', 2))
    assert f'computed {20 - done} chunks, reused {done}' in res.stdout, res.stdout
    np.testing.assert_array_equal(open_run(out).hypothetical[:], open_run(reference_run).hypothetical[:])
    again = _cli(*_attr_args(fasta, bed, out, '--chunk-size', 2))
    assert 'nothing to do: the run is complete' in again.stdout


def test_partial_chunk_is_recomputed(genome, reference_run, tmp_path):
    "A chunk whose data was written but whose marker is missing (a crash between the two) counts as not done."
    fasta, bed = genome
    out = tmp_path / 'partial'
    shutil.copytree(reference_run, out)
    r = open_run(out)
    store = __import__('zarr').open_group(str(out / 'store.zarr'), mode='r+')
    store['hypothetical'][8:16] = np.float32(7.0)  # corrupt chunk 1 ...
    (out / 'chunks' / '000001.json').unlink()      # ... as a crash before its marker would leave it
    assert not r.complete and 1 not in r.done
    with pytest.raises(ValueError, match='incomplete'): next(r.chunks())
    assert r.done == [0, 2, 3, 4]
    s = run('attribute', 'pretrained:beluga_mini', fasta, bed, out, target='AP-1', n_shuffles=N_SHUF, in_window=L, hypothetical=True,
            chunk_size=8, verbose=False)
    assert (s.computed, s.reused) == (1, 4)
    np.testing.assert_array_equal(open_run(out).hypothetical[:], open_run(reference_run).hypothetical[:])


def test_mismatch_refused(genome, reference_run, tmp_path):
    fasta, bed = genome
    out = tmp_path / 'guard'
    shutil.copytree(reference_run, out)
    p = _cli(*_attr_args(fasta, bed, out, '--chunk-size', 8, '--n-shuffles', 4), check=False)
    assert p.returncode == 2 and 'n_shuffles: recorded 3, now 4' in p.stderr, p.stderr
    other = tmp_path / 'other.bed'
    other.write_text(''.join(Path(bed).read_text().splitlines(True)[:10]))
    p = _cli(*_attr_args(fasta, other, out, '--chunk-size', 8), check=False)
    assert p.returncode == 2 and 'bed_sha256' in p.stderr
    p = _cli(*_attr_args(fasta, other, out, '--chunk-size', 8, '--overwrite'))
    assert len(open_run(out).loci) == 10


def test_predict_tsv_and_ism(genome, model, tmp_path):
    fasta, bed = genome
    s = run('predict', model, fasta, bed, tmp_path / 'p', in_window=L, chunk_size=16, batch_size=8, verbose=False)
    r = open_run(s.out)
    X = torch.from_numpy(r.ohe[:])
    np.testing.assert_allclose(r.predictions[:], predict(model, X.float(), batch_size=8).numpy(), rtol=0, atol=1e-6)
    (tsv,) = export(s.out, 'tsv')
    t = pd.read_csv(tsv, sep='\t')
    assert len(t) == 40 and t.filter(like='pred').shape[1] == len(model.task_names)
    np.testing.assert_allclose(t.filter(like='pred').to_numpy(), r.predictions[:], rtol=1e-6, atol=1e-6)
    s = run('ism', model, fasta, bed, tmp_path / 'i', in_window=L, n_loci=5, chunk_size=2, target=3, verbose=False)
    ri = open_run(s.out)
    for i in (0, 4):
        ref = saturation_mutagenesis(model, X[i:i + 1], target=3)
        np.testing.assert_allclose(ri.attributions[i:i + 1], ref.numpy(), rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match='--hypothetical'): export(s.out, 'modisco')


def test_modisco_export(reference_run, tmp_path):
    ohe, shap = export(reference_run, 'modisco', tmp_path / 'm')
    r = open_run(reference_run)
    a, b = np.load(ohe)['arr_0'], np.load(shap)['arr_0']
    assert a.shape == b.shape == (40, 4, L) and b.dtype == np.float32
    np.testing.assert_array_equal(a, r.ohe[:]); np.testing.assert_array_equal(b, r.hypothetical[:])


def test_bigwig_export(reference_run, tmp_path):
    pyBigWig = pytest.importorskip('pyBigWig')
    (path,) = export(reference_run, 'bigwig', tmp_path / 'a.bw')
    r = open_run(reference_run)
    proj = np.asarray(r.attributions[:], dtype=np.float64).sum(1)
    bw = pyBigWig.open(str(path))
    rng = np.random.default_rng(0)
    for chrom in r.loci['chrom'].unique():
        on = r.loci.index[r.loci['chrom'] == chrom].to_numpy()
        starts = r.loci['start'].to_numpy()[on]
        for b in rng.choice(np.arange(starts.min(), starts.max() + L), 200):
            d = np.where((b >= starts) & (b < starts + L), np.abs(b - (starts + (L - 1) / 2)), np.inf)
            got = bw.values(chrom, int(b), int(b) + 1)[0]
            if not np.isfinite(d).any(): assert np.isnan(got); continue
            k = on[d.argmin()]
            assert got == pytest.approx(proj[k, b - r.loci['start'].iat[k]], abs=1e-6)
    bw.close()


def test_nearest_segments_brute_force():
    rng = np.random.default_rng(3)
    for _ in range(200):
        Lw = int(rng.integers(1, 12))
        starts = rng.integers(0, 40, int(rng.integers(1, 8)))
        order, lo, hi = _nearest_segments(starts, Lw)
        base = np.arange(60)[:, None]
        d = np.where((base >= starts) & (base < starts + Lw), np.abs(2 * base - (2 * starts + Lw - 1)), np.inf)
        rank = np.empty(len(starts), int); rank[np.lexsort((np.arange(len(starts)), starts))] = np.arange(len(starts))
        key = d * 100 + rank  # nearest centre; on a tie the window that starts first (then the first listed)
        owner = np.where(np.isfinite(d.min(1)), key.argmin(1), -1)
        for k, a, b in zip(order, lo, hi):
            assert np.array_equal(np.flatnonzero(owner == k), np.arange(a, b)), (starts, Lw)


def test_bad_arguments(genome, tmp_path):
    fasta, bed = genome
    with pytest.raises(ValueError, match='chunk_size'): run('predict', 'pretrained:beluga_mini', fasta, bed, tmp_path / 'x', chunk_size=0)
    with pytest.raises(ValueError, match='command must be one of'): run('explain', 'pretrained:beluga_mini', fasta, bed, tmp_path / 'x')
    with pytest.raises(ValueError, match='fasta: no such file'): run('predict', 'pretrained:beluga_mini', tmp_path / 'no.fa', bed, tmp_path / 'x')
    with pytest.raises(ValueError, match='attribute needs a model returning one tensor'):
        run('attribute', 'pretrained:bpnet_gata', fasta, bed, tmp_path / 'x', in_window=2114)
    p = _cli('predict', '--model', 'pretrained:beluga_mini', '--fasta', fasta, '--bed', bed, '--out', tmp_path / 'x', '--shard', '2/2', check=False)
    assert p.returncode == 2 and '--shard must be I/N' in p.stderr
    assert not (tmp_path / 'x').exists()


def test_run_seqlets_streams_like_in_memory(reference_run):
    "Seqlets and their motif names over a run, chunk by chunk, equal the in-memory calls; coordinates come from loci.tsv."
    from meme_nb.annotate import annotate_seqlets
    from meme_nb.io import jaspar_path, read_meme
    from meme_nb.runs import run_seqlets
    from meme_nb.seqlets import recursive_seqlets
    r = open_run(reference_run)
    motifs = dict(list(read_meme(jaspar_path()).items())[:60])
    got = run_seqlets(reference_run, motifs=motifs, threshold=0.05)
    A = torch.from_numpy(np.asarray(r.attributions[:]))
    want = recursive_seqlets(A.sum(1), threshold=0.05)
    assert len(want) > 0
    pd.testing.assert_frame_equal(got[want.columns].reset_index(drop=True), want.reset_index(drop=True))
    idx, p = annotate_seqlets(torch.from_numpy(r.ohe[:]), want, motifs)
    assert got['motif_idx'].tolist() == idx[:, 0].tolist()
    np.testing.assert_allclose(got['motif_pvalue'], p[:, 0].numpy(), rtol=1e-6)
    loc = r.loci.iloc[got['example_idx']]
    assert (got['genome_start'].to_numpy() == loc['start'].to_numpy() + got['start'].to_numpy()).all()
    assert (got['chrom'].to_numpy() == loc['chrom'].to_numpy()).all()
