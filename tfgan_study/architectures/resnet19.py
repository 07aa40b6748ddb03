"""ResNet19: the study's 128x128 ResNet (compare_gan `resnet5_arch`).

Generator: dense to 4x4x512, five up-sampling blocks to widths 512, 256, 256,
128 and 64 (8 to 128 pixels), then BN, ReLU, 3x3 convolution and sigmoid.
Discriminator: six down-sampling blocks to widths 64, 128, 256, 256, 512 and
512 (64 to 2 pixels), then ReLU, mean pooling and a dense layer. The name
counts the discriminator's layers: 6 blocks of 3 convolutions and 1 dense.
"""

import keras

from tfgan_study.architectures import layers

G_WIDTHS = (512, 256, 256, 128, 64)
D_WIDTHS = (64, 128, 256, 256, 512, 512)


def build_generator(
    z_dim: int, resolution: int, num_channels: int
) -> keras.Model:
    """Build the generator: z [batch_size, z_dim] to images in [0, 1]."""
    del resolution  # Always 128; the config validates it.
    z = keras.Input((z_dim,), name="z")
    x = keras.layers.Dense(4 * 4 * 512, kernel_initializer=layers.normal_init())(
        z
    )
    x = keras.layers.Reshape((4, 4, 512))(x)
    for width in G_WIDTHS:
        x = layers.g_block(x, width)
    images = layers.resnet_g_head(x, num_channels)
    return keras.Model(z, images, name="generator")


def build_discriminator(
    resolution: int, num_channels: int, normalization_kind: str
) -> keras.Model:
    """Build the discriminator: images in [0, 1] to logits [batch_size]."""
    images = keras.Input((resolution, resolution, num_channels), name="images")
    x = images
    for width in D_WIDTHS:
        x = layers.d_block(x, width, True, normalization_kind)
    logits = layers.resnet_d_head(x, normalization_kind)
    return keras.Model(images, logits, name="discriminator")
