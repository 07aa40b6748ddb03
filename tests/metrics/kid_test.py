"""Tests of KID against hand-computed values and a naive float64 estimator."""

import numpy as np
import pytest

from tfgan_study import metrics
from tfgan_study.metrics import kid


def _naive_kid(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Unbiased MMD^2 from full kernel matrices, with explicit masks."""
    features_a = np.asarray(features_a, dtype=np.float64)
    features_b = np.asarray(features_b, dtype=np.float64)
    dim = features_a.shape[1]

    def kernel(x, y):
        return (x @ y.T / dim + 1.0) ** 3

    kernel_aa = kernel(features_a, features_a)
    kernel_bb = kernel(features_b, features_b)
    off_a = ~np.eye(len(features_a), dtype=bool)
    off_b = ~np.eye(len(features_b), dtype=bool)
    return float(
        kernel_aa[off_a].mean()
        + kernel_bb[off_b].mean()
        - 2.0 * kernel(features_a, features_b).mean()
    )


@pytest.mark.parametrize(
    "num_a, num_b", [(2, 2), (20, 20), (15, 40), (40, 7), (2, 9)]
)
def test_kid_matches_naive_reference(num_a, num_b):
    rng = np.random.default_rng(num_a * 100 + num_b)
    features_a = rng.standard_normal((num_a, 5))
    features_b = rng.standard_normal((num_b, 5)) + 0.3

    value = kid.kernel_inception_distance(features_a, features_b)

    assert value == pytest.approx(_naive_kid(features_a, features_b), rel=1e-10)


def test_kid_opposite_points_hand_value():
    # d = 1, k(x, y) = (xy + 1)^3: k(1, 1) = k(-1, -1) = 8, k(1, -1) = 0.
    features_a = np.array([[1.0], [1.0]])
    features_b = np.array([[-1.0], [-1.0]])

    assert kid.kernel_inception_distance(features_a, features_b) == 16.0


def test_kid_identical_sets_negative_not_clipped():
    # X = I_2, d = 2: k(e_i, e_i) = 1.5^3 = 3.375 and k(e_1, e_2) = 1.
    # Off-diagonal means are 1 and the cross mean over all four pairs is
    # (2 * 3.375 + 2) / 4 = 2.1875, so KID(X, X) = 1 + 1 - 4.375 = -2.375.
    features = np.eye(2)

    value = kid.kernel_inception_distance(features, features)

    assert value == pytest.approx(-2.375, abs=1e-12)


@pytest.mark.parametrize("block_size", [1, 3, 7, 1024])
def test_kid_block_size_same_value(block_size):
    rng = np.random.default_rng(7)
    features_a = rng.standard_normal((23, 6))
    features_b = rng.standard_normal((17, 6)) * 1.5
    unblocked = kid.kernel_inception_distance(
        features_a, features_b, block_size=100
    )

    blocked = kid.kernel_inception_distance(
        features_a, features_b, block_size=block_size
    )

    assert blocked == pytest.approx(unblocked, rel=1e-12)


def test_kid_same_distribution_near_zero():
    rng = np.random.default_rng(8)
    features_a = rng.standard_normal((400, 16))
    features_b = rng.standard_normal((300, 16))
    shifted = rng.standard_normal((300, 16)) + 1.0

    same = kid.kernel_inception_distance(features_a, features_b)
    different = kid.kernel_inception_distance(features_a, shifted)

    assert abs(same) < 0.05
    assert different > 1.0
    assert different > 20.0 * abs(same)


def test_kid_symmetric():
    rng = np.random.default_rng(9)
    features_a = rng.standard_normal((12, 4))
    features_b = rng.standard_normal((30, 4)) + 0.5

    forward = kid.kernel_inception_distance(features_a, features_b)
    backward = kid.kernel_inception_distance(features_b, features_a)

    assert forward == pytest.approx(backward, rel=1e-12)


def test_kid_float32_input_computed_in_float64():
    rng = np.random.default_rng(10)
    features_a = rng.standard_normal((10, 4)).astype(np.float32)
    features_b = rng.standard_normal((11, 4)).astype(np.float32)

    value = kid.kernel_inception_distance(features_a, features_b)

    assert type(value) is float
    assert value == pytest.approx(_naive_kid(features_a, features_b), rel=1e-12)


@pytest.mark.parametrize("which", ["features_a", "features_b"])
def test_kid_single_sample_raises(which):
    sets = {"features_a": np.ones((5, 3)), "features_b": np.ones((5, 3))}
    sets[which] = np.ones((1, 3))

    with pytest.raises(ValueError, match=f"{which} num_samples=1"):
        kid.kernel_inception_distance(sets["features_a"], sets["features_b"])


def test_kid_dimension_mismatch_raises():
    with pytest.raises(ValueError, match=r"features_b.shape=\(4, 2\)"):
        kid.kernel_inception_distance(np.ones((4, 3)), np.ones((4, 2)))


def test_kid_wrong_rank_raises():
    with pytest.raises(ValueError, match=r"features_a.shape=\(4,\)"):
        kid.kernel_inception_distance(np.ones(4), np.ones((4, 1)))


def test_kid_nan_raises():
    features = np.ones((4, 2))
    features[0, 0] = np.nan

    with pytest.raises(ValueError, match="features_b contains NaN"):
        kid.kernel_inception_distance(np.ones((4, 2)), features)


def test_kid_nonpositive_block_size_raises():
    with pytest.raises(ValueError, match="block_size=0"):
        kid.kernel_inception_distance(
            np.ones((4, 2)), np.ones((4, 2)), block_size=0
        )


def test_kid_package_export_same_function():
    assert metrics.kernel_inception_distance is kid.kernel_inception_distance
