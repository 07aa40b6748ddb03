"""Input pipelines: training batches by step, and reference images for FID.

`StudyConfig.dataset` names a TFDS dataset or a folder of images
(`folder:/path/to/images`, see `image_folder`). The study's datasets are read
as follows:

| dataset          | training split  | reference split | preprocessing         |
|------------------|-----------------|-----------------|-----------------------|
| `cifar10`        | `train`         | `test`          | none                  |
| `fashion_mnist`  | `train`         | `test`          | 28x28 resized to 32x32|
| `mnist`          | `train`         | `test`          | 28x28 resized to 32x32|
| `celeb_a_hq/128` | `train[:-3000]` | `train[-3000:]` | none                  |
| `lsun/bedroom`   | `train[:99%]`   | `train[99%:]`   | central 128x128 crop  |

Any other TFDS image dataset trains on `train` and takes `test`, else
`validation`, as its reference split. Every image is decoded and divided by
255, which gives float32 values in [0, 1], with no augmentation. An image
whose size differs from `resolution` is cropped to a central square and
resized bilinearly (`tf.image.resize`, half-pixel centers, no antialiasing).
LSUN instead takes the study's central 128x128 crop, which is resized only
when `resolution` is not 128.

Training order: the batch of step s is a pure function of `(seed, s)`, so a
resumed run gets the batches of an uninterrupted run without any saved
`tf.data` state. Example j = s * global_batch_size + i of the stream is
position j % N of the permutation of epoch j // N. Every epoch draws a new
stateless permutation of the N training examples, so examples are sampled
without replacement, as the study's shuffle did. Datasets whose preprocessed
training images fit in `IN_MEMORY_BUDGET_BYTES` are decoded once into
memory. Larger TFDS datasets (LSUN-Bedroom) are streamed instead, see
`build_train_dataset`.

Deviations from the study's code, each marked `Deviation:` where it sits:

- The study shuffled with a 10,000-example buffer and the fixed seed 547
  for every run. Here each epoch is a full permutation, or a permutation of
  10,000-record blocks when streamed, and the order depends on
  `StudyConfig.seed`.
- MNIST and Fashion-MNIST are resized from 28x28 to 32x32.
- The CelebA-HQ and LSUN reference sets are the last 3,000 images and the
  last 1% of TFDS's stored order, which differs from the study's shards.

Offline use: nothing here downloads. TFDS builders are created with
`try_gcs=False`, GCS lookups of dataset metadata are switched off, and
`download_and_prepare` is never called. Missing data therefore fails fast
with a message that explains how to prepare it on a machine with internet
access.
"""

import dataclasses
import importlib
import math
import os
from typing import Callable
from typing import Iterator

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from absl import logging
from tensorflow_datasets.core import naming
from tensorflow_datasets.core.utils import gcs_utils

from tfgan_study import config

# Datasets whose splits and preprocessing follow the study.
KNOWN_DATASETS = tuple(sorted(config.DATASET_RESOLUTIONS))

# Training sets whose preprocessed images take at most this many bytes are
# decoded once and kept in memory. CelebA-HQ-128 (27,000 images, 1.24 GiB)
# fits, LSUN-Bedroom (about 3M images, 137 GiB at 128x128) does not.
IN_MEMORY_BUDGET_BYTES = 4 * 2**30

# Deviation: the study shuffled the repeated training stream with a buffer of
# 10,000 examples and the fixed seed 547. Here a dataset streamed from disk is
# permuted in consecutive blocks of this many records, with a new stateless
# permutation per block and epoch derived from the run's seed. A resumed run
# can then skip records cheaply to the position of an uninterrupted run.
STREAM_SHUFFLE_BLOCK = 10000

# Second word of the data order's seed, so that the data order does not share
# a seed with other random streams derived from `StudyConfig.seed`. The value
# is the study's shuffle seed.
_DATA_SEED_SALT = 547

_CELEB_A_HQ_REFERENCE_SIZE = 3000
_LSUN_CROP_SIZE = 128
_LSUN_URL_HOST = "dl.yf.io"
_DEFAULT_TFDS_DATA_DIR = os.path.join("~", "tensorflow_datasets")


