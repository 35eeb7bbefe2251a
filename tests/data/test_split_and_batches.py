"""train_test_split, Standardizer and the batch iterator."""

from __future__ import annotations

import numpy as np
import pytest

from memograd import data


def test_split_partitions_the_rows_exactly():
    X = np.arange(50, dtype=float).reshape(25, 2)
    y = np.arange(25)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.2, seed=0)
    assert len(X_test) == 5 and len(X_train) == 20
    assert sorted(y_train.tolist() + y_test.tolist()) == list(range(25))
    np.testing.assert_array_equal(X_train[:, 0], 2 * y_train)
    again = data.train_test_split(X, y, test_size=0.2, seed=0)
    np.testing.assert_array_equal(again[1], X_test)


def test_stratified_split_keeps_class_shares():
    y = np.array([0] * 80 + [1] * 20)
    X = np.zeros((100, 1))
    _, _, y_train, y_test = data.train_test_split(X, y, test_size=0.25, seed=1, stratify=True)
    assert np.bincount(y_test).tolist() == [20, 5]
    assert np.bincount(y_train).tolist() == [60, 15]


@pytest.mark.parametrize("size", [0.0, 1.0, 0, 10, -0.5, "half"])
def test_bad_test_size_is_refused(size):
    with pytest.raises((ValueError, TypeError), match="test_size"):
        data.train_test_split(np.zeros((10, 1)), test_size=size)


def test_standardizer_uses_training_statistics_only():
    train = np.array([[0.0, 5.0], [2.0, 5.0], [4.0, 5.0]])
    scaler = data.Standardizer().fit(train)
    np.testing.assert_allclose(scaler.mean_, [2.0, 5.0])
    np.testing.assert_allclose(scaler.scale_, [np.sqrt(8 / 3), 1.0])  # constant column keeps 1
    np.testing.assert_allclose(scaler.transform(np.array([[2.0, 7.0]])), [[0.0, 2.0]])
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(train)), train, atol=1e-12)
    with pytest.raises(ValueError, match="expected rows of 2 features"):
        scaler.transform(np.ones((1, 3)))
    with pytest.raises(RuntimeError, match="not fitted"):
        data.Standardizer().transform(train)


def test_batches_cover_every_row_once_per_epoch_and_reshuffle():
    X = np.arange(10).reshape(10, 1)
    it = data.batches(X, np.arange(10), batch_size=4, seed=3)
    assert len(it) == 3
    first = [yb.tolist() for _, yb in it]
    second = [yb.tolist() for _, yb in it]
    assert [len(b) for b in first] == [4, 4, 2]
    assert sorted(sum(first, [])) == list(range(10)) == sorted(sum(second, []))
    assert first != second
    replay = data.batches(X, np.arange(10), batch_size=4, seed=3)
    assert [yb.tolist() for _, yb in replay] == first


def test_batches_drop_last_and_no_shuffle():
    it = data.batches(np.arange(10).reshape(10, 1), batch_size=4, shuffle=False, drop_last=True)
    assert [xb[:, 0].tolist() for xb, _ in it] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        data.batches(np.zeros((3, 1)), batch_size=0)


def test_label_checks_name_the_row():
    with pytest.raises(data.DataError, match=r"y\[2\] = 1.5 is not a whole-number class label"):
        data.as_class_labels(np.array([0.0, 1.0, 1.5]), 3)
    with pytest.raises(
        data.DataError, match=r"y\[1\]: label 7 is not one of the model's classes \[0, 1, 2\]"
    ):
        data.check_labels_in_classes(np.array([1, 7]), [0, 1, 2])
    assert data.check_labels_in_classes(np.array(["b", "a"]), ["a", "b"]).tolist() == [1, 0]
