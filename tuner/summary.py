"""The report's Markdown summary: studies, best trials, figure numbers."""

import math
import pathlib
from typing import Any

from tuner import results

# Rows of the best-trials table.
NUM_BEST_ROWS = 10
BOX_COLUMNS = ("loss", "penalty", "normalization")
_BEST_COLUMNS = (
    "fid",
    "kid",
    "inception_score",
    "loss",
    "penalty",
    "normalization",
    "learning_rate",
    "beta1",
    "beta2",
    "disc_iters",
    "penalty_weight",
    "seconds",
)


def _number(value: Any, digits: int = 6) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.{digits}g}"
    return str(value)


def _table(header: list[str], lines: list[list[Any]]) -> list[str]:
    text = ["| " + " | ".join(header) + " |"]
    text.append("|" + "---|" * len(header))
    for line in lines:
        cells = [_number(value) for value in line]
        text.append("| " + " | ".join(cells) + " |")
    return text


def _studies(rows: list[dict[str, Any]], study_dirs: list[str]) -> list[str]:
    lines = []
    for study_dir in study_dirs:
        own = [row for row in rows if row["study"] == study_dir]
        best = results.ranked(own)
        space = own[0]["space"] if own else ""
        lines.append(
            [
                study_dir,
                space,
                len(own),
                len(best),
                len(own) - len(best),
                best[0]["fid"] if best else None,
                sum(row["seconds"] for row in own) / 3600.0,
            ]
        )
    header = ["study", "space", "ended", "completed", "failed"]
    return _table(header + ["best FID", "trainer hours"], lines)


def _best(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for rank, row in enumerate(results.ranked(rows)[:NUM_BEST_ROWS], 1):
        lines.append(
            [rank, row["study"], row["trial_id"], row["round"]]
            + [row[name] for name in _BEST_COLUMNS]
        )
    header = ["rank", "study", "trial", "round", "FID", "KID", "IS"]
    return _table(header + list(_BEST_COLUMNS[3:]), lines)


def _boxes(top: list[dict[str, Any]], column: str) -> list[str]:
    statistics = results.box_statistics(top, column)
    lines = [
        [name, s["count"], s["min"], s["q1"], s["median"], s["q3"], s["max"]]
        for name, s in statistics.items()
    ]
    return _table(
        [column, "trials", "min", "Q1", "median", "Q3", "max"], lines
    )


def _curves(rows: list[dict[str, Any]], study_dirs: list[str]) -> list[str]:
    curves = [
        results.lowest_fid_curve([r for r in rows if r["study"] == d])
        for d in study_dirs
    ]
    length = max((len(curve) for curve in curves), default=0)
    lines = []
    for index in range(length):
        values = [
            curve[index] if index < len(curve) else None for curve in curves
        ]
        lines.append([index + 1] + values)
    return _table(["trials tried"] + list(study_dirs), lines)


def markdown(
    rows: list[dict[str, Any]],
    study_dirs: list[str],
    figures: dict[str, str],
    exports: list[tuple[dict[str, Any], pathlib.Path]],
) -> str:
    """Return the Markdown summary of a report.

    Args:
      rows: The rows of all studies (`results.load_rows`).
      study_dirs: The study directories, in the order given.
      figures: Figure file names by title.
      exports: (row, export directory) of each exported generator.
    """
    top = results.select_top(rows)
    text = ["# Study report", "", "## Studies", ""]
    text += _studies(rows, study_dirs)
    text += ["", f"## Best {NUM_BEST_ROWS} trials by FID", ""]
    text += _best(rows)
    text += [
        "",
        "## FID of the best trials",
        "",
        f"Each study's best {results.TOP_FRACTION:.0%} of completed trials, "
        f"or all of them when it has fewer than "
        f"{results.MIN_TRIALS_FOR_TOP_FRACTION}: {len(top)} trials. These "
        "are the numbers of the box plots.",
    ]
    for column in BOX_COLUMNS:
        text += ["", *_boxes(top, column)]
    text += ["", "## Lowest FID by number of trials tried", ""]
    text += _curves(rows, study_dirs)
    failed = [row for row in rows if row["status"] != "completed"]
    if failed:
        text += ["", "## Failed trials", ""]
        text += _table(
            ["study", "trial", "reason"],
            [[row["study"], row["trial_id"], row["reason"]] for row in failed],
        )
    text += ["", "## Figures", ""]
    text += [f"- {title}: `{name}`" for title, name in figures.items()]
    if exports:
        text += ["", "## Exported generators", ""]
        text += _table(
            ["rank", "study", "trial", "FID", "export"],
            [
                [rank, row["study"], row["trial_id"], row["fid"], str(path)]
                for rank, (row, path) in enumerate(exports, 1)
            ],
        )
    return "\n".join(text) + "\n"
