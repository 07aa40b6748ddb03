"""Mixed precision and XLA: what stays float32, and agreement with float32."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_study import config as config_lib
from tfgan_study import gan_model
from tfgan_study import normalization
from tfgan_study import penalties
from tfgan_study import train_lib

MIXED = ("mixed_bfloat16", "mixed_float16")
LOSS_SCALE = 2.0**12


def _config(**values):
    defaults = dict(
        dataset="folder:/unused", resolution=8, z_dim=8, global_batch_size=4,
        training_steps=10,
    )
    defaults.update(values)
    return config_lib.resolve(config_lib.StudyConfig(**defaults))


def _step_inputs(config, seed=0):
    images = tf.random.stateless_uniform(
        [config.global_batch_size, config.resolution, config.resolution, 1],
        seed=[seed, 7],
    )
    return train_lib.step_randomness(config, tf.constant(seed, tf.int64), images)


@pytest.mark.parametrize(
    "precision, normalization_kind, penalty",
    [
        ("mixed_bfloat16", "spectral_norm", "wgan_gp"),
        ("mixed_bfloat16", "layer_norm", "dragan"),
        ("mixed_bfloat16", "batch_norm", "none"),
        ("mixed_float16", "spectral_norm", "wgan_gp"),
        ("mixed_float16", "layer_norm", "none"),
        ("mixed_float16", "batch_norm", "l2"),
    ],
)
def test_mixed_step_trains_with_float32_state(
    precision, normalization_kind, penalty
):
    config = _config(
        precision=precision,
        normalization=normalization_kind,
        penalty=penalty,
    )
    model = gan_model.GanModel(config, num_channels=1)
    _, d_and_g_step = train_lib._make_step_functions(
        tf.distribute.get_strategy(), model
    )
    before = [v.numpy().copy() for v in model.discriminator.trainable_variables]
    # Float16's dynamic loss scale starts at 2^15 and halves after each
    # update whose gradients overflow, and Keras skips those updates. So the
    # steps run until the discriminator's weights move, for at most 12.
    for step in range(12):
        values = d_and_g_step(_step_inputs(config, step))
        for name, value in values.items():
            assert np.isfinite(float(value)), (name, float(value))
        if int(model.d_optimizer.iterations.numpy()) > 0:
            break
    after = [v.numpy() for v in model.discriminator.trainable_variables]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    for variable in model.generator.variables + model.discriminator.variables:
        assert variable.dtype == "float32", variable.path
    z = tf.zeros([2, config.z_dim])
    images = model.generator(z, training=False)
    assert images.dtype == tf.float32
    assert model.discriminator(images, training=False).dtype == tf.float32


def test_unknown_precision_names_choices():
    with pytest.raises(config_lib.ConfigError) as raised:
        _config(precision="bfloat16")
    message = str(raised.value)
    assert "'bfloat16'" in message
    for choice in config_lib.PRECISIONS:
        assert choice in message


def test_unknown_jit_compile_names_choices():
    with pytest.raises(config_lib.ConfigError) as raised:
        _config(jit_compile="yes")
    message = str(raised.value)
    assert "'yes'" in message
    for choice in config_lib.JIT_COMPILE:
        assert choice in message


def test_resume_rejects_precision_change():
    stored = _config()
    with pytest.raises(config_lib.ConfigError, match="precision"):
        config_lib.check_resume_compatible(
            stored, stored.replace(precision="mixed_bfloat16")
        )


def test_resume_accepts_jit_compile_change():
    stored = _config()
    config_lib.check_resume_compatible(stored, stored.replace(jit_compile="true"))


@pytest.mark.parametrize(
    "setting, device, expected",
    [
        ("auto", "CPU", False),
        ("auto", "GPU", False),
        ("auto", "TPU", True),
        ("true", "CPU", True),
        ("false", "TPU", False),
    ],
)
def test_use_xla_by_device(setting, device, expected):
    assert config_lib.use_xla(_config(jit_compile=setting), device) is expected


def _copy_weights(source: keras.Model, target: keras.Model) -> None:
    for source_var, target_var in zip(source.variables, target.variables):
        assert source_var.path.split("/")[-1] == target_var.path.split("/")[-1]
        target_var.assign(source_var)


def _input_gradient_norm(discriminator, images):
    with tf.GradientTape() as tape:
        tape.watch(images)
        logits = tf.reduce_sum(discriminator(images, training=False))
    gradients = tape.gradient(logits, images)
    return float(tf.reduce_mean(tf.norm(tf.reshape(gradients, [16, -1]), axis=1)))


@pytest.mark.parametrize(
    "precision, tolerance, min_cosine",
    [("mixed_bfloat16", 3e-2, 0.95), ("mixed_float16", 5e-3, 0.99)],
)
def test_gradient_penalty_matches_float32(precision, tolerance, min_cosine):
    # Without normalization, and with the last kernel scaled so that input
    # gradients have norm about 1: the regime the penalty acts in. At
    # initialization under spectral norm they are about 1e-10, below
    # float16's range.
    keras.utils.set_random_seed(0)
    reference_config = _config(normalization="none")
    _, reference = gan_model.build_networks(reference_config, 1)
    real = tf.random.stateless_uniform([16, 8, 8, 1], seed=[1, 2])
    fake = tf.random.stateless_uniform([16, 8, 8, 1], seed=[3, 4])
    alpha = tf.random.stateless_uniform([16], seed=[5, 6])
    last_kernel = reference.trainable_variables[-2]
    assert tuple(last_kernel.shape)[-1] == 1
    last_kernel.assign(last_kernel / _input_gradient_norm(reference, real))
    _, mixed = gan_model.build_networks(
        reference_config.replace(precision=precision), 1
    )
    _copy_weights(reference, mixed)

    def penalty_and_gradients(discriminator):
        with tf.GradientTape() as tape:
            value = penalties.wgan_gp(
                lambda x: discriminator(x, training=False), real, fake, alpha
            )
        variables = discriminator.trainable_variables
        # Float16 needs the loss scaling that the trainer applies through
        # LossScaleOptimizer; a power of 2 leaves float32 unchanged.
        gradients = tape.gradient(
            value, variables, output_gradients=tf.constant(LOSS_SCALE)
        )
        # The last bias does not change the input gradient: its gradient is
        # None, which counts as zero.
        gradients = [
            tf.zeros(variable.shape) if gradient is None else gradient
            for variable, gradient in zip(variables, gradients)
        ]
        flat = tf.concat([tf.reshape(g, [-1]) for g in gradients], axis=0)
        return float(value), flat.numpy().astype(np.float64) / LOSS_SCALE

    expected_value, expected_gradient = penalty_and_gradients(reference)
    value, gradient = penalty_and_gradients(mixed)
    # The penalty is (n - 1)^2 for gradient norms n near 1, so a relative
    # error e in n moves it by at most about 2 e.
    assert abs(value - expected_value) <= 2 * tolerance
    cosine = gradient @ expected_gradient / (
        np.linalg.norm(gradient) * np.linalg.norm(expected_gradient)
    )
    # Bfloat16 keeps 8 significant bits, and the penalty's gradient goes
    # through a second backward pass, so its direction agrees less closely.
    assert cosine > min_cosine
    norm_ratio = np.linalg.norm(gradient) / np.linalg.norm(expected_gradient)
    assert abs(norm_ratio - 1.0) < 10 * tolerance


@pytest.mark.parametrize("precision", MIXED)
def test_spectral_norm_iterates_in_float32(precision):
    config = _config(precision=precision)
    _, discriminator = gan_model.build_networks(config, 1)
    layers = [
        layer
        for layer in discriminator.layers
        if isinstance(layer, normalization.SpectralNormalization)
    ]
    assert layers
    images = tf.random.stateless_uniform([4, 8, 8, 1], seed=[0, 1])
    discriminator(images, training=True)
    for layer in layers:
        assert layer.u.dtype == "float32"
        assert layer.compute_sigma(training=False).dtype == tf.float32


def test_layer_norm_computes_in_float32_under_float16():
    config = _config(precision="mixed_float16", normalization="layer_norm")
    _, discriminator = gan_model.build_networks(config, 1)
    group_norms = [
        layer
        for layer in discriminator.layers
        if isinstance(layer, keras.layers.GroupNormalization)
    ]
    assert group_norms
    for layer in group_norms:
        assert layer.compute_dtype == "float32"


def test_build_networks_restores_global_policy():
    before = keras.mixed_precision.dtype_policy().name
    gan_model.build_networks(_config(precision="mixed_bfloat16"), 1)
    assert keras.mixed_precision.dtype_policy().name == before


def test_xla_step_matches_plain_step():
    config = _config(normalization="spectral_norm", penalty="wgan_gp")
    results = []
    for jit_compile in ("false", "true"):
        model = gan_model.GanModel(config.replace(jit_compile=jit_compile), 1)
        _, d_and_g_step = train_lib._make_step_functions(
            tf.distribute.get_strategy(), model
        )
        for step in range(2):
            values = d_and_g_step(_step_inputs(config, step))
        results.append(
            (
                {name: float(value) for name, value in values.items()},
                [v.numpy() for v in model.discriminator.trainable_variables],
            )
        )
    (plain_values, plain_weights), (xla_values, xla_weights) = results
    for name, value in plain_values.items():
        np.testing.assert_allclose(xla_values[name], value, rtol=1e-3, atol=1e-5)
    for plain, xla in zip(plain_weights, xla_weights):
        np.testing.assert_allclose(xla, plain, rtol=1e-3, atol=1e-5)
