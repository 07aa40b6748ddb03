"""Multi-scale SSIM (MS-SSIM) between image pairs, and the diversity score.

MS-SSIM (Wang, Simoncelli and Bovik, 2003, "Multiscale structural similarity
for image quality assessment") compares two images at 5 scales. GAN papers
use the mean MS-SSIM between pairs of generated images as a diversity
measure (Odena et al., 2017, https://arxiv.org/abs/1610.09585): lower means
more diverse. The study reports it for CelebA-HQ.

This module follows compare_gan's definition (`metrics/image_similarity.py`):

- an 11x11 Gaussian window with sigma 1.5, shrunk to the image size at
  coarse scales, so that any image size works;
- K1 = 0.01, K2 = 0.03, no covariance compensation;
- scale weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333);
- 2x2 average pooling between scales, after repeating the last row or
  column (symmetric padding) when a side is odd;
- a ReLU on each scale's contrast-structure term and on the last scale's
  SSIM before the weighted product, so anti-correlated images score 0, not
  NaN;
- MS-SSIM per channel, then the mean over channels.

SSIM is unchanged when the images and `max_val` are scaled together, so
images in [0, 1] with `max_val` 1 give the values of compare_gan's
[0, 255] images with `max_val` 255 up to round-off.
"""

from absl import logging
import numpy as np
import tensorflow as tf

_WINDOW_SIZE = 11
_WINDOW_SIGMA = 1.5
_K1 = 0.01
_K2 = 0.03
_SCALE_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)

# The pairs processed together are chosen so that one [pairs, height, width,
# channels] float32 map contains about this many values (16 MB).
_VALUES_PER_CHUNK = 2**22

# Values this far outside [0, 1] are accepted as round-off.
_RANGE_TOLERANCE = 1e-4


def ms_ssim(
    images_a: np.ndarray, images_b: np.ndarray, max_val: float = 1.0
) -> np.ndarray:
    """Computes MS-SSIM between corresponding images of two batches.

    Args:
        images_a: Images of shape [num_pairs, height, width, channels], any
            height and width of at least 1.
        images_b: Images of the same shape as `images_a`.
        max_val: Dynamic range of the images (maximum minus minimum possible
            value). Defaults to 1.0, for images in [0, 1].

    Returns:
        Float32 NumPy array of shape [num_pairs] with values in [0, 1]. Equal
        images give exactly 1.0, and the value is symmetric in the two
        images.

    Raises:
        ValueError: If the shapes differ or are not 4-D, a batch is empty, a
            value is NaN or infinite, or `max_val` is not positive.
    """
    images_a = _validate_images("images_a", images_a)
    images_b = _validate_images("images_b", images_b)
    if images_a.shape != images_b.shape:
        raise ValueError(
            "images_a and images_b must have the same shape. Received: "
            f"images_a.shape={images_a.shape}, "
            f"images_b.shape={images_b.shape}."
        )
    if not max_val > 0:
        raise ValueError(f"max_val must be positive. Received: {max_val=}.")
    num_pairs = images_a.shape[0]
    images = np.concatenate([images_a, images_b], axis=0)
    first = np.arange(num_pairs)
    return _ms_ssim_of_pairs(images, first, first + num_pairs, max_val)


