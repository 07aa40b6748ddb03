"""Tests of the Fréchet distance against closed forms and a SciPy reference."""

import logging

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies
import numpy as np
import pytest
from scipy import linalg

from tfgan_study import metrics
from tfgan_study.metrics import fid


def _random_covariance(rng: np.random.Generator, dim: int) -> np.ndarray:
    """Returns a well-conditioned random covariance matrix."""
    factor = rng.standard_normal((dim, dim))
    return factor @ factor.T / dim + 0.5 * np.eye(dim)


def _scipy_reference(mu1, sigma1, mu2, sigma2) -> float:
    """FID through scipy.linalg.sqrtm of the non-symmetric product."""
    root = linalg.sqrtm(sigma1 @ sigma2)
    return float(
        np.sum((mu1 - mu2) ** 2)
        + np.trace(sigma1)
        + np.trace(sigma2)
        - 2.0 * np.real(np.trace(root))
    )


@pytest.mark.parametrize(
    "mean1, std1, mean2, std2",
    [(0.0, 1.0, 0.0, 1.0), (0.0, 1.0, 3.0, 1.0), (1.0, 2.0, -1.0, 0.5)],
)
def test_frechet_distance_matches_1d_closed_form(mean1, std1, mean2, std2):
    distance = fid.frechet_distance(
        np.array([mean1]),
        np.array([[std1**2]]),
        np.array([mean2]),
        np.array([[std2**2]]),
    )
    expected = (mean1 - mean2) ** 2 + (std1 - std2) ** 2
    assert distance == pytest.approx(expected, abs=1e-12)


def test_frechet_distance_matches_2x2_closed_form():
    # For 2x2 M with non-negative eigenvalues:
    # tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)).
    # sigma1 and sigma2 do not commute, so sigma1 sigma2 is not symmetric.
    mu1 = np.array([0.0, 0.0])
    mu2 = np.array([1.0, 2.0])
    sigma1 = np.array([[2.0, 1.0], [1.0, 2.0]])
    sigma2 = np.array([[1.0, 0.0], [0.0, 4.0]])
    product = sigma1 @ sigma2
    trace_sqrt = np.sqrt(
        np.trace(product) + 2.0 * np.sqrt(np.linalg.det(product))
    )
    expected = 5.0 + 4.0 + 5.0 - 2.0 * trace_sqrt

    distance = fid.frechet_distance(mu1, sigma1, mu2, sigma2)

    assert distance == pytest.approx(expected, rel=1e-12)
    assert distance == pytest.approx(
        14.0 - 2.0 * np.sqrt(10.0 + 2.0 * np.sqrt(12.0))
    )


@pytest.mark.parametrize("seed", range(5))
def test_frechet_distance_identical_sets_zero(seed):
    features = np.random.default_rng(seed).standard_normal((300, 32))
    features[:, 0] *= 1e3

    distance = fid.frechet_distance_from_features(features, features)

    assert distance >= 0.0
    assert distance == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_returns_python_float():
    features = np.random.default_rng(0).standard_normal((20, 3))

    distance = fid.frechet_distance_from_features(features, features + 1.0)

    assert type(distance) is float


@pytest.mark.parametrize("seed", range(3))
def test_frechet_distance_symmetric(seed):
    rng = np.random.default_rng(seed)
    mu1, mu2 = rng.standard_normal(8), rng.standard_normal(8)
    sigma1 = _random_covariance(rng, 8)
    sigma2 = _random_covariance(rng, 8)

    forward = fid.frechet_distance(mu1, sigma1, mu2, sigma2)
    backward = fid.frechet_distance(mu2, sigma2, mu1, sigma1)

    assert forward == pytest.approx(backward, rel=1e-10)


def test_frechet_distance_mean_shift_adds_squared_norm():
    rng = np.random.default_rng(1)
    sigma = _random_covariance(rng, 6)
    mu = rng.standard_normal(6)
    previous = -1.0
    for scale in (0.0, 0.5, 1.0, 2.0, 4.0):
        shift = scale * np.arange(1.0, 7.0)
        distance = fid.frechet_distance(mu, sigma, mu + shift, sigma)
        assert distance == pytest.approx(np.sum(shift**2), abs=1e-9)
        assert distance > previous
        previous = distance


@pytest.mark.parametrize("seed", range(4))
def test_frechet_distance_matches_scipy_sqrtm(seed):
    rng = np.random.default_rng(seed)
    dim = 10
    mu1, mu2 = rng.standard_normal(dim), rng.standard_normal(dim)
    sigma1 = _random_covariance(rng, dim)
    sigma2 = _random_covariance(rng, dim)

    distance = fid.frechet_distance(mu1, sigma1, mu2, sigma2)

    assert distance == pytest.approx(
        _scipy_reference(mu1, sigma1, mu2, sigma2), rel=1e-9
    )


def test_frechet_distance_rank_deficient_finite():
    rng = np.random.default_rng(2)
    # 5 samples in 20 dimensions: both covariances have rank at most 4.
    features_a = rng.standard_normal((5, 20))
    features_b = rng.standard_normal((5, 20)) + 0.5

    distance = fid.frechet_distance_from_features(features_a, features_b)

    assert isinstance(distance, float)
    assert np.isfinite(distance)
    assert distance > 0.0


