"""Tests of the Inception Score: limits, splits and extreme logits.

`metrics.inception_score` is the function; the package attribute of that name
replaces the submodule.
"""

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies
import numpy as np
import pytest

from tfgan_study import metrics


def _naive_score(logits: np.ndarray) -> float:
    """IS from softmax probabilities, valid when no probability is 0."""
    logits = np.asarray(logits, dtype=np.float64)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    marginal = probs.mean(axis=0)
    kl = np.sum(probs * (np.log(probs) - np.log(marginal)), axis=1)
    return float(np.exp(kl.mean()))


def _one_hot_logits(labels, num_classes, confidence=1000.0):
    """Logits of +confidence on each label and -confidence elsewhere."""
    logits = -confidence * np.ones((len(labels), num_classes))
    logits[np.arange(len(labels)), labels] = confidence
    return logits


def test_inception_score_uniform_logits_one():
    mean, std = metrics.inception_score(np.zeros((50, 10)))

    assert mean == pytest.approx(1.0, abs=1e-12)
    assert std == 0.0


def test_inception_score_same_prediction_one():
    logits = np.tile(np.array([[3.0, -1.0, 0.5, 2.0]]), (20, 1))

    mean, _ = metrics.inception_score(logits)

    assert mean == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("num_classes", [2, 10, 1008])
def test_inception_score_confident_even_classes(num_classes):
    labels = np.arange(2 * num_classes) % num_classes

    mean, std = metrics.inception_score(_one_hot_logits(labels, num_classes))

    assert np.isfinite(mean)
    assert mean == pytest.approx(num_classes, rel=1e-12)
    assert std == 0.0


def test_inception_score_extreme_logits_no_nan():
    # Probabilities underflow to exactly 0, so 0 log 0 must count as 0, and
    # the unused class 3 has marginal probability 0.
    logits = _one_hot_logits([0, 1, 2, 0, 1, 2], 4, confidence=1e4)

    mean, std = metrics.inception_score(logits, num_splits=2)

    assert mean == pytest.approx(3.0, rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_inception_score_matches_naive_reference():
    logits = np.random.default_rng(0).standard_normal((64, 7)) * 3.0

    mean, _ = metrics.inception_score(logits)

    assert mean == pytest.approx(_naive_score(logits), rel=1e-12)


def test_inception_score_sample_order_irrelevant():
    logits = np.random.default_rng(1).standard_normal((30, 5))

    forward, _ = metrics.inception_score(logits)
    reversed_order, _ = metrics.inception_score(logits[::-1])

    assert forward == pytest.approx(reversed_order, rel=1e-12)


def test_inception_score_splits_mean_and_std():
    # Split 1 is uniform (score 1), split 2 is confident over 4 classes
    # (score 4): mean 2.5, population standard deviation 1.5.
    logits = np.concatenate(
        [np.zeros((8, 4)), _one_hot_logits(np.arange(8) % 4, 4)], axis=0
    )

    mean, std = metrics.inception_score(logits, num_splits=2)

    assert mean == pytest.approx(2.5, rel=1e-12)
    assert std == pytest.approx(1.5, rel=1e-12)


def test_inception_score_splits_average_scores():
    # Each split predicts a single class (score 1 per split), but the two
    # splits predict different classes, so the whole set scores 2.
    logits = _one_hot_logits([0] * 5 + [1] * 5, 2)

    whole, _ = metrics.inception_score(logits, num_splits=1)
    split_mean, split_std = metrics.inception_score(logits, num_splits=2)

    assert whole == pytest.approx(2.0, rel=1e-12)
    assert split_mean == pytest.approx(1.0, rel=1e-12)
    assert split_std == pytest.approx(0.0, abs=1e-12)


def test_inception_score_uneven_splits_contiguous():
    logits = np.random.default_rng(2).standard_normal((7, 3))
    expected = [_naive_score(logits[0:2]), _naive_score(logits[2:4])]
    expected.append(_naive_score(logits[4:7]))

    mean, std = metrics.inception_score(logits, num_splits=3)

    assert mean == pytest.approx(np.mean(expected), rel=1e-12)
    assert std == pytest.approx(np.std(expected), rel=1e-9)


def test_inception_score_one_sample_per_split():
    mean, std = metrics.inception_score(
        np.random.default_rng(3).normal(size=(4, 3)), 4
    )

    assert mean == pytest.approx(1.0, abs=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("num_splits", [0, -1, 6])
def test_inception_score_invalid_splits_raises(num_splits):
    with pytest.raises(
        ValueError, match=f"num_splits={num_splits}, num_samples=5"
    ):
        metrics.inception_score(np.zeros((5, 3)), num_splits=num_splits)


@pytest.mark.parametrize("shape", [(5,), (0, 3), (2, 3, 4)])
def test_inception_score_wrong_shape_raises(shape):
    with pytest.raises(ValueError, match="non-empty 2-D"):
        metrics.inception_score(np.zeros(shape))


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_inception_score_non_finite_logits_raise(bad_value):
    logits = np.zeros((3, 2))
    logits[1, 0] = bad_value

    with pytest.raises(ValueError, match="NaN or infinite"):
        metrics.inception_score(logits)


@settings(max_examples=40, deadline=None)
@given(
    seed=strategies.integers(0, 2**32 - 1),
    num_samples=strategies.integers(1, 40),
    num_classes=strategies.integers(1, 12),
    scale=strategies.floats(0.0, 1e3),
)
def test_inception_score_within_one_and_num_classes(
    seed, num_samples, num_classes, scale
):
    logits = np.random.default_rng(seed).standard_normal(
        (num_samples, num_classes)
    )

    mean, std = metrics.inception_score(logits * scale)

    assert np.isfinite(mean)
    assert 1.0 - 1e-9 <= mean <= num_classes * (1.0 + 1e-9)
    assert std == 0.0
