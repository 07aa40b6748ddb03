"""Fréchet distance between Gaussians fitted to two sets of features (FID).

FID (Heusel et al., 2017, "GANs Trained by a Two Time-Scale Update Rule
Converge to a Local Nash Equilibrium", https://arxiv.org/abs/1706.08500)
fits a Gaussian to the Inception `pool_3` features of real and of generated
images and reports the Fréchet distance between the two Gaussians:

    FID = ||mu_1 - mu_2||^2 + tr(sigma_1) + tr(sigma_2)
          - 2 tr((sigma_1 sigma_2)^(1/2)).

The trace of the matrix square root is computed through the symmetric matrix
A sigma_2 A with A = sigma_1^(1/2), as TF-GAN and compare_gan do. That matrix
is symmetric positive semi-definite, so its eigenvalues are real and the
result never goes complex, unlike `scipy.linalg.sqrtm` applied to the
non-symmetric product sigma_1 sigma_2.

Everything is computed in float64 NumPy.
"""

from typing import Callable

from absl import logging
import numpy as np

# Eigenvalues down to -_EIGENVALUE_TOLERANCE times the largest eigenvalue
# magnitude count as round-off and are clipped to 0. Anything more negative
# means the matrix is not a covariance.
_EIGENVALUE_TOLERANCE = 1e-6

# A negative distance down to -_DISTANCE_TOLERANCE times the size of the
# terms that cancel is round-off and is reported as 0.
_DISTANCE_TOLERANCE = 1e-6


def compute_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Computes the mean and covariance of a set of features in float64.

    Args:
        features: Array of shape [num_samples, feature_dim], any real dtype.
            Needs at least 2 samples.

    Returns:
        A tuple `(mu, sigma)`: the mean, float64 of shape [feature_dim], and
        the unbiased sample covariance (normalized by num_samples - 1, as in
        TF-GAN), float64 of shape [feature_dim, feature_dim].

    Raises:
        ValueError: If `features` is not 2-D, has fewer than 2 samples or
            contains NaN or infinite values.

    Caveats:
        With fewer samples than feature dimensions the covariance is
        singular. FID stays finite and real, but it is then strongly biased,
        so a warning is logged.
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(
            "Features must be a 2-D array of shape [num_samples, "
            f"feature_dim]. Received: shape={features.shape}."
        )
    num_samples, feature_dim = features.shape
    if num_samples < 2:
        raise ValueError(
            "A covariance needs at least 2 samples. Received: "
            f"num_samples={num_samples}."
        )
    if not np.all(np.isfinite(features)):
        raise ValueError(
            "Features contain NaN or infinite values. Received: "
            f"num_non_finite={np.count_nonzero(~np.isfinite(features))}."
        )
    if num_samples < feature_dim:
        logging.warning(
            "Computing a covariance from %d samples of dimension %d: the "
            "covariance is singular and FID is strongly biased.",
            num_samples,
            feature_dim,
        )
    mu = np.mean(features, axis=0)
    sigma = np.cov(features, rowvar=False)
    return mu, np.atleast_2d(sigma)


def frechet_distance(
    mu1: np.ndarray,
    sigma1: np.ndarray,
    mu2: np.ndarray,
    sigma2: np.ndarray,
) -> float:
    """Computes the Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    d^2 = ||mu1 - mu2||^2 + tr(sigma1) + tr(sigma2) - 2 tr(sqrt(A sigma2 A)),
    with A = sqrt(sigma1) from a symmetric eigendecomposition.

    Args:
        mu1: Mean of the first Gaussian, shape [feature_dim].
        sigma1: Covariance of the first Gaussian, shape
            [feature_dim, feature_dim], symmetric positive semi-definite.
        mu2: Mean of the second Gaussian, shape [feature_dim].
        sigma2: Covariance of the second Gaussian, same shape as `sigma1`.

    Returns:
        The distance as a Python float, at least 0. The distance is symmetric
        in its two Gaussians up to round-off.

    Raises:
        ValueError: If the shapes do not match, a value is NaN or infinite,
            or a covariance has an eigenvalue clearly below 0.
        FloatingPointError: If the result is negative by more than round-off,
            which means the inputs are not valid covariances.

    Caveats:
        FID computed from samples is biased upwards, and the bias grows as the
        sample count falls, so values are comparable only at equal sample
        counts (the study uses 10,000, and 3,000 for CelebA-HQ).
    """
    return _frechet_distance(mu1, sigma1, mu2, sigma2, _symmetric_sqrt)


