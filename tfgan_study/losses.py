"""The study's GAN losses, as per-example terms on discriminator logits.

Each loss takes the discriminator's logits on a real and on a fake batch and
returns a `LossOutput` of per-example terms, so that the trainer can reduce
them over the global batch under any `tf.distribute` strategy. The batch loss
of the discriminator is mean(d_real) + mean(d_fake) and that of the generator
mean(g); `LossOutput.reduce` computes those means.

The formulas follow compare_gan (Kurach et al., "A Large-Scale Study on
Regularization and Normalization in GANs", arXiv 1807.04720), with sp the
softplus and sigma the sigmoid:

| loss  | d_real           | d_fake        | g                |
| ----- | ---------------- | ------------- | ---------------- |
| ns    | sp(-l_r)         | sp(l_f)       | sp(-l_f)         |
| wgan  | -l_r             | l_f           | -l_f             |
| ls    | (sigma(l_r)-1)^2/2 | sigma(l_f)^2/2 | (sigma(l_f)-1)^2/2 |
| hinge | relu(1 - l_r)    | relu(1 + l_f) | -l_f             |

The least-squares loss works on sigmoid outputs with the 1/2 factors, as the
study's code defines it. Hinge is not part of the study; it comes from the
later compare_gan code and the SN-GAN paper (arXiv 1802.05957).
"""

from typing import Callable, NamedTuple

import tensorflow as tf


class LossOutput(NamedTuple):
    """Per-example loss terms, each of shape [batch_size], float32."""

    d_real: tf.Tensor
    d_fake: tf.Tensor
    g: tf.Tensor


def _as_float32_vector(logits: tf.Tensor, name: str) -> tf.Tensor:
    logits = tf.cast(logits, tf.float32)
    if logits.shape.rank == 2 and logits.shape[1] == 1:
        logits = tf.squeeze(logits, axis=1)
    if logits.shape.rank != 1:
        raise ValueError(
            f"{name} must have shape [batch_size] or [batch_size, 1]. "
            f"Received: shape={logits.shape}."
        )
    return logits


def ns(d_real_logits: tf.Tensor, d_fake_logits: tf.Tensor) -> LossOutput:
    """Non-saturating loss of Goodfellow et al. (arXiv 1406.2661).

    Args:
      d_real_logits: Discriminator logits on real images, shape [batch_size]
        or [batch_size, 1].
      d_fake_logits: Discriminator logits on generated images, same shape.

    Returns:
      Per-example terms: softplus(-l_r), softplus(l_f) and softplus(-l_f).
    """
    real = _as_float32_vector(d_real_logits, "d_real_logits")
    fake = _as_float32_vector(d_fake_logits, "d_fake_logits")
    return LossOutput(
        d_real=tf.nn.softplus(-real),
        d_fake=tf.nn.softplus(fake),
        g=tf.nn.softplus(-fake),
    )


def wgan(d_real_logits: tf.Tensor, d_fake_logits: tf.Tensor) -> LossOutput:
    """Wasserstein loss of Arjovsky et al. (arXiv 1701.07875), no clipping.

    Args:
      d_real_logits: Critic outputs on real images, shape [batch_size].
      d_fake_logits: Critic outputs on generated images, shape [batch_size].

    Returns:
      Per-example terms: -l_r, l_f and -l_f.
    """
    real = _as_float32_vector(d_real_logits, "d_real_logits")
    fake = _as_float32_vector(d_fake_logits, "d_fake_logits")
    return LossOutput(d_real=-real, d_fake=fake, g=-fake)


def ls(d_real_logits: tf.Tensor, d_fake_logits: tf.Tensor) -> LossOutput:
    """Least-squares loss of Mao et al. (arXiv 1611.04076) on sigmoid outputs.

    Args:
      d_real_logits: Discriminator logits on real images, shape [batch_size].
      d_fake_logits: Discriminator logits on generated images.

    Returns:
      Per-example terms (D_r - 1)^2 / 2, D_f^2 / 2 and (D_f - 1)^2 / 2 with
      D = sigmoid(logits): real target 1, fake target 0, generator target 1.
    """
    real = tf.sigmoid(_as_float32_vector(d_real_logits, "d_real_logits"))
    fake = tf.sigmoid(_as_float32_vector(d_fake_logits, "d_fake_logits"))
    return LossOutput(
        d_real=0.5 * tf.square(real - 1.0),
        d_fake=0.5 * tf.square(fake),
        g=0.5 * tf.square(fake - 1.0),
    )


def hinge(d_real_logits: tf.Tensor, d_fake_logits: tf.Tensor) -> LossOutput:
    """Hinge loss of Lim and Ye (arXiv 1705.02894), as used by SN-GAN.

    Args:
      d_real_logits: Discriminator logits on real images, shape [batch_size].
      d_fake_logits: Discriminator logits on generated images.

    Returns:
      Per-example terms relu(1 - l_r), relu(1 + l_f) and -l_f.
    """
    real = _as_float32_vector(d_real_logits, "d_real_logits")
    fake = _as_float32_vector(d_fake_logits, "d_fake_logits")
    return LossOutput(
        d_real=tf.nn.relu(1.0 - real),
        d_fake=tf.nn.relu(1.0 + fake),
        g=-fake,
    )


LOSSES: dict[str, Callable[[tf.Tensor, tf.Tensor], LossOutput]] = {
    "ns": ns,
    "wgan": wgan,
    "ls": ls,
    "hinge": hinge,
}


def get(name: str) -> Callable[[tf.Tensor, tf.Tensor], LossOutput]:
    """Return the loss function registered as `name`."""
    if name not in LOSSES:
        raise ValueError(
            f"Unknown loss {name!r}. Expected one of: "
            f"{', '.join(sorted(LOSSES))}."
        )
    return LOSSES[name]
