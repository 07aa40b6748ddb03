"""Image grids as PNG files, for sample previews and the sampling binary."""

import math
import pathlib

import numpy as np
import tensorflow as tf


def make_grid(images: np.ndarray, num_columns: int | None = None) -> np.ndarray:
    """Tile images into one grid.

    Args:
      images: [N, H, W, C] floats in [0, 1]; C is 1 or 3.
      num_columns: Grid width in images; defaults to ceil(sqrt(N)).

    Returns:
      A uint8 array [rows * H, num_columns * W, C]; empty cells are black.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(
            f"images must have shape [N, H, W, C]. Received: {images.shape}."
        )
    count, height, width, channels = images.shape
    num_columns = num_columns or max(1, math.ceil(math.sqrt(count)))
    num_rows = math.ceil(count / num_columns)
    pixels = np.rint(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)
    grid = np.zeros(
        (num_rows * height, num_columns * width, channels), dtype=np.uint8
    )
    for index in range(count):
        row, column = divmod(index, num_columns)
        grid[
            row * height : (row + 1) * height,
            column * width : (column + 1) * width,
        ] = pixels[index]
    return grid


def save_grid(
    images: np.ndarray, path: str | pathlib.Path, num_columns: int | None = None
) -> None:
    """Write `images` ([N, H, W, C] in [0, 1]) as one PNG grid to `path`."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    png = tf.io.encode_png(make_grid(images, num_columns))
    temporary = path.with_name(f".{path.name}.tmp")
    tf.io.write_file(str(temporary), png)
    temporary.replace(path)
