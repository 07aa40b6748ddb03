"""The layout of a model directory and the files a run writes there.

    config.json           the resolved configuration and the versions used
    metrics.jsonl         one JSON object per logged step
    scores.csv            one row per evaluated checkpoint, with the config
    checkpoints/          step_0002000/ckpt.* and state.json
    summaries/            TensorBoard events
    samples/              step_0002000.png grids from fixed latents
    reference_stats/      cached features of the reference images

Step numbers in names are zero-padded to 7 digits so listings sort.
"""

import csv
import json
import math
import os
import pathlib
import platform
import subprocess
from typing import Any

import keras
import tensorflow as tf

import tfgan_study
from tfgan_study import config as config_lib

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
SCORES_FILE = "scores.csv"

# scores.csv columns before the flattened configuration.
SCORE_COLUMNS = (
    "step",
    "status",
    "fid",
    "kid",
    "inception_score",
    "inception_score_std",
    "ms_ssim",
    "num_eval_samples",
    "num_reference_samples",
    "eval_model",
    "eval_seconds",
)


def step_name(step: int) -> str:
    """Return `step_0002000` for step 2000."""
    return f"step_{step:07d}"


def checkpoints_dir(model_dir: str) -> pathlib.Path:
    return pathlib.Path(model_dir) / "checkpoints"


def summaries_dir(model_dir: str) -> pathlib.Path:
    return pathlib.Path(model_dir) / "summaries"


def samples_path(model_dir: str, step: int) -> pathlib.Path:
    return pathlib.Path(model_dir) / "samples" / f"{step_name(step)}.png"


def reference_stats_dir(model_dir: str) -> pathlib.Path:
    return pathlib.Path(model_dir) / "reference_stats"


def write_atomically(path: pathlib.Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def _git_commit() -> str | None:
    source_dir = pathlib.Path(tfgan_study.__file__).resolve().parent.parent
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=source_dir,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None


def environment_versions() -> dict[str, Any]:
    """Return the versions of Python, TensorFlow, Keras and the project."""
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tfgan_study": tfgan_study.__version__,
        "git_commit": _git_commit(),
    }


def config_path(model_dir: str) -> pathlib.Path:
    return pathlib.Path(model_dir) / CONFIG_FILE


# Keys of config.json besides the config fields, whose keys are the flag names.
EXTRA_CONFIG_KEYS = ("num_channels", "versions")


def _read_config_document(path: pathlib.Path) -> dict[str, Any]:
    try:
        values = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise config_lib.ConfigError(
            f"{path} is not valid JSON ({error}). Restore it or use a new "
            "--model_dir."
        ) from error
    if not isinstance(values, dict):
        raise config_lib.ConfigError(
            f"{path} must contain a JSON object. Received: "
            f"{type(values).__name__}."
        )
    return values


def load_config(model_dir: str) -> config_lib.StudyConfig | None:
    """Return the config stored in `model_dir`, or `None` if there is none.

    Raises:
      ConfigError: If config.json is not valid JSON or has unknown keys.
    """
    path = config_path(model_dir)
    if not path.exists():
        return None
    values = _read_config_document(path)
    config_values = {
        key: value
        for key, value in values.items()
        if key not in EXTRA_CONFIG_KEYS
    }
    return config_lib.from_dict(config_values, str(path))


def load_num_channels(model_dir: str) -> int:
    """Return the image channel count stored in config.json."""
    path = config_path(model_dir)
    values = _read_config_document(path)
    if "num_channels" not in values:
        raise config_lib.ConfigError(f"{path} has no num_channels entry.")
    return int(values["num_channels"])


def save_config(
    model_dir: str, config: config_lib.StudyConfig, num_channels: int
) -> None:
    """Write config.json: the config fields under their flag names, plus the
    image channel count and the software versions."""
    document = {
        **config.to_dict(),
        "num_channels": num_channels,
        "versions": environment_versions(),
    }
    write_atomically(
        config_path(model_dir), json.dumps(document, indent=2, sort_keys=True)
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def append_metrics(model_dir: str, record: dict[str, Any]) -> None:
    """Append one JSON object to metrics.jsonl (non-finite floats as null)."""
    line = json.dumps({key: _json_value(value) for key, value in record.items()})
    with open(pathlib.Path(model_dir) / METRICS_FILE, "a") as file:
        file.write(line + "\n")


def append_score(
    model_dir: str, row: dict[str, Any], config: config_lib.StudyConfig
) -> None:
    """Append a row to scores.csv; the configuration fills the other columns."""
    config_values = config.to_dict()
    columns = list(SCORE_COLUMNS) + [
        name for name in config_lib.field_names() if name not in SCORE_COLUMNS
    ]
    values = {**config_values, **row}
    path = pathlib.Path(model_dir) / SCORES_FILE
    new_file = not path.exists()
    with open(path, "a", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns, extrasaction="ignore")
        if new_file:
            writer.writeheader()
        writer.writerow({name: values.get(name, "") for name in columns})


def read_scores(model_dir: str) -> list[dict[str, str]]:
    """Return the rows of scores.csv, or an empty list when there is none."""
    path = pathlib.Path(model_dir) / SCORES_FILE
    if not path.exists():
        return []
    with open(path, newline="") as file:
        return list(csv.DictReader(file))
