"""Tests of spectral norm, layer norm and batch norm against the study."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_study import normalization
from tfgan_study.architectures import layers


def _dense_sn(units=3, inputs=5, seed=0):
    layer = normalization.SpectralNormalization(
        keras.layers.Dense(
            units, kernel_initializer=keras.initializers.RandomNormal(seed=seed)
        )
    )
    layer.build((None, inputs))
    return layer


def test_spectral_norm_converges_to_top_singular_value():
    layer = normalization.SpectralNormalization(
        keras.layers.Conv2D(6, 3, padding="same")
    )
    images = tf.random.uniform([2, 5, 5, 4])
    layer(images, training=True)
    top = np.linalg.svd(layer._weight_matrix().numpy(), compute_uv=False)[0]
    estimates = []
    for _ in range(60):
        layer(images, training=True)
        estimates.append(float(layer.compute_sigma()))
    assert max(estimates) <= top * (1 + 1e-5)
    np.testing.assert_allclose(estimates[-1], top, rtol=1e-4)
    assert estimates[0] != estimates[5]


def test_spectral_norm_u_shape_is_rows_by_one():
    layer = normalization.SpectralNormalization(keras.layers.Conv2D(7, 3))
    layer.build((None, 8, 8, 4))
    assert tuple(layer.u.shape) == (3 * 3 * 4, 1)
    assert not layer.u.trainable


def test_spectral_norm_inference_leaves_state_alone():
    layer = _dense_sn()
    inputs = tf.random.uniform([4, 5])
    u_before = layer.u.numpy().copy()
    kernel_before = layer.layer.kernel.numpy().copy()
    layer(inputs, training=False)
    layer(inputs)
    np.testing.assert_array_equal(layer.u.numpy(), u_before)
    layer(inputs, training=True)
    assert not np.array_equal(layer.u.numpy(), u_before)
    np.testing.assert_array_equal(layer.layer.kernel.numpy(), kernel_before)


def test_spectral_norm_output_uses_normalized_kernel():
    layer = _dense_sn()
    inputs = tf.random.uniform([4, 5])
    outputs = layer(inputs, training=False)
    expected = inputs @ layer.normalized_kernel() + layer.layer.bias
    np.testing.assert_allclose(outputs.numpy(), expected.numpy(), rtol=1e-5)


def _loss_with_fixed_vectors(kernel, u, v, inputs, weights):
    sigma = (u.T @ kernel @ v).item()
    return np.sum((inputs @ (kernel / sigma)) * weights)


def test_spectral_norm_gradient_flows_through_sigma():
    layer = _dense_sn()
    layer.layer.use_bias = False
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=[4, 5]).astype(np.float32)
    weights = rng.normal(size=[4, 3]).astype(np.float32)
    kernel = layer.layer.kernel
    with tf.GradientTape() as tape:
        outputs = layer(tf.constant(inputs), training=False)
        loss = tf.reduce_sum(outputs * weights)
    gradient = tape.gradient(loss, kernel).numpy().astype(np.float64)

    matrix = kernel.numpy().astype(np.float64)
    u = layer.u.numpy().astype(np.float64)
    v = matrix.T @ u
    v /= np.linalg.norm(v)
    step = 1e-4
    numeric = np.zeros_like(matrix)
    for index in np.ndindex(matrix.shape):
        plus, minus = matrix.copy(), matrix.copy()
        plus[index] += step
        minus[index] -= step
        numeric[index] = (
            _loss_with_fixed_vectors(plus, u, v, inputs, weights)
            - _loss_with_fixed_vectors(minus, u, v, inputs, weights)
        ) / (2 * step)
    np.testing.assert_allclose(gradient, numeric, rtol=2e-3, atol=2e-4)

    # Treating sigma as a constant gives a different gradient.
    sigma = (u.T @ matrix @ v).item()
    constant_sigma = inputs.T.astype(np.float64) @ weights / sigma
    assert np.max(np.abs(constant_sigma - numeric)) > 1e-3


def test_spectral_norm_rejects_transposed_convolution():
    with pytest.raises(TypeError, match="Dense or keras.layers.Conv2D"):
        normalization.SpectralNormalization(keras.layers.Conv2DTranspose(3, 3))


def test_spectral_norm_advances_in_compiled_function():
    layer = _dense_sn()
    inputs = tf.random.uniform([4, 5])

    @tf.function
    def call(values):
        return layer(values, training=True)

    first = call(inputs).numpy()
    u_first = layer.u.numpy().copy()
    call(inputs)
    assert np.all(np.isfinite(first))
    assert not np.array_equal(layer.u.numpy(), u_first)


def test_layer_norm_normalizes_each_example_over_hwc():
    norm = normalization.layer_norm()
    images = tf.random.uniform([3, 4, 4, 5]) * 10 + 2
    outputs = norm(images).numpy()
    np.testing.assert_allclose(outputs.mean(axis=(1, 2, 3)), 0.0, atol=1e-4)
    np.testing.assert_allclose(outputs.std(axis=(1, 2, 3)), 1.0, rtol=1e-3)
    assert norm.gamma.shape == (5,)
    assert norm.epsilon == 1e-12


def test_batch_norm_uses_study_constants():
    norm = normalization.batch_norm(epsilon=2e-5)
    assert norm.momentum == 0.9
    assert norm.epsilon == 2e-5


@pytest.mark.parametrize(
    "kind,coupled",
    [("batch_norm", True), ("layer_norm", False), ("spectral_norm", False),
     ("none", False)],
)
def test_cross_example_jacobian_only_with_batch_norm(kind, coupled):
    inputs = keras.Input((4, 4, 2))
    x = layers.conv2d(3, 3, 1, kind == "spectral_norm", layers.normal_init())(
        inputs
    )
    x = layers.d_normalize(x, kind)
    outputs = keras.layers.Dense(1)(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    images = tf.random.uniform([4, 4, 4, 2])
    with tf.GradientTape() as tape:
        tape.watch(images)
        first_logit = model(images, training=True)[0, 0]
    jacobian = tape.gradient(first_logit, images).numpy()
    assert (np.abs(jacobian[1]).max() > 1e-7) == coupled


def test_unpool_inserts_zeros():
    x = tf.reshape(tf.range(1.0, 5.0), [1, 2, 2, 1])
    y = layers.Unpool()(x).numpy()[0, :, :, 0]
    expected = np.array(
        [[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]], np.float32
    )
    np.testing.assert_array_equal(y, expected)
