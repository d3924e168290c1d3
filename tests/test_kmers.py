"Tests of meme_nb.kmers: properties of k-mer matrices against brute force, gapped words, utilities."
import numpy as np, pytest, torch
from hypothesis import given, settings, strategies as st

from meme_nb.kmers import kmers, gapped_kmers, kmer_names, gc_content, entropy, information_content, one_hot_to_fasta
from meme_nb.utils import random_one_hot, one_hot_encode


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 30), st.integers(1, 4), st.integers(0, 99))
def test_kmer_counts_match_string_count(n, length, k, seed):
    "Every column equals the number of overlapping occurrences of its word in the decoded string."
    if k > length: return
    X = random_one_hot((n, 4, length), random_state=seed)
    K = kmers(X, k).to_dense()
    names = kmer_names(k)
    for i in range(n):
        s = ''.join('ACGT'[j] for j in X[i].argmax(0))
        want = torch.tensor([sum(s[p:p + k] == w for p in range(length - k + 1)) for w in names], dtype=torch.float32)
        assert torch.equal(K[i], want)


def test_scores_are_linear_and_sum_over_windows():
    X = random_one_hot((2, 4, 50), random_state=1)
    a, b = torch.randn(2, 50), torch.randn(2, 50)
    torch.testing.assert_close(kmers(X, 3, a + 2 * b).to_dense(), kmers(X, 3, a).to_dense() + 2 * kmers(X, 3, b).to_dense(), rtol=1e-5, atol=1e-5)
    # every position is in min(p+1, k, L-p) windows: total score = sum of scores times that multiplicity
    mult = torch.tensor([min(p + 1, 3, 50 - p) for p in range(50)], dtype=torch.float32)
    torch.testing.assert_close(kmers(X, 3, a).to_dense().sum(1), (a * mult).sum(1), rtol=1e-5, atol=1e-4)


def test_gapped_contains_plain_kmers():
    "With max_gap=0 and min_k = max_k = max_len = k, gapped words are exactly the k-mers (renumbered)."
    X = random_one_hot((2, 4, 30), random_state=2)
    G = gapped_kmers(X, min_k=3, max_k=3, max_gap=0, max_len=3, max_gkmers=10 ** 6).to_dense()
    K = kmers(X, 3).to_dense()
    cols = [sum((d + 1) * 5 ** j for j, d in enumerate(((c // 4 ** np.arange(3)) % 4))) for c in range(64)]
    torch.testing.assert_close(G[:, cols], K)


def test_gapped_keeps_largest():
    X = random_one_hot((3, 4, 40), random_state=3)
    s = torch.randn(3, 40)
    full, top = gapped_kmers(X, s, max_gkmers=10 ** 6), gapped_kmers(X, s, max_gkmers=7)
    fd, td = full.to_dense(), top.to_dense()
    for i in range(3):
        assert (td[i] != 0).sum() == 7
        assert torch.allclose(td[i][td[i] != 0].abs().sort().values, fd[i].abs().topk(7).values.sort().values)


def test_utilities(tmp_path):
    X = torch.stack([one_hot_encode('GGCCAT'), one_hot_encode('NNNNAC')])
    torch.testing.assert_close(gc_content(X), torch.tensor([4 / 6, 0.5]))
    u = torch.full((4, 5), 0.25)
    torch.testing.assert_close(entropy(u), torch.full((5,), 2.0))
    torch.testing.assert_close(information_content(u), torch.zeros(5))
    torch.testing.assert_close(information_content(X[1]), torch.tensor([0., 0, 0, 0, 2, 2]))
    one_hot_to_fasta(X, tmp_path / 'x.fa', headers=['a', 'b'])
    assert (tmp_path / 'x.fa').read_text() == '>a\nGGCCAT\n>b\nNNNNAC\n'
    with pytest.raises(ValueError, match='X must be one-hot'): one_hot_to_fasta(X * 3, tmp_path / 'y.fa')
    assert not (tmp_path / 'y.fa').exists()