class DatasetError(config.ConfigError):
    """Missing, unprepared or unreadable data.

    The trainer exits with status 2 on this error, as on any `ConfigError`.
    """


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """Size, splits and image shape of one config's dataset.

    Attributes:
      name: The config's dataset string.
      resolution: Side length of the images after preprocessing.
      num_channels: 1 for grey datasets (mnist, fashion_mnist), else 3.
      num_train_examples: Number of images in the training split.
      train_split: The training split, as a TFDS split string or, for
        folders, a description such as `folder train/`.
      reference_split: The split of the reference images for FID.
      num_reference_examples: Number of images in the reference split.
    """

    name: str
    resolution: int
    num_channels: int
    num_train_examples: int
    train_split: str
    reference_split: str
    num_reference_examples: int


@dataclasses.dataclass(frozen=True)
class Preprocessing:
    """Steps that turn one dataset's decoded images into training images.

    Attributes:
      resolution: Output side length.
      num_channels: Output channel count, 1 or 3. Inputs with 1 to 4
        channels are converted (alpha dropped, grey tiled, colour to grey
        with `tf.image.rgb_to_grayscale`).
      crop_size: Side of a fixed central crop (padded if the image is
        smaller), or `None` for a central square crop of the short side.
      resize: Whether a bilinear resize to `resolution` follows the crop.
      quantize: Whether resized values are rounded back to uint8, which
        keeps a folder's training set at one byte per value.
    """

    resolution: int
    num_channels: int
    crop_size: int | None = None
    resize: bool = False
    quantize: bool = False

    @property
    def storage_dtype(self) -> tf.DType:
        """The dtype of `preprocess_image`'s output: float32 or uint8."""
        return tf.float32 if self.resize and not self.quantize else tf.uint8


def preprocess_image(
    image: tf.Tensor, preprocessing: Preprocessing
) -> tf.Tensor:
    """Convert channels, crop and resize decoded images.

    Args:
      image: uint8 tensor of shape [height, width, channels], or a batch of
        them [batch, height, width, channels], with 1 to 4 channels.
      preprocessing: The dataset's `Preprocessing`.

    Returns:
      Shape [resolution, resolution, num_channels], with the batch dimension
      if `image` has one, and dtype `preprocessing.storage_dtype`: uint8 in
      [0, 255], or float32 in [0, 1]. `to_unit_float` maps either to float32
      in [0, 1].
    """
    image = _convert_channels(image, preprocessing.num_channels)
    height, width = image.shape[-3], image.shape[-2]
    if preprocessing.crop_size is None:
        if height is None or height != width:
            shape = tf.shape(image)
            side = tf.minimum(shape[-3], shape[-2])
            image = tf.image.resize_with_crop_or_pad(image, side, side)
    else:
        size = preprocessing.crop_size
        image = tf.image.resize_with_crop_or_pad(image, size, size)
    if preprocessing.resize:
        image = tf.cast(image, tf.float32) / 255.0
        size = [preprocessing.resolution, preprocessing.resolution]
        image = tf.image.resize(image, size, method="bilinear", antialias=False)
        if preprocessing.quantize:
            image = tf.round(tf.clip_by_value(image, 0.0, 1.0) * 255.0)
            image = tf.cast(image, tf.uint8)
    shape = [preprocessing.resolution] * 2 + [preprocessing.num_channels]
    return tf.ensure_shape(image, image.shape[:-3] + shape)


def to_unit_float(images: tf.Tensor) -> tf.Tensor:
    """Return `images` as float32 in [0, 1]; uint8 input is divided by 255."""
    if images.dtype == tf.uint8:
        return tf.cast(images, tf.float32) / 255.0
    return images


def _convert_channels(image: tf.Tensor, num_channels: int) -> tf.Tensor:
    """Map 1 (grey), 2 (grey, alpha), 3 (RGB) or 4 (RGBA) channels."""
    if image.shape[-1] == num_channels:
        return image

    def grey():
        return image[..., :1]

    def colour():
        return image[..., :3]

    if num_channels == 1:
        branches = [grey, grey, lambda: tf.image.rgb_to_grayscale(colour())]
        branches.append(branches[-1])
    else:
        branches = [lambda: tf.image.grayscale_to_rgb(grey())] * 2
        branches += [colour, colour]
    converted = tf.switch_case(tf.shape(image)[-1] - 1, branches)
    return tf.ensure_shape(converted, image.shape[:-1] + [num_channels])


