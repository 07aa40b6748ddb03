"""Tests of MS-SSIM and the MS-SSIM diversity score.

`metrics.ms_ssim` is the function; the package attribute of that name
replaces the submodule.
"""

import logging

import numpy as np
import pytest
import tensorflow as tf

from tfgan_study import metrics


def _uniform_images(seed, shape):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


@pytest.mark.parametrize("size", [32, 64, 128, 160, 161])
@pytest.mark.parametrize("channels", [1, 3])
def test_ms_ssim_identical_images_exactly_one(size, channels):
    # With an 11-pixel window and 5 scales, tf.image.ssim_multiscale needs
    # at least 161 pixels; the shrunk window works at every size.
    images = _uniform_images(size, (2, size, size, channels))

    values = metrics.ms_ssim(images, images.copy())

    assert values.shape == (2,)
    np.testing.assert_array_equal(values, np.ones(2, dtype=np.float32))


@pytest.mark.parametrize("height, width", [(1, 1), (5, 9), (17, 16)])
def test_ms_ssim_tiny_images_identical_one(height, width):
    images = _uniform_images(0, (3, height, width, 3))

    np.testing.assert_array_equal(metrics.ms_ssim(images, images), np.ones(3))


def test_ms_ssim_anti_correlated_zero_not_nan():
    images = _uniform_images(1, (3, 190, 190, 1))

    values = metrics.ms_ssim(images, 1.0 - images)

    assert np.all(np.isfinite(values))
    np.testing.assert_array_equal(values, np.zeros(3, dtype=np.float32))


@pytest.mark.parametrize("size", [32, 64])
def test_ms_ssim_anti_correlated_small_zero(size):
    images = _uniform_images(size, (2, size, size, 3))

    values = metrics.ms_ssim(images, 1.0 - images)

    np.testing.assert_array_equal(values, np.zeros(2, dtype=np.float32))


def test_ms_ssim_symmetric():
    images_a = _uniform_images(2, (4, 40, 36, 3))
    images_b = np.clip(
        images_a + 0.1 * _uniform_images(3, images_a.shape), 0, 1
    )

    np.testing.assert_array_equal(
        metrics.ms_ssim(images_a, images_b), metrics.ms_ssim(images_b, images_a)
    )


def test_ms_ssim_noise_below_identical():
    rng = np.random.default_rng(4)
    # Smooth images, so that structure exists at every scale.
    ramp = np.linspace(0.0, 1.0, 64, dtype=np.float32)
    images = np.stack([np.outer(ramp, ramp), np.outer(ramp[::-1], ramp)])
    images = images[..., np.newaxis]
    noisy = np.clip(images + 0.05 * rng.standard_normal(images.shape), 0, 1)
    unrelated = rng.random(images.shape).astype(np.float32)

    slightly_noisy = metrics.ms_ssim(images, noisy)
    noise = metrics.ms_ssim(images, unrelated)

    assert np.all(slightly_noisy < 1.0)
    assert np.all(noise < slightly_noisy)
    assert np.all(noise < 0.2)
    assert np.all(noise >= 0.0)


def test_ms_ssim_matches_tf_op_on_large_images():
    # tf.image.ssim_multiscale uses the same definition and works from 161
    # pixels, where the window never shrinks. Odd sizes test the padding.
    images_a = _uniform_images(5, (2, 171, 165, 3))
    images_b = np.clip(
        images_a + 0.3 * _uniform_images(6, images_a.shape) - 0.15, 0, 1
    )

    ours = metrics.ms_ssim(images_a, images_b)
    reference = tf.image.ssim_multiscale(
        tf.constant(images_a), tf.constant(images_b), max_val=1.0
    ).numpy()

    np.testing.assert_allclose(ours, reference, atol=2e-5)


def test_ms_ssim_scale_invariant_with_max_val():
    images_a = _uniform_images(7, (2, 48, 48, 3))
    images_b = np.clip(
        images_a + 0.2 * _uniform_images(8, images_a.shape), 0, 1
    )

    unit = metrics.ms_ssim(images_a, images_b, max_val=1.0)
    eight_bit = metrics.ms_ssim(
        255.0 * images_a, 255.0 * images_b, max_val=255.0
    )

    np.testing.assert_allclose(unit, eight_bit, rtol=1e-4)


def test_ms_ssim_shape_mismatch_raises():
    with pytest.raises(ValueError, match=r"images_b.shape=\(2, 8, 8, 1\)"):
        metrics.ms_ssim(np.zeros((2, 8, 8, 3)), np.zeros((2, 8, 8, 1)))


def test_ms_ssim_wrong_rank_raises():
    with pytest.raises(ValueError, match=r"images_a.shape=\(8, 8, 3\)"):
        metrics.ms_ssim(np.zeros((8, 8, 3)), np.zeros((8, 8, 3)))