def test_frechet_distance_rank_deficient_identical_zero():
    features = np.random.default_rng(3).standard_normal((5, 20))

    distance = fid.frechet_distance_from_features(features, features)

    assert distance >= 0.0
    assert distance == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_constant_features_closed_form():
    # All-identical features (a collapsed generator) have sigma = 0, so
    # sqrt(sigma1) = 0 and FID = ||mu1 - mu2||^2 + tr(sigma2).
    rng = np.random.default_rng(4)
    collapsed = np.tile(rng.standard_normal(16), (50, 1))
    real = rng.standard_normal((50, 16))
    _, sigma_real = fid.compute_statistics(real)
    expected = np.sum((collapsed[0] - real.mean(axis=0)) ** 2) + np.trace(
        sigma_real
    )

    assert fid.frechet_distance_from_features(collapsed, real) == pytest.approx(
        expected, rel=1e-12
    )
    assert fid.frechet_distance_from_features(real, collapsed) == pytest.approx(
        expected, rel=1e-12
    )
    assert fid.frechet_distance_from_features(collapsed, collapsed) == 0.0


def test_frechet_distance_complex_root_raises():
    sigma = np.eye(3)

    def complex_root(matrix):
        return linalg.sqrtm(matrix).astype(np.complex128) + 2.5e-3j

    with pytest.raises(
        FloatingPointError, match=r"max_abs_imaginary_part=0\.0025"
    ):
        fid._frechet_distance(
            np.zeros(3), sigma, np.zeros(3), sigma, complex_root
        )


def test_frechet_distance_large_negative_not_clamped():
    # A square-root routine that doubles the root makes the trace term too
    # large, so the distance is clearly negative. That is an error, never 0.
    sigma = np.diag([1.0, 2.0, 3.0])

    def doubled_root(matrix):
        return 2.0 * fid._symmetric_sqrt(matrix)

    with pytest.raises(FloatingPointError, match="negative beyond round-off"):
        fid._frechet_distance(
            np.zeros(3), sigma, np.zeros(3), sigma, doubled_root
        )


def test_frechet_distance_dimension_mismatch_raises():
    with pytest.raises(ValueError, match=r"mu1.shape=\(3,\), mu2.shape=\(4,\)"):
        fid.frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_frechet_distance_covariance_shape_mismatch_raises():
    with pytest.raises(ValueError, match=r"sigma2.shape=\(3, 2\)"):
        fid.frechet_distance(
            np.zeros(3), np.eye(3), np.zeros(3), np.ones((3, 2))
        )


def test_frechet_distance_not_psd_raises():
    sigma = np.diag([1.0, -0.5])

    with pytest.raises(ValueError, match="positive semi-definite"):
        fid.frechet_distance(np.zeros(2), sigma, np.zeros(2), np.eye(2))


def test_frechet_distance_nan_statistics_raise():
    mu = np.array([0.0, np.nan])

    with pytest.raises(ValueError, match="must be finite"):
        fid.frechet_distance(mu, np.eye(2), np.zeros(2), np.eye(2))


def test_frechet_distance_from_features_dim_mismatch_raises():
    rng = np.random.default_rng(0)

    with pytest.raises(ValueError, match="same dimension"):
        fid.frechet_distance_from_features(
            rng.standard_normal((10, 3)), rng.standard_normal((10, 4))
        )


def test_compute_statistics_matches_numpy():
    features = (
        np.random.default_rng(5).standard_normal((40, 3)).astype(np.float32)
    )

    mu, sigma = fid.compute_statistics(features)

    assert mu.dtype == np.float64
    assert sigma.dtype == np.float64
    np.testing.assert_allclose(mu, features.astype(np.float64).mean(axis=0))
    centered = features.astype(np.float64) - mu
    np.testing.assert_allclose(sigma, centered.T @ centered / 39.0, rtol=1e-12)


def test_compute_statistics_one_dimension_shapes():
    mu, sigma = fid.compute_statistics(np.array([[1.0], [3.0]]))

    assert mu.shape == (1,)
    assert sigma.shape == (1, 1)
    assert sigma[0, 0] == pytest.approx(2.0)


@pytest.mark.parametrize("num_samples", [0, 1])
def test_compute_statistics_too_few_samples_raises(num_samples):
    with pytest.raises(ValueError, match=f"num_samples={num_samples}"):
        fid.compute_statistics(np.zeros((num_samples, 4)))


def test_compute_statistics_wrong_rank_raises():
    with pytest.raises(ValueError, match=r"shape=\(10,\)"):
        fid.compute_statistics(np.zeros(10))


def test_compute_statistics_nan_raises():
    features = np.zeros((4, 2))
    features[1, 1] = np.nan

    with pytest.raises(ValueError, match="num_non_finite=1"):
        fid.compute_statistics(features)


def test_compute_statistics_few_samples_warns(caplog):
    with caplog.at_level(logging.WARNING):
        fid.compute_statistics(np.random.default_rng(0).standard_normal((3, 8)))

    assert "3 samples of dimension 8" in caplog.text


def test_frechet_distance_package_export_same_function():
    assert metrics.frechet_distance is fid.frechet_distance


@settings(max_examples=25, deadline=None)
@given(
    seed=strategies.integers(0, 2**32 - 1),
    num_samples=strategies.integers(2, 12),
    dim=strategies.integers(1, 6),
)
def test_frechet_distance_nonnegative_and_symmetric(seed, num_samples, dim):
    rng = np.random.default_rng(seed)
    features_a = rng.standard_normal((num_samples, dim))
    features_b = rng.standard_normal((num_samples + 1, dim)) * 2.0

    forward = fid.frechet_distance_from_features(features_a, features_b)
    backward = fid.frechet_distance_from_features(features_b, features_a)

    assert np.isfinite(forward)
    assert forward >= 0.0
    assert forward == pytest.approx(backward, rel=1e-7, abs=1e-9)
