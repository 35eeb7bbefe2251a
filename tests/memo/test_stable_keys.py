"""Stable keys: the same bytes for equal keys in any process; pinned digests; refusals named."""

from __future__ import annotations

import enum
import hashlib
import math
import os
import pathlib
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memograd as mg
from memograd.memo.stable_keys import (
    INLINE_BYTES,
    UnkeyableError,
    call_digest,
    encode,
    fingerprint,
    function_identity,
    key_digest,
    key_prefix,
)

PREFIX = key_prefix("tests:f")


def digest(*args, typed=False, **kwargs):
    return call_digest(PREFIX, args, kwargs, typed).hex()


class Color(enum.Enum):
    RED = 1
    BLUE = 2


PINNED = {
    (1, "a"): "fa9e59112d01643cae1c4bed2a394f6a38471b53d63c070f178c6820bfb89bc2",
    (None, 2.5, -0.0): "860fa48ed20b48e40ba7195bb06c7abd933f3b60cef6498ed24cc015c9ef4e6a",
    "containers": "00d7f35bd677a2660766efdb935b190ca0baf7864ee4dba72921dcc8399b39f2",
    "array": "9659480a9f0a1ad90790aa653b63a58f05a63d0434db4f466269d415ca6af1f5",
    (10**40, -(10**40)): "9d021ad39011fe9e39082779f1e039fd3b19032bb0eac3b538fc26c58f0b1ce4",
}


def test_pinned_digests_never_change():
    """The encoding is a file format: entries written by one version are found by the next,
    on any machine and Python. A change here orphans every store: give it a new KEY_FORMAT."""
    examples = {
        "containers": ([1, (2, 3)], {"b": 1, "a": [b"x"]}, {3, 1, 2}),
        "array": (np.arange(6, dtype=np.float64).reshape(2, 3),),
    }
    for label, expected in PINNED.items():
        assert digest(*examples.get(label, label)) == expected, label


def test_the_encoding_is_the_documented_one():
    """(1, "a") written out by hand: format tag, identity, arguments, each length-prefixed."""
    length = struct.Struct(">Q").pack
    text = b"memograd-key-1\x00" + length(7) + b"tests:f" + b"A" + length(2)
    text += b"i" + b"0" + struct.pack(">q", 1) + b"s" + length(1) + b"a"
    assert digest(1, "a") == hashlib.sha256(text).hexdigest()


def test_equal_numbers_share_a_key_unless_typed():
    assert digest(1) == digest(1.0) == digest(True) == digest(np.int64(1)) == digest(np.float32(1))
    assert digest(1 + 0j) == digest(1)
    assert digest(0.5) == digest(np.float64(0.5)) != digest(np.float32(0.1))
    assert digest(-0.0) == digest(0.0)
    assert digest(1, typed=True) != digest(1.0, typed=True) != digest(True, typed=True)
    assert digest(-0.0, typed=True) == digest(0.0, typed=True)
    assert digest(np.int64(1), typed=True) != digest(1, typed=True)
    assert digest(2**63) != digest(2**63 - 1) and digest(2**63) == digest(float(2**63))


def test_every_nan_is_one_key():
    assert digest(math.nan) == digest(float("nan")) == digest(np.float64("nan"))
    assert digest(math.nan) != digest(math.inf) != digest(-math.inf)


def test_containers_by_kind_and_content_dicts_and_sets_in_any_order():
    assert digest([1, 2]) != digest((1, 2))
    assert digest({"a": 1, "b": 2}) == digest({"b": 2, "a": 1})
    assert digest({1, 2, 3}) == digest({3, 2, 1}) == digest(frozenset({1, 2, 3}))
    assert digest(frozenset({1}), typed=True) != digest({1}, typed=True)
    assert digest(b"ab") != digest(bytearray(b"ab")) != digest("ab")
    assert digest([1, [2]]) != digest([[1], 2])
    assert digest("a", "b") != digest("ab") != digest("a", b="b")
    assert digest(x=1, y=2) == digest(y=2, x=1)


def test_arrays_by_dtype_shape_and_bytes():
    a = np.arange(6.0)
    assert digest(a) == digest(a.copy()) == digest(a[::-1][::-1])
    assert digest(a) != digest(a.astype(np.float32))
    assert digest(a) != digest(a.reshape(2, 3))
    assert digest(a.reshape(2, 3).T) == digest(np.ascontiguousarray(a.reshape(2, 3).T))
    assert digest(a.astype(">f8")) == digest(a)  # byte order normalized: one key per value
    objects = np.array([1, "x", None], dtype=object)
    assert digest(objects) == digest(np.array([1, "x", None], dtype=object))


