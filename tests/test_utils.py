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


# ---------------------------------------------------------------- zero-length motifs and the fast one-hot check

@pytest.mark.parametrize('pwm', [torch.zeros(4, 0), torch.zeros(1, 4, 0, dtype=torch.int8), torch.zeros(4, 0, dtype=torch.bool)])
def test_characters_of_zero_length_motif_is_empty_string(pwm):
    assert characters(pwm) == '' and characters(pwm, allow_N=True, force=True) == ''


@pytest.mark.parametrize('dtype', [torch.int8, torch.uint8, torch.int16, torch.int32, torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.bool])
@pytest.mark.parametrize('length', [1, 7, 8, 64, 131])
def test_one_hot_check_agrees_with_a_column_by_column_definition(dtype, length):
    "Each column one-hot or all zero: the vectorized check accepts exactly what a per-column loop accepts."
    rng = np.random.default_rng(length)
    X = random_one_hot((5, 4, length), random_state=length).to(dtype)
    X[1, :, 0] = 0                                     # an N
    _validate_ohe(X, 'X')                              # valid: passes
    corruptions = [(2, 0, length - 1, 1)] if dtype == torch.bool else [(2, 0, length - 1, 2), (3, 1, 0, 0.5), (4, 2, length // 2, -1), (0, 3, length - 1, float('nan'))]
    for i, c, p, v in corruptions:
        if dtype in (torch.uint8,) and v == -1: continue
        if not dtype.is_floating_point and (v != v or v != int(v)): continue
        Y = X.clone()
        Y[i, :, p] = 0
        Y[i, c, p] = v
        if dtype == torch.bool or v == 1: Y[i, (c + 1) % 4, p] = 1   # multi-hot
        with pytest.raises(ValueError, match='X must be one-hot'):
            _validate_ohe(Y, 'X')
    # multi-hot columns of 0/1 values anywhere
    Y = X.clone(); Y[4, :, length - 1] = 1
    with pytest.raises(ValueError, match=r'X must be one-hot with at most one 1 per column; column at index \(4, %d\)' % (length - 1)):
        _validate_ohe(Y, 'X')


def test_one_hot_check_on_views_and_gradients():
    X = random_one_hot((3, 4, 40), random_state=0).float()
    _validate_ohe(X[:, :, 3:], 'X')                    # a view with an offset
    _validate_ohe(X.transpose(1, 2).contiguous().transpose(1, 2), 'X')   # non-contiguous
    _validate_ohe(X.clone().requires_grad_(), 'X')
    Y = X[:, :, 3:].clone(); Y[2, 1, 30] = 3
    with pytest.raises(ValueError, match=r'got 3.0 at index \(2, 1, 30\)'):
        _validate_ohe(Y, 'X')


@pytest.mark.parametrize('dtype', [torch.int8, torch.bool, torch.float32, torch.float16])
def test_one_hot_check_names_a_bad_column_in_a_later_block(dtype):
    X = random_one_hot((1500, 4, 256), random_state=0).to(dtype)   # several cache-sized blocks
    _validate_ohe(X, 'X')
    Y = X.clone(); Y[1234, :, 77] = 1
    with pytest.raises(ValueError, match=r'column at index \(1234, 77\) sums to 4'):
        _validate_ohe(Y, 'X')
    with pytest.raises(ValueError, match=r'no N columns\) per column; column at index \(0, 5\)'):
        Z = X.clone(); Z[0, :, 5] = 0; _validate_ohe(Z, 'X', allow_N=False)


def test_one_hot_check_sees_tiny_values_next_to_a_one():
    X = random_one_hot((2, 4, 16), random_state=0).float()
    c = int(X[1, :, 3].argmax())
    X[1, (c + 1) % 4, 3] = 1e-9                         # invisible in a float32 column sum
    with pytest.raises(ValueError, match=r'values 0 or 1\); got 9.99\d*e-10 at index \(1, %d, 3\)' % ((c + 1) % 4)):
        _validate_ohe(X, 'X')
