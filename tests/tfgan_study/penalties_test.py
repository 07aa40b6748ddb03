"""Tests of WGAN-GP, DRAGAN and L2 against closed forms."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_study import architectures
from tfgan_study import penalties


def _linear_critic(weights):
    weights = tf.constant(weights, tf.float32)

    def critic(images):
        return tf.reduce_sum(images * weights, axis=[1, 2, 3])

    return critic


def test_interpolation_coefficient_is_per_example():
    real = tf.ones([4, 32, 32, 3])
    fake = tf.zeros([4, 32, 32, 3])
    alpha = tf.constant([0.1, 0.4, 0.7, 0.9])
    points = penalties.interpolate(real, fake, alpha).numpy()
    ratios = (points - 1.0) / (0.0 - 1.0)
    for index in range(4):
        np.testing.assert_allclose(ratios[index], alpha[index], rtol=1e-6)
    assert len({round(float(ratios[i].mean()), 6) for i in range(4)}) == 4


def test_wgan_gp_linear_critic_matches_closed_form():
    rng = np.random.default_rng(1)
    weights = rng.normal(size=[1, 4, 4, 2]).astype(np.float32)
    norm = np.sqrt(1e-4 + np.sum(weights**2))
    real = tf.constant(rng.uniform(size=[3, 4, 4, 2]), tf.float32)
    fake = tf.constant(rng.uniform(size=[3, 4, 4, 2]), tf.float32)
    penalty = penalties.wgan_gp(_linear_critic(weights), real, fake)
    np.testing.assert_allclose(penalty.numpy(), (norm - 1.0) ** 2, rtol=1e-5)


def test_gradient_norm_is_over_all_axes_not_one():
    # A per-pixel or per-channel norm would give a different value here.
    weights = np.full([1, 2, 2, 3], 0.5, np.float32)
    images = tf.zeros([2, 2, 2, 3])
    terms = penalties.gradient_norm_terms(_linear_critic(weights), images)
    whole_norm = np.sqrt(1e-4 + 12 * 0.25)
    np.testing.assert_allclose(terms.numpy(), [(whole_norm - 1) ** 2] * 2, rtol=1e-5)
    channel_norm = np.sqrt(1e-4 + 3 * 0.25)
    assert abs((channel_norm - 1) ** 2 - terms.numpy()[0]) > 0.1


def test_gradient_norm_independent_of_layout():
    rng = np.random.default_rng(2)
    weights = rng.normal(size=[1, 3, 5, 2]).astype(np.float32)
    nhwc = penalties.gradient_norm_terms(
        _linear_critic(weights), tf.zeros([2, 3, 5, 2])
    )
    transposed = np.transpose(weights, [0, 3, 1, 2])
    nchw = penalties.gradient_norm_terms(
        _linear_critic(transposed), tf.zeros([2, 2, 3, 5])
    )
    np.testing.assert_allclose(nhwc.numpy(), nchw.numpy(), rtol=1e-6)


@pytest.mark.parametrize("penalty_name", ["wgan_gp", "dragan"])
def test_penalty_of_constant_critic_is_finite(penalty_name):
    dense = keras.layers.Dense(1, kernel_initializer="zeros")
    critic = lambda images: dense(tf.reshape(images, [tf.shape(images)[0], -1]))
    real = tf.random.uniform([4, 4, 4, 1])
    fake = tf.random.uniform([4, 4, 4, 1])
    with tf.GradientTape() as tape:
        if penalty_name == "wgan_gp":
            value = penalties.wgan_gp(critic, real, fake)
        else:
            value = penalties.dragan(critic, real)
    np.testing.assert_allclose(value.numpy(), 0.9801, rtol=1e-6)
    # The bias does not reach the input gradient, so only the kernel has one.
    kernel_gradient = tape.gradient(value, dense.kernel)
    assert kernel_gradient is not None
    assert np.all(np.isfinite(kernel_gradient.numpy()))


def test_dragan_leaves_constant_batch_unchanged():
    real = tf.fill([3, 4, 4, 1], 0.3)
    noise = tf.random.uniform([3, 4, 4, 1])
    std = tf.math.reduce_std(real)
    perturbed = penalties.dragan_perturb(real, noise, std)
    np.testing.assert_array_equal(perturbed.numpy(), real.numpy())


def test_dragan_noise_is_centred_and_bounded():
    rng = np.random.default_rng(3)
    real = tf.constant(rng.uniform(0.3, 0.7, size=[8, 6, 6, 3]), tf.float32)
    noise = tf.constant(rng.uniform(size=[8, 6, 6, 3]), tf.float32)
    std = float(tf.math.reduce_std(real))
    delta = (penalties.dragan_perturb(real, noise, std) - real).numpy()
    assert np.max(np.abs(delta)) <= std / 2 + 1e-6
    assert delta.min() < 0 < delta.max()
    np.testing.assert_allclose(delta, std * (noise.numpy() - 0.5), atol=1e-6)


def test_dragan_clips_to_image_range():
    real = tf.reshape(tf.constant([0.0, 1.0, 0.0, 1.0]), [2, 1, 2, 1])
    noise = tf.constant([0.0, 1.0, 0.0, 1.0], shape=[2, 1, 2, 1])
    perturbed = penalties.dragan_perturb(real, noise, tf.constant(1.0))
    assert perturbed.numpy().min() >= 0.0
    assert perturbed.numpy().max() <= 1.0


def test_l2_is_mean_of_half_squared_norms():
    kernels = [tf.Variable(tf.fill([2, 2], 1.0)), tf.Variable(tf.fill([3], 2.0))]
    # Layer terms: 4 / 2 = 2 and 12 / 2 = 6; their mean is 4.
    np.testing.assert_allclose(penalties.l2(kernels).numpy(), 4.0)


@pytest.mark.parametrize("architecture,resolution", [
    ("sndcgan", 32), ("resnet_cifar", 32), ("resnet19", 128),
])
@pytest.mark.parametrize("normalization", ["none", "spectral_norm", "layer_norm"])
def test_l2_kernel_count_matches_study(architecture, resolution, normalization):
    _, discriminator = architectures.build_models(
        architecture, 8, resolution, 3, normalization
    )
    kernels = penalties.l2_kernels(discriminator)
    assert len(kernels) == architectures.NUM_DISCRIMINATOR_LAYERS[architecture]
    for kernel in kernels:
        assert "kernel" in kernel.path


def test_penalty_rejects_flat_images():
    with pytest.raises(ValueError, match="batch_size, height, width, channels"):
        penalties.dragan(lambda x: x, tf.zeros([4, 10]))
