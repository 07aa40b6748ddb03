"""Image grids from generator modules, for `python -m hub_export.sample`.

A module is a TF2 SavedModel or a TF-Hub handle, loaded with `hub.load`.
The exports of `export_lib` record their latent distribution, and other
modules work too:

- The generator is the module's `__call__`, else the first of the
  signatures in `GENERATOR_SIGNATURES` that the module has.
- z_dim comes from the module's `z_dim` attribute, else from the static
  input shape of that generator.
- The latent distribution comes from the `z_distribution` attribute
  (`uniform` between `z_low` and `z_high`, or standard `normal`). A module
  without it gets z uniform in [-1, 1], the study's distribution.
- A generator whose input has a fixed batch size gets latents in batches of
  that size. The last batch is padded with zero latents, and their images are
  dropped.
"""

import math
import pathlib
from typing import Any, Callable, NamedTuple

import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_study import image_grid

# tensorflow_hub 0.16 imports tf_keras when tf.keras is Keras 3, and fails
# without it. Local SavedModels then load with tf.saved_model.load.
try:
    import tensorflow_hub as hub
except ImportError as error:
    hub = None
    _HUB_IMPORT_ERROR = error
else:
    _HUB_IMPORT_ERROR = None

GENERATOR_SIGNATURES = ("serving_default", "default", "generator")
SUPPORTED_DISTRIBUTIONS = ("uniform", "normal")
# Latents per call when the generator accepts any batch size.
MAX_BATCH_SIZE = 256
# Values this far outside [0, 1] are clipped with a warning.
RANGE_TOLERANCE = 1e-6


class Generator(NamedTuple):
    """A module's generator function and what its input should be.

    Attributes:
      function: Maps z [batch_size, z_dim] float32 to images, or to a dict
        containing them.
      input_shape: The static shape of z that the function declares, or
        `None` when it declares none.
      name: `__call__` or the signature's name, for messages.
    """

    function: Callable[[tf.Tensor], Any]
    input_shape: tf.TensorShape | None
    name: str


class LatentSpec(NamedTuple):
    """How to draw z for a module.

    Attributes:
      z_dim: Size of each latent vector.
      distribution: One of `SUPPORTED_DISTRIBUTIONS`.
      low: Lower bound of the uniform distribution.
      high: Upper bound of the uniform distribution.
      batch_size: The generator's fixed batch size, or `None` for any.
    """

    z_dim: int
    distribution: str
    low: float
    high: float
    batch_size: int | None


def load_module(handle: str) -> Any:
    """Load a module from a SavedModel directory or a TF-Hub handle.

    Raises:
      ValueError: If a local path is not a SavedModel directory, or if
        `handle` is a URL and tensorflow_hub cannot be imported.
    """
    is_url = "://" in handle
    if not is_url:
        path = pathlib.Path(handle)
        if not path.is_dir():
            raise ValueError(
                f"Module {handle} not found. Expected a SavedModel directory "
                "or a TF-Hub handle URL."
            )
        if not any(
            (path / name).exists()
            for name in ("saved_model.pb", "saved_model.pbtxt")
        ):
            raise ValueError(
                f"Module {handle} is not a SavedModel directory: it has no "
                "saved_model.pb."
            )
    if hub is not None:
        return hub.load(handle)
    if is_url:
        raise ValueError(
            f"Loading the handle {handle} needs tensorflow_hub, which failed "
            f"to import: {_HUB_IMPORT_ERROR}. With Keras 3 it needs tf_keras."
        )
    logging.warning(
        "tensorflow_hub failed to import (%s); loading %s with "
        "tf.saved_model.load.",
        _HUB_IMPORT_ERROR,
        handle,
    )
    return tf.saved_model.load(handle)


def _call_input_shape(module: Any) -> tf.TensorShape | None:
    """Return the z shape declared by the module's restored `__call__`."""
    for function in getattr(module.__call__, "concrete_functions", []):
        args, kwargs = function.structured_input_signature
        if len(args) == 1 and not kwargs:
            if isinstance(args[0], tf.TensorSpec):
                return args[0].shape
    return None


