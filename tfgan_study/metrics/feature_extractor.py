"""Features and logits of a classifier network, the inputs of FID, KID and IS.

FID and KID compare features of real and generated images, and the Inception
Score uses the logits of generated images. `FeatureExtractor` loads the
network once with `tensorflow_hub.load` and runs it batch by batch.

It has two modes, chosen from the loaded module:

- TF-GAN's Inception module (`config.DEFAULT_EVAL_MODEL`, or any module
  whose call returns a dict with `pool_3` and `logits`). The images get the
  study's preprocessing: values times 255, grey tiled to 3 channels, the TF1
  legacy bilinear resize to 299x299, then (x - 128) / 128. Features are the
  flattened `pool_3` activations [N, 2048] and logits the 1008 `logits`.
- Any other module, called as `module(images)` on images in [0, 1], which
  returns features [N, D]. If the module has a callable `logits` attribute,
  `module.logits(images)` gives the logits. Otherwise logits are None and the
  Inception Score is not available.
"""

from typing import Iterable, Iterator, NamedTuple

from absl import logging
import numpy as np
import tensorflow as tf
import tensorflow_hub as hub

from tfgan_study import config

INCEPTION_IMAGE_SIZE = 299
INCEPTION_PREPROCESSING_ID = "tfgan_inception_legacy_bilinear_299"
MODULE_CALL_PREPROCESSING_ID = "module_call_0_1"
DEFAULT_BATCH_SIZE = 100

_INCEPTION_OUTPUT_KEYS = frozenset({"pool_3", "logits"})

# Values this far outside [0, 1] are accepted as round-off.
_RANGE_TOLERANCE = 1e-4


class Activations(NamedTuple):
    """Outputs of the feature network for a set of images.

    Attributes:
        features: Float32 array of shape [num_images, feature_dim].
        logits: Float32 array of shape [num_images, num_classes], or None
            when the network has no logits.
    """

    features: np.ndarray
    logits: np.ndarray | None


def preprocess_for_inception(
    images: tf.Tensor,
    output_size: tuple[int, int] = (INCEPTION_IMAGE_SIZE, INCEPTION_IMAGE_SIZE),
) -> tf.Tensor:
    """Maps images in [0, 1] to the input of TF-GAN's Inception module.

    The steps are those of compare_gan through TF-GAN `preprocess_image`:

    1. x * 255, kept as float (not rounded to uint8);
    2. a single channel is tiled to 3;
    3. bilinear resize with the TF1 rule (align_corners=False,
       half_pixel_centers=False): output pixel i samples the input at
       i * in_size / out_size, clamped to the last pixel. TF2's
       `tf.image.resize` samples at (i + 0.5) * scale - 0.5 instead and gives
       different pixels, so this calls the `ResizeBilinear` op directly;
    4. (x - 128) / 128, giving values in [-1, 1).

    Args:
        images: Float tensor of shape [batch, height, width, channels] with
            values in [0, 1] and 1 or 3 channels. The range is not checked
            here.
        output_size: (height, width) of the output. Defaults to (299, 299).

    Returns:
        Float32 tensor of shape [batch, output_height, output_width, 3].

    Raises:
        ValueError: If `images` is not 4-D or has neither 1 nor 3 channels.
    """
    images = tf.convert_to_tensor(images, dtype=tf.float32)
    if images.shape.rank != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(
            "Inception input must have shape [batch, height, width, C] with "
            f"C 1 or 3. Received: shape={images.shape}."
        )
    images = images * 255.0
    if images.shape[-1] == 1:
        images = tf.tile(images, [1, 1, 1, 3])
    images = tf.raw_ops.ResizeBilinear(
        images=images,
        size=list(output_size),
        align_corners=False,
        half_pixel_centers=False,
    )
    return (images - 128.0) / 128.0


