"""The synthetic sets and the bundled digits: shapes, classes, geometry, seeds."""

from __future__ import annotations

import numpy as np
import pytest

from memograd import data


@pytest.mark.parametrize("make", [data.moons, data.circles, data.spirals, data.blobs])
def test_same_seed_same_points_bit_for_bit(make):
    a, b, c = make(seed=5), make(seed=5), make(seed=6)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)


def test_moons_lie_on_their_arcs_without_noise():
    X, y = data.moons(n_samples=201, noise=0.0, seed=0)
    assert X.shape == (201, 2) and X.dtype == np.float64 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [100, 101]
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)
    assert upper[:, 1].min() >= -1e-12 and lower[:, 1].max() <= 0.5 + 1e-12


def test_circles_radii_are_one_and_factor():
    X, y = data.circles(n_samples=100, noise=0.0, factor=0.3, seed=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.3)


def test_spirals_have_k_balanced_arms_within_the_unit_disc():
    X, y = data.spirals(n_samples=301, classes=4, noise=0.0, seed=0)
    assert np.bincount(y).tolist() == [76, 75, 75, 75]
    assert np.hypot(X[:, 0], X[:, 1]).max() <= 1.0 + 1e-12


def test_blobs_cluster_round_their_centres():
    X, y = data.blobs(n_samples=3000, centers=3, n_features=5, cluster_std=0.5, seed=0)
    assert X.shape == (3000, 5) and set(y.tolist()) == {0, 1, 2}
    for k in range(3):
        spread = X[y == k] - X[y == k].mean(axis=0)
        assert spread.std() == pytest.approx(0.5, rel=0.05)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: data.moons(n_samples=1), "n_samples must be >= 2, got 1"),
        (lambda: data.moons(noise=-0.1), "noise must be a finite number >= 0, got -0.1"),
        (lambda: data.circles(factor=1.5), "factor must be between 0 and 1"),
        (lambda: data.spirals(classes=1), "classes must be >= 2, got 1"),
        (lambda: data.blobs(n_samples=2.5), "n_samples must be an int, got float 2.5"),
        (lambda: data.moons(seed=-3), "seed must be >= 0, got -3"),
        (lambda: data.moons(seed="x"), "seed must be an int, a numpy.random.Generator or None"),
    ],
)
def test_bad_generator_arguments_are_named(call, message):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert message in str(info.value)


def test_bundled_digits_are_the_1797_uci_test_images():
    digits = data.load_digits()
    X, y = digits
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.min() == 0 and X.max() == 16 and np.array_equal(X, np.round(X))
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    # The first image is the well-known zero of the set (first row of the UCI file).
    assert y[0] == 0
    assert X[0, :8].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]
    assert digits.feature_names[9] == "p11" and digits.target_name == "digit"


def test_bundled_digits_file_is_small():
    from importlib import resources

    size = resources.files("memograd.data").joinpath("digits.npz").stat().st_size
    assert size < 100_000