def find_generator(module: Any) -> Generator:
    """Return the module's generator: `__call__`, else a known signature.

    Raises:
      ValueError: If the module has neither, or the signature does not take
        exactly one input.
    """
    if callable(module):
        return Generator(module, _call_input_shape(module), "__call__")
    signatures = getattr(module, "signatures", {})
    for name in GENERATOR_SIGNATURES:
        if name not in signatures:
            continue
        signature = signatures[name]
        inputs = signature.structured_input_signature[1]
        if len(inputs) != 1:
            raise ValueError(
                f"Signature {name} must take one input, the latents z. "
                f"Received inputs: {', '.join(sorted(inputs))}."
            )
        ((key, spec),) = inputs.items()

        def call_signature(z, signature=signature, key=key):
            return signature(**{key: z})

        return Generator(call_signature, spec.shape, f"signature {name}")
    raise ValueError(
        "The module has no callable generator. Expected a __call__ function "
        f"or one of the signatures {', '.join(GENERATOR_SIGNATURES)}. "
        f"Received signatures: {', '.join(sorted(signatures)) or 'none'}."
    )


def _read_attribute(module: Any, name: str) -> Any:
    """Return a scalar attribute of the module as a Python value, or None."""
    value = getattr(module, name, None)
    if value is None:
        return None
    value = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    value = value.item()
    return value.decode() if isinstance(value, bytes) else value


def describe_latent(
    module: Any, generator: Generator, z_dim: int | None = None
) -> LatentSpec:
    """Return how to draw z for the module.

    Args:
      module: A loaded module.
      generator: The module's generator, from `find_generator`.
      z_dim: The latent size to use when the module does not state one.

    Raises:
      ValueError: If `z_dim` contradicts the module, if no z_dim is known, or
        if the module records an unsupported distribution.
    """
    shape = generator.input_shape
    batch_size = None
    shape_z_dim = None
    if shape is not None and shape.rank == 2:
        batch_size, shape_z_dim = shape.as_list()
    module_z_dim = _read_attribute(module, "z_dim")
    stated = module_z_dim if module_z_dim is not None else shape_z_dim
    if z_dim is not None and stated is not None and z_dim != stated:
        raise ValueError(
            f"The module expects z of shape [batch_size, {stated}]. "
            f"Received: z_dim={z_dim}."
        )
    z_dim = z_dim if z_dim is not None else stated
    if z_dim is None:
        raise ValueError(
            f"The module states no z_dim: it has no z_dim attribute and its "
            f"{generator.name} declares no input shape. Pass z_dim."
        )
    distribution = _read_attribute(module, "z_distribution")
    if distribution is None:
        logging.info(
            "The module records no latent distribution; drawing z uniformly "
            "from [-1, 1]."
        )
        return LatentSpec(z_dim, "uniform", -1.0, 1.0, batch_size)
    if distribution not in SUPPORTED_DISTRIBUTIONS:
        raise ValueError(
            f"Unsupported latent distribution {distribution!r}. Expected one "
            f"of: {', '.join(SUPPORTED_DISTRIBUTIONS)}."
        )
    low = _read_attribute(module, "z_low")
    high = _read_attribute(module, "z_high")
    return LatentSpec(
        z_dim,
        distribution,
        -1.0 if low is None else float(low),
        1.0 if high is None else float(high),
        batch_size,
    )


def sample_latents(spec: LatentSpec, num_samples: int, seed: int) -> np.ndarray:
    """Draw float32 z [num_samples, z_dim] from `np.random.RandomState(seed)`.

    The same seed gives the same latents on every machine.
    """
    random = np.random.RandomState(seed)
    shape = (num_samples, spec.z_dim)
    if spec.distribution == "normal":
        z = random.standard_normal(shape)
    else:
        z = random.uniform(spec.low, spec.high, shape)
    return z.astype(np.float32)


