r"""Score a trained run, an exported module or a folder of images.

    # Checkpoints of a run (rows are appended to its scores.csv):
    python -m tfgan_study.evaluate --model_dir=/tmp/run --checkpoint=all
    # An exported generator against a dataset's reference images:
    python -m tfgan_study.evaluate --module=/tmp/hub --dataset=fashion_mnist
    # Images in a folder (for example samples of another program):
    python -m tfgan_study.evaluate --image_folder=/tmp/samples \
        --dataset=fashion_mnist

Scores are FID, KID, Inception Score and MS-SSIM, computed as during
training. Each result is logged and printed as one JSON line. Exit status: 0
scored, 2 bad input.
"""

import json
import math

from absl import app
from absl import flags
from absl import logging

from tfgan_study import cli
from tfgan_study import config as config_lib

_MODEL_DIR = flags.DEFINE_string("model_dir", None, "A training run to score.")
_CHECKPOINT = flags.DEFINE_string(
    "checkpoint", "latest", "With --model_dir: best, latest, all or a step."
)
_MODULE = flags.DEFINE_string(
    "module", None, "An exported generator: SavedModel path or TF-Hub handle."
)
_IMAGE_FOLDER = flags.DEFINE_string(
    "image_folder", None, "A folder of PNG or JPEG images to score."
)
_DATASET = flags.DEFINE_string(
    "dataset", None, "With --module or --image_folder: the reference dataset."
)
_TFDS_DATA_DIR = flags.DEFINE_string("tfds_data_dir", None, "TFDS data dir.")
_RESOLUTION = flags.DEFINE_integer(
    "resolution", None, "Side length; defaults from the dataset."
)
_NUM_EVAL_SAMPLES = flags.DEFINE_integer(
    "num_eval_samples", None, "Generated and reference images; defaults to "
    "the run's count, else the study's count for the dataset.",
)
_EVAL_MODEL = flags.DEFINE_string(
    "eval_model", None, "Feature network: TF-Hub handle or SavedModel path; "
    "defaults to the run's, else TF-GAN's Inception module.",
)
_CACHE_DIR = flags.DEFINE_string(
    "cache_dir",
    None,
    "Where reference features are cached for --module and --image_folder; "
    "defaults to ~/.cache/tfgan_study/reference_stats.",
)


def _overrides() -> dict:
    values = {}
    if _NUM_EVAL_SAMPLES.value is not None:
        values["num_eval_samples"] = _NUM_EVAL_SAMPLES.value
    if _EVAL_MODEL.value is not None:
        values["eval_model"] = _EVAL_MODEL.value
    return values


def _report(row: dict) -> None:
    clean = {
        key: (None if isinstance(value, float) and math.isnan(value) else value)
        for key, value in row.items()
    }
    logging.info("Scores: %s", clean)
    print(json.dumps(clean, sort_keys=True))


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        logging.error("Unexpected arguments: %s", " ".join(argv[1:]))
        return cli.EXIT_BAD_INPUT
    sources = [_MODEL_DIR.value, _MODULE.value, _IMAGE_FOLDER.value]
    if sum(source is not None for source in sources) != 1:
        logging.error(
            "Give exactly one of --model_dir, --module and --image_folder."
        )
        return cli.EXIT_BAD_INPUT
    from tfgan_study import eval_lib

    try:
        if _MODEL_DIR.value:
            rows = eval_lib.evaluate_run(
                _MODEL_DIR.value, _CHECKPOINT.value, _overrides()
            )
        else:
            if not _DATASET.value:
                logging.error("--dataset is required with --module and "
                              "--image_folder.")
                return cli.EXIT_BAD_INPUT
            values = dict(
                dataset=_DATASET.value,
                tfds_data_dir=_TFDS_DATA_DIR.value,
                resolution=_RESOLUTION.value,
                **_overrides(),
            )
            if _MODULE.value:
                rows = [eval_lib.evaluate_module(
                    _MODULE.value, values, _CACHE_DIR.value
                )]
            else:
                rows = [eval_lib.evaluate_folder(
                    _IMAGE_FOLDER.value, values, _CACHE_DIR.value
                )]
    except (config_lib.ConfigError, ValueError, OSError) as error:
        logging.error("%s", error)
        return cli.EXIT_BAD_INPUT
    for row in rows:
        _report(row)
    return cli.EXIT_OK


def run() -> None:
    app.run(main, flags_parser=cli.parse_flags)


if __name__ == "__main__":
    run()
