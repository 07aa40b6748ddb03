"""SNDCGAN: the DCGAN-style networks of the study, at 32x32 or 128x128.

Layer by layer as compare_gan's `sn_generator` and `sn_discriminator`
(Kurach et al., arXiv 1807.04720, after Miyato et al., arXiv 1802.05957):

Generator (M the resolution, s = M / 8): dense to s*s*512 with batch norm
over the flat features (epsilon 2e-5) and ReLU, reshape, three 4x4 stride-2
transposed convolutions to 256, 128 and 64 channels with batch norm and ReLU,
a 3x3 transposed convolution to the image channels, tanh, then (x + 1) / 2.

Discriminator: maps x in [0, 1] to 2x - 1, then convolutions
3x3/64, 4x4/128 (stride 2), 3x3/128, 4x4/256 (stride 2), 3x3/256,
4x4/512 (stride 2), 3x3/512, each followed by LeakyReLU(0.1), then flatten
and a dense layer to one logit.
"""

import keras

from tfgan_study import normalization
from tfgan_study.architectures import layers

D_LAYERS = (
    (64, 3, 1),
    (128, 4, 2),
    (128, 3, 1),
    (256, 4, 2),
    (256, 3, 1),
    (512, 4, 2),
    (512, 3, 1),
)


def build_generator(
    z_dim: int, resolution: int, num_channels: int
) -> keras.Model:
    """Build the SNDCGAN generator.

    Args:
      z_dim: Size of the latent input, values in [-1, 1].
      resolution: Output side length, a multiple of 8.
      num_channels: Output channels (1 for grey, 3 for colour).

    Returns:
      A model mapping z [batch_size, z_dim] to images
      [batch_size, resolution, resolution, num_channels] in [0, 1].
    """
    side = resolution // 8
    z = keras.Input((z_dim,), name="z")
    x = keras.layers.Dense(
        side * side * 512, kernel_initializer=layers.normal_init()
    )(z)
    # Batch norm per feature of the flat dense output, not per channel.
    x = normalization.batch_norm(epsilon=2e-5)(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Reshape((side, side, 512))(x)
    for channels in (256, 128, 64):
        x = keras.layers.Conv2DTranspose(
            channels,
            4,
            strides=2,
            padding="same",
            kernel_initializer=layers.normal_init(),
        )(x)
        x = normalization.batch_norm(epsilon=2e-5)(x)
        x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2DTranspose(
        num_channels,
        3,
        strides=1,
        padding="same",
        kernel_initializer=layers.normal_init(),
    )(x)
    x = keras.layers.Activation("tanh", dtype="float32")(x)
    images = keras.layers.Rescaling(0.5, offset=0.5, dtype="float32")(x)
    return keras.Model(z, images, name="generator")


def build_discriminator(
    resolution: int, num_channels: int, normalization_kind: str
) -> keras.Model:
    """Build the SNDCGAN discriminator.

    Deviation: compare_gan's SNDCGAN discriminator accepts only `none` and
    `spectral_norm`. The paper's study ran every normalization with every
    architecture, so here `batch_norm` and `layer_norm` act after each
    convolution but the first, before the LeakyReLU, as in DCGAN.

    Args:
      resolution: Input side length.
      num_channels: Input channels.
      normalization_kind: One of `config.NORMALIZATIONS`.

    Returns:
      A model mapping images [batch_size, H, W, C] in [0, 1] to float32
      logits of shape [batch_size].
    """
    use_sn = normalization_kind == "spectral_norm"
    images = keras.Input((resolution, resolution, num_channels), name="images")
    x = keras.layers.Rescaling(2.0, offset=-1.0)(images)
    for index, (channels, kernel_size, strides) in enumerate(D_LAYERS):
        x = layers.conv2d(
            channels, kernel_size, strides, use_sn, layers.normal_init()
        )(x)
        if index > 0:
            x = layers.d_normalize(x, normalization_kind)
        x = keras.layers.LeakyReLU(negative_slope=0.1)(x)
    x = keras.layers.Flatten()(x)
    logits = layers.dense(1, use_sn)(x)
    logits = layers.SqueezeLogits()(logits)
    return keras.Model(images, logits, name="discriminator")
