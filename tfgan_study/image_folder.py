"""Folders of PNG and JPEG images as datasets (`dataset=folder:PATH`).

The study trained only on fixed datasets, so the rules below are this
project's own.

Files: every file under PATH, searched recursively, whose extension is
`.png`, `.jpg` or `.jpeg` in any letter case, sorted by its path relative to
PATH. Files and folders whose names start with "." are skipped, which leaves
out hidden files and the "._" files that macOS writes next to copies.

Reference hold-out: if PATH has both a `train/` and a `test/` subfolder, the
images under `train/` are the training set and the images under `test/` are
the reference set for FID. Images elsewhere are then ignored. Otherwise the
last ceil(N / 10) of the N sorted images (10%, rounded up) are the reference
set and the others the training set. Each set needs at least 2 images.

Channels: 1 if the first training image is grey (with or without alpha),
else 3. Every image is converted to that count: grey to colour by repeating
the channel, colour to grey with `tf.image.rgb_to_grayscale`, and an alpha
channel is dropped. A warning counts the converted images.

Size: each image is cropped to a central square of its short side, resized
bilinearly to `resolution` (half-pixel centers, no antialiasing), rounded to
uint8 and divided by 255. An image of the right size passes unchanged.
"""

import dataclasses
import math
import os
from typing import Iterator
from typing import Sequence

import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_study import datasets

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")

# The first bytes of every PNG file and of every JPEG file.
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SIGNATURE = b"\xff\xd8\xff"
_DECODE_BATCH_SIZE = 256


@dataclasses.dataclass(frozen=True)
class FolderSplits:
    """The sorted files of a folder's training and reference sets.

    Attributes:
      root: The folder, with `~` expanded.
      train_files: Paths of the training images, each under `root`.
      reference_files: Paths of the reference images, each under `root`.
      train_split: Description of the training set, e.g. `folder train/`.
      reference_split: Description of the reference set.
    """

    root: str
    train_files: tuple[str, ...]
    reference_files: tuple[str, ...]
    train_split: str
    reference_split: str


def folder_root(dataset: str) -> str:
    """Return the folder of a `folder:PATH` dataset, with `~` expanded."""
    return os.path.expanduser(dataset[len("folder:") :])


def list_images(root: str) -> list[str]:
    """Return the image files under `root` as sorted relative POSIX paths."""
    relative_paths = []
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if not d.startswith(".")]
        relative_directory = os.path.relpath(directory, root)
        for name in files:
            if name.startswith("."):
                continue
            if not name.lower().endswith(IMAGE_EXTENSIONS):
                continue
            path = os.path.normpath(os.path.join(relative_directory, name))
            relative_paths.append(path.replace(os.sep, "/"))
    return sorted(relative_paths)


def split_files(dataset: str) -> FolderSplits:
    """List a folder's images and split them into training and reference sets.

    Raises:
      DatasetError: If the folder is missing, not a directory, contains no
        image files, or either set has fewer than 2 images.
    """
    root = folder_root(dataset)
    if not os.path.exists(root):
        raise datasets.DatasetError(
            f"Image folder {root} of dataset {dataset!r} does not exist."
        )
    if not os.path.isdir(root):
        raise datasets.DatasetError(
            f"Image folder {root} of dataset {dataset!r} is not a directory."
        )
    images = list_images(root)
    if not images:
        raise datasets.DatasetError(
            f"Image folder {root} contains no image files. Expected files "
            f"with the extensions {', '.join(IMAGE_EXTENSIONS)} (any case), "
            "searched recursively."
        )

    def absolute(paths):
        return tuple(os.path.join(root, path) for path in paths)

    has_subfolders = all(
        os.path.isdir(os.path.join(root, name)) for name in ("train", "test")
    )
    if has_subfolders:
        train = [path for path in images if path.startswith("train/")]
        reference = [path for path in images if path.startswith("test/")]
        ignored = len(images) - len(train) - len(reference)
        if ignored:
            logging.warning(
                "Image folder %s has train/ and test/ subfolders; %d images "
                "outside them are ignored.",
                root,
                ignored,
            )
        splits = FolderSplits(
            root,
            absolute(train),
            absolute(reference),
            "folder train/",
            "folder test/",
        )
    else:
        num_train = len(images) - math.ceil(len(images) / 10)
        splits = FolderSplits(
            root,
            absolute(images[:num_train]),
            absolute(images[num_train:]),
            f"folder files[:{num_train}]",
            f"folder files[{num_train}:]",
        )
    _check_set_sizes(splits)
    return splits


def _check_set_sizes(splits: FolderSplits) -> None:
    for role, split, files in (
        ("training", splits.train_split, splits.train_files),
        ("reference", splits.reference_split, splits.reference_files),
    ):
        if len(files) < 2:
            raise datasets.DatasetError(
                f"The {role} set of image folder {splits.root} ({split}) has "
                f"{len(files)} images. Expected at least 2, so a folder "
                "without train/ and test/ subfolders needs at least 11 images."
            )


def check_signatures(paths: Sequence[str]) -> None:
    """Raise `DatasetError` for the first file that is not PNG or JPEG.

    Only the first bytes are read, so a file that is damaged further on is
    found when it is decoded.
    """
    for path in paths:
        try:
            with open(path, "rb") as file:
                head = file.read(len(_PNG_SIGNATURE))
        except OSError as error:
            raise datasets.DatasetError(
                f"Image file {path} cannot be read: {error}."
            ) from error
        if not head.startswith((_PNG_SIGNATURE, _JPEG_SIGNATURE)):
            raise datasets.DatasetError(
                f"Image file {path} is not a PNG or JPEG image: its first "
                f"bytes are {head!r}. Remove or replace the file."
            )


