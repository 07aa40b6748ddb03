"""The benchmarks' SNDCGAN training step, built as the trainer builds it.

SNDCGAN at 32x32x3 with the non-saturating loss, spectral norm, no penalty
and z of size 128. This module defines no flags, so tests can import it.
"""

import tfgan_study  # noqa: F401  (sets TensorFlow's oneDNN option first)
import tensorflow as tf

from tfgan_study import config as config_lib
from tfgan_study import gan_model
from tfgan_study import train_lib


def _two_pass_step(strategy, model, use_xla: bool):
    """Return a step with a generator forward pass for each update."""

    @tf.function(jit_compile=use_xla)
    def replica_step(batch):
        inputs = gan_model.StepInputs(**batch)
        values = model.discriminator_step(inputs)
        values.update(model.generator_step(inputs))
        return values

    @tf.function
    def step(inputs):
        values = strategy.run(replica_step, args=(inputs,))
        model.step.assign_add(1)
        return values

    return step


def build(
    batch_size: int,
    precision: str = "float32",
    jit_compile: str = "false",
    generator_passes: int = 1,
):
    """Build the model and its compiled step on the default strategy.

    Args:
      batch_size: Images per discriminator update.
      precision: The trainer's --precision value.
      jit_compile: The trainer's --jit_compile value.
      generator_passes: 1 for the trainer's step, which shares the generator
        forward pass between the two updates; 2 to run the two updates one
        after the other, each with its own pass.

    Returns:
      (config, step): `step(inputs)` runs one discriminator and one
      generator update and returns the losses.
    """
    config = config_lib.resolve(
        config_lib.StudyConfig(
            dataset="cifar10",
            architecture="sndcgan",
            loss="ns",
            penalty="none",
            normalization="spectral_norm",
            global_batch_size=batch_size,
            precision=precision,
            jit_compile=jit_compile,
        )
    )
    strategy = tf.distribute.get_strategy()
    model = gan_model.GanModel(config, num_channels=3)
    if generator_passes == 1:
        _, step = train_lib._make_step_functions(strategy, model)
    else:
        use_xla = config_lib.use_xla(config, train_lib._device_type(strategy))
        step = _two_pass_step(strategy, model, use_xla)
    return config, step


def step_inputs(config, step: int):
    """Return the inputs of `step`: one fixed real batch, fresh randomness."""
    images = tf.random.stateless_uniform(
        [config.global_batch_size, 32, 32, 3], seed=[0, 0]
    )
    return train_lib.step_randomness(
        config, tf.constant(step, tf.int64), images
    )
