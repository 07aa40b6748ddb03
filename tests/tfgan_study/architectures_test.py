"""Tests of the architectures' shapes, ranges and parameter counts."""

import numpy as np
import pytest
import tensorflow as tf

from tfgan_study import architectures


def _trainable_millions(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_variables) / 1e6


# Trainable parameters in millions, derived from compare_gan's shapes.
@pytest.mark.parametrize(
    "architecture,resolution,g_params,d_params",
    [
        ("sndcgan", 32, 3.83, 5.86),
        ("sndcgan", 128, 19.93, 5.98),
        ("resnet_cifar", 32, 5.85, 1.48),
        ("resnet19", 128, 13.79, 15.09),
    ],
)
def test_parameter_counts_match_study(architecture, resolution, g_params, d_params):
    generator, discriminator = architectures.build_models(
        architecture, 128, resolution, 3, "none"
    )
    assert _trainable_millions(generator) == pytest.approx(g_params, abs=0.01)
    assert _trainable_millions(discriminator) == pytest.approx(d_params, abs=0.01)


@pytest.mark.parametrize(
    "architecture,resolution",
    [("sndcgan", 32), ("resnet_cifar", 32), ("sndcgan", 16)],
)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize(
    "normalization", ["none", "batch_norm", "layer_norm", "spectral_norm"]
)
def test_models_map_shapes_and_ranges(architecture, resolution, channels, normalization):
    generator, discriminator = architectures.build_models(
        architecture, 16, resolution, channels, normalization
    )
    z = tf.random.uniform([2, 16], -1.0, 1.0)
    images = generator(z, training=False)
    assert images.shape == (2, resolution, resolution, channels)
    assert images.dtype == tf.float32
    assert float(tf.reduce_min(images)) >= 0.0
    assert float(tf.reduce_max(images)) <= 1.0
    logits = discriminator(images, training=True)
    assert logits.shape == (2,)
    assert logits.dtype == tf.float32


def test_sndcgan_first_batch_norm_is_per_feature():
    generator, _ = architectures.build_models("sndcgan", 8, 32, 3, "none")
    norms = [
        layer for layer in generator.layers
        if layer.__class__.__name__ == "BatchNormalization"
    ]
    assert norms[0].gamma.shape == (4 * 4 * 512,)
    assert norms[0].epsilon == 2e-5


def test_build_models_rejects_unknown_architecture():
    with pytest.raises(ValueError, match="Expected one of: resnet19"):
        architectures.build_models("dcgan", 8, 32, 3, "none")