def test_a_large_array_is_hashed_straight_from_its_memory():
    big = np.arange(INLINE_BYTES // 8 + 1, dtype=np.float64)
    encoded = encode(big, False)
    assert len(encoded) < 100  # its SHA-256, not its bytes
    assert hashlib.sha256(big.tobytes()).digest() in encoded
    changed = big.copy()
    changed[-1] += 1
    assert digest(changed) != digest(big)


def test_tensors_enums_and_paths():
    assert digest(mg.Tensor([1.0, 2.0])) == digest(mg.Tensor([1.0, 2.0]))
    assert digest(mg.Tensor([1.0, 2.0])) != digest(mg.Tensor([1.0, 2.0], requires_grad=True))
    assert digest(mg.Tensor([1.0, 2.0])) != digest(np.array([1.0, 2.0]))
    assert digest(Color.RED) != digest(Color.BLUE) != digest(1)
    assert digest(pathlib.PurePosixPath("a/b")) == digest(pathlib.Path("a/b"))


def test_unkeyable_values_are_refused_with_their_path():
    with pytest.raises(UnkeyableError) as caught:
        encode({"w": [1, object()]}, False)
    assert caught.value.path == "['w'][1]" and caught.value.type_name == "object"
    deep: list = []
    for _ in range(150):
        deep = [deep]
    with pytest.raises(UnkeyableError, match="nested deeper"):
        encode(deep, False)

    class Tagged(np.ndarray):
        pass

    with pytest.raises(UnkeyableError):  # a subclass may mean more than its bytes
        encode(np.zeros(2).view(Tagged), False)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.tuples(inner, inner)
            | st.dictionaries(st.text(max_size=3), inner, max_size=4)
        ),
        max_leaves=20,
    )
)
@settings(max_examples=100, deadline=None)
def test_equal_values_give_equal_keys(value):
    assert encode(value, False) == encode(json_roundtrip_copy(value), False)


def json_roundtrip_copy(value):
    """An equal value made of new objects (so no key can come from object identity)."""
    if isinstance(value, list):
        return [json_roundtrip_copy(v) for v in value]
    if isinstance(value, tuple):
        return tuple(json_roundtrip_copy(v) for v in value)
    if isinstance(value, dict):
        return {k: json_roundtrip_copy(v) for k, v in reversed(list(value.items()))}
    if isinstance(value, str):
        return "".join(list(value))
    if isinstance(value, bytes):
        return bytes(bytearray(value))
    return value


def test_keys_are_the_same_in_another_process_with_another_hash_seed():
    code = textwrap.dedent(
        """
        import json, sys
        import numpy as np
        from memograd.memo.stable_keys import call_digest, key_prefix
        args = ("x", {"a": {1, 2, 3}, "b": (1.5, None)}, np.arange(4), frozenset("abc"))
        print(call_digest(key_prefix("tests:f"), args, {"k": [1, 2]}, False).hex())
        """
    )
    seen = set()
    for seed in ("1", "2", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        seen.add(out.stdout.strip())
    args = ("x", {"a": {1, 2, 3}, "b": (1.5, None)}, np.arange(4), frozenset("abc"))
    assert seen == {call_digest(PREFIX, args, {"k": [1, 2]}, False).hex()}


def test_a_key_functions_result_is_keyed_apart_from_plain_arguments():
    assert key_digest(PREFIX, (1,), False) != call_digest(PREFIX, (1,), {}, False)
    assert key_digest(PREFIX, 1, False) != key_digest(key_prefix("tests:g"), 1, False)


def test_identity_and_fingerprint():
    def f(x):
        return x + 1

    assert function_identity(f) == f"{__name__}:{f.__qualname__}"
    assert fingerprint(f, None, None) == fingerprint(f, None, None)
    assert fingerprint(f, None, "3") == "v:3"

    def g(x):
        return x + 2

    assert fingerprint(f, None, None) != fingerprint(g, None, None)
    assert fingerprint(f, None, None) != fingerprint(f, lambda x: x, None)
    namespace: dict = {}
    exec("def h(x):\n    return x * 3\n", namespace)  # no source: the code object's contents
    assert fingerprint(namespace["h"], None, None).startswith("src:")