def frechet_distance_from_features(
    features_a: np.ndarray, features_b: np.ndarray
) -> float:
    """Computes FID between two sets of features.

    Args:
        features_a: Array of shape [num_samples_a, feature_dim].
        features_b: Array of shape [num_samples_b, feature_dim]. The sample
            counts may differ.

    Returns:
        The Fréchet distance between Gaussians fitted to the two sets, as a
        Python float.

    Raises:
        ValueError: If either set is invalid for `compute_statistics` or the
            feature dimensions differ.
    """
    mu_a, sigma_a = compute_statistics(features_a)
    mu_b, sigma_b = compute_statistics(features_b)
    return frechet_distance(mu_a, sigma_a, mu_b, sigma_b)


def _frechet_distance(
    mu1: np.ndarray,
    sigma1: np.ndarray,
    mu2: np.ndarray,
    sigma2: np.ndarray,
    matrix_sqrt: Callable[[np.ndarray], np.ndarray],
) -> float:
    """Computes the Fréchet distance with `matrix_sqrt` computing sqrt(sigma1).

    `matrix_sqrt` is a parameter so that a test can substitute a routine that
    returns a complex matrix and check that the guard below raises.
    """
    mu1, sigma1 = _validate_gaussian("1", mu1, sigma1)
    mu2, sigma2 = _validate_gaussian("2", mu2, sigma2)
    if mu1.shape != mu2.shape:
        raise ValueError(
            "Both Gaussians must have the same dimension. Received: "
            f"mu1.shape={mu1.shape}, mu2.shape={mu2.shape}."
        )

    sqrt_sigma1 = np.asarray(matrix_sqrt(sigma1))
    if np.iscomplexobj(sqrt_sigma1):
        # The symmetric route cannot produce complex values. Dropping an
        # imaginary part here would silently return a wrong distance.
        imaginary_size = float(np.max(np.abs(np.imag(sqrt_sigma1))))
        raise FloatingPointError(
            "The matrix square root of sigma1 is complex, so FID would be "
            f"wrong. Received: max_abs_imaginary_part={imaginary_size:.3g}."
        )

    product = sqrt_sigma1 @ sigma2 @ sqrt_sigma1
    product = (product + product.T) / 2.0
    eigenvalues = _clip_round_off(
        np.linalg.eigvalsh(product), "sqrt(sigma1) sigma2 sqrt(sigma1)"
    )
    trace_sqrt_product = float(np.sum(np.sqrt(eigenvalues)))

    mean_term = float(np.sum(np.square(mu1 - mu2)))
    trace_sum = float(np.trace(sigma1) + np.trace(sigma2))
    distance = mean_term + trace_sum - 2.0 * trace_sqrt_product
    if distance < 0.0:
        tolerance = _DISTANCE_TOLERANCE * max(mean_term + trace_sum, 1e-12)
        if distance < -tolerance:
            raise FloatingPointError(
                "The Fréchet distance came out negative beyond round-off, "
                "so a covariance is invalid. Received: "
                f"distance={distance:.6g}, tolerance={tolerance:.3g}."
            )
        distance = 0.0
    return distance


def _validate_gaussian(
    suffix: str, mu: np.ndarray, sigma: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Converts one mean and covariance to float64 and checks their shapes."""
    mu = np.asarray(mu, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise ValueError(
            f"mu{suffix} must have shape [feature_dim] and sigma{suffix} "
            f"shape [feature_dim, feature_dim]. Received: "
            f"mu{suffix}.shape={mu.shape}, sigma{suffix}.shape={sigma.shape}."
        )
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sigma))):
        raise ValueError(
            f"mu{suffix} and sigma{suffix} must be finite. Received NaN or "
            "infinite values."
        )
    return mu, sigma


def _clip_round_off(eigenvalues: np.ndarray, matrix_name: str) -> np.ndarray:
    """Clips eigenvalues that are negative by round-off only to 0."""
    scale = float(np.max(np.abs(eigenvalues), initial=0.0))
    smallest = float(np.min(eigenvalues, initial=0.0))
    if smallest < -_EIGENVALUE_TOLERANCE * scale:
        raise ValueError(
            f"{matrix_name} must be positive semi-definite. Received: "
            f"smallest_eigenvalue={smallest:.6g}, "
            f"largest_abs_eigenvalue={scale:.6g}."
        )
    return np.clip(eigenvalues, 0.0, None)


def _symmetric_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Computes the square root of a symmetric PSD matrix by eigendecomposition.

    Deviation: TF-GAN, which compare_gan calls, uses an SVD and leaves
    singular values below 1e-10 unrooted. This module clips round-off
    negative eigenvalues to 0 and takes the square root of all others. The
    two agree to round-off on valid covariances.
    """
    matrix = (matrix + matrix.T) / 2.0
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    eigenvalues = _clip_round_off(eigenvalues, "sigma1")
    return (eigenvectors * np.sqrt(eigenvalues)) @ eigenvectors.T
