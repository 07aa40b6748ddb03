"""Export of a trained GAN as a TF2 SavedModel in TF-Hub's reusable format.

The exported object follows TF-Hub's Reusable SavedModel interface
(https://www.tensorflow.org/hub/reusable_saved_models) and loads with
`hub.load(path)` or `tf.saved_model.load(path)`.

Functions of the loaded object:

- `module(z)`: z is float32 [batch_size, z_dim], drawn uniformly from
  [z_low, z_high] = [-1, 1]. Returns images, float32
  [batch_size, height, width, channels] with values in [0, 1]. There is no
  `training` argument: batch norm always runs in inference mode.
- `module.discriminator(images)`: images are float32
  [batch_size, height, width, channels] in [0, 1]. Returns float32 logits of
  shape [batch_size], before the sigmoid (the probability that an image is
  real is sigmoid(logits)).

Signatures (`module.signatures`), called by keyword:

- `serving_default(z=...)` returns `{"images": ...}`.
- `discriminator(images=...)` returns `{"logits": ...}`.

Attributes:

- `variables`: every variable of the generator, batch-norm moving statistics
  included.
- `trainable_variables`: the generator's trainable weights, for fine-tuning.
- `regularization_losses`: an empty list.
- `discriminator_variables`: every variable of the discriminator, including
  the spectral-norm vectors u and any batch-norm statistics.
- Non-trainable `tf.Variable`s that describe the module: `z_dim` (int32),
  `z_distribution` (string, "uniform"), `z_low` and `z_high` (float32),
  `image_shape` (int32 [height, width, channels]), `checkpoint_step` (int64)
  and `config_json` (the run's resolved config as JSON). They are not in
  `variables`.

Batch norm and spectral norm run in inference mode from the stored moving
statistics and u vectors, so a latent gives the same image alone or in any
batch, and calls never change the stored variables. Fine-tuning through
`trainable_variables` therefore keeps the batch-norm statistics fixed.

Keras: `hub.KerasLayer(path, trainable=True)` works inside `tf_keras`
models. It is a `tf_keras` layer, which Keras 3 models reject (Keras 3.15,
tensorflow_hub 0.16.1). Keras 3 users load the module with `hub.load` or
`tf.saved_model.load`, or wrap it with
`keras.layers.TFSMLayer(path, call_endpoint="serving_default")`, whose
output is the dict `{"images": ...}`. Of these routes, only `hub.load`
needs `tf_keras`, because tensorflow_hub 0.16.1 imports it under Keras 3.
"""

import pathlib
import shutil
import tempfile
import uuid
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_study import checkpoints
from tfgan_study import config as config_lib
from tfgan_study import run_loader

Z_DISTRIBUTION = "uniform"
Z_LOW = -1.0
Z_HIGH = 1.0

SERVING_SIGNATURE = "serving_default"
DISCRIMINATOR_SIGNATURE = "discriminator"
Z_KEY = "z"
IMAGES_KEY = "images"
LOGITS_KEY = "logits"

# Largest difference that verification accepts between the reloaded export
# and the in-memory networks, absolute for images in [0, 1] and relative to
# max(1, |logit|) for logits.
VERIFY_TOLERANCE = 1e-5
VERIFY_NUM_SAMPLES = 8
VERIFY_Z_SEED = 0


class ExportVerificationError(RuntimeError):
    """The reloaded export does not reproduce the in-memory networks."""


class HubModule(NamedTuple):
    """The object to save and the signatures to save with it."""

    root: tf.train.Checkpoint
    signatures: dict[str, tf.types.experimental.GenericFunction]


class Verification(NamedTuple):
    """Largest differences found when the export was reloaded.

    Attributes:
      generator_difference: Max |exported - in-memory| over the images of
        `__call__` and of the serving signature.
      discriminator_difference: Max |exported - in-memory| / max(1, |logit|)
        over the discriminator's logits.
      batch_difference: Max difference between the image of one latent
        generated alone and inside a batch.
    """

    generator_difference: float
    discriminator_difference: float
    batch_difference: float