def check_available(cfg: config.StudyConfig) -> DatasetInfo:
    """Check that the dataset can be read, without building any model.

    Nothing is downloaded and no network access is attempted. A TFDS dataset
    must be prepared in the TFDS data directory: `cfg.tfds_data_dir`, else
    the `TFDS_DATA_DIR` environment variable, else `~/tensorflow_datasets`.

    Args:
      cfg: The run's config; `resolution` may still be `None`.

    Returns:
      The `DatasetInfo` that the pipelines of this module take.

    Raises:
      DatasetError: If the name is unknown, the data is not prepared or not
        readable, or its images have a channel count other than 1 or 3. The
        message names the dataset, the directory and how to fix it.
    """
    resolution = _resolution(cfg)
    if config.is_folder_dataset(cfg.dataset):
        # Imported here because image_folder imports this module.
        from tfgan_study import image_folder

        return image_folder.check_folder(cfg.dataset, resolution)
    source = _open_tfds(cfg, resolution)
    return source.info


def build_train_dataset(
    cfg: config.StudyConfig,
    info: DatasetInfo,
    start_step: int,
    end_step: int,
) -> tf.data.Dataset:
    """Build the training batches of steps `start_step` to `end_step - 1`.

    The batch of step s depends only on `(cfg.seed, s)`, so a run resumed at
    any step gets the batches of an uninterrupted run, bit for bit, without
    saved `tf.data` state. Training sets within `IN_MEMORY_BUDGET_BYTES` are
    decoded once (the last one decoded stays cached in this process), and
    each step gathers its examples. Larger folders decode their files at
    every step.

    Limitations: a TFDS dataset beyond the budget (LSUN-Bedroom) is read as
    a stream and permuted in blocks of `STREAM_SHUFFLE_BLOCK` consecutive
    records, a new permutation per block and epoch. Its resume is exact too,
    but it reads and discards the records of the epoch's earlier blocks.

    Args:
      cfg: The run's config, with the same dataset and resolution as `info`.
      info: The result of `check_available(cfg)`.
      start_step: First step, at least 0.
      end_step: One past the last step, at least `start_step`.

    Returns:
      A dataset of `end_step - start_step` float32 tensors of shape
      [global_batch_size, resolution, resolution, num_channels] with values
      in [0, 1].

    Raises:
      ValueError: If the steps are out of order or `info` belongs to another
        config.
      DatasetError: If the data became unreadable since `check_available`.
    """
    _check_info_matches(cfg, info)
    if start_step < 0 or end_step < start_step:
        raise ValueError(
            "Expected 0 <= start_step <= end_step. Received: "
            f"start_step={start_step}, end_step={end_step}."
        )
    if config.is_folder_dataset(cfg.dataset):
        from tfgan_study import image_folder

        source = image_folder.open_folder(cfg.dataset, info)
        preprocessing = source.preprocessing
        cache_key = (info, "train")
        decode_train = source.decode_train
    else:
        source = _open_tfds(cfg, info.resolution)
        preprocessing = source.preprocessing
        cache_key = (info, source.data_dir, "train")

        def decode_train():
            return source.decode_split(info.train_split)

    image_shape = [info.resolution, info.resolution, info.num_channels]
    image_bytes = math.prod(image_shape) * preprocessing.storage_dtype.size
    train_bytes = info.num_train_examples * image_bytes
    if train_bytes <= IN_MEMORY_BUDGET_BYTES:
        images = _cached(cache_key, lambda: tf.constant(decode_train()))

        def fetch(indices):
            return to_unit_float(tf.gather(images, indices))

        return _indexed_dataset(cfg, info, start_step, end_step, fetch)

    logging.info(
        "The training images of %s take %.1f GiB, more than the in-memory "
        "budget of %.1f GiB; they are decoded at every step.",
        info.name,
        train_bytes / 2**30,
        IN_MEMORY_BUDGET_BYTES / 2**30,
    )
    if config.is_folder_dataset(cfg.dataset):
        fetch = source.fetch_train
        return _indexed_dataset(cfg, info, start_step, end_step, fetch)
    return _stream_train_dataset(cfg, info, source, start_step, end_step)