def test_ms_ssim_nan_raises():
    images = np.zeros((1, 8, 8, 1))
    images[0, 2, 2, 0] = np.nan

    with pytest.raises(ValueError, match="images_b contains NaN"):
        metrics.ms_ssim(np.zeros((1, 8, 8, 1)), images)


def test_ms_ssim_nonpositive_max_val_raises():
    with pytest.raises(ValueError, match="max_val=0"):
        metrics.ms_ssim(
            np.zeros((1, 8, 8, 1)), np.zeros((1, 8, 8, 1)), max_val=0
        )


def test_ms_ssim_diversity_identical_images_one():
    images = np.repeat(_uniform_images(9, (1, 32, 32, 3)), 12, axis=0)

    score = metrics.compute_ms_ssim_diversity(
        images, num_batches=2, images_per_batch=6
    )

    assert score == 1.0


def test_ms_ssim_diversity_matches_pairwise_mean():
    images = _uniform_images(10, (9, 24, 24, 1))
    images[::2] *= 0.5
    order = np.random.default_rng(3).permutation(9)
    expected = []
    for batch in range(2):
        batch_images = images[order[batch * 4 : (batch + 1) * 4]]
        first, second = np.triu_indices(4, k=1)
        pair_values = metrics.ms_ssim(batch_images[first], batch_images[second])
        expected.append(np.mean(pair_values, dtype=np.float64))

    score = metrics.compute_ms_ssim_diversity(
        images, num_batches=2, images_per_batch=4, seed=3
    )

    assert score == pytest.approx(np.mean(expected), rel=1e-6)


def test_ms_ssim_diversity_seed_changes_batches():
    images = _uniform_images(11, (8, 16, 16, 1))
    images[:4] = images[0]

    first_seed = metrics.compute_ms_ssim_diversity(images, 1, 4, seed=0)
    same_seed = metrics.compute_ms_ssim_diversity(images, 1, 4, seed=0)
    scores = {
        metrics.compute_ms_ssim_diversity(images, 1, 4, seed=seed)
        for seed in range(6)
    }

    assert first_seed == same_seed
    assert len(scores) > 1


def test_ms_ssim_diversity_few_images_one_batch(caplog):
    images = _uniform_images(12, (5, 16, 16, 3))
    first, second = np.triu_indices(5, k=1)
    expected = np.mean(
        metrics.ms_ssim(images[first], images[second]), dtype=np.float64
    )

    with caplog.at_level(logging.WARNING):
        score = metrics.compute_ms_ssim_diversity(images)

    assert score == pytest.approx(expected, rel=1e-6)
    assert "5 images are available" in caplog.text


def test_ms_ssim_diversity_full_batches_only():
    # 10 images in batches of 4 fill 2 batches; the last 2 images are unused.
    images = _uniform_images(13, (10, 16, 16, 1))
    order = np.random.default_rng(0).permutation(10)
    expected = []
    for batch in range(2):
        batch_images = images[order[batch * 4 : (batch + 1) * 4]]
        first, second = np.triu_indices(4, k=1)
        expected.append(
            np.mean(metrics.ms_ssim(batch_images[first], batch_images[second]))
        )

    score = metrics.compute_ms_ssim_diversity(
        images, num_batches=5, images_per_batch=4
    )

    assert score == pytest.approx(np.mean(expected), rel=1e-6)


def test_ms_ssim_diversity_one_image_raises():
    with pytest.raises(ValueError, match="num_images=1"):
        metrics.compute_ms_ssim_diversity(np.zeros((1, 8, 8, 1)))


def test_ms_ssim_diversity_no_images_raises():
    with pytest.raises(ValueError, match=r"non-empty.*shape=\(0, 8, 8, 1\)"):
        metrics.compute_ms_ssim_diversity(np.zeros((0, 8, 8, 1)))


@pytest.mark.parametrize("low, high", [(-1.0, 1.0), (0.0, 255.0)])
def test_ms_ssim_diversity_out_of_range_raises(low, high):
    images = np.linspace(low, high, 4 * 8 * 8).reshape(4, 8, 8, 1)

    with pytest.raises(
        ValueError, match=rf"\[0, 1\].*min={low:g}, max={high:g}"
    ):
        metrics.compute_ms_ssim_diversity(images)


def test_ms_ssim_diversity_invalid_batching_raises():
    images = np.zeros((4, 8, 8, 1))

    with pytest.raises(ValueError, match="images_per_batch=1"):
        metrics.compute_ms_ssim_diversity(images, images_per_batch=1)
    with pytest.raises(ValueError, match="num_batches=0"):
        metrics.compute_ms_ssim_diversity(images, num_batches=0)
