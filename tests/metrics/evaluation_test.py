"""Tests of compute_scores and of the names the metrics package exports."""

import importlib

import numpy as np
import pytest

from tfgan_study import metrics
from tfgan_study.metrics import evaluation
from tfgan_study.metrics import feature_extractor
from tfgan_study.metrics import fid
from tfgan_study.metrics import kid

_SCORE_KEYS = {
    "fid",
    "kid",
    "inception_score",
    "inception_score_std",
    "ms_ssim",
}


def _activations(seed, num_samples, with_logits=True, shift=0.0):
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((num_samples, 8)).astype(np.float32) + shift
    logits = rng.standard_normal((num_samples, 5)) if with_logits else None
    return feature_extractor.Activations(features, logits)


def test_compute_scores_values_match_metrics():
    fake = _activations(0, 40, shift=0.5)
    reference = _activations(1, 50)

    scores = evaluation.compute_scores(fake, reference, None)

    assert set(scores) == _SCORE_KEYS
    assert scores["fid"] == fid.frechet_distance_from_features(
        fake.features, reference.features
    )
    assert scores["kid"] == pytest.approx(
        kid.kernel_inception_distance(fake.features, reference.features),
        rel=1e-12,
    )
    assert scores["inception_score"] == metrics.inception_score(fake.logits)[0]
    assert scores["inception_score_std"] == 0.0
    assert scores["ms_ssim"] is None


def test_compute_scores_without_logits_none():
    scores = evaluation.compute_scores(
        _activations(0, 10, with_logits=False), _activations(1, 10), None
    )

    assert scores["inception_score"] is None
    assert scores["inception_score_std"] is None


def test_compute_scores_ms_ssim_uses_seed():
    images = np.random.default_rng(2).random((6, 16, 16, 3)).astype(np.float32)

    scores = evaluation.compute_scores(
        _activations(0, 10), _activations(1, 10), images, ms_ssim_seed=4
    )

    assert scores["ms_ssim"] == metrics.compute_ms_ssim_diversity(
        images, seed=4
    )


def test_compute_scores_dimension_mismatch_raises():
    reference = feature_extractor.Activations(np.zeros((10, 3)), None)

    with pytest.raises(
        ValueError, match="fake feature_dim=8, reference feature_dim=3"
    ):
        evaluation.compute_scores(_activations(0, 10), reference, None)


def test_compute_scores_shared_model_end_to_end(feature_model_path):
    extractor = feature_extractor.FeatureExtractor(feature_model_path)
    rng = np.random.default_rng(3)
    real = extractor.compute([rng.random((24, 28, 28, 1), dtype=np.float32)])
    same = extractor.compute([rng.random((24, 28, 28, 1), dtype=np.float32)])
    dark = extractor.compute(
        [0.2 * rng.random((24, 28, 28, 1), dtype=np.float32)]
    )

    close = evaluation.compute_scores(same, real, None)
    far = evaluation.compute_scores(dark, real, None)

    assert far["fid"] > close["fid"]
    assert far["kid"] > close["kid"]
    assert 1.0 <= close["inception_score"] <= 10.0


def test_metrics_package_exports_functions():
    ms_ssim_module = importlib.import_module("tfgan_study.metrics.ms_ssim")
    score_module = importlib.import_module(
        "tfgan_study.metrics.inception_score"
    )

    assert metrics.frechet_distance is fid.frechet_distance
    assert metrics.kernel_inception_distance is kid.kernel_inception_distance
    assert metrics.inception_score is score_module.inception_score
    assert metrics.ms_ssim is ms_ssim_module.ms_ssim
    assert (
        metrics.compute_ms_ssim_diversity
        is ms_ssim_module.compute_ms_ssim_diversity
    )