def _images_from_output(output: Any) -> np.ndarray:
    if isinstance(output, dict):
        if "images" in output:
            output = output["images"]
        elif "default" in output:
            output = output["default"]
        elif len(output) == 1:
            (output,) = output.values()
        else:
            raise ValueError(
                "The generator returned several outputs and none is named "
                f"images or default. Received keys: {', '.join(output)}."
            )
    images = np.asarray(output, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(
            "The generator must return images [batch_size, height, width, "
            f"channels]. Received shape: {images.shape}."
        )
    return images


def generate_images(
    generator: Generator, z: np.ndarray, batch_size: int | None = None
) -> np.ndarray:
    """Run the generator on z and return float32 images [N, H, W, C].

    Args:
      generator: From `find_generator`.
      z: Latents [N, z_dim].
      batch_size: The generator's fixed batch size, or `None` for any.
    """
    step = batch_size or MAX_BATCH_SIZE
    batches = []
    for start in range(0, len(z), step):
        chunk = z[start : start + step]
        count = len(chunk)
        if batch_size is not None and count < batch_size:
            padding = np.zeros((batch_size - count, z.shape[1]), z.dtype)
            chunk = np.concatenate([chunk, padding])
        output = generator.function(tf.constant(chunk))
        batches.append(_images_from_output(output)[:count])
    return np.concatenate(batches)


def check_range(images: np.ndarray) -> np.ndarray:
    """Return the images clipped to [0, 1], warning when that changes them.

    Raises:
      ValueError: If an image value is NaN or infinite.
    """
    if not np.all(np.isfinite(images)):
        raise ValueError("The generator returned NaN or infinite values.")
    low, high = float(images.min()), float(images.max())
    if low < -RANGE_TOLERANCE or high > 1.0 + RANGE_TOLERANCE:
        logging.warning(
            "The generator returned values in [%.4g, %.4g], outside [0, 1]; "
            "clipping them to [0, 1].",
            low,
            high,
        )
    return np.clip(images, 0.0, 1.0)


def generate_samples(
    module: Any, num_samples: int, seed: int, z_dim: int | None = None
) -> np.ndarray:
    """Draw `num_samples` images from a loaded module.

    Args:
      module: A loaded module, from `load_module`.
      num_samples: Number of images, at least 1.
      seed: Seed of the latents; the same seed gives the same latents.
      z_dim: The latent size to use when the module does not state one.

    Returns:
      Float32 images [num_samples, H, W, C] in [0, 1].

    Raises:
      ValueError: If `num_samples` is below 1 or the module cannot be
        sampled. The message gives the reason.
    """
    if num_samples < 1:
        raise ValueError(
            f"num_samples must be at least 1. Received: num_samples="
            f"{num_samples}."
        )
    generator = find_generator(module)
    spec = describe_latent(module, generator, z_dim)
    logging.info(
        "Sampling %d images through %s with z of size %d (%s).",
        num_samples,
        generator.name,
        spec.z_dim,
        spec.distribution,
    )
    z = sample_latents(spec, num_samples, seed)
    return check_range(generate_images(generator, z, spec.batch_size))


def write_sample_grid(
    handle: str,
    output: str | pathlib.Path,
    num_samples: int,
    seed: int,
    num_columns: int | None = None,
    z_dim: int | None = None,
) -> np.ndarray:
    """Load a module, draw samples and write them as one PNG grid.

    Args:
      handle: A SavedModel directory or a TF-Hub handle.
      output: Path of the PNG file to write.
      num_samples: Number of images, at least 1.
      seed: Seed of the latents.
      num_columns: Grid width in images; defaults to ceil(sqrt(num_samples)).
      z_dim: The latent size to use when the module does not state one.

    Returns:
      The images of the grid, float32 [num_samples, H, W, C] in [0, 1].

    Raises:
      ValueError: If an argument is invalid or the module cannot be
        sampled.
    """
    if num_columns is None:
        num_columns = max(1, math.ceil(math.sqrt(max(num_samples, 1))))
    if num_columns < 1:
        raise ValueError(
            f"num_columns must be at least 1. Received: num_columns="
            f"{num_columns}."
        )
    module = load_module(handle)
    images = generate_samples(module, num_samples, seed, z_dim)
    image_grid.save_grid(images, output, num_columns)
    logging.info(
        "Wrote %d samples in %d columns to %s.",
        num_samples,
        num_columns,
        output,
    )
    return images