def load_reference_images(
    cfg: config.StudyConfig,
    info: DatasetInfo,
    num_images: int,
    batch_size: int = 250,
) -> Iterator[np.ndarray]:
    """Yield the first `num_images` reference images in file order.

    The reference split is read in its stored order without shuffling, as
    the study did, and preprocessed as the training images. A reference
    split with fewer than `num_images` images is read whole and a warning
    names both counts; `reference_key` gives the count that is used.

    Args:
      cfg: The run's config.
      info: The result of `check_available(cfg)`.
      num_images: How many images to read, at least 1.
      batch_size: Images per yielded batch (the last may be smaller), at
        least 1.

    Returns:
      An iterator of float32 arrays of shape
      [batch, resolution, resolution, num_channels] with values in [0, 1].

    Raises:
      ValueError: If a count is below 1 or `info` belongs to another config.
      DatasetError: If the data became unreadable since `check_available`.
    """
    _check_info_matches(cfg, info)
    for name, value in (("num_images", num_images), ("batch_size", batch_size)):
        if value < 1:
            raise ValueError(
                f"{name} must be at least 1. Received: {name}={value}."
            )
    count = min(num_images, info.num_reference_examples)
    if count < num_images:
        logging.warning(
            "The reference split %s of %s has %d images, fewer than the %d "
            "requested; all %d are used.",
            info.reference_split,
            info.name,
            count,
            num_images,
            count,
        )
    if config.is_folder_dataset(cfg.dataset):
        from tfgan_study import image_folder

        source = image_folder.open_folder(cfg.dataset, info)
        return source.reference_batches(count, batch_size)
    source = _open_tfds(cfg, info.resolution)
    dataset = source.split_images(info.reference_split, batch_size, count)
    return dataset.map(to_unit_float).as_numpy_iterator()


def reference_key(
    cfg: config.StudyConfig, info: DatasetInfo, num_images: int
) -> dict[str, str | int]:
    """Return the identity of the reference set for a metric cache key.

    Returns:
      A dict with `dataset`, `split`, `resolution` and `num_samples`, the
      number of images `load_reference_images` yields for `num_images`.
    """
    _check_info_matches(cfg, info)
    return {
        "dataset": info.name,
        "split": info.reference_split,
        "resolution": info.resolution,
        "num_samples": min(num_images, info.num_reference_examples),
    }


def _resolution(cfg: config.StudyConfig) -> int:
    if cfg.resolution is not None:
        return cfg.resolution
    return config.default_resolution(cfg.dataset, cfg.architecture)


def _check_info_matches(cfg: config.StudyConfig, info: DatasetInfo) -> None:
    if info.name != cfg.dataset or info.resolution != _resolution(cfg):
        raise ValueError(
            "The DatasetInfo belongs to another config. Expected dataset="
            f"{cfg.dataset!r} at resolution={_resolution(cfg)}. Received: "
            f"dataset={info.name!r}, resolution={info.resolution}."
        )


# The most recently decoded training set, kept so that a second pipeline of
# the same run (another input worker, a resumed loop) does not decode again.
_decoded_cache: dict[tuple, tf.Tensor] = {}


def _cached(key: tuple, decode: Callable[[], tf.Tensor]) -> tf.Tensor:
    if key not in _decoded_cache:
        _decoded_cache.clear()
        _decoded_cache[key] = decode()
    return _decoded_cache[key]


def example_indices(
    step: tf.Tensor, seed: int, num_examples: int, global_batch_size: int
) -> tf.Tensor:
    """Return the training example indices of one step.

    Stream position j = step * global_batch_size + i is position j % N of
    epoch j // N, whose order is a stateless permutation seeded from
    `(seed, epoch)` (`tf.random.experimental.index_shuffle`). A batch may
    span several epochs.

    Args:
      step: Integer scalar tensor, the step.
      seed: The run's `StudyConfig.seed`.
      num_examples: N, the size of the training set.
      global_batch_size: Examples per step.

    Returns:
      int64 tensor of shape [global_batch_size] with values in [0, N).
    """
    # Deviation: the study shuffled with a 10,000-example buffer and the
    # fixed seed 547 in every run. A full permutation per epoch, seeded from
    # the run's seed, lets the batch of any step be computed on its own.
    first_position = tf.cast(step, tf.int64) * global_batch_size
    positions = first_position + tf.range(global_batch_size, dtype=tf.int64)
    epochs = positions // num_examples
    offsets = positions % num_examples
    first_epoch = epochs[0]
    base_seed = tf.constant([seed, _DATA_SEED_SALT], tf.int64)
    max_index = tf.constant(num_examples - 1, tf.int64)

    def permute(epoch):
        epoch_seed = tf.random.experimental.stateless_fold_in(
            base_seed, epoch, alg="philox"
        )
        return tf.random.experimental.index_shuffle(
            offsets, epoch_seed, max_index
        )

    # Row e contains the offsets permuted as in epoch first_epoch + e.
    candidates = tf.map_fn(
        permute,
        tf.range(first_epoch, epochs[-1] + 1),
        fn_output_signature=tf.int64,
    )  # [num_epochs, global_batch_size]
    return tf.gather(
        tf.transpose(candidates), epochs - first_epoch, batch_dims=1
    )


