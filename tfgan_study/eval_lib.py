"""Scoring a generator the study's way: FID, KID, IS and MS-SSIM.

Generated images come from fixed latents (drawn statelessly from seed 42, as
the study seeded its evaluation), with the generator in inference mode, so
every checkpoint of a run is scored on the same z. Reference features are
computed once per (dataset, split, resolution, sample count, preprocessing,
feature network) and cached in the model directory.
"""

import math
import pathlib
import time
from typing import Any, Callable, Iterator

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
    """Return the evaluation latents [num_samples, z_dim], uniform in [-1, 1].

    Deviation: the study drew them with `np.random.seed(42)`; here they come
    from TensorFlow's stateless generator with seed (42, 0), which gives
    other numbers from the same distribution, the same on every platform.
    """
    return tf.random.stateless_uniform(
        [num_samples, z_dim], seed=[EVAL_Z_SEED, 0], minval=-1.0, maxval=1.0
    )


def load_feature_extractor(handle: str) -> feature_extractor.FeatureExtractor:
    """Load the feature network `handle`.

    Raises:
      ConfigError: If it cannot be loaded; the message names the handle.
    """
    logging.info("Loading the feature network %s.", handle)
    try:
        return feature_extractor.FeatureExtractor(handle)
    except (OSError, ValueError, ImportError) as error:
        raise config_lib.ConfigError(
            f"eval_model {handle} cannot be loaded: {error}. Expected a "
            "TF-Hub handle reachable from this machine or a local SavedModel "
            "directory."
        ) from error


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
        extractor: feature_extractor.FeatureExtractor | None = None,
    ):
        self.config = config
        self.info = info
        self.extractor = extractor or load_feature_extractor(config.eval_model)
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
        """Score `generator` on the fixed latents, in inference mode.

        Returns:
          A dict with the columns of `run_dir.SCORE_COLUMNS` except `step`.
        """
        return self.evaluate_images(
            lambda: generate_batches(generator, self.z),
            self.config.num_eval_samples,
        )

    def evaluate_images(
        self, make_batches: Callable[[], Iterator[np.ndarray]], num_images: int
    ) -> dict[str, Any]:
        """Score images against the reference; a failure gives NaN and status.

        Args:
          make_batches: Returns an iterator of float32 batches [b, H, W, C]
            in [0, 1]. Errors it raises are recorded as a failed status.
          num_images: How many images the batches hold, for the record.

        Returns:
          A dict with the columns of `run_dir.SCORE_COLUMNS` except `step`;
          a failed evaluation has status `failed: <reason>` and NaN scores,
          never a made-up number.
        """
        start = time.time()
        row: dict[str, Any] = {
            "num_eval_samples": num_images,
            "num_reference_samples": self.num_reference_samples,
            "eval_model": self.config.eval_model,
        }
        kept: list[np.ndarray] = []

        def batches():
            kept_count = 0
            for images in make_batches():
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


def default_cache_dir() -> str:
    """Return ~/.cache/tfgan_study/reference_stats, the user cache."""
    return str(pathlib.Path.home() / ".cache" / "tfgan_study" / "reference_stats")


def evaluate_run(
    model_dir: str, checkpoint: str, overrides: dict[str, Any]
) -> list[dict[str, Any]]:
    """Score checkpoints of a run and append the rows to its scores.csv.

    Args:
      model_dir: A directory written by the trainer.
      checkpoint: `best`, `latest`, `all` or a step number.
      overrides: `eval_model` and `num_eval_samples` to use instead of the
        run's.

    Returns:
      One row per scored checkpoint, with its `step`.
    """
    from tfgan_study import checkpoints
    from tfgan_study import run_loader

    config = run_dir.load_config(model_dir)
    if config is None:
        raise ValueError(
            f"{model_dir} contains no training run: "
            f"{run_dir.config_path(model_dir)} is missing."
        )
    config = config.replace(**overrides)
    info = datasets.check_available(config)
    probe = run_loader.load_run(model_dir, "latest")
    store = checkpoints.CheckpointStore(model_dir, probe.model.checkpoint())
    if checkpoint == "all":
        steps = store.steps()
    else:
        try:
            steps = [store.resolve(checkpoint)]
        except ValueError as error:
            raise ValueError(f"{error} --checkpoint=all scores every one.") from None
    evaluator = Evaluator(config, info, str(run_dir.reference_stats_dir(model_dir)))
    rows = []
    for step in steps:
        store.restore(step)
        logging.info("Evaluating the checkpoint of step %d.", step)
        row = evaluator.evaluate(probe.model.generator)
        row["step"] = step
        run_dir.append_score(model_dir, row, config)
        store.record_fid(step, float(row["fid"]))
        rows.append(row)
    return rows


def _resolved(values: dict[str, Any]) -> config_lib.StudyConfig:
    values = {key: value for key, value in values.items() if value is not None}
    return config_lib.resolve(config_lib.from_dict(values, "flags"))


def evaluate_module(
    handle: str, values: dict[str, Any], cache_dir: str | None
) -> dict[str, Any]:
    """Score an exported generator module against a dataset's reference set.

    The module is called as `module(z)` on latents of its recorded size and
    distribution (uniform in [-1, 1] when it records none), drawn from the
    evaluation seed.
    """
    from hub_export import sample_lib

    module = sample_lib.load_module(handle)
    generator_fn = sample_lib.find_generator(module)
    spec = sample_lib.describe_latent(module, generator_fn, None)
    config = _resolved({**values, "z_dim": spec.z_dim})
    info = datasets.check_available(config)
    evaluator = Evaluator(config, info, cache_dir or default_cache_dir())
    latents = sample_lib.sample_latents(spec, config.num_eval_samples, EVAL_Z_SEED)

    def batches():
        for start in range(0, len(latents), GENERATION_BATCH_SIZE):
            chunk = latents[start : start + GENERATION_BATCH_SIZE]
            yield sample_lib.generate_images(generator_fn, chunk)

    row = evaluator.evaluate_images(batches, config.num_eval_samples)
    row["module"] = handle
    return row


def evaluate_folder(
    folder: str, values: dict[str, Any], cache_dir: str | None
) -> dict[str, Any]:
    """Score every image of `folder` against a dataset's reference set.

    Images are converted to the dataset's channels and resolution the way
    folder datasets are (central square crop, bilinear resize, uint8).
    """
    from tfgan_study import image_folder

    config = _resolved(values)
    info = datasets.check_available(config)
    files = image_folder.list_images(folder)
    if not files:
        raise ValueError(
            f"No images in {folder}. Expected files ending in "
            f"{', '.join(image_folder.IMAGE_EXTENSIONS)}."
        )
    preprocessing = datasets.Preprocessing(
        resolution=info.resolution,
        num_channels=info.num_channels,
        resize=True,
        quantize=True,
    )
    evaluator = Evaluator(config, info, cache_dir or default_cache_dir())

    def batches():
        for start in range(0, len(files), GENERATION_BATCH_SIZE):
            images = []
            for name in files[start : start + GENERATION_BATCH_SIZE]:
                data = tf.io.read_file(str(pathlib.Path(folder) / name))
                decoded = tf.io.decode_image(data, expand_animations=False)
                images.append(datasets.preprocess_image(decoded, preprocessing))
            yield datasets.to_unit_float(tf.stack(images)).numpy()

    row = evaluator.evaluate_images(batches, len(files))
    row["image_folder"] = folder
    return row
