"""One GAN of the landscape: its networks, optimizers and update steps.

`GanModel` runs the study's update on one replica's share of a global batch.
Every loss and penalty is reduced as sum over the replica's examples divided
by the global batch size, and per-model terms (L2) are divided by the number
of replicas. The optimizers sum gradients over replicas, so the update equals
the single-device update on the whole global batch.

Precision: under `mixed_bfloat16` and `mixed_float16` the networks keep
float32 variables and compute in 16 bits, while the logits, losses,
penalties, spectral norm's power iteration and batch-norm statistics stay
float32. `mixed_float16` scales the losses dynamically
(`keras.optimizers.LossScaleOptimizer`), and a step whose scaled gradients
overflow is skipped by the optimizer, as Keras does.

NOTE: under spectral norm the discriminator's input gradients start near
1e-10 (SNDCGAN at initialization), below float16's smallest value, so the
WGAN-GP and DRAGAN terms see zero gradients under `mixed_float16` until they
grow. `mixed_bfloat16` has float32's range and does not have this problem.

Discriminator passes per update, and what they do to spectral norm:

- The discriminator loss uses one pass over real and fake images together in
  training mode, so spectral norm advances u exactly once per update. With
  batch norm in the discriminator, real and fake go through separate passes,
  as in the study, so that each is normalized by its own statistics.
- The penalty pass and the generator's pass use training mode only when the
  discriminator has batch norm (the study's choice: batch statistics of the
  penalty inputs and of the fake batch). Deviation: compare_gan called every
  pass in training mode, which advanced spectral norm's u two or three times
  per step; here those passes run with `training=False` under spectral norm.

A step that ends with a generator update runs the generator forward once for
both updates (`discriminator_and_generator_step`). The discriminator update
does not change the generator's weights, so a second pass on the same
latents would return the same images. Batch norm's moving averages are then
moved a second time by the same batch statistics, which leaves them where
two passes would.
"""

from typing import NamedTuple

import keras
import tensorflow as tf

from tfgan_study import architectures
from tfgan_study import config as config_lib
from tfgan_study import losses
from tfgan_study import normalization
from tfgan_study import penalties

# The TF1 Adam default that the study's code used (Keras defaults to 1e-7).
ADAM_EPSILON = 1e-8


class StepInputs(NamedTuple):
    """One replica's share of a training step; every field is a tensor.

    Attributes:
      images: Real images [batch, H, W, C], float32 in [0, 1].
      z: Latents [batch, z_dim], uniform in [-1, 1].
      alpha: WGAN-GP interpolation coefficients [batch] in [0, 1).
      dragan_noise: DRAGAN noise [batch, H, W, C] in [0, 1), or shape
        [batch, 0] when the penalty is not DRAGAN.
      dragan_std: The global real batch's standard deviation, one copy per
        example, [batch].
    """

    images: tf.Tensor
    z: tf.Tensor
    alpha: tf.Tensor
    dragan_noise: tf.Tensor
    dragan_std: tf.Tensor


def _per_example_sum(values: tf.Tensor, global_batch_size: int) -> tf.Tensor:
    return tf.reduce_sum(values) / float(global_batch_size)


def build_networks(
    config: config_lib.StudyConfig, num_channels: int
) -> tuple[keras.Model, keras.Model]:
    """Build (generator, discriminator) under the config's dtype policy.

    The global Keras policy is set only while the layers are created, so
    other models of the process keep theirs.
    """
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(config.precision)
    try:
        return architectures.build_models(
            config.architecture,
            config.z_dim,
            config.resolution,
            num_channels,
            config.normalization,
        )
    finally:
        keras.mixed_precision.set_dtype_policy(previous)