def _indexed_dataset(
    cfg: config.StudyConfig,
    info: DatasetInfo,
    start_step: int,
    end_step: int,
    fetch: Callable[[tf.Tensor], tf.Tensor],
) -> tf.data.Dataset:
    """Build one batch per step by fetching the step's example indices."""

    def batch_for_step(step):
        indices = example_indices(
            step, cfg.seed, info.num_train_examples, cfg.global_batch_size
        )
        return fetch(indices)

    steps = tf.data.Dataset.range(start_step, end_step)
    batches = steps.map(
        batch_for_step,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    return batches.prefetch(tf.data.AUTOTUNE)


def _stream_train_dataset(
    cfg: config.StudyConfig,
    info: DatasetInfo,
    source: "_TfdsSource",
    start_step: int,
    end_step: int,
) -> tf.data.Dataset:
    """Build one batch per step from records read in order, permuted in blocks.

    Epoch e reads the training split in stored order in blocks of
    `STREAM_SHUFFLE_BLOCK` records and permutes block b with a seed derived
    from `(cfg.seed, e, b)`. Resuming at a step skips whole epochs without
    reading them and whole blocks of the current epoch without permuting or
    decoding them.
    """
    block = STREAM_SHUFFLE_BLOCK
    first_epoch, first_offset = divmod(
        start_step * cfg.global_batch_size, info.num_train_examples
    )
    first_block = first_offset // block
    base_seed = tf.constant([cfg.seed, _DATA_SEED_SALT], tf.int64)
    records = source.split_records(info.train_split)

    def epoch_records(epoch):
        start_block = tf.where(epoch == first_epoch, first_block, 0)
        start_block = tf.cast(start_block, tf.int64)
        epoch_seed = tf.random.experimental.stateless_fold_in(
            base_seed, epoch, alg="philox"
        )

        def permute(block_index, block_records):
            block_seed = tf.random.experimental.stateless_fold_in(
                epoch_seed, start_block + block_index, alg="philox"
            )
            size = tf.shape(block_records, out_type=tf.int64)[0]
            order = tf.random.experimental.index_shuffle(
                tf.range(size), block_seed, size - 1
            )
            return tf.gather(block_records, order)

        blocks = records.skip(start_block * block).batch(block).enumerate()
        return blocks.map(permute).unbatch()

    stream = tf.data.Dataset.counter(first_epoch).flat_map(epoch_records)
    stream = stream.skip(first_offset - first_block * block)
    images = stream.map(
        lambda record: to_unit_float(source.decode_record(record)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    batches = images.batch(cfg.global_batch_size, drop_remainder=True)
    batches = batches.take(end_step - start_step)
    return batches.prefetch(tf.data.AUTOTUNE)


def tfds_data_dir(cfg: config.StudyConfig) -> str:
    """Return the TFDS data directory of `cfg`, with `~` expanded.

    It is `cfg.tfds_data_dir`, else the `TFDS_DATA_DIR` environment
    variable, else TFDS's default `~/tensorflow_datasets`.
    """
    data_dir = cfg.tfds_data_dir or os.environ.get("TFDS_DATA_DIR")
    return os.path.expanduser(data_dir or _DEFAULT_TFDS_DATA_DIR)


def _disable_tfds_gcs() -> None:
    """Switch off TFDS's lookups of dataset metadata on gs://tfds-data.

    A builder of an unprepared dataset looks up its metadata on GCS unless
    `gcs_utils._is_gcs_disabled` is true, and that lookup stalls or fails
    offline. tensorflow-datasets 4.9.10 sets it to true by default. Setting
    it again covers releases that did not.
    """
    if hasattr(gcs_utils, "_is_gcs_disabled"):
        gcs_utils._is_gcs_disabled = True  # pylint: disable=protected-access


@dataclasses.dataclass(frozen=True)
class _TfdsSource:
    """Reader of the images of a prepared TFDS dataset."""

    info: DatasetInfo
    builder: tfds.core.DatasetBuilder
    data_dir: str
    image_key: str
    preprocessing: Preprocessing

    def _read(self, split: str, decoders=None) -> tf.data.Dataset:
        # Cycle length 1 reads the files one after another, in stored order.
        read_config = tfds.ReadConfig(
            interleave_cycle_length=1, try_autocache=False
        )
        examples = self.builder.as_dataset(
            split=split,
            shuffle_files=False,
            decoders=decoders,
            read_config=read_config,
        )
        return examples.map(lambda example: example[self.image_key])

    def split_images(
        self, split: str, batch_size: int, count: int = -1
    ) -> tf.data.Dataset:
        """Return batches of the first `count` (-1: all) images of `split`."""
        images = self._read(split).take(count)
        feature = self.builder.info.features[self.image_key]
        if None in feature.shape:
            # Images of different sizes are preprocessed before batching.
            images = images.map(
                lambda image: preprocess_image(image, self.preprocessing),
                num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True,
            )
            return images.batch(batch_size)
        return images.batch(batch_size).map(
            lambda batch: preprocess_image(batch, self.preprocessing),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )

    def decode_split(self, split: str) -> np.ndarray:
        """Decode all images of `split`, in `storage_dtype`."""
        logging.info("Decoding %s %s into memory.", self.info.name, split)
        batches = self.split_images(split, batch_size=1000)
        return np.concatenate(list(batches.as_numpy_iterator()))

    def split_records(self, split: str) -> tf.data.Dataset:
        """Return the encoded images of `split` in stored order."""
        skip = {self.image_key: tfds.decode.SkipDecoding()}
        return self._read(split, decoders=skip)

    def decode_record(self, record: tf.Tensor) -> tf.Tensor:
        """Decode and preprocess one record of `split_records`."""
        feature = self.builder.info.features[self.image_key]
        image = feature.decode_example(record)
        return preprocess_image(image, self.preprocessing)


def _open_tfds(cfg: config.StudyConfig, resolution: int) -> _TfdsSource:
    """Open a prepared TFDS dataset without any network access."""
    name = cfg.dataset
    data_dir = tfds_data_dir(cfg)
    _disable_tfds_gcs()
    builder = _tfds_builder(name, data_dir)
    if not builder.is_prepared():
        if _is_lsun(name):
            _check_tensorflow_io(builder, name, data_dir)
        raise DatasetError(_not_prepared_message(cfg, builder, data_dir))

    image_key, feature = _image_feature(name, builder)
    preprocessing = _tfds_preprocessing(name, feature, resolution)
    train_split, reference_split = _tfds_splits(name, builder)
    splits = builder.info.splits
    info = DatasetInfo(
        name=name,
        resolution=resolution,
        num_channels=preprocessing.num_channels,
        num_train_examples=splits[train_split].num_examples,
        train_split=train_split,
        reference_split=reference_split,
        num_reference_examples=splits[reference_split].num_examples,
    )
    for split, count in (
        (train_split, info.num_train_examples),
        (reference_split, info.num_reference_examples),
    ):
        if count < 2:
            raise DatasetError(
                f"Split {split} of dataset {name} in {data_dir} has {count} "
                "images. Expected at least 2."
            )
        _check_split_files(name, builder, split)
    return _TfdsSource(info, builder, data_dir, image_key, preprocessing)


def _tfds_preprocessing(
    name: str, feature: tfds.features.Image, resolution: int
) -> Preprocessing:
    """Choose the crop and resize of a TFDS dataset's images."""
    height, width, num_channels = feature.shape
    if num_channels not in (1, 3):
        raise DatasetError(
            f"Dataset {name} has images with {num_channels} channels. "
            "Expected 1 (grey) or 3 (colour)."
        )
    # Deviation: the study's code read MNIST and Fashion-MNIST at 28x28.
    # Here every image of another size is resized to `resolution` (32 for
    # them by default), because the architectures generate multiples of 8.
    crop_size = _LSUN_CROP_SIZE if _is_lsun(name) else None
    native = crop_size or (height if height == width else None)
    preprocessing = Preprocessing(
        resolution=resolution,
        num_channels=num_channels,
        crop_size=crop_size,
        resize=native != resolution,
    )
    if preprocessing.resize:
        logging.info(
            "Images of %s (%sx%s) are cropped to a central square and "
            "resized bilinearly to %dx%d.",
            name,
            height,
            width,
            resolution,
            resolution,
        )
    return preprocessing


def _check_split_files(
    name: str, builder: tfds.core.DatasetBuilder, split: str
) -> None:
    """Raise `DatasetError` if a file of `split` is missing or truncated.

    An interrupted copy of a prepared dataset keeps its `dataset_info.json`,
    so `is_prepared` does not notice missing or short record files.
    """
    split_info = builder.info.splits[split.split("[")[0]]
    paths = [str(path) for path in split_info.filepaths]
    copy_again = (
        f"Copy {builder.data_path} again from a machine where the dataset "
        "is prepared."
    )
    for path in paths:
        if not os.path.exists(path):
            raise DatasetError(
                f"Dataset {name} is incomplete: the record file {path} is "
                f"missing. {copy_again}"
            )
    # The files also hold record framing, so they are never smaller than
    # the serialized examples that the metadata counts.
    total_bytes = sum(os.path.getsize(path) for path in paths)
    if total_bytes < split_info.num_bytes:
        raise DatasetError(
            f"Dataset {name} is incomplete: the record files of split "
            f"{split_info.name} have {total_bytes} bytes, but its metadata "
            f"counts {split_info.num_bytes} bytes of examples. {copy_again}"
        )


def _is_lsun(name: str) -> bool:
    return name.split("/")[0].split(":")[0] == "lsun"


def _tfds_builder(name: str, data_dir: str) -> tfds.core.DatasetBuilder:
    """Create the builder of `name`, or raise `DatasetError` if unknown."""
    known = ", ".join(KNOWN_DATASETS)
    try:
        dataset_name, builder_kwargs = naming.parse_builder_name_kwargs(name)
    except ValueError as error:
        raise DatasetError(
            f"Invalid TFDS dataset name {name!r}: {error}"
        ) from error
    if dataset_name.namespace:
        # TFDS looks up `namespace:name` in a community index online.
        raise DatasetError(
            f"Dataset {name!r} names a TFDS community namespace, which needs "
            f"network access. Expected a TFDS dataset name such as {known}, "
            "or folder:/path/to/images."
        )
    try:
        return tfds.builder(name, data_dir=data_dir, try_gcs=False)
    except tfds.core.DatasetNotFoundError as error:
        raise DatasetError(
            f"Unknown dataset {name!r}. Expected one of the study's datasets "
            f"({known}), any other TFDS image dataset, or "
            "folder:/path/to/images."
        ) from error
    except ValueError as error:
        builder_config = builder_kwargs.get("config")
        configs = tfds.builder_cls(str(dataset_name)).builder_configs
        if builder_config is not None and builder_config not in configs:
            raise DatasetError(
                f"Unknown config {builder_config!r} of TFDS dataset "
                f"{dataset_name} in {name!r}. Expected one of: "
                f"{', '.join(sorted(configs))}."
            ) from error
        raise DatasetError(
            f"TFDS cannot create dataset {name!r}: {error}"
        ) from error


def _check_tensorflow_io(
    builder: tfds.core.DatasetBuilder, name: str, data_dir: str
) -> None:
    """Raise unless `tensorflow_io`, which TFDS needs to build LSUN, imports."""
    try:
        importlib.import_module("tensorflow_io")
    except (ImportError, OSError, tf.errors.NotFoundError) as error:
        raise DatasetError(
            f"Dataset {name} is not prepared in {data_dir}. Preparing it "
            "needs the tensorflow_io package, because TFDS reads LSUN's LMDB "
            f"files with it, but importing tensorflow_io failed: {error}. "
            "Install tensorflow-io for this TensorFlow version before "
            f"downloading {_lsun_archives(builder)}, or prepare the dataset "
            "on another machine and copy it."
        ) from error


def _lsun_archives(builder: tfds.core.DatasetBuilder) -> str:
    """Name the download URLs and total size of one LSUN category."""
    category = builder.builder_config.name
    sizes = {}
    for url, url_info in (builder.url_infos or {}).items():
        archive = os.path.basename(url)
        if archive == f"{category}.zip" or archive.startswith(f"{category}_"):
            sizes[url] = url_info.size
    if not sizes:
        return f"the archives of {category} from {_LSUN_URL_HOST}"
    total_gb = sum(sizes.values()) / 1e9
    return f"{' and '.join(sorted(sizes))} ({total_gb:.1f} GB)"


def _not_prepared_message(
    cfg: config.StudyConfig, builder: tfds.core.DatasetBuilder, data_dir: str
) -> str:
    """Explain where the dataset was looked for and how to prepare it."""
    name = cfg.dataset
    if cfg.tfds_data_dir:
        origin = "--tfds_data_dir"
    elif os.environ.get("TFDS_DATA_DIR"):
        origin = "the TFDS_DATA_DIR environment variable"
    else:
        origin = "the TFDS default; set --tfds_data_dir or TFDS_DATA_DIR"
    data_path = str(builder.data_path)
    lines = [
        f"Dataset {name} (version {builder.version}) is not prepared in the "
        f"TFDS data directory {data_dir} (from {origin}): "
        f"{os.path.join(data_path, 'dataset_info.json')} does not exist.",
    ]
    parent = os.path.dirname(data_path)
    if os.path.isdir(parent):
        versions = ", ".join(sorted(os.listdir(parent))) or "none"
        lines.append(f"Versions found in {parent}: {versions}.")
    manual_dir = os.path.join(data_dir, "downloads", "manual")
    build = f"tfds build {name} --data_dir={data_dir}"
    if name.startswith("celeb_a_hq"):
        tar_name = builder.builder_config.file_name
        if os.path.isdir(manual_dir):
            found = ", ".join(sorted(os.listdir(manual_dir))) or "no files"
        else:
            found = "no such directory"
        lines.append(
            f"TFDS builds {name} only from a manually prepared file: put "
            f"{tar_name}, a tar of the PNG images made with the "
            "ProgressiveGAN dataset scripts (https://github.com/tkarras/"
            "progressive_growing_of_gans#preparing-datasets-for-training), "
            f"in the manual_dir {manual_dir} (found: {found}), then run "
            f"`{build} --manual_dir={manual_dir}` and copy the result here."
        )
    elif _is_lsun(name):
        lines.append(
            f"TFDS downloads {name} from {_lsun_archives(builder)}. If "
            f"{_LSUN_URL_HOST} cannot be reached, obtain the archives another "
            f"way and put them, with their names unchanged, in the manual_dir "
            f"{manual_dir}. Then run `{build}` with tensorflow-io installed "
            "and copy the result here."
        )
    else:
        lines.append(
            f"This project does not download data. On a machine with internet "
            f"access, run `{build}` or `python -c \"import "
            f"tensorflow_datasets as tfds; tfds.builder('{name}', "
            f"data_dir='{data_dir}').download_and_prepare()\"`, then copy "
            f"{os.path.join(data_dir, name.split('/')[0])} to this machine."
        )
    return " ".join(lines)


def _image_feature(name: str, builder: tfds.core.DatasetBuilder):
    """Return the key and `tfds.features.Image` of the dataset's images."""
    features = builder.info.features
    images = {
        key: feature
        for key, feature in features.items()
        if isinstance(feature, tfds.features.Image)
    }
    if "image" in images:
        key = "image"
    elif len(images) == 1:
        (key,) = images
    else:
        raise DatasetError(
            f"Dataset {name} has no single image feature. Expected a feature "
            f"named 'image' or exactly one image feature. Received features: "
            f"{', '.join(features.keys())}."
        )
    feature = images[key]
    if feature.np_dtype != np.uint8:
        raise DatasetError(
            f"Dataset {name} stores {feature.np_dtype} images. Expected uint8."
        )
    return key, feature


def _tfds_splits(name: str, builder: tfds.core.DatasetBuilder):
    """Return the training and reference split strings of a TFDS dataset."""
    available = list(builder.info.splits.keys())
    if "train" not in available:
        raise DatasetError(
            f"Dataset {name} has no train split. Received splits: "
            f"{', '.join(available)}."
        )
    if name.startswith("celeb_a_hq"):
        # The study held out the last 10 of its 100 shards, 3,000 images.
        # Deviation: TFDS stores the images in another order than the
        # ProgressiveGAN shards, so its last 3,000 are a different subset.
        size = _CELEB_A_HQ_REFERENCE_SIZE
        return f"train[:-{size}]", f"train[-{size}:]"
    if _is_lsun(name):
        # The study held out shard 99 of 100 of the training data, because
        # the official validation set has only 300 images. Deviation: the
        # last 1% of TFDS's stored order is a different subset of that size.
        return "train[:99%]", "train[99%:]"
    for reference in ("test", "validation"):
        if reference in available:
            return "train", reference
    raise DatasetError(
        f"Dataset {name} has no test or validation split for the reference "
        f"images. Received splits: {', '.join(available)}."
    )