class ExportResult(NamedTuple):
    """The location, source checkpoint and verification of one export."""

    export_dir: str
    step: int
    checkpoint: str
    verification: Verification


def _non_trainable(value, dtype: tf.DType, name: str) -> tf.Variable:
    return tf.Variable(value, dtype=dtype, trainable=False, name=name)


def build_hub_module(
    generator: keras.Model,
    discriminator: keras.Model,
    step: int,
    config: config_lib.StudyConfig,
) -> HubModule:
    """Wrap the two networks in an object with TF-Hub's reusable interface.

    Args:
      generator: Maps z [batch_size, z_dim] to images
        [batch_size, H, W, C] in [0, 1].
      discriminator: Maps images [batch_size, H, W, C] in [0, 1] to logits
        [batch_size].
      step: The training step of the weights, stored as `checkpoint_step`.
      config: The run's resolved config, stored as `config_json`.

    Returns:
      The root object and its signatures, ready for `tf.saved_model.save`.

    Raises:
      ValueError: If the discriminator does not take the generator's images.
    """
    z_dim = int(generator.input_shape[-1])
    image_shape = [int(size) for size in generator.output_shape[1:]]
    d_image_shape = [int(size) for size in discriminator.input_shape[1:]]
    if d_image_shape != image_shape:
        raise ValueError(
            "The discriminator must take the generator's images. Expected "
            f"input shape [batch_size, {', '.join(map(str, image_shape))}]. "
            f"Received: discriminator.input_shape={discriminator.input_shape}."
        )
    z_spec = tf.TensorSpec([None, z_dim], tf.float32, name=Z_KEY)
    images_spec = tf.TensorSpec([None, *image_shape], tf.float32, IMAGES_KEY)

    # EnsureShape checks the shape at run time. The signatures need it
    # because they pass inputs of any shape on to the graph.
    @tf.function(input_signature=[z_spec])
    def generate(z):
        z = tf.ensure_shape(z, [None, z_dim])
        return tf.cast(generator(z, training=False), tf.float32)

    @tf.function(input_signature=[images_spec])
    def discriminate(images):
        images = tf.ensure_shape(images, [None, *image_shape])
        return tf.cast(discriminator(images, training=False), tf.float32)

    @tf.function(input_signature=[z_spec])
    def serve_generator(z):
        return {IMAGES_KEY: generate(z)}

    @tf.function(input_signature=[images_spec])
    def serve_discriminator(images):
        return {LOGITS_KEY: discriminate(images)}

    # Not a tf.Module: its variables and trainable_variables are read-only
    # properties, and a reloaded tf.Module has no trainable_variables.
    root = tf.train.Checkpoint()
    root.__call__ = generate
    root.discriminator = discriminate
    root.variables = list(generator.variables)
    root.trainable_variables = list(generator.trainable_variables)
    root.regularization_losses = []
    root.discriminator_variables = list(discriminator.variables)
    root.z_dim = _non_trainable(z_dim, tf.int32, "z_dim")
    root.z_distribution = _non_trainable(
        Z_DISTRIBUTION, tf.string, "z_distribution"
    )
    root.z_low = _non_trainable(Z_LOW, tf.float32, "z_low")
    root.z_high = _non_trainable(Z_HIGH, tf.float32, "z_high")
    root.image_shape = _non_trainable(image_shape, tf.int32, "image_shape")
    root.checkpoint_step = _non_trainable(step, tf.int64, "checkpoint_step")
    root.config_json = _non_trainable(
        config_lib.to_json(config), tf.string, "config_json"
    )
    signatures = {
        SERVING_SIGNATURE: serve_generator,
        DISCRIMINATOR_SIGNATURE: serve_discriminator,
    }
    return HubModule(root, signatures)