class FeatureExtractor:
    """Computes features and logits with a network loaded from TF-Hub.

    Images enter in [0, 1] as float and are never quantized, so generated
    images reach the network as the floats compare_gan fed it. Values outside
    [0, 1] raise, because a wrong input range changes FID without any other
    sign.

    Deviation: compare_gan loads the frozen 2015-12-05 Inception graph from
    a tarball and runs it 50 images at a time. This class loads TF-GAN's
    TF-Hub module of the same network and runs `batch_size` images at a
    time, which changes the features by round-off only.

    `preprocessing_id` is `INCEPTION_PREPROCESSING_ID` in Inception mode and
    `MODULE_CALL_PREPROCESSING_ID` otherwise.
    """

    def __init__(self, handle: str, batch_size: int | None = None):
        """Loads the network.

        Args:
            handle: TF-Hub handle or local SavedModel path.
            batch_size: Images per network call. Defaults to the module's
                fixed batch size if its call signature has one, else
                `DEFAULT_BATCH_SIZE`. When the signature fixes the batch
                size, the last partial batch is padded with zeros and the
                padding's outputs are dropped.

        Raises:
            TypeError: If the loaded object is not callable.
            ValueError: If `batch_size` is not positive or differs from the
                batch size that the module's signature fixes.
        """
        self._handle = handle
        self._module = hub.load(handle)
        if not callable(self._module):
            raise TypeError(
                f"The feature model must be callable on images. Received: "
                f"handle={handle!r}, type={type(self._module).__name__}."
            )
        self._is_inception = (
            handle == config.DEFAULT_EVAL_MODEL
            or _returns_inception_outputs(self._module)
        )
        self._fixed_batch_sizes = _fixed_batch_sizes(self._module)
        self._batch_size = _choose_batch_size(
            batch_size, self._fixed_batch_sizes
        )
        logits_function = getattr(self._module, "logits", None)
        self._logits_function = (
            logits_function if callable(logits_function) else None
        )
        logging.info(
            "Loaded feature model %s: preprocessing %s, batch size %d, "
            "logits %s.",
            handle,
            self.preprocessing_id,
            self._batch_size,
            "available" if self.has_logits else "not available",
        )

    @property
    def handle(self) -> str:
        """The TF-Hub handle or SavedModel path that was loaded."""
        return self._handle

    @property
    def preprocessing_id(self) -> str:
        """Name of the input preprocessing, part of reference cache keys."""
        if self._is_inception:
            return INCEPTION_PREPROCESSING_ID
        return MODULE_CALL_PREPROCESSING_ID

    @property
    def batch_size(self) -> int:
        """Number of images per network call."""
        return self._batch_size

    @property
    def has_logits(self) -> bool:
        """Whether `compute` returns logits, which the Inception Score needs."""
        return self._is_inception or self._logits_function is not None

    def compute(
        self, batches: Iterable[np.ndarray] | np.ndarray
    ) -> Activations:
        """Runs the network over all images.

        The incoming batches are regrouped into network calls of
        `batch_size` images, so the result does not depend on how the images
        are split into batches.

        Args:
            batches: Iterable of float image batches (NumPy arrays or
                tensors) of shape [b, height, width, channels] with values
                in [0, 1]. A single 4-D array or tensor counts as one batch.
                Inception mode needs 1 or 3 channels.

        Returns:
            `Activations` with float32 features [num_images, feature_dim]
            and logits [num_images, num_classes], or None logits when the
            network has none.

        Raises:
            ValueError: If a batch is not 4-D, contains NaN or infinite
                values, has values outside [0, 1], if there are no images,
                or if the network returns an unexpected shape.
            TypeError: If a module outside Inception mode returns a dict.
        """
        if isinstance(batches, (np.ndarray, tf.Tensor)):
            batches = [batches]
        feature_chunks, logits_chunks = [], []
        for chunk in _regroup(
            self._validate_batches(batches), self._batch_size
        ):
            features, logits = self._run_network(chunk)
            feature_chunks.append(features)
            logits_chunks.append(logits)
        if not feature_chunks:
            raise ValueError("The feature model received no images.")
        features = np.concatenate(feature_chunks, axis=0)
        logits = None
        if self.has_logits:
            logits = np.concatenate(logits_chunks, axis=0)
        return Activations(features=features, logits=logits)

    def _validate_batches(
        self, batches: Iterable[np.ndarray]
    ) -> Iterator[np.ndarray]:
        """Yields each batch as float32 NumPy after checking shape and range."""
        for index, batch in enumerate(batches):
            batch = np.asarray(batch, dtype=np.float32)
            if batch.ndim != 4:
                raise ValueError(
                    "Each batch must have shape [batch, height, width, "
                    f"channels]. Received: shape={batch.shape} in batch "
                    f"{index}."
                )
            if batch.shape[0] == 0:
                continue
            if not np.all(np.isfinite(batch)):
                raise ValueError(
                    "Images contain NaN or infinite values. Received: "
                    f"num_non_finite={np.count_nonzero(~np.isfinite(batch))} "
                    f"in batch {index}."
                )
            low, high = float(np.min(batch)), float(np.max(batch))
            if low < -_RANGE_TOLERANCE or high > 1.0 + _RANGE_TOLERANCE:
                raise ValueError(
                    "Images must have float values in the range [0, 1]. "
                    f"Received: min={low:.6g}, max={high:.6g} in batch "
                    f"{index}. Map generator output in [-1, 1] with "
                    "(x + 1) / 2, and uint8 images with x / 255."
                )
            yield batch

    def _run_network(
        self, images: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Runs one call of at most `batch_size` images."""
        num_images = images.shape[0]
        if self._fixed_batch_sizes and num_images < self._batch_size:
            padding = np.zeros(
                (self._batch_size - num_images,) + images.shape[1:],
                dtype=images.dtype,
            )
            images = np.concatenate([images, padding], axis=0)

        if self._is_inception:
            # NOTE: the tests run this branch on a stand-in module with the
            # real output names, because the TF-Hub Inception module needs
            # network access.
            outputs = self._module(preprocess_for_inception(images))
            features = outputs["pool_3"]
            logits = outputs["logits"]
        else:
            features = self._module(tf.constant(images))
            if isinstance(features, dict):
                raise TypeError(
                    "The feature model returned a dict without both "
                    "'pool_3' and 'logits', so it is neither TF-GAN's "
                    "Inception module nor a model returning features. "
                    f"Received keys: {sorted(features)}."
                )
            logits = None
            if self._logits_function is not None:
                logits = self._logits_function(tf.constant(images))

        num_rows = images.shape[0]
        features = _to_rows("features", features, num_rows, num_images)
        if logits is not None:
            logits = _to_rows("logits", logits, num_rows, num_images)
        return features, logits


def _to_rows(
    name: str, values: tf.Tensor, num_rows: int, num_images: int
) -> np.ndarray:
    """Flattens a network output of num_rows rows to [num_images, dim] float32.

    The rows after `num_images` are outputs for padding and are dropped.
    """
    values = np.asarray(values, dtype=np.float32)
    if values.ndim < 2 or values.shape[0] != num_rows:
        raise ValueError(
            f"The feature model's {name} must have shape [batch, ...] with "
            f"batch {num_rows}. Received: shape={values.shape}."
        )
    # [batch, 1, 1, dim] from Inception's pool_3 -> [batch, dim].
    return values[:num_images].reshape(num_images, -1)


def _regroup(batches: Iterable[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """Yields the images of `batches` in groups of `size`, the last shorter."""
    pending, num_pending = [], 0
    for batch in batches:
        pending.append(batch)
        num_pending += batch.shape[0]
        while num_pending >= size:
            images = np.concatenate(pending, axis=0)
            yield images[:size]
            pending = [images[size:]]
            num_pending -= size
    if num_pending:
        yield np.concatenate(pending, axis=0)


def _concrete_functions(module) -> list:
    """Returns the traced functions behind a loaded module's `__call__`."""
    call = getattr(module, "__call__", None)
    return list(getattr(call, "concrete_functions", None) or [])


def _returns_inception_outputs(module) -> bool:
    """Checks whether a traced call returns `pool_3` and `logits` in a dict."""
    for function in _concrete_functions(module):
        outputs = function.structured_outputs
        if (
            isinstance(outputs, dict)
            and _INCEPTION_OUTPUT_KEYS <= outputs.keys()
        ):
            return True
    return False


def _fixed_batch_sizes(module) -> frozenset[int]:
    """Returns the batch sizes that the module's call signatures fix.

    The result is empty when a signature accepts any batch size or the module
    exposes no signature.
    """
    sizes = set()
    for function in _concrete_functions(module):
        specs = tf.nest.flatten(function.structured_input_signature)
        if len(specs) != 1 or specs[0].shape.rank is None:
            return frozenset()
        batch_dimension = specs[0].shape[0]
        if batch_dimension is None:
            return frozenset()
        sizes.add(int(batch_dimension))
    return frozenset(sizes)


def _choose_batch_size(
    requested: int | None, fixed_sizes: frozenset[int]
) -> int:
    """Returns the batch size to use, checking it against fixed signatures."""
    if requested is None:
        if fixed_sizes:
            return max(fixed_sizes)
        return DEFAULT_BATCH_SIZE
    if requested < 1:
        raise ValueError(
            f"batch_size must be positive. Received: batch_size={requested}."
        )
    if fixed_sizes and requested not in fixed_sizes:
        raise ValueError(
            "The feature model's signature fixes the batch size to one of "
            f"{sorted(fixed_sizes)}. Received: batch_size={requested}."
        )
    return requested