def compute_ms_ssim_diversity(
    images: np.ndarray,
    num_batches: int = 5,
    images_per_batch: int = 64,
    seed: int = 0,
) -> float:
    """Computes the mean MS-SSIM between distinct generated images.

    The images are shuffled with `seed` and cut into `num_batches` batches
    of `images_per_batch`. Per batch the score is the mean MS-SSIM over all
    pairs of distinct images, and the result is the mean over batches. The
    study uses 5 batches of 64 (320 images). Each unordered pair is computed
    once, which equals compare_gan's mean over ordered pairs because MS-SSIM
    is symmetric.

    With fewer than num_batches * images_per_batch images, as many full
    batches as the images fill are used, and with fewer than
    `images_per_batch` images one batch of all of them. Both cases log a
    warning, because the score then averages fewer pairs.

    The cost is one separable blur per pair and scale. On a 2-core CPU,
    5 batches of 64 images of 128x128x3 took about 75 s (measured once,
    with other jobs running), so it is best run on a GPU.

    Deviation: compare_gan draws its batches from a TF1 shuffling queue that
    cycles through the images, so a batch can repeat an image and the same
    image can appear in several batches. Here the batches are disjoint
    slices of one seeded permutation, so the score is reproducible.

    Args:
        images: Images of shape [num_images, height, width, channels] with
            values in [0, 1].
        num_batches: Number of batches to average. Defaults to 5.
        images_per_batch: Images per batch. Defaults to 64.
        seed: Seed of the shuffle. Defaults to 0.

    Returns:
        The diversity score as a Python float in [0, 1]. Lower means more
        diverse, and a set of identical images gives 1.0.

    Raises:
        ValueError: If `images` is not 4-D, has fewer than 2 images, has
            values outside [0, 1] or NaN, or if `num_batches` is below 1 or
            `images_per_batch` below 2.
    """
    images = _validate_images("images", images)
    num_images = images.shape[0]
    if num_images < 2:
        raise ValueError(
            "MS-SSIM diversity needs at least 2 images. Received: "
            f"num_images={num_images}."
        )
    if num_batches < 1 or images_per_batch < 2:
        raise ValueError(
            "num_batches must be at least 1 and images_per_batch at least 2. "
            f"Received: {num_batches=}, {images_per_batch=}."
        )
    low, high = float(np.min(images)), float(np.max(images))
    if low < -_RANGE_TOLERANCE or high > 1.0 + _RANGE_TOLERANCE:
        raise ValueError(
            "Images must have values in [0, 1]. Received: "
            f"min={low:.6g}, max={high:.6g}. Map generator output in "
            "[-1, 1] with (x + 1) / 2."
        )

    batch_size = min(images_per_batch, num_images)
    used_batches = min(num_batches, num_images // batch_size)
    if used_batches * batch_size < num_batches * images_per_batch:
        logging.warning(
            "MS-SSIM diversity requested %d batches of %d images but %d "
            "images are available, so %d batches of %d are used.",
            num_batches,
            images_per_batch,
            num_images,
            used_batches,
            batch_size,
        )

    order = np.random.default_rng(seed).permutation(num_images)
    first, second = np.triu_indices(batch_size, k=1)
    batch_scores = []
    for batch in range(used_batches):
        batch_images = images[
            order[batch * batch_size : (batch + 1) * batch_size]
        ]
        scores = _ms_ssim_of_pairs(batch_images, first, second, max_val=1.0)
        batch_scores.append(float(np.mean(scores, dtype=np.float64)))
    return float(np.mean(batch_scores))


def _validate_images(name: str, images: np.ndarray) -> np.ndarray:
    """Converts images to float32 and checks their rank, size and values."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or 0 in images.shape:
        raise ValueError(
            f"{name} must be a non-empty 4-D array of shape [num_images, "
            f"height, width, channels]. Received: {name}.shape={images.shape}."
        )
    if not np.all(np.isfinite(images)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return images


def _ms_ssim_of_pairs(
    images: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    max_val: float,
) -> np.ndarray:
    """Computes MS-SSIM for the pairs (images[first[k]], images[second[k]]).

    The blurred means and squares are computed once per image and scale, and
    only the blurred product once per pair.

    Returns:
        Float32 array of shape [len(first)].
    """
    c1 = (_K1 * max_val) ** 2
    c2 = (_K2 * max_val) ** 2
    images = tf.convert_to_tensor(images, dtype=tf.float32)
    first = tf.convert_to_tensor(first, dtype=tf.int32)
    second = tf.convert_to_tensor(second, dtype=tf.int32)

    weighted_terms = []
    for scale, weight in enumerate(_SCALE_WEIGHTS):
        if scale > 0:
            images = _downsample(images)
        window = _gaussian_window(min(_WINDOW_SIZE, *images.shape[1:3]))
        means = _blur(images, window)
        mean_squares = _blur(images * images, window)
        ssim, contrast_structure = _pair_terms(
            images, means, mean_squares, first, second, window, c1, c2
        )
        last_scale = scale == len(_SCALE_WEIGHTS) - 1
        term = ssim if last_scale else contrast_structure
        # A negative term to a fractional power is NaN, so the ReLU clips
        # it to 0 first.
        weighted_terms.append(tf.pow(tf.nn.relu(term), weight))

    per_channel = tf.reduce_prod(tf.stack(weighted_terms, axis=0), axis=0)
    return tf.reduce_mean(per_channel, axis=-1).numpy()


def _pair_terms(images, means, mean_squares, first, second, window, c1, c2):
    """Computes SSIM and contrast-structure for each pair at one scale.

    The formulas are arranged so that two equal images give exactly 1: the
    numerator and denominator then contain the same floating-point values.

    Returns:
        Two float32 tensors of shape [num_pairs, channels]: SSIM and the
        contrast-structure term, each averaged over the image.
    """
    height, width, channels = images.shape[1:]
    num_pairs = int(first.shape[0])
    chunk = max(1, _VALUES_PER_CHUNK // (height * width * channels))
    ssim_chunks, contrast_structure_chunks = [], []
    for start in range(0, num_pairs, chunk):
        index_a = first[start : start + chunk]
        index_b = second[start : start + chunk]
        mean_a = tf.gather(means, index_a)
        mean_b = tf.gather(means, index_b)
        products = tf.gather(images, index_a) * tf.gather(images, index_b)
        # Luminance: (2 mu_a mu_b + c1) / (mu_a^2 + mu_b^2 + c1).
        luminance_numerator = mean_a * mean_b * 2.0
        luminance_denominator = mean_a * mean_a + mean_b * mean_b
        luminance = (luminance_numerator + c1) / (luminance_denominator + c1)
        # Contrast-structure: (2 cov_ab + c2) / (var_a + var_b + c2), with
        # cov_ab = E[ab] - mu_a mu_b and var_a = E[a^2] - mu_a^2.
        cross_numerator = _blur(products, window) * 2.0
        cross_denominator = tf.gather(mean_squares, index_a) + tf.gather(
            mean_squares, index_b
        )
        contrast_structure = (cross_numerator - luminance_numerator + c2) / (
            cross_denominator - luminance_denominator + c2
        )
        ssim_chunks.append(
            tf.reduce_mean(luminance * contrast_structure, axis=[1, 2])
        )
        contrast_structure_chunks.append(
            tf.reduce_mean(contrast_structure, axis=[1, 2])
        )
    return tf.concat(ssim_chunks, 0), tf.concat(contrast_structure_chunks, 0)


def _gaussian_window(size: int) -> list[float]:
    """Returns the normalized 1-D Gaussian of `size` taps with sigma 1.5.

    Its outer product with itself is compare_gan's 2-D window, which keeps
    sigma at 1.5 when the size shrinks.
    """
    coordinates = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    window = np.exp(-(coordinates**2) / (2.0 * _WINDOW_SIGMA**2))
    return [float(tap) for tap in window / np.sum(window)]


def _blur(images: tf.Tensor, window: list[float]) -> tf.Tensor:
    """Filters each channel with the separable window, without padding.

    Written as a sum of shifted slices rather than a convolution op, so that
    every output value comes from the same sequence of elementwise operations
    whatever the batch size. The exact 1.0 for equal images relies on that,
    and a convolution op does not promise the same rounding for different
    batch shapes.

    Args:
        images: Tensor of shape [batch, height, width, channels].
        window: 1-D window of length at most min(height, width).

    Returns:
        Tensor of shape [batch, height - size + 1, width - size + 1,
        channels], where size = len(window).
    """
    size = len(window)
    out_height = images.shape[1] - size + 1
    out_width = images.shape[2] - size + 1
    rows = window[0] * images[:, 0:out_height]
    for tap in range(1, size):
        rows += window[tap] * images[:, tap : tap + out_height]
    blurred = window[0] * rows[:, :, 0:out_width]
    for tap in range(1, size):
        blurred += window[tap] * rows[:, :, tap : tap + out_width]
    return blurred


def _downsample(images: tf.Tensor) -> tf.Tensor:
    """Halves the size by 2x2 average pooling, padding odd sides first.

    An odd side gets one more row or column that repeats the last one
    (TensorFlow's SYMMETRIC padding), as in compare_gan.
    """
    height, width = images.shape[1:3]
    padding = [[0, 0], [0, height % 2], [0, width % 2], [0, 0]]
    if height % 2 or width % 2:
        images = tf.pad(images, padding, mode="SYMMETRIC")
    return (
        images[:, 0::2, 0::2]
        + images[:, 1::2, 0::2]
        + images[:, 0::2, 1::2]
        + images[:, 1::2, 1::2]
    ) * 0.25
