"""One rule for the target column, whatever the file format: classes or regression values."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from memograd import data
from memograd.data import DataError


def targets_module():
    from memograd.data import targets  # imported here so that the file runs on older code

    return targets


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def same_labels_in_every_format(tmp_path, labels: list[float], csv_cells: list[str]):
    """Load one (features, labels) table from a CSV, an .npy, an .npz and an IDX pair."""
    features = np.arange(2 * len(labels), dtype=np.float64).reshape(len(labels), 2)
    rows = "\n".join(f"{a:g},{b:g},{cell}" for (a, b), cell in zip(features, csv_cells))
    (tmp_path / "t.csv").write_text("a,b,y\n" + rows + "\n")
    np.save(tmp_path / "t.npy", np.column_stack([features, labels]))
    np.savez(tmp_path / "t.npz", X=features, y=np.array(labels))
    (tmp_path / "t-images-idx3-ubyte").write_bytes(idx_bytes(features.reshape(-1, 1, 2), 0x0E))
    (tmp_path / "t-labels-idx1-ubyte").write_bytes(idx_bytes(np.array(labels), 0x0E))
    names = ("t.csv", "t.npy", "t.npz", "t-images-idx3-ubyte")
    return {name: data.load_file(tmp_path / name).y for name in names}


def test_whole_floats_are_classes_in_every_format(tmp_path):
    loaded = same_labels_in_every_format(tmp_path, [0.0, 1.0, 1.0, 0.0], ["0.0", "1.0", "1", "0"])
    for name, y in loaded.items():
        assert y.dtype == np.int64, name
        assert y.tolist() == [0, 1, 1, 0], name


def test_fractions_are_regression_in_every_format(tmp_path):
    loaded = same_labels_in_every_format(tmp_path, [0.5, 1.0, 2.0, 3.0], ["0.5", "1.0", "2", "3"])
    for name, y in loaded.items():
        assert y.dtype == np.float64, name
        assert y.tolist() == [0.5, 1.0, 2.0, 3.0], name


def test_whole_floats_beyond_2_53_are_values_not_labels(tmp_path):
    # 2**53 + 2 and 2**53 + 4 are distinct floats; anything between would round onto them.
    np.save(tmp_path / "big.npy", np.array([[0.0, 2.0**53 + 2], [1.0, 2.0**53 + 4]]))
    assert data.load_file(tmp_path / "big.npy").y.dtype == np.float64
    np.save(tmp_path / "edge.npy", np.array([[0.0, 2.0**53], [1.0, -(2.0**53)]]))
    assert data.load_file(tmp_path / "edge.npy").y.dtype == np.int64


def test_csv_integers_are_read_exactly_not_through_a_float(tmp_path):
    big = 2**62 + 1  # a float would make it 2**62
    (tmp_path / "i.csv").write_text(f"x,y\n1,{big}\n2,-{big}\n")
    assert data.load_csv(tmp_path / "i.csv").y.tolist() == [big, -big]


def test_a_20_digit_label_is_refused_naming_line_and_column(tmp_path):
    (tmp_path / "d.csv").write_text("x,label\n1,3\n2,12345678901234567890\n")
    with pytest.raises(DataError) as info:
        data.load_csv(tmp_path / "d.csv")
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'd.csv'}: line 3, column 2 ('label')")
    assert "12345678901234567890 (20 digits) is a whole number too large" in message


def test_a_5000_digit_label_is_refused_without_hanging_int(tmp_path):
    (tmp_path / "d.csv").write_text("x,label\n1,3\n2," + "7" * 5000 + "\n")
    with pytest.raises(DataError, match=r"line 3, column 2 \('label'\): 7{24}\.\.\. \(5000 digits"):
        data.load_csv(tmp_path / "d.csv")


def test_uint64_labels_beyond_int64_are_refused_not_wrapped(tmp_path):
    labels = np.array([1, 2**63 + 5], dtype=np.uint64)
    np.savez(tmp_path / "u.npz", X=np.ones((2, 1)), y=labels)
    with pytest.raises(DataError, match=r"u\.npz\['y'\]\[1\] = 9223372036854775813 is too large"):
        data.load_file(tmp_path / "u.npz")


def test_text_labels_stay_text_even_when_some_look_like_numbers(tmp_path):
    (tmp_path / "t.csv").write_text("x,kind\n1,1\n2, cat \n3,1_000\n")
    assert data.load_csv(tmp_path / "t.csv").y.tolist() == ["1", "cat", "1_000"]


def test_describe_says_what_and_why():
    describe = targets_module().describe
    assert describe(np.array([0, 1, 1])) == (
        "classification: 2 classes [0, 1] (whole numbers; --task regression reads them as values)"
    )
    assert describe(np.array(["b", "a"])) == "classification: 2 classes ['a', 'b'] (text labels)"
    assert describe(np.array([1.0, 0.25])) == (
        "regression: values from 0.25 to 1 (0.25 in row 1 is not a whole number)"
    )
    assert describe(np.array([1.0, 3.0]), chosen=True) == "regression (--task): values from 1 to 3"


def test_as_task_overrides_and_refuses_what_cannot_be():
    as_task = targets_module().as_task
    np.testing.assert_array_equal(as_task(np.array([1, 2]), "regression", "y"), [1.0, 2.0])
    assert as_task(np.array([1, 2]), "regression", "y").dtype == np.float64
    assert as_task(np.array([0.5]), "auto", "y").dtype == np.float64
    with pytest.raises(DataError, match=r"y\[1\] = 0.5 is not a whole number, so it cannot"):
        as_task(np.array([1.0, 0.5]), "classification", "y")
    with pytest.raises(DataError, match="holds text labels such as 'a'; regression needs numbers"):
        as_task(np.array(["a"]), "regression", "y")


def test_gzipped_float_idx_labels_follow_the_same_rule(tmp_path):
    images = np.zeros((3, 2, 2), dtype=np.uint8)
    (tmp_path / "a-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images, 0x08)))
    labels = np.array([0.0, 2.0, 1.0], dtype=np.float32)
    (tmp_path / "a-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels, 0x0D)))
    y = data.load_file(tmp_path / "a-images-idx3-ubyte.gz").y
    assert y.dtype == np.int64 and y.tolist() == [0, 2, 1]
