r"""Time a 10K-sample FID end to end with the Inception network at 299x299.

    python -m benchmarks.fid_10k --num_samples=10000 --output=fid.json

The Inception weights cannot be downloaded everywhere, so the network is
Keras's InceptionV3 architecture with fixed random weights (seed 0), saved
as a SavedModel that returns `pool_3` and `logits` like TF-GAN's module.
The evaluation runs the trainer's own path: `eval_lib.generate_batches`
from a freshly initialized SNDCGAN generator (32x32x3), the project's
`FeatureExtractor` (TF1 legacy resize to 299x299), then
`evaluation.compute_scores` (FID, KID in blocks, Inception Score, MS-SSIM).

Reported:
- `reference_seconds`: the reference features of `num_samples` images,
  computed once and cached (`reference_cache`); `cached_load_seconds`: the
  cached copy read back, the cost every later evaluation pays;
- `evaluation_seconds`: generation, features and scores of `num_samples`
  samples against the cached reference: the per-checkpoint cost;
- the feature network's images/s in each `--precisions` path, and, for
  each path other than float32, the largest feature difference from
  float32, max and mean, relative to the largest float32 feature;
- `peak_rss_mib`: this process's peak resident memory.
"""

import json
import os
import pathlib
import resource
import tempfile
import time

from absl import app
from absl import flags
from absl import logging

_NUM_SAMPLES = flags.DEFINE_integer(
    "num_samples", 10000, "Generated and reference images."
)
_BATCH_SIZE = flags.DEFINE_integer(
    "batch_size", 100, "Images per call of the feature network."
)
_PRECISIONS = flags.DEFINE_list(
    "precisions",
    ["float32", "mixed_bfloat16"],
    "Keras dtype policies of the feature network to time; the first is "
    "used for the end-to-end evaluation.",
)
_AGREEMENT_SAMPLES = flags.DEFINE_integer(
    "agreement_samples", 100, "Images on which the precision paths are compared."
)
_OUTPUT = flags.DEFINE_string("output", None, "Write the results as JSON here.")


def build_random_inception(path: str, precision: str, weights=None) -> list:
    """Save InceptionV3 with seed-0 random weights as a TF-GAN-like module.

    Returns:
      The weights, so that other precisions can reuse them.
    """
    import keras
    import tensorflow as tf

    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(precision)
    try:
        keras.utils.set_random_seed(0)
        base = keras.applications.InceptionV3(
            weights=None,
            include_top=False,
            input_shape=(299, 299, 3),
            pooling="avg",
        )
        logits = keras.layers.Dense(1008, name="logits")(base.output)
        model = keras.Model(base.input, [base.output, logits])
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
    if weights is not None:
        model.set_weights(weights)

    module = tf.Module()
    module.model = model

    @tf.function(
        input_signature=[tf.TensorSpec([None, 299, 299, 3], tf.float32)]
    )
    def call(images):
        pool, logit_values = model(images, training=False)
        pool = tf.cast(pool, tf.float32)
        return {
            "pool_3": tf.reshape(pool, [-1, 1, 1, pool.shape[-1]]),
            "logits": tf.cast(logit_values, tf.float32),
        }

    module.__call__ = call
    tf.saved_model.save(module, path)
    return model.get_weights()


def _seconds(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def run(work_dir: str) -> dict:
    """Build the networks under `work_dir`, time every stage; return results."""
    import tfgan_study  # noqa: F401  (sets TensorFlow's oneDNN option first)
    import numpy as np
    import tensorflow as tf

    from tfgan_study import config as config_lib
    from tfgan_study import eval_lib
    from tfgan_study import gan_model
    from tfgan_study.metrics import evaluation
    from tfgan_study.metrics import feature_extractor
    from tfgan_study.metrics import reference_cache

    num_samples = _NUM_SAMPLES.value
    results: dict = {"num_samples": num_samples, "paths": {}}
    extractors = {}
    weights = None
    for precision in _PRECISIONS.value:
        path = os.path.join(work_dir, f"inception_{precision}")
        weights = build_random_inception(path, precision, weights)
        extractors[precision] = feature_extractor.FeatureExtractor(
            path, batch_size=_BATCH_SIZE.value
        )

    rng = np.random.default_rng(0)
    agreement_images = rng.uniform(
        size=(_AGREEMENT_SAMPLES.value, 32, 32, 3)
    ).astype(np.float32)
    baseline = None
    for precision, extractor in extractors.items():
        extractor.compute(agreement_images[: _BATCH_SIZE.value])  # Tracing.
        activations, seconds = _seconds(
            lambda: extractor.compute(agreement_images)
        )
        path_result = {
            "images_per_sec": round(len(agreement_images) / seconds, 2)
        }
        if baseline is None:
            baseline = activations.features
        else:
            scale = float(np.max(np.abs(baseline)))
            difference = float(np.max(np.abs(activations.features - baseline)))
            path_result["max_feature_difference_relative"] = difference / scale
            path_result["mean_feature_difference_relative"] = float(
                np.mean(np.abs(activations.features - baseline)) / scale
            )
        results["paths"][precision] = path_result
        logging.info("Feature path %s: %s", precision, path_result)

    extractor = extractors[_PRECISIONS.value[0]]
    config = config_lib.resolve(
        config_lib.StudyConfig(dataset="cifar10", architecture="sndcgan")
    )
    generator, _ = gan_model.build_networks(config, 3)
    reference_images = rng.uniform(size=(num_samples, 32, 32, 3)).astype(
        np.float32
    )
    cache_dir = os.path.join(work_dir, "reference_cache")
    key = {
        "dataset": "uniform_noise_benchmark",
        "split": "none",
        "resolution": 32,
        "num_samples": num_samples,
        "preprocessing_id": extractor.preprocessing_id,
        "eval_model": "inception_v3_random_seed0",
    }

    def compute_reference():
        batches = np.array_split(reference_images, max(1, num_samples // 500))
        return extractor.compute(iter(batches))

    reference, seconds = _seconds(
        lambda: reference_cache.load_or_compute(cache_dir, key, compute_reference)
    )
    results["reference_seconds"] = round(seconds, 1)
    _, seconds = _seconds(
        lambda: reference_cache.load_or_compute(cache_dir, key, compute_reference)
    )
    results["cached_load_seconds"] = round(seconds, 2)

    z = eval_lib.fixed_latents(num_samples, config.z_dim)

    def evaluate():
        kept = []

        def batches():
            for images in eval_lib.generate_batches(generator, z):
                if not kept:
                    kept.append(images[: eval_lib.NUM_MS_SSIM_IMAGES])
                yield images

        fake = extractor.compute(batches())
        return evaluation.compute_scores(fake, reference, kept[0])

    scores, seconds = _seconds(evaluate)
    results["evaluation_seconds"] = round(seconds, 1)
    results["scores"] = {
        name: value
        for name, value in scores.items()
        if isinstance(value, (int, float))
    }
    results["peak_rss_mib"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
    )
    results["tensorflow"] = tf.__version__
    results["cpu_count"] = os.cpu_count()
    return results


def main(argv: list[str]) -> None:
    del argv
    with tempfile.TemporaryDirectory() as work_dir:
        results = run(work_dir)
    print(json.dumps(results, indent=2))
    if _OUTPUT.value:
        pathlib.Path(_OUTPUT.value).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    app.run(main)