def _all_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Return the layers of `model` and of the models nested in it."""
    layers = []
    for layer in model.layers:
        layers.append(layer)
        if isinstance(layer, keras.Model):
            layers.extend(_all_layers(layer))
    return layers


class GanModel:
    """Networks, optimizers and update steps of one configuration.

    Build it inside the strategy's scope.

    Args:
      config: A resolved `StudyConfig`.
      num_channels: Image channels of the dataset.
      num_replicas: Replicas in sync; losses are scaled for them.
    """

    def __init__(
        self,
        config: config_lib.StudyConfig,
        num_channels: int,
        num_replicas: int = 1,
    ):
        self.config = config
        self.num_replicas = num_replicas
        # The initial weights, and with them the whole run, follow the seed.
        keras.utils.set_random_seed(config.seed)
        self.generator, self.discriminator = build_networks(
            config, num_channels
        )
        self.g_optimizer = self._create_optimizer("g_optimizer")
        self.d_optimizer = self._create_optimizer("d_optimizer")
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.loss_fn = losses.get(config.loss)
        self.l2_kernels = penalties.l2_kernels(self.discriminator)
        self.generator_batch_norms = [
            layer
            for layer in _all_layers(self.generator)
            if isinstance(layer, normalization.BatchNormalization)
        ]
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")

    def _create_optimizer(self, name: str) -> keras.optimizers.Optimizer:
        adam = keras.optimizers.Adam(
            learning_rate=self.config.learning_rate,
            beta_1=self.config.beta1,
            beta_2=self.config.beta2,
            epsilon=ADAM_EPSILON,
            name=name,
        )
        if self.config.precision == "mixed_float16":
            return keras.optimizers.LossScaleOptimizer(adam, name=name)
        return adam

    def _apply_gradients(
        self,
        optimizer: keras.optimizers.Optimizer,
        tape: tf.GradientTape,
        loss: tf.Tensor,
        variables: list,
    ) -> None:
        """Update `variables` from `loss`, scaling it under float16."""
        output_gradients = None
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            # Seeding the backward pass with the scale gives the gradients
            # of the scaled loss. The optimizer divides by the scale again
            # and skips the update when they overflowed.
            output_gradients = optimizer.scale_loss(tf.ones_like(loss))
        gradients = tape.gradient(
            loss, variables, output_gradients=output_gradients
        )
        optimizer.apply_gradients(zip(gradients, variables))

    def checkpoint(self) -> tf.train.Checkpoint:
        """Return a checkpoint of all the state a resumed run needs."""
        return tf.train.Checkpoint(
            generator=self.generator,
            discriminator=self.discriminator,
            g_optimizer=self.g_optimizer,
            d_optimizer=self.d_optimizer,
            step=self.step,
        )

    @property
    def _d_has_batch_norm(self) -> bool:
        return self.config.normalization == "batch_norm"

    def _secondary_pass_training(self) -> bool:
        # Training mode for the penalty and generator passes only matters for
        # batch norm (batch statistics) and spectral norm (advancing u).
        return self.config.normalization != "spectral_norm"

    def d_logits_for_update(
        self, real_images: tf.Tensor, fake_images: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Return (real, fake) logits of the update's training-mode pass."""
        if self._d_has_batch_norm:
            return (
                self.discriminator(real_images, training=True),
                self.discriminator(fake_images, training=True),
            )
        logits = self.discriminator(
            tf.concat([real_images, fake_images], axis=0), training=True
        )
        real_logits, fake_logits = tf.split(logits, 2, axis=0)
        return real_logits, fake_logits

    def _penalty(self, inputs: StepInputs, fake_images: tf.Tensor):
        """Return the replica's share of the penalty (before the weight)."""
        kind = self.config.penalty
        global_batch_size = self.config.global_batch_size
        if kind == "none":
            return tf.constant(0.0)
        if kind == "l2":
            return penalties.l2(self.l2_kernels) / float(self.num_replicas)

        def discriminator(images):
            return self.discriminator(
                images, training=self._secondary_pass_training()
            )

        if kind == "wgan_gp":
            points = penalties.interpolate(
                inputs.images, fake_images, inputs.alpha
            )
        else:
            points = penalties.dragan_perturb(
                inputs.images, inputs.dragan_noise, inputs.dragan_std
            )
        terms = penalties.gradient_norm_terms(discriminator, points)
        return _per_example_sum(terms, global_batch_size)

    def discriminator_step(self, inputs: StepInputs) -> dict[str, tf.Tensor]:
        """Run one discriminator update; return this replica's loss shares."""
        fake_images = self.generator(inputs.z, training=True)
        return self._discriminator_update(inputs, fake_images)

    def _discriminator_update(
        self, inputs: StepInputs, fake_images: tf.Tensor
    ) -> dict[str, tf.Tensor]:
        global_batch_size = self.config.global_batch_size
        fake_images = tf.stop_gradient(fake_images)
        with tf.GradientTape() as tape:
            real_logits, fake_logits = self.d_logits_for_update(
                inputs.images, fake_images
            )
            terms = self.loss_fn(real_logits, fake_logits)
            d_real = _per_example_sum(terms.d_real, global_batch_size)
            d_fake = _per_example_sum(terms.d_fake, global_batch_size)
            penalty = self._penalty(inputs, fake_images)
            d_loss = d_real + d_fake + self.config.penalty_weight * penalty
        self._apply_gradients(
            self.d_optimizer,
            tape,
            d_loss,
            self.discriminator.trainable_variables,
        )
        return {
            "loss/d": d_loss,
            "loss/d_real": d_real,
            "loss/d_fake": d_fake,
            "loss/penalty": penalty,
        }

    def generator_step(self, inputs: StepInputs) -> dict[str, tf.Tensor]:
        """Run one generator update with the step's latents."""
        with tf.GradientTape() as tape:
            fake_images = self.generator(inputs.z, training=True)
            g_loss = self._generator_loss(fake_images)
        self._apply_gradients(
            self.g_optimizer, tape, g_loss, self.generator.trainable_variables
        )
        return {"loss/g": g_loss}

    def _generator_loss(self, fake_images: tf.Tensor) -> tf.Tensor:
        fake_logits = self.discriminator(
            fake_images, training=self._secondary_pass_training()
        )
        terms = self.loss_fn(fake_logits, fake_logits)
        return _per_example_sum(terms.g, self.config.global_batch_size)

    def discriminator_and_generator_step(
        self, inputs: StepInputs
    ) -> dict[str, tf.Tensor]:
        """Run a discriminator update, then a generator update, on one batch.

        The result equals `discriminator_step` followed by `generator_step`,
        with one generator forward pass instead of two.
        """
        with tf.GradientTape() as g_tape:
            fake_images = self.generator(inputs.z, training=True)
        values = self._discriminator_update(inputs, fake_images)
        for layer in self.generator_batch_norms:
            layer.repeat_moving_average_update()
        # The tape records again, so the generator's gradient flows through
        # the images of the first pass into the updated discriminator.
        with g_tape:
            g_loss = self._generator_loss(fake_images)
        self._apply_gradients(
            self.g_optimizer,
            g_tape,
            g_loss,
            self.generator.trainable_variables,
        )
        values["loss/g"] = g_loss
        return values
