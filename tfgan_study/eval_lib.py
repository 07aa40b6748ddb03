"""Scoring a generator the study's way: FID, KID, IS and MS-SSIM.

Generated images come from fixed latents (drawn statelessly from seed 42, as
the study seeded its evaluation), with the generator in inference mode, so
every checkpoint of a run is scored on the same z. Reference features are
computed once per (dataset, split, resolution, sample count, preprocessing,
feature network) and cached in the model directory.
"""

import math
import time
from typing import Any, Iterator

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from tfgan_study import config as config_lib
from tfgan_study import datasets
from tfgan_study import image_grid
from tfgan_study import run_dir
from tfgan_study.metrics import evaluation
from tfgan_study.metrics import feature_extractor
from tfgan_study.metrics import reference_cache

EVAL_Z_SEED = 42
GENERATION_BATCH_SIZE = 250
# Images for the MS-SSIM diversity score: 5 batches of 64, as the study.
NUM_MS_SSIM_IMAGES = 320


def fixed_latents(num_samples: int, z_dim: int) -> tf.Tensor:
    """Return the evaluation latents [num_samples, z_dim], uniform in [-1, 1]."""
    return tf.random.stateless_uniform(
        [num_samples, z_dim], seed=[EVAL_Z_SEED, 0], minval=-1.0, maxval=1.0
    )


def generate_batches(
    generator: keras.Model, z: tf.Tensor, batch_size: int = GENERATION_BATCH_SIZE
) -> Iterator[np.ndarray]:
    """Yield generated images in batches, the generator in inference mode.

    Raises:
      FloatingPointError: If a generated value is NaN or infinite.
    """

    @tf.function
    def generate(latents):
        return generator(latents, training=False)

    for start in range(0, int(z.shape[0]), batch_size):
        images = generate(z[start : start + batch_size]).numpy()
        if not np.all(np.isfinite(images)):
            raise FloatingPointError(
                "The generator produced non-finite values at evaluation."
            )
        yield images.astype(np.float32)


class Evaluator:
    """Scores generators of one run against its reference images.

    Args:
      config: The resolved config; `eval_model` and `num_eval_samples` are
        read from it.
      info: The dataset's `DatasetInfo`.
      cache_dir: Where reference features are cached.
    """

    def __init__(
        self,
        config: config_lib.StudyConfig,
        info: datasets.DatasetInfo,
        cache_dir: str,
    ):
        self.config = config
        self.info = info
        logging.info("Loading the feature network %s.", config.eval_model)
        self.extractor = feature_extractor.FeatureExtractor(config.eval_model)
        key = datasets.reference_key(config, info, config.num_eval_samples)
        key.update(
            preprocessing_id=self.extractor.preprocessing_id,
            eval_model=config.eval_model,
        )

        def compute_reference():
            logging.info(
                "Computing reference features of %d images; they are cached "
                "in %s.",
                config.num_eval_samples,
                cache_dir,
            )
            return self.extractor.compute(
                datasets.load_reference_images(
                    config, info, config.num_eval_samples
                )
            )

        self.reference = reference_cache.load_or_compute(
            cache_dir, key, compute_reference
        )
        self.num_reference_samples = int(self.reference.features.shape[0])
        self.z = fixed_latents(config.num_eval_samples, config.z_dim)

    def evaluate(self, generator: keras.Model) -> dict[str, Any]:
        """Score `generator`; a failure gives status and NaN, never a number.

        Returns:
          A dict with the columns of `run_dir.SCORE_COLUMNS` except `step`.
        """
        start = time.time()
        row: dict[str, Any] = {
            "num_eval_samples": self.config.num_eval_samples,
            "num_reference_samples": self.num_reference_samples,
            "eval_model": self.config.eval_model,
        }
        kept: list[np.ndarray] = []

        def batches():
            kept_count = 0
            for images in generate_batches(generator, self.z):
                if kept_count < NUM_MS_SSIM_IMAGES:
                    kept.append(images[: NUM_MS_SSIM_IMAGES - kept_count])
                    kept_count += len(kept[-1])
                yield images

        try:
            fake = self.extractor.compute(batches())
            scores = evaluation.compute_scores(
                fake, self.reference, np.concatenate(kept, axis=0)
            )
        except (FloatingPointError, ValueError, np.linalg.LinAlgError) as error:
            logging.warning("Evaluation failed: %s", error)
            row.update(
                status=f"failed: {error}",
                fid=math.nan,
                kid=math.nan,
                inception_score=math.nan,
                inception_score_std=math.nan,
                ms_ssim=math.nan,
            )
        else:
            row.update(status="ok", **scores)
            if scores.get("inception_score") is None:
                row["inception_score"] = "not available"
                row["inception_score_std"] = "not available"
        row["eval_seconds"] = round(time.time() - start, 1)
        return row


def save_sample_grid(
    generator: keras.Model, z_dim: int, path: str, num_images: int = 64
) -> None:
    """Write a PNG grid of images from the first fixed latents."""
    z = fixed_latents(num_images, z_dim)
    images = generator(z, training=False).numpy()
    image_grid.save_grid(images, path)


def score_path_summary(model_dir: str) -> str:
    """Return a one-line summary of the run's best score so far."""
    rows = [
        row
        for row in run_dir.read_scores(model_dir)
        if row.get("status") == "ok"
    ]
    if not rows:
        return "no successful evaluation yet"
    best = min(rows, key=lambda row: float(row["fid"]))
    return f"lowest FID {float(best['fid']):.3f} at step {best['step']}"
