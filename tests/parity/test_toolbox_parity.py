"ablate, kmers, gapped_kmers and the small utilities agree with tangermeme (skipped when it is not installed)."
import numpy as np, pytest, torch

pytest.importorskip('tangermeme', reason='tangermeme not installed')
import tangermeme.ablate as tm_ablate
import tangermeme.kmers as tm_kmers
import tangermeme.utils as tm_utils
import tangermeme.io as tm_io

from meme_nb.ablate import ablate, ablate_annotations
from meme_nb.kmers import kmers, gapped_kmers, gc_content, entropy, information_content, one_hot_to_fasta
from meme_nb.utils import random_one_hot


def conv_net(n_out=3):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv1d(4, 8, 7, padding=3), torch.nn.ReLU(), torch.nn.MaxPool1d(2),
                               torch.nn.Flatten(), torch.nn.Linear(8 * 25, n_out)).eval()


def roll_span(X, start=0, end=-1, n=1, random_state=None):
    "Deterministic stand-in for a shuffle, so both libraries see the same copies."
    out = X[:, None].repeat(1, n, 1, 1)
    for k in range(n): out[:, k, :, start:end] = X[:, :, start:end].roll(k + 1, dims=-1)
    return out


def test_ablate_parity():
    model, X = conv_net(), random_one_hot((4, 4, 50), random_state=0).float()
    ours = ablate(model, X, 10, 30, n=5, shuffle_fn=roll_span)
    ref = tm_ablate.ablate(model, X, 10, 30, n=5, shuffle_fn=roll_span, device='cpu')
    torch.testing.assert_close(ours.y_before, ref[0]); torch.testing.assert_close(ours.y_after, ref[1])


def test_ablate_annotations_parity():
    model, X = conv_net(), random_one_hot((4, 4, 50), random_state=1).float()
    ann = torch.tensor([[2, 0, 8], [0, 20, 35], [2, 40, 50]])
    ours = ablate_annotations(model, X, ann, n=3, shuffle_fn=roll_span)
    ref = tm_ablate.ablate_annotations(model, X, ann, n=3, shuffle_fn=roll_span, device='cpu')
    torch.testing.assert_close(ours[0], ref[0]); torch.testing.assert_close(ours[1], ref[1])


@pytest.mark.parametrize('k', [1, 2, 3, 5])
def test_kmers_parity(k):
    X = random_one_hot((3, 4, 60), random_state=k).float()
    s = torch.randn(3, 60)
    torch.testing.assert_close(kmers(X, k).to_dense(), tm_kmers.kmers(X, k).float())
    torch.testing.assert_close(kmers(X, k, scores=s).to_dense(), tm_kmers.kmers(X, k, scores=s).float(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('kw', [dict(), dict(min_k=3, max_k=5, max_gap=1, max_len=6, max_gkmers=5)])
def test_gapped_kmers_parity(kw):
    """Same column numbering and the same value for every word both keep, and most kept words shared.
    The choice of the max_gkmers words per row differs (ours keeps the largest |value|), so only their number is compared."""
    X = random_one_hot((3, 4, 40), random_state=5).float()
    s = torch.randn(3, 40)
    ref = tm_kmers.gapped_kmers(X, s, **kw).tocoo()
    full = gapped_kmers(X, s, **{**kw, 'max_gkmers': 10 ** 6})
    assert tuple(full.shape) == ref.shape
    ours = dict(zip(map(tuple, full.indices().T.tolist()), full.values().tolist()))
    got = np.array([ours.get((int(i), int(j)), np.nan) for i, j in zip(ref.row, ref.col)])
    np.testing.assert_allclose(got, ref.data, rtol=1e-4, atol=1e-5)   # every word the reference reports, same value
    kept = gapped_kmers(X, s, **kw)
    assert (torch.bincount(kept.indices()[0], minlength=3) == torch.from_numpy(np.bincount(ref.row, minlength=3))).all()


def test_utilities_parity(tmp_path):
    X = random_one_hot((3, 4, 40), random_state=6).float(); X[1, :, 5] = 0
    torch.testing.assert_close(gc_content(X), tm_utils.gc_content(X).float())
    p = torch.rand(2, 4, 9); p[0, :, 3] = 0
    torch.testing.assert_close(entropy(p), tm_utils.entropy(p).float(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(information_content(p), tm_utils.information_content(p).float(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(information_content(X), tm_utils.information_content(X).float(), rtol=1e-5, atol=1e-6)
    one_hot_to_fasta(X, tmp_path / 'a.fa'); tm_io.one_hot_to_fasta(X, str(tmp_path / 'b.fa'))
    read = lambda f: [l.strip() for l in open(f) if l.strip() and not l.startswith('>')]
    assert read(tmp_path / 'a.fa') == read(tmp_path / 'b.fa')


def test_dependency_map_parity():
    "Default attribution: our centred gradient x input against the reference's corrected saliency."
    import tangermeme.dependency_map as tm_dep
    from meme_nb.dependency import dependency_map
    model, X = conv_net(), random_one_hot((2, 4, 50), random_state=7).float()
    ours = dependency_map(model, X, start=10, end=30, target=1)
    ref = tm_dep.dependency_map(model, X, start=10, end=30, target=1, device='cpu')
    torch.testing.assert_close(ours, ref.float(), rtol=1e-4, atol=1e-6)


def test_pisa_parity():
    import tangermeme.pisa as tm_pisa
    from meme_nb.dependency import pisa
    from meme_nb.ersatz import dinucleotide_shuffle
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv1d(4, 4, 5, padding=2), torch.nn.ReLU(), torch.nn.Conv1d(4, 1, 3, padding=1), torch.nn.Flatten()).eval()
    X = random_one_hot((2, 4, 30), random_state=8).float()
    R = dinucleotide_shuffle(X, n=4, random_state=0).float()
    ours = pisa(model, X, references=R)
    ref = tm_pisa.pisa(model, X, references=R, device='cpu')
    torch.testing.assert_close(ours, ref.float(), rtol=1e-4, atol=1e-6)
