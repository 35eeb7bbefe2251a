"""Stored values: round trips without pickle, refusals that name the type, checksums that hold."""

from __future__ import annotations

import io
import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import memograd as mg
from memograd.memo import codec

KEY = bytes(range(32))
HEAD = codec.header("safe", "src:abc")


def roundtrip(value, serializer="safe"):
    record = codec.pack(KEY, codec.header(serializer, "v"), codec.dumps(value, serializer))
    return codec.loads(codec.unpack(KEY, codec.header(serializer, "v"), record), serializer)


def same(a, b) -> bool:
    """Equal and of the same types all the way down (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and (a == b or (a != a and b != b))
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, complex):
        return same(a.real, b.real) and same(a.imag, b.imag)
    return a == b


plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**60), max_value=10**60)
    | st.floats()
    | st.complex_numbers()
    | st.text()
    | st.binary(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=3) | st.integers(), inner, max_size=4)
    ),
    max_leaves=25,
)


@given(plain)
@settings(max_examples=300, deadline=None)
def test_plain_values_round_trip_with_their_types(value):
    assert same(roundtrip(value), value)


@given(
    hnp.arrays(
        dtype=hnp.scalar_dtypes() | hnp.byte_string_dtypes() | hnp.unicode_string_dtypes(),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
    )
)
@settings(max_examples=150, deadline=None)
def test_arrays_round_trip_in_npy_and_come_back_writable(array):
    back = roundtrip(array)
    assert same(back, array)
    assert back.flags.writeable and (back.base is None or not isinstance(back.base, bytes))


def test_arrays_are_stored_in_the_npy_format():
    array = np.arange(12, dtype=np.int32).reshape(3, 4).T  # Fortran-ordered, a view
    payload = codec.dumps(array, "safe")
    assert payload[:1] == b"a"
    npy = payload[9:]
    assert np.array_equal(np.load(io.BytesIO(npy), allow_pickle=False), array)
    assert same(roundtrip(array), array)


def test_numpy_scalars_and_tensors():
    for scalar in (np.float32(1.5), np.int8(-3), np.bool_(True), np.complex64(1 + 2j)):
        assert same(roundtrip(scalar), scalar)
    tensor = mg.Tensor(np.arange(4.0, dtype=np.float32), requires_grad=True)
    back = roundtrip(tensor)
    assert type(back) is mg.Tensor and back.requires_grad and back.op == ""
    assert back.data.dtype == np.float32 and np.array_equal(back.data, tensor.data)
    assert not roundtrip(mg.Tensor([1, 2])).requires_grad


class Point:
    pass


@pytest.mark.parametrize(
    "value, where, type_name",
    [
        (Point(), "", "Point"),
        ({"a": [1, Point()]}, "['a'][1]", "Point"),
        ({1, 2}, "", "set"),
        (np.array([1, None], dtype=object), "", "ndarray"),
        (np.zeros(2).view(np.recarray), "", "recarray"),
    ],
)
def test_other_values_are_refused_naming_the_type(value, where, type_name):
    with pytest.raises(codec.Unstorable) as caught:
        codec.dumps(value, "safe")
    assert caught.value.type_name == type_name and caught.value.path == where
    message = codec.refusal_message(caught.value, "f")
    assert type_name in message and 'serializer="pickle"' in message
    assert "nobody else can write" in message


def test_subclasses_are_refused_rather_than_changed():
    from collections import OrderedDict, namedtuple

    Pair = namedtuple("Pair", "a b")
    Text = type("Text", (str,), {})
    for value in (Pair(1, 2), OrderedDict(a=1), Text("x")):
        with pytest.raises(codec.Unstorable):
            codec.dumps(value, "safe")


def test_pickle_is_used_only_when_asked_for():
    value = {"p": Point.__name__, "s": {1, 2}}
    assert roundtrip(value, "pickle") == value
    record = codec.pack(KEY, codec.header("pickle", "v"), codec.dumps(value, "pickle"))
    with pytest.raises(LookupError):  # a safe reader never unpickles
        codec.unpack(KEY, codec.header("safe", "v"), record)


def test_a_record_of_another_version_is_not_ours():
    record = codec.pack(KEY, HEAD, codec.dumps(1, "safe"))
    with pytest.raises(LookupError):
        codec.unpack(KEY, codec.header("safe", "src:other"), record)


def test_every_changed_byte_fails_the_checksum():
    record = codec.pack(KEY, HEAD, codec.dumps({"x": np.arange(3.0), "y": "text"}, "safe"))
    for index in range(len(HEAD), len(record)):
        tampered = bytearray(record)
        tampered[index] ^= 0x01
        with pytest.raises(codec.CorruptRecord):
            codec.unpack(KEY, HEAD, bytes(tampered))
    with pytest.raises(codec.CorruptRecord):
        codec.unpack(KEY, HEAD, record[:-1])  # truncated
    other_key = bytes(32)
    with pytest.raises(codec.CorruptRecord):  # moved under another key
        codec.unpack(other_key, HEAD, record)


@given(st.binary(max_size=200))
@settings(max_examples=300, deadline=None)
def test_malformed_payloads_are_corrupt_never_a_crash(payload):
    try:
        codec.loads(payload, "safe")
    except codec.CorruptRecord:
        pass


def test_malicious_lengths_allocate_nothing():
    huge = b"l" + (2**62).to_bytes(8, "big")
    with pytest.raises(codec.CorruptRecord):
        codec.loads(huge, "safe")
    nested = b"l" + (1).to_bytes(8, "big")
    with pytest.raises(codec.CorruptRecord, match="deeper"):
        codec.loads(nested * 500 + b"N", "safe")
    pickled_array = codec.dumps(np.array([1, 2]), "safe").replace(b"<i8", b"|O8", 1)
    with pytest.raises(codec.CorruptRecord):
        codec.loads(pickled_array, "safe")


def test_an_array_whose_bytes_disagree_with_its_header_is_corrupt():
    payload = codec.dumps(np.arange(4.0), "safe")
    short = payload[:1] + (int.from_bytes(payload[1:9], "big") - 8).to_bytes(8, "big")
    with pytest.raises(codec.CorruptRecord):
        codec.loads(short + payload[9:-8], "safe")


def test_pickle_serializer_refuses_what_pickle_refuses():
    with pytest.raises(Exception):  # noqa: B017 - pickle's own error, turned into a TypeError later
        codec.dumps(lambda: 1, "pickle")
    assert pickle.loads(codec.dumps([1], "pickle")) == [1]
