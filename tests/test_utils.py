"""Property and edge-case tests for meme_nb.utils."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from meme_nb.utils import (MemeNbWarning, characters, one_hot_encode, random_one_hot, reverse_complement,
                           _validate_motif, _validate_ohe)

dna = st.text(alphabet='ACGT', min_size=1, max_size=300)
dna_n = st.text(alphabet='ACGTN', min_size=1, max_size=300)


@given(dna)
def test_characters_inverts_one_hot_encode(s):
    assert characters(one_hot_encode(s)) == s


@given(dna_n)
def test_characters_inverts_with_N(s):
    X = one_hot_encode(s)
    assert characters(X, allow_N=True) == s
    assert X.sum().item() == len(s) - s.count('N')


@given(dna_n, st.sampled_from([torch.int8, torch.uint8, torch.float16, torch.float32, torch.bool]))
def test_one_hot_encode_dtypes(s, dtype):
    X = one_hot_encode(s, dtype=dtype)
    assert X.dtype == dtype and X.shape == (4, len(s))
    ref = torch.tensor([[c == a for c in s] for a in 'ACGT'])
    assert torch.equal(X.bool(), ref)


@given(dna)
def test_reverse_complement_string_and_tensor_agree(s):
    assert characters(reverse_complement(one_hot_encode(s))) == reverse_complement(s)
    assert reverse_complement(reverse_complement(s)) == s


def test_one_hot_encode_custom_alphabet_and_ignore():
    X = one_hot_encode('AXB', alphabet=('A', 'B'), ignore=('X',))
    assert X.tolist() == [[1, 0, 0], [0, 0, 1]]


def test_one_hot_encode_errors_name_argument_and_position():
    with pytest.raises(ValueError, match=r"sequence has character 'Z' at position 2"):
        one_hot_encode('ACZ')
    with pytest.raises(ValueError, match='lower-case'):
        one_hot_encode('ACGTn')
    with pytest.raises(TypeError, match='alphabet must be a list or tuple'):
        one_hot_encode('ACGT', alphabet='ACGT')
    with pytest.raises(ValueError, match='in both'):
        one_hot_encode('ACGT', alphabet=('A', 'C', 'G', 'T', 'N'))


def test_one_hot_encode_large_is_vectorized():
    "A 1 Mb string encodes to the right counts (speed itself is in benchmarks/)."
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 4, 1_000_000)
    s = np.array(list('ACGT'))[idx]
    X = one_hot_encode(''.join(s.tolist()))
    assert X.sum(dim=1).tolist() == np.bincount(idx, minlength=4).tolist()


@settings(max_examples=25)
@given(st.integers(1, 5), st.integers(0, 50), st.integers(0, 2**32 - 1))
def test_random_one_hot_is_one_hot_and_seeded(n, length, seed):
    X = random_one_hot((n, 4, length), random_state=seed)
    assert X.shape == (n, 4, length)
    assert (X.sum(dim=1) == 1).all()
    assert torch.equal(X, random_one_hot((n, 4, length), random_state=seed))


def test_random_one_hot_generator_advances():
    rng = np.random.default_rng(0)
    a, b = random_one_hot((1, 4, 50), random_state=rng), random_one_hot((1, 4, 50), random_state=rng)
    assert not torch.equal(a, b)


def test_random_one_hot_probs_per_sequence():
    p = torch.tensor([[0.7, 0.1, 0.1, 0.1], [0.0, 0.0, 0.0, 1.0]])
    X = random_one_hot((2, 4, 20_000), probs=p, random_state=0).float()
    assert torch.allclose(X[0].mean(dim=1), p[0], atol=0.015)
    assert torch.equal(X[1].mean(dim=1), p[1])


def test_validators_do_not_modify_input():
    X = one_hot_encode('ACGTN')[None].float()
    X0 = X.clone()
    _validate_ohe(X, alphabet=('A', 'C', 'G', 'T'))
    characters(X, allow_N=True)
    reverse_complement(X)
    assert torch.equal(X, X0)


def test_warning_class_is_user_warning():
    assert issubclass(MemeNbWarning, UserWarning)


def test_validate_motif_forms_agree():
    s = 'GATAAG'
    t = one_hot_encode(s)
    for m in (s, t, t[None], t.float()):
        assert torch.equal(_validate_motif(m), t)
