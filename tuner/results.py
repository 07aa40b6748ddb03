"""The tables of a study report: one row per trial, selections, statistics.

A row contains every trainer setting of the trial (the study's resolved
configuration with the trial's searched values), its scores, status and
time. FIDs of rows that did not complete are NaN.
"""

import csv
import math
import pathlib
from typing import Any

import numpy as np

from tfgan_study import config as config_lib
from tuner import progress
from tuner import study

# Columns before the trainer settings.
RESULT_COLUMNS = (
    "study",
    "space",
    "trial_id",
    "round",
    "status",
    "reason",
    "fid",
    "kid",
    "inception_score",
    "seconds",
    "seeds",
    "best_seed",
)
# The trainer's `seed` is replaced by the `seeds` column.
SETTING_COLUMNS = tuple(
    name for name in config_lib.field_names() if name != "seed"
)
COLUMNS = RESULT_COLUMNS + SETTING_COLUMNS

# The study's figures show the best 5% of each study's trials, or all of
# them when a study has fewer than `MIN_TRIALS_FOR_TOP_FRACTION`.
TOP_FRACTION = 0.05
MIN_TRIALS_FOR_TOP_FRACTION = 20


def load_rows(study_dir: str) -> list[dict[str, Any]]:
    """Return one row per ended trial of the study in `study_dir`.

    Raises:
      ValueError: If `study_dir` contains no study.json.
    """
    settings = study.load(study_dir)
    if settings is None:
        raise ValueError(
            f"{study_dir} contains no study: "
            f"{pathlib.Path(study_dir) / study.STUDY_FILE} is missing."
        )
    rows = []
    for result in progress.load_results(study_dir):
        config = {**settings.trainer_config, **result.hyperparameters}
        row = {
            "study": study_dir,
            "space": settings.space,
            "trial_id": result.trial_id,
            "round": result.round,
            "status": result.status,
            "reason": result.reason,
            "fid": result.fid,
            "kid": result.kid,
            "inception_score": result.inception_score,
            "seconds": round(result.seconds, 1),
            "seeds": ";".join(str(s.seed) for s in result.seeds),
            "best_seed": result.best_seed,
        }
        row.update({name: config.get(name) for name in SETTING_COLUMNS})
        rows.append(row)
    return rows


def best_model_dir(row: dict[str, Any]) -> pathlib.Path:
    """Return the trainer model directory of a row's lowest-FID seed."""
    return study.trial_dir(row["study"], row["trial_id"]) / (
        f"seed_{row['best_seed']}"
    )


def is_scored(row: dict[str, Any]) -> bool:
    return row["status"] == "completed" and math.isfinite(row["fid"])


def ranked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the completed rows by increasing FID."""
    return sorted((row for row in rows if is_scored(row)), key=_fid)


def _fid(row: dict[str, Any]) -> float:
    return row["fid"]


def write_csv(rows: list[dict[str, Any]], path: pathlib.Path) -> None:
    """Write `rows` with the columns `COLUMNS`; NaN is written as `nan`."""
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            values = {name: row[name] for name in COLUMNS}
            writer.writerow(
                {
                    name: "" if value is None else value
                    for name, value in values.items()
                }
            )


def select_top(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return each study's best `TOP_FRACTION` of completed trials.

    A study with fewer than `MIN_TRIALS_FOR_TOP_FRACTION` completed trials
    contributes all of them; otherwise ceil(5% of them) are kept.

    Deviation: the study shows the top 5% of models without saying how
    searches are pooled. Here each study directory is cut on its own before
    the trials are grouped by loss, penalty or normalization.
    """
    selected = []
    for study_dir in dict.fromkeys(row["study"] for row in rows):
        scored = ranked([row for row in rows if row["study"] == study_dir])
        if len(scored) >= MIN_TRIALS_FOR_TOP_FRACTION:
            scored = scored[: math.ceil(TOP_FRACTION * len(scored))]
        selected.extend(scored)
    return selected


def box_statistics(
    rows: list[dict[str, Any]], column: str
) -> dict[str, dict[str, float]]:
    """Return count, min, quartiles and max of FID per value of `column`."""
    groups: dict[str, list[float]] = {}
    for row in rows:
        groups.setdefault(str(row[column]), []).append(row["fid"])
    statistics = {}
    for name, fids in sorted(groups.items()):
        q1, median, q3 = np.percentile(fids, [25, 50, 75])
        statistics[name] = {
            "count": len(fids),
            "min": min(fids),
            "q1": float(q1),
            "median": float(median),
            "q3": float(q3),
            "max": max(fids),
        }
    return statistics


def lowest_fid_curve(rows: list[dict[str, Any]]) -> list[float]:
    """Return the lowest FID after 1, 2, ... trials, in trial order.

    Failed trials count as tried. Entries before the first completed trial
    are NaN. Trial ids are keras-tuner's creation order.

    Deviation: the study plots the lowest FID for a budget of trials without
    saying in which order trials count. Here they count in the order the
    search created them, which for Table 2 is the order of its rounds.
    """
    curve = []
    lowest = math.inf
    for row in sorted(rows, key=lambda row: int(row["trial_id"])):
        if is_scored(row):
            lowest = min(lowest, row["fid"])
        curve.append(lowest if math.isfinite(lowest) else math.nan)
    return curve