def _max_difference(actual, expected, relative: bool = False) -> float:
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    difference = np.abs(actual - expected)
    if relative:
        difference = difference / np.maximum(1.0, np.abs(expected))
    return float(np.max(difference))


def verify_export(
    export_dir: str | pathlib.Path,
    generator: keras.Model,
    discriminator: keras.Model,
) -> Verification:
    """Reload an export and compare it with the in-memory networks.

    The export is loaded with `tf.saved_model.load` and called on fixed
    latents through `__call__` and the serving signature, and its
    discriminator on the resulting images. The in-memory networks run with
    `training=False`.

    Raises:
      ExportVerificationError: If a difference exceeds `VERIFY_TOLERANCE`.
    """
    loaded = tf.saved_model.load(str(export_dir))
    z_dim = int(generator.input_shape[-1])
    z = tf.random.stateless_uniform(
        [VERIFY_NUM_SAMPLES, z_dim],
        seed=[VERIFY_Z_SEED, 0],
        minval=Z_LOW,
        maxval=Z_HIGH,
    )
    expected_images = generator(z, training=False)
    images = loaded(z)
    signature_images = loaded.signatures[SERVING_SIGNATURE](z=z)[IMAGES_KEY]
    single_image = loaded(z[:1])
    expected_logits = discriminator(expected_images, training=False)
    logits = loaded.discriminator(expected_images)

    verification = Verification(
        generator_difference=max(
            _max_difference(images, expected_images),
            _max_difference(signature_images, expected_images),
        ),
        discriminator_difference=_max_difference(
            logits, expected_logits, relative=True
        ),
        batch_difference=_max_difference(single_image, images[:1]),
    )
    logging.info(
        "Verified the reloaded export in %s on %d latents: max difference "
        "%.3g for the generator, %.3g for the discriminator logits, %.3g "
        "between one latent alone and in a batch (tolerance %.0e).",
        export_dir,
        VERIFY_NUM_SAMPLES,
        *verification,
        VERIFY_TOLERANCE,
    )
    failed = {
        name: value
        for name, value in verification._asdict().items()
        if not value <= VERIFY_TOLERANCE
    }
    if failed:
        details = ", ".join(
            f"{name}={value:.3g}" for name, value in failed.items()
        )
        raise ExportVerificationError(
            "The reloaded export does not match the in-memory networks "
            f"within {VERIFY_TOLERANCE:.0e}. Received: {details}."
        )
    return verification


def check_export_dir(
    export_dir: str | pathlib.Path,
    overwrite: bool,
    model_dir: str | pathlib.Path | None = None,
) -> None:
    """Raise unless `export_dir` is absent, empty, or may be overwritten.

    Raises:
      FileExistsError: If `export_dir` is a file, or a non-empty directory
        and `overwrite` is false.
      ValueError: If `export_dir` is `model_dir`, contains it, or lies in its
        `checkpoints/` folder, where an overwrite would delete the run.
    """
    path = pathlib.Path(export_dir)
    if model_dir is not None:
        run = pathlib.Path(model_dir).resolve()
        target = path.resolve()
        if target == run or run.is_relative_to(target) or target.is_relative_to(
            run / "checkpoints"
        ):
            raise ValueError(
                f"export_dir {path} would replace the run in {model_dir} or its "
                "checkpoints. Choose an export_dir outside them, such as "
                f"{pathlib.Path(model_dir) / 'hub'}."
            )
    if not path.exists():
        return
    if not path.is_dir():
        raise FileExistsError(
            f"export_dir {path} exists and is not a directory. Choose another "
            "export_dir."
        )
    if overwrite or not any(path.iterdir()):
        return
    raise FileExistsError(
        f"export_dir {path} exists and is not empty. Set overwrite "
        "(--overwrite) to replace it, or choose another export_dir."
    )


