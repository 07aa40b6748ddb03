"""The architecture registry: name -> generator and discriminator builders.

Every architecture takes images in [0, 1] and produces images in [0, 1], and
its discriminator returns one float32 logit per image, shape [batch_size].
"""

from typing import Callable, NamedTuple

import keras

from tfgan_study.architectures import resnet19
from tfgan_study.architectures import resnet_cifar
from tfgan_study.architectures import sndcgan


class Architecture(NamedTuple):
    """The two builders of an architecture."""

    build_generator: Callable[[int, int, int], keras.Model]
    build_discriminator: Callable[[int, int, str], keras.Model]


ARCHITECTURES = {
    "sndcgan": Architecture(
        sndcgan.build_generator, sndcgan.build_discriminator
    ),
    "resnet_cifar": Architecture(
        resnet_cifar.build_generator, resnet_cifar.build_discriminator
    ),
    "resnet19": Architecture(
        resnet19.build_generator, resnet19.build_discriminator
    ),
}

# Convolution and dense layers of each discriminator, the count compare_gan
# checks before applying the L2 penalty.
NUM_DISCRIMINATOR_LAYERS = {"sndcgan": 8, "resnet_cifar": 13, "resnet19": 19}


def build_models(
    architecture: str,
    z_dim: int,
    resolution: int,
    num_channels: int,
    normalization_kind: str,
) -> tuple[keras.Model, keras.Model]:
    """Build the generator and the discriminator of `architecture`.

    Args:
      architecture: A key of `ARCHITECTURES`.
      z_dim: Size of the latent vector.
      resolution: Image side length.
      num_channels: Image channels, 1 or 3 (any count works).
      normalization_kind: The discriminator normalization.

    Returns:
      (generator, discriminator), both built.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"Unknown architecture {architecture!r}. Expected one of: "
            f"{', '.join(sorted(ARCHITECTURES))}."
        )
    builders = ARCHITECTURES[architecture]
    generator = builders.build_generator(z_dim, resolution, num_channels)
    discriminator = builders.build_discriminator(
        resolution, num_channels, normalization_kind
    )
    return generator, discriminator