def check_folder(dataset: str, resolution: int) -> datasets.DatasetInfo:
    """Check a folder dataset and return its `DatasetInfo`.

    Args:
      dataset: `folder:PATH`.
      resolution: Side length of the preprocessed images.

    Raises:
      DatasetError: For the problems listed in `split_files`, or a file that
        is not a PNG or JPEG image.
    """
    splits = split_files(dataset)
    check_signatures(splits.train_files + splits.reference_files)
    first = splits.train_files[0]
    try:
        image = _decode(tf.constant(first))
    except tf.errors.OpError as error:
        raise _unreadable_error(first, error) from error
    num_channels = 1 if image.shape[-1] in (1, 2) else 3
    logging.info(
        "Image folder %s: %d training images (%s), %d reference images "
        "(%s), %d channels.",
        splits.root,
        len(splits.train_files),
        splits.train_split,
        len(splits.reference_files),
        splits.reference_split,
        num_channels,
    )
    return datasets.DatasetInfo(
        name=dataset,
        resolution=resolution,
        num_channels=num_channels,
        num_train_examples=len(splits.train_files),
        train_split=splits.train_split,
        reference_split=splits.reference_split,
        num_reference_examples=len(splits.reference_files),
    )


def open_folder(dataset: str, info: datasets.DatasetInfo) -> "FolderSource":
    """Return the `FolderSource` of a folder checked by `check_folder`.

    Raises:
      DatasetError: If the folder's image count changed since the check.
    """
    splits = split_files(dataset)
    counts = (len(splits.train_files), len(splits.reference_files))
    expected = (info.num_train_examples, info.num_reference_examples)
    if counts != expected:
        raise datasets.DatasetError(
            f"Image folder {splits.root} changed since it was checked. "
            f"Expected {expected[0]} training and {expected[1]} reference "
            f"images. Received: {counts[0]} and {counts[1]}."
        )
    preprocessing = datasets.Preprocessing(
        resolution=info.resolution,
        num_channels=info.num_channels,
        resize=True,
        quantize=True,
    )
    return FolderSource(splits, preprocessing)


@dataclasses.dataclass(frozen=True)
class FolderSource:
    """Reader of the images of one checked folder dataset."""

    splits: FolderSplits
    preprocessing: datasets.Preprocessing

    def load(self, path: tf.Tensor) -> tf.Tensor:
        """Decode and preprocess one image file; uint8 [res, res, C]."""
        return datasets.preprocess_image(_decode(path), self.preprocessing)

    def decode_train(self) -> np.ndarray:
        """Decode all training images; uint8 [N, resolution, resolution, C]."""
        logging.info("Decoding %s into memory.", self.splits.root)
        return self._decode_files(self.splits.train_files)

    def fetch_train(self, indices: tf.Tensor) -> tf.Tensor:
        """Decode the training images at `indices` from their files.

        NOTE: a file that fails to decode here, in a folder too large to
        decode up front, stops training with TensorFlow's error message,
        which does not name the file.

        Args:
          indices: int64 tensor of shape [batch].

        Returns:
          float32 tensor [batch, resolution, resolution, C] in [0, 1].
        """
        paths = tf.gather(tf.constant(self.splits.train_files), indices)
        size = self.preprocessing.resolution
        spec = tf.TensorSpec(
            [size, size, self.preprocessing.num_channels], tf.float32
        )
        return tf.map_fn(
            lambda path: datasets.to_unit_float(self.load(path)),
            paths,
            fn_output_signature=spec,
        )

    def reference_batches(
        self, count: int, batch_size: int
    ) -> Iterator[np.ndarray]:
        """Yield the first `count` reference images as float32 in [0, 1]."""
        files = self.splits.reference_files[:count]
        for start in range(0, len(files), batch_size):
            images = self._decode_files(files[start : start + batch_size])
            yield images.astype(np.float32) / 255.0

    def _decode_files(self, paths: Sequence[str]) -> np.ndarray:
        """Decode `paths` in order; uint8 [len(paths), res, res, C]."""

        def load_with_channels(path):
            image = _decode(path)
            output = datasets.preprocess_image(image, self.preprocessing)
            return output, tf.shape(image)[-1]

        dataset = tf.data.Dataset.from_tensor_slices(list(paths))
        dataset = dataset.map(
            load_with_channels,
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        ).batch(_DECODE_BATCH_SIZE)
        try:
            batches = list(dataset.as_numpy_iterator())
        except tf.errors.OpError as error:
            for path in paths:
                try:
                    self.load(tf.constant(path))
                except tf.errors.OpError as file_error:
                    raise _unreadable_error(path, file_error) from file_error
            raise datasets.DatasetError(
                f"Decoding the images of {self.splits.root} failed: {error}"
            ) from error
        images = np.concatenate([batch[0] for batch in batches])
        channels = np.concatenate([batch[1] for batch in batches])
        grey = np.isin(channels, (1, 2))
        converted = int(np.sum(grey != (self.preprocessing.num_channels == 1)))
        if converted:
            logging.warning(
                "%d of %d images of %s were converted to %d channels.",
                converted,
                len(paths),
                self.splits.root,
                self.preprocessing.num_channels,
            )
        return images


def _decode(path: tf.Tensor) -> tf.Tensor:
    """Read and decode one PNG or JPEG file; uint8 [height, width, 1-4]."""
    contents = tf.io.read_file(path)
    return tf.io.decode_image(
        contents, channels=0, dtype=tf.uint8, expand_animations=False
    )


def _unreadable_error(path: str, error: tf.errors.OpError):
    return datasets.DatasetError(
        f"Image file {path} cannot be decoded as PNG or JPEG: "
        f"{error.message}. Remove or replace the file."
    )
