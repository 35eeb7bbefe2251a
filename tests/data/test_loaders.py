"""CSV, .npy/.npz and IDX loaders: good files load exactly, bad ones are refused with a location."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from memograd import data
from memograd.data import DataError


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_with_target_by_name_and_by_index(tmp_path):
    path = write(tmp_path, "d.csv", "a,label,b\n1,0,2.5\n-3e2,1,4\n")
    ds = data.load_csv(path, target="label")
    np.testing.assert_array_equal(ds.X, [[1.0, 2.5], [-300.0, 4.0]])
    assert ds.y.tolist() == [0, 1] and ds.y.dtype == np.int64
    assert ds.feature_names == ("a", "b") and ds.target_name == "label"
    by_index = data.load_csv(path, target=1)
    np.testing.assert_array_equal(by_index.X, ds.X)
    assert data.load_csv(path, target="1").y.tolist() == [0, 1]


def test_csv_text_labels_and_fractional_targets(tmp_path):
    labels = data.load_csv(write(tmp_path, "t.csv", "x,kind\n1,cat\n2,dog\n"), target="kind")
    assert labels.y.tolist() == ["cat", "dog"]
    values = data.load_csv(write(tmp_path, "r.csv", "x,v\n1,0.5\n2,3\n"), target="v")
    assert values.y.dtype == np.float64 and values.y.tolist() == [0.5, 3.0]


def test_csv_without_target_is_features_only(tmp_path):
    ds = data.load_csv(write(tmp_path, "f.csv", "a,b\n1,2\n\n\n"), target=None)
    assert ds.y is None and ds.X.tolist() == [[1.0, 2.0]]


@pytest.mark.parametrize(
    ("text", "target", "message"),
    [
        ("", -1, "f.csv: the file is empty"),
        ("a,b\n", -1, "f.csv: has a header row but no data rows"),
        ("a,b\n1,2\n3\n", -1, "f.csv: line 3 has 1 cells but the header has 2 (ragged row)"),
        ("a,b\n1,2\n3,4,5\n", -1, "f.csv: line 3 has 3 cells but the header has 2"),
        ("a,b,y\n1,nan,0\n", -1, "f.csv: line 2, column 2 ('b') is NaN"),
        ("a,b,y\n1,2,0\n-inf,2,1\n", -1, "f.csv: line 3, column 1 ('a') is infinite"),
        ("a,b,y\n1,two,0\n", -1, "f.csv: line 2, column 2 ('b'): 'two' is not a number"),
        ("a,b,y\n1,,0\n", -1, "f.csv: line 2, column 2 ('b') is empty (a missing value)"),
        ("a,b,y\n1,2,\n", -1, "f.csv: line 2, column 3 ('y') is empty"),
        ("a,b\n1,2\n", "label", "f.csv: no target column named 'label'; the columns are 'a', 'b'"),
        ("a,b\n1,2\n", 5, "f.csv: target column index 5 is out of range for 2 columns"),
        ("a,b\n1,2\n\n3,4\n", -1, "f.csv: line 3 is blank inside the data"),
        ("1,2\n3,4\n", -1, "f.csv: line 1 looks like data, not a header"),
        ("a,a\n1,2\n", -1, "f.csv: columns 1 and 2 are both named 'a'"),
        ("a,b,y\n1,2,0.5\n3,4,nan\n", -1, "f.csv: line 3, column 3 ('y') is NaN"),
    ],
)
def test_bad_csv_names_file_line_and_column(tmp_path, text, target, message):
    with pytest.raises(DataError) as info:
        data.load_csv(write(tmp_path, "f.csv", text), target=target)
    assert str(tmp_path) in str(info.value)
    assert message in str(info.value)


def test_non_utf8_csv_is_refused(tmp_path):
    path = tmp_path / "bin.csv"
    path.write_bytes(b"a,b\n\xff\xfe,1\n")
    with pytest.raises(DataError, match="not a UTF-8 text file"):
        data.load_csv(path)


def test_npy_and_npz_round_trip(tmp_path):
    table = np.array([[1.0, 2.0, 0.0], [3.0, 4.0, 1.0]])
    np.save(tmp_path / "t.npy", table)
    ds = data.load_file(tmp_path / "t.npy")
    np.testing.assert_array_equal(ds.X, table[:, :2])
    assert ds.y.tolist() == [0, 1]
    np.savez(tmp_path / "t.npz", X=table[:, :2], y=np.array([3, 4]))
    ds = data.load_file(tmp_path / "t.npz")
    np.testing.assert_array_equal(ds.X, table[:, :2])
    assert ds.y.tolist() == [3, 4]
    assert data.load_file(tmp_path / "t.npz", target=None).y is None


def test_npy_with_nan_names_the_cell(tmp_path):
    table = np.zeros((4, 3))
    table[2, 1] = np.nan
    np.save(tmp_path / "n.npy", table)
    with pytest.raises(DataError, match=r"n\.npy\[2, 1\] is NaN"):
        data.load_npy(tmp_path / "n.npy")


def test_npz_missing_keys_and_mismatched_rows(tmp_path):
    np.savez(tmp_path / "a.npz", features=np.ones((2, 2)))
    with pytest.raises(DataError, match=r"no array named 'X'; it holds \['features'\]"):
        data.load_npz(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", X=np.ones((3, 2)), y=np.ones(2))
    with pytest.raises(DataError, match=r"target 'y' has shape \(2,\), expected \(3,\)"):
        data.load_npz(tmp_path / "b.npz")


def test_object_arrays_are_refused_without_unpickling(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.npy"
    np.save(path, np.array([Evil(str(marker))], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="holds Python objects"):
        data.load_file(path)
    assert not marker.exists()


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("gzipped", [False, True])
def test_idx_images_and_sibling_labels(tmp_path, gzipped):
    images = np.arange(3 * 2 * 2, dtype=np.uint8).reshape(3, 2, 2)
    labels = np.array([7, 0, 9], dtype=np.uint8)
    suffix = ".gz" if gzipped else ""
    pack = gzip.compress if gzipped else (lambda b: b)
    (tmp_path / f"t10k-images-idx3-ubyte{suffix}").write_bytes(pack(idx_bytes(images, 0x08)))
    (tmp_path / f"t10k-labels-idx1-ubyte{suffix}").write_bytes(pack(idx_bytes(labels, 0x08)))
    ds = data.load_file(tmp_path / f"t10k-images-idx3-ubyte{suffix}")
    np.testing.assert_array_equal(ds.X, images.reshape(3, 4))
    assert ds.y.tolist() == [7, 0, 9]


def test_idx_float_and_int_types_keep_their_values(tmp_path):
    values = np.array([[1.5, -2.25], [1e10, 0.0]], dtype=np.float64)
    (tmp_path / "f.idx").write_bytes(idx_bytes(values, 0x0E))
    np.testing.assert_array_equal(data.read_idx(tmp_path / "f.idx"), values)
    ints = np.array([-70000, 5], dtype=np.int32)
    (tmp_path / "i.idx").write_bytes(idx_bytes(ints, 0x0C))
    np.testing.assert_array_equal(data.read_idx(tmp_path / "i.idx"), ints)


def test_truncated_idx_says_how_many_bytes_are_missing(tmp_path):
    raw = idx_bytes(np.zeros((10, 4, 4), dtype=np.uint8), 0x08)
    (tmp_path / "cut-images-idx3-ubyte").write_bytes(raw[:-7])
    with pytest.raises(DataError, match=r"truncated: .* \(160 bytes of data\) but only 153 bytes"):
        data.read_idx(tmp_path / "cut-images-idx3-ubyte")
    (tmp_path / "cut.gz").write_bytes(gzip.compress(raw)[:-12])
    with pytest.raises(DataError, match="cut.gz: damaged or truncated gzip data"):
        data.read_idx(tmp_path / "cut.gz")


def test_idx_label_count_must_match_images(tmp_path):
    (tmp_path / "im").write_bytes(idx_bytes(np.zeros((3, 2, 2), np.uint8), 0x08))
    (tmp_path / "lb").write_bytes(idx_bytes(np.zeros(4, np.uint8), 0x08))
    with pytest.raises(DataError, match="has 4 labels but .* has 3 images"):
        data.load_idx(tmp_path / "im", tmp_path / "lb")


def test_empty_file_and_fake_npy_are_refused(tmp_path):
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(DataError, match="e.csv: the file is empty"):
        data.load_file(tmp_path / "e.csv")
    (tmp_path / "fake.npy").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match=r"fake\.npy: named \.npy but is not a NumPy file"):
        data.load_file(tmp_path / "fake.npy")


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        data.load_file(tmp_path / "nope.csv")
