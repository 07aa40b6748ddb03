"""One training step for every loss, penalty, normalization and architecture."""

import numpy as np
import pytest
import tensorflow as tf

from tfgan_study import config as config_lib
from tfgan_study import gan_model
from tfgan_study import normalization


def _config(**values):
    defaults = dict(
        dataset="folder:/unused", resolution=16, z_dim=8, global_batch_size=4,
        training_steps=10,
    )
    defaults.update(values)
    return config_lib.resolve(config_lib.StudyConfig(**defaults))


def _inputs(config, channels=1, seed=0):
    batch, size = config.global_batch_size, config.resolution
    generator = tf.random.Generator.from_seed(seed)
    images = generator.uniform([batch, size, size, channels])
    return gan_model.StepInputs(
        images=images,
        z=generator.uniform([batch, config.z_dim], -1.0, 1.0),
        alpha=generator.uniform([batch]),
        dragan_noise=generator.uniform([batch, size, size, channels]),
        dragan_std=tf.fill([batch], tf.math.reduce_std(images)),
    )


def _snapshot(variables):
    return [variable.numpy().copy() for variable in variables]


def _run_step(config, channels=1):
    model = gan_model.GanModel(config, channels)
    inputs = _inputs(config, channels)
    d_before = _snapshot(model.discriminator.trainable_variables)
    g_before = _snapshot(model.generator.trainable_variables)

    step = tf.function(model.discriminator_and_generator_step)
    values = {name: float(value) for name, value in step(inputs).items()}
    for name, value in values.items():
        assert np.isfinite(value), name
    d_after = _snapshot(model.discriminator.trainable_variables)
    g_after = _snapshot(model.generator.trainable_variables)
    assert any(not np.array_equal(a, b) for a, b in zip(d_before, d_after))
    assert any(not np.array_equal(a, b) for a, b in zip(g_before, g_after))
    assert model.d_optimizer.iterations.numpy() == 1
    assert model.g_optimizer.iterations.numpy() == 1
    return values


@pytest.mark.parametrize("loss", config_lib.LOSSES)
def test_step_runs_for_every_loss(loss):
    _run_step(_config(loss=loss))


@pytest.mark.parametrize("penalty", config_lib.PENALTIES)
def test_step_runs_for_every_penalty(penalty):
    values = _run_step(_config(penalty=penalty, normalization="none"))
    if penalty == "none":
        assert values["loss/penalty"] == 0.0
    else:
        assert values["loss/penalty"] > 0.0


@pytest.mark.parametrize("normalization_kind", config_lib.NORMALIZATIONS)
@pytest.mark.parametrize("architecture", ["sndcgan", "resnet_cifar"])
def test_step_runs_for_every_normalization(normalization_kind, architecture):
    resolution = 32 if architecture == "resnet_cifar" else 16
    _run_step(
        _config(
            architecture=architecture,
            normalization=normalization_kind,
            resolution=resolution,
            penalty="wgan_gp",
        ),
        channels=3,
    )


def test_step_runs_for_resnet19():
    _run_step(
        _config(architecture="resnet19", resolution=128, global_batch_size=2),
        channels=3,
    )


def _spectral_layers(model):
    return [
        layer
        for layer in model.discriminator.layers
        if isinstance(layer, normalization.SpectralNormalization)
    ]


def test_spectral_norm_advances_once_per_discriminator_update():
    config = _config(penalty="wgan_gp", normalization="spectral_norm")
    model = gan_model.GanModel(config, 1)
    inputs = _inputs(config)
    layers = _spectral_layers(model)
    assert len(layers) == 8
    expected = []
    for layer in layers:
        matrix = layer._weight_matrix().numpy().astype(np.float64)
        u = layer.u.numpy().astype(np.float64)
        v = matrix.T @ u
        v /= np.linalg.norm(v)
        u_next = matrix @ v
        expected.append(u_next / np.linalg.norm(u_next))
    model.discriminator_step(inputs)
    for layer, wanted in zip(layers, expected):
        np.testing.assert_allclose(layer.u.numpy(), wanted, rtol=1e-4, atol=1e-6)

    after_d = _snapshot([layer.u for layer in layers])
    model.generator_step(inputs)
    for before, layer in zip(after_d, layers):
        np.testing.assert_array_equal(layer.u.numpy(), before)


def test_batch_norm_discriminator_normalizes_real_and_fake_apart():
    config = _config(normalization="batch_norm", architecture="resnet_cifar",
                     resolution=32)
    model = gan_model.GanModel(config, 3)
    real = tf.random.uniform([4, 32, 32, 3])
    fake = tf.random.uniform([4, 32, 32, 3]) * 0.1
    real_logits, fake_logits = model.d_logits_for_update(real, fake)
    alone = model.discriminator(real, training=True)
    np.testing.assert_allclose(real_logits.numpy(), alone.numpy(), rtol=1e-5)
    assert fake_logits.shape == (4,)


def test_l2_penalty_is_divided_across_replicas():
    config = _config(penalty="l2", normalization="none")
    one = gan_model.GanModel(config, 1, num_replicas=1)
    two = gan_model.GanModel(config, 1, num_replicas=2)
    two.discriminator.set_weights(one.discriminator.get_weights())
    inputs = _inputs(config)
    single = float(one._penalty(inputs, inputs.images))
    shared = float(two._penalty(inputs, inputs.images))
    np.testing.assert_allclose(shared, single / 2, rtol=1e-6)


def _model_state(model):
    return _snapshot(
        model.generator.variables
        + model.discriminator.variables
        + model.g_optimizer.variables
        + model.d_optimizer.variables
    )


@pytest.mark.parametrize(
    "values",
    [
        dict(),
        dict(loss="hinge", penalty="wgan_gp", normalization="batch_norm"),
        dict(loss="wgan", penalty="dragan", normalization="layer_norm",
             architecture="resnet_cifar", resolution=32),
        dict(loss="ls", penalty="l2", precision="mixed_bfloat16"),
    ],
    ids=["sn", "bn_gp", "resnet_ln_dragan", "l2_bf16"],
)
def test_fused_step_equals_discriminator_then_generator_step(values):
    """One generator pass for both updates changes no number of the step."""
    config = _config(**values)
    fused = gan_model.GanModel(config, 3)
    separate = gan_model.GanModel(config, 3)
    assert fused.generator_batch_norms
    for a, b in zip(_model_state(fused), _model_state(separate)):
        np.testing.assert_array_equal(a, b)

    fused_step = tf.function(fused.discriminator_and_generator_step)

    @tf.function
    def separate_step(batch):
        values = separate.discriminator_step(batch)
        values.update(separate.generator_step(batch))
        return values

    for seed in range(3):
        inputs = _inputs(config, channels=3, seed=seed)
        fused_values = fused_step(inputs)
        separate_values = separate_step(inputs)
        for name, value in separate_values.items():
            assert float(fused_values[name]) == float(value), name
    # Every variable, batch norm's moving averages and Adam's moments
    # included, matches bit for bit.
    for a, b in zip(_model_state(fused), _model_state(separate)):
        np.testing.assert_array_equal(a, b)
    moving = fused.generator_batch_norms[0].moving_mean.numpy()
    assert not np.array_equal(moving, np.zeros_like(moving))


def test_repeat_moving_average_update_needs_a_training_call():
    layer = normalization.batch_norm(name="bn_check")
    layer(tf.ones([2, 3]), training=False)
    with pytest.raises(RuntimeError, match="bn_check.*training-mode call"):
        layer.repeat_moving_average_update()
