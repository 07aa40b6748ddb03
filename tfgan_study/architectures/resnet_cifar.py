"""ResNet-CIFAR: the study's 32x32 ResNet (compare_gan `resnet_cifar_arch`).

Generator: dense to 4x4x256, three up-sampling blocks of width 256 (8, 16,
32 pixels), then BN, ReLU, 3x3 convolution and sigmoid. Discriminator: four
blocks of width 128, the first two down-sampling (16, then 8 pixels), then
ReLU, mean pooling and a dense layer to one logit. It follows Table 4 of
Miyato et al. (arXiv 1802.05957) with compare_gan's changes: 3x3 shortcut
convolutions in every block, no optimized first block, mean rather than sum
pooling and zero-insertion unpooling.
"""

import keras

from tfgan_study.architectures import layers


def build_generator(
    z_dim: int, resolution: int, num_channels: int
) -> keras.Model:
    """Build the generator: z [batch_size, z_dim] to images in [0, 1]."""
    del resolution  # Always 32; the config validates it.
    z = keras.Input((z_dim,), name="z")
    x = keras.layers.Dense(4 * 4 * 256, kernel_initializer=layers.normal_init())(
        z
    )
    x = keras.layers.Reshape((4, 4, 256))(x)
    for _ in range(3):
        x = layers.g_block(x, 256)
    images = layers.resnet_g_head(x, num_channels)
    return keras.Model(z, images, name="generator")


def build_discriminator(
    resolution: int, num_channels: int, normalization_kind: str
) -> keras.Model:
    """Build the discriminator: images in [0, 1] to logits [batch_size]."""
    images = keras.Input((resolution, resolution, num_channels), name="images")
    x = images
    for down_sample in (True, True, False, False):
        x = layers.d_block(x, 128, down_sample, normalization_kind)
    logits = layers.resnet_d_head(x, normalization_kind)
    return keras.Model(images, logits, name="discriminator")