def _move_into_place(source: pathlib.Path, target: pathlib.Path) -> None:
    """Rename `source` to `target`, replacing `target` if it exists."""
    if not target.exists():
        source.rename(target)
        return
    # The old export moves aside first, so that it comes back if the second
    # rename fails.
    backup = target.with_name(f".{target.name}.replaced-{uuid.uuid4().hex}")
    target.rename(backup)
    try:
        source.rename(target)
    except OSError:
        backup.rename(target)
        raise
    shutil.rmtree(backup)


def export_model(
    generator: keras.Model,
    discriminator: keras.Model,
    export_dir: str | pathlib.Path,
    step: int,
    config: config_lib.StudyConfig,
    overwrite: bool = False,
) -> Verification:
    """Save the networks as a hub module in `export_dir` and verify it.

    The SavedModel is written to a temporary sibling of `export_dir`,
    reloaded and compared with the in-memory networks (`verify_export`), and
    only then renamed to `export_dir`. A failed export leaves `export_dir`
    as it was.

    NOTE: The final rename needs `export_dir` and its parent on a local file
    system; object stores such as gs:// are not supported.

    Args:
      generator: The generator, z [batch_size, z_dim] -> images in [0, 1].
      discriminator: The discriminator, images in [0, 1] -> logits
        [batch_size].
      export_dir: The directory to create.
      step: The training step of the weights.
      config: The run's resolved config.
      overwrite: Whether to replace an existing non-empty `export_dir`.

    Returns:
      The differences measured by the verification.

    Raises:
      FileExistsError: See `check_export_dir`.
      ExportVerificationError: If the reloaded export differs from the
        networks.
    """
    target = pathlib.Path(export_dir)
    check_export_dir(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = pathlib.Path(
        tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent)
    )
    try:
        module = build_hub_module(generator, discriminator, step, config)
        logging.info("Writing the SavedModel to %s.", temporary)
        tf.saved_model.save(
            module.root, str(temporary), signatures=module.signatures
        )
        verification = verify_export(temporary, generator, discriminator)
        _move_into_place(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    logging.info("Exported step %d to %s.", step, target)
    return verification


def default_checkpoint(model_dir: str) -> str:
    """Return `best` if a checkpoint of the run has a FID, else `latest`."""
    store = checkpoints.CheckpointStore(model_dir, tf.train.Checkpoint())
    if store.best_step() is not None:
        return "best"
    return "latest"


def export_run(
    model_dir: str,
    export_dir: str | pathlib.Path,
    checkpoint: str | int | None = None,
    overwrite: bool = False,
) -> ExportResult:
    """Export a checkpoint of the run in `model_dir` as a hub module.

    Args:
      model_dir: A directory written by `python -m tfgan_study.train`.
      export_dir: The directory to create.
      checkpoint: `best` (lowest FID), `latest` or a step number. `None`
        takes `best` when some checkpoint has a recorded FID, else `latest`.
      overwrite: Whether to replace an existing non-empty `export_dir`.

    Returns:
      Where the export went, the step and selector used, and the
      verification's differences.

    Raises:
      ValueError: If `model_dir` contains no run or no such checkpoint. The
        message lists the available steps.
      FileExistsError: See `check_export_dir`.
      ExportVerificationError: If the reloaded export differs from the
        networks.
    """
    # Checked first, so that a bad export_dir fails before the slow load.
    check_export_dir(export_dir, overwrite, model_dir)
    if checkpoint is None:
        checkpoint = default_checkpoint(model_dir)
        logging.info(
            "No checkpoint requested; taking the %s one (%s).",
            checkpoint,
            "lowest FID" if checkpoint == "best" else "no FID recorded",
        )
    logging.info("Restoring the %s checkpoint of %s.", checkpoint, model_dir)
    run = run_loader.load_run(model_dir, checkpoint)
    logging.info("Restored step %d.", run.step)
    verification = export_model(
        run.model.generator,
        run.model.discriminator,
        export_dir,
        run.step,
        run.config,
        overwrite,
    )
    return ExportResult(
        str(export_dir), run.step, str(checkpoint), verification
    )
