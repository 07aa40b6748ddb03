"""Discriminator penalties of the study: WGAN-GP, DRAGAN and L2.

Every penalty is added to the discriminator loss only, scaled by
`penalty_weight` (the study's lambda). The functions follow compare_gan's
`penalty_lib` (Kurach et al., arXiv 1807.04720):

- WGAN-GP (Gulrajani et al., arXiv 1704.00028): interpolates
  x_hat = x + alpha (x_fake - x) with one alpha ~ U[0, 1) per example, and
  the per-example term (sqrt(1e-4 + sum_hwc g^2) - 1)^2 with g the gradient
  of the logit at x_hat.
- DRAGAN (Kodali et al., arXiv 1705.07215), in compare_gan's form: the same
  gradient term at x_tilde = clip(x + std(x) (u - 0.5), 0, 1), u ~ U[0, 1)
  per element and std(x) one scalar over the whole real batch.
- L2: the mean over discriminator layers of ||W||^2 / 2, kernels only (no
  biases, no normalization parameters; the raw kernel under spectral norm).

Caveats: the 1e-4 inside the square root keeps the gradient finite where the
critic's input gradient vanishes (sqrt is not differentiable at 0), so a
critic that ignores its input gets the penalty (0.01 - 1)^2 = 0.9801, not 1.

The trainer draws alpha and u itself as functions of the seed and the step
and passes them in, which keeps a run reproducible and independent of the
number of replicas; the public `wgan_gp` and `dragan` draw them when they are
not given.
"""

from typing import Callable, Sequence

import keras
import tensorflow as tf

# Inside the square root of the gradient norm, as compare_gan.
GRADIENT_NORM_EPSILON = 1e-4

Discriminator = Callable[[tf.Tensor], tf.Tensor]


def gradient_norm_terms(
    discriminator: Discriminator, images: tf.Tensor
) -> tf.Tensor:
    """Return (sqrt(1e-4 + ||d logit / d image||^2) - 1)^2 per example.

    Args:
      discriminator: Maps images [batch_size, H, W, C] to logits of shape
        [batch_size] or [batch_size, 1].
      images: Points at which the gradient is taken, [batch_size, H, W, C].

    Returns:
      Float32 tensor of shape [batch_size]. The norm is taken per example
      over all of H, W and C together.
    """
    with tf.GradientTape() as tape:
        tape.watch(images)
        logits = discriminator(images)
        logits = tf.reduce_sum(tf.cast(logits, tf.float32))
    gradients = tf.cast(tape.gradient(logits, images), tf.float32)
    squared_norms = tf.reduce_sum(
        tf.square(gradients), axis=list(range(1, gradients.shape.rank))
    )
    norms = tf.sqrt(GRADIENT_NORM_EPSILON + squared_norms)
    return tf.square(norms - 1.0)


def interpolate(
    real_images: tf.Tensor, fake_images: tf.Tensor, alpha: tf.Tensor
) -> tf.Tensor:
    """Return x + alpha (x_fake - x) with one alpha per example.

    Args:
      real_images: [batch_size, H, W, C].
      fake_images: Same shape as `real_images`.
      alpha: Shape [batch_size], values in [0, 1).
    """
    alpha = tf.reshape(tf.cast(alpha, real_images.dtype), [-1, 1, 1, 1])
    return real_images + alpha * (fake_images - real_images)


def dragan_perturb(
    real_images: tf.Tensor, noise: tf.Tensor, batch_std: tf.Tensor
) -> tf.Tensor:
    """Return clip(x + batch_std (noise - 0.5), 0, 1).

    Args:
      real_images: [batch_size, H, W, C], values in [0, 1].
      noise: Same shape, values in [0, 1).
      batch_std: The standard deviation of the whole real batch, a scalar
        or one copy per example of shape [batch_size].
    """
    batch_std = tf.reshape(tf.cast(batch_std, real_images.dtype), [-1, 1, 1, 1])
    return tf.clip_by_value(
        real_images + batch_std * (tf.cast(noise, real_images.dtype) - 0.5),
        0.0,
        1.0,
    )


def _check_images(name: str, images: tf.Tensor) -> tf.Tensor:
    images = tf.convert_to_tensor(images)
    if images.shape.rank != 4:
        raise ValueError(
            f"{name} must have shape [batch_size, height, width, channels]. "
            f"Received: shape={images.shape}."
        )
    return images


def wgan_gp(
    discriminator: Discriminator,
    real_images: tf.Tensor,
    fake_images: tf.Tensor,
    alpha: tf.Tensor | None = None,
) -> tf.Tensor:
    """Return the WGAN-GP penalty averaged over the batch (before lambda).

    Args:
      discriminator: Maps images to logits.
      real_images: [batch_size, H, W, C], values in [0, 1].
      fake_images: Same shape; not detached, as in compare_gan.
      alpha: Interpolation coefficients of shape [batch_size]; drawn from
        U[0, 1) when `None`.

    Returns:
      A float32 scalar.
    """
    real_images = _check_images("real_images", real_images)
    fake_images = _check_images("fake_images", fake_images)
    if alpha is None:
        alpha = tf.random.uniform([tf.shape(real_images)[0]])
    interpolates = interpolate(real_images, fake_images, alpha)
    return tf.reduce_mean(gradient_norm_terms(discriminator, interpolates))


def dragan(
    discriminator: Discriminator,
    real_images: tf.Tensor,
    noise: tf.Tensor | None = None,
) -> tf.Tensor:
    """Return the DRAGAN penalty averaged over the batch (before lambda).

    Args:
      discriminator: Maps images to logits.
      real_images: [batch_size, H, W, C], values in [0, 1].
      noise: U[0, 1) values of the same shape; drawn when `None`.

    Returns:
      A float32 scalar.
    """
    real_images = _check_images("real_images", real_images)
    if noise is None:
        noise = tf.random.uniform(tf.shape(real_images))
    batch_std = tf.math.reduce_std(tf.cast(real_images, tf.float32))
    perturbed = dragan_perturb(real_images, noise, batch_std)
    return tf.reduce_mean(gradient_norm_terms(discriminator, perturbed))


def l2_kernels(discriminator: keras.Model) -> list[keras.Variable]:
    """Return the discriminator's convolution and dense kernels.

    Biases and the scale and offset of normalization layers are left out.
    Under spectral norm these are the raw kernels, before the division by
    sigma.
    """
    return [
        variable
        for variable in discriminator.trainable_variables
        if variable.name == "kernel"
    ]


def l2(kernels: Sequence[tf.Variable]) -> tf.Tensor:
    """Return the mean over layers of ||W||^2 / 2.

    Args:
      kernels: The penalized kernels, for example `l2_kernels(d_model)`.

    Returns:
      A float32 scalar: one term per layer, averaged rather than summed, as
      in compare_gan.
    """
    if not kernels:
        raise ValueError("l2 needs at least one kernel. Received: none.")
    terms = [tf.nn.l2_loss(tf.cast(kernel, tf.float32)) for kernel in kernels]
    return tf.add_n(terms) / float(len(terms))
