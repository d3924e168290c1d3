"Parity of meme_nb.annotate.tomtom with memelite's tomtom (the reference Python port of MEME Tomtom)."
import numpy as np
import pytest
import torch

memelite = pytest.importorskip('memelite', reason='memelite is not installed (peers environment only)')

from meme_nb.annotate import tomtom, annotate_seqlets
from meme_nb.io import read_meme, jaspar_path


@pytest.fixture(scope='module')
def data():
    motifs = read_meme(jaspar_path())
    Ts = list(motifs.values())
    rng = np.random.default_rng(0)
    Qs = [torch.eye(4, dtype=torch.float64)[torch.from_numpy(rng.integers(0, 4, int(L)))].T.contiguous() for L in rng.integers(8, 26, 200)]
    Qs += [Ts[i].double() for i in rng.choice(len(Ts), 50, replace=False)]
    ours = tomtom(Qs, Ts)
    Tn = [t.numpy().astype(np.float64) for t in Ts]
    Qn = [q.numpy() for q in Qs]
    return Qs, Ts, Qn, Tn, ours


def _compare(ours, theirs):
    a, b = np.log(ours.p_values.numpy()), np.log(theirs[0])
    corr = np.corrcoef(a.ravel(), b.ravel())[0, 1]
    agree = (a.argmin(1) == b.argmin(1)).mean()
    return corr, agree


@pytest.mark.parametrize('n_target_bins,min_corr,min_agree', [(None, 0.9995, 0.99), (100, 0.999, 0.98)])
def test_log_p_correlation_and_best_match(data, n_target_bins, min_corr, min_agree):
    Qs, Ts, Qn, Tn, ours = data
    theirs = memelite.tomtom(Qn, Tn, n_target_bins=n_target_bins)
    corr, agree = _compare(ours, theirs)
    print(f"n_target_bins={n_target_bins}: corr(log p)={corr:.5f} best-match agreement={agree:.3f}")
    assert corr >= min_corr and agree >= min_agree
    assert (ours.offsets.numpy() == theirs[2]).mean() > 0.97
    assert (ours.overlaps.numpy() == theirs[3]).mean() > 0.97


def test_scores_and_strands_without_target_merging(data):
    "memelite with n_target_bins=None computes what we compute; only its approximate medians differ."
    Qs, Ts, Qn, Tn, ours = data
    theirs = memelite.tomtom(Qn, Tn, n_target_bins=None)
    rel = np.abs(ours.scores.numpy() - theirs[1]) / theirs[1]
    print(f"scores equal: {(ours.scores.numpy() == theirs[1]).mean():.3f}, max relative difference {rel.max():.4f}")
    assert rel.max() <= 0.05 and (ours.scores.numpy() == theirs[1]).mean() > 0.8
    assert (ours.strands.numpy() == theirs[4]).mean() > 0.98


def test_n_nearest_matches(data):
    Qs, Ts, Qn, Tn, ours = data
    near = tomtom(Qs, Ts, n_nearest=5)
    theirs = memelite.tomtom(Qn, Tn, n_nearest=5, n_target_bins=None)
    assert (near.idxs[:, 0].numpy() == theirs[5][:, 0]).mean() >= 0.99
    np.testing.assert_allclose(np.log(near.p_values[:, 0].numpy()), np.log(theirs[0][:, 0]), rtol=0.15, atol=0.5)


def test_annotate_seqlets_like_tangermeme():
    ta = pytest.importorskip('tangermeme.annotate')
    pd = pytest.importorskip('pandas')
    motifs = read_meme(jaspar_path())
    g = torch.Generator().manual_seed(1)
    X = torch.nn.functional.one_hot(torch.randint(0, 4, (20, 300), generator=g), 4).permute(0, 2, 1).float()
    s = torch.randint(0, 270, (60,), generator=g)
    sl = pd.DataFrame({'example_idx': torch.randint(0, 20, (60,), generator=g).numpy(), 'start': s.numpy(),
                       'end': (s + torch.randint(8, 26, (60,), generator=g)).numpy()})
    idx, p = annotate_seqlets(X, sl, motifs)
    idx2, p2 = ta.annotate_seqlets(X, sl, motifs)
    agree = (idx[:, 0].numpy() == np.asarray(idx2)[:, 0]).mean()
    corr = np.corrcoef(np.log(p[:, 0].numpy()), np.log(np.asarray(p2)[:, 0]))[0, 1]
    print(f"annotate_seqlets vs tangermeme: best-match agreement {agree:.3f}, corr(log p) {corr:.4f}")
    assert agree >= 0.9 and corr > 0.99


def test_pairwise_diagonal_is_the_only_difference():
    "Issue 12: with unique=True the reference's diagonal is zero; ours counts homotypic examples. fill_diagonal_(0) gives theirs."
    ta = pytest.importorskip('tangermeme.annotate')
    rng = np.random.default_rng(0)
    e, m = rng.integers(0, 6, 40), rng.integers(0, 5, 40)
    from meme_nb.annotate import pairwise_annotations
    ours = pairwise_annotations((e, m), shape=5)
    theirs = ta.pairwise_annotations(torch.from_numpy(np.stack([e, m], 1)), shape=5)
    assert (theirs.diagonal() == 0).all() and (ours.diagonal() > 0).any()
    assert torch.equal(ours.clone().fill_diagonal_(0), theirs)
    assert torch.equal(pairwise_annotations((e, m), shape=5, unique=False), ta.pairwise_annotations(torch.from_numpy(np.stack([e, m], 1)), shape=5, unique=False))


def test_float_indices_like_the_reference():
    "Issue 12: integral float indices (the reference's torch.Tensor([[0, 3]])) count like integers."
    ta = pytest.importorskip('tangermeme.annotate')
    from meme_nb.annotate import count_annotations
    X = torch.Tensor([[0, 3], [1, 1], [0, 3]])
    assert torch.equal(count_annotations(X), ta.count_annotations(X))
