"""The report's figures, drawn with matplotlib's Agg backend into PNGs.

As in the study's figures: box plots of the FID distribution of the best
trials per loss, penalty and discriminator normalization, and the lowest
FID reached as a function of the number of trials tried.
"""

import math
import pathlib
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import pyplot  # noqa: E402 (after choosing the backend)
from matplotlib import ticker  # noqa: E402

from tuner import results  # noqa: E402


def box_plot(
    rows: list[dict[str, Any]], column: str, title: str, path: pathlib.Path
) -> None:
    """Draw one box of FIDs per value of `column` into `path`."""
    groups: dict[str, list[float]] = {}
    for row in rows:
        groups.setdefault(str(row[column]), []).append(row["fid"])
    names = sorted(groups)
    figure, axes = pyplot.subplots(figsize=(6, 4))
    if names:
        axes.boxplot([groups[name] for name in names])
        axes.set_xticks(range(1, len(names) + 1), names)
    else:
        axes.text(0.5, 0.5, "no completed trial", ha="center", va="center")
    axes.set_xlabel(column)
    axes.set_ylabel("FID (lower is better)")
    axes.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def lowest_fid_plot(rows: list[dict[str, Any]], path: pathlib.Path) -> None:
    """Draw the lowest FID against trials tried, one line per study."""
    figure, axes = pyplot.subplots(figsize=(6, 4))
    for study_dir in dict.fromkeys(row["study"] for row in rows):
        curve = results.lowest_fid_curve(
            [row for row in rows if row["study"] == study_dir]
        )
        if any(math.isfinite(value) for value in curve):
            axes.plot(
                range(1, len(curve) + 1),
                curve,
                marker="o",
                label=pathlib.Path(study_dir).name or study_dir,
            )
    axes.set_xlabel("trials tried")
    axes.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    axes.set_ylabel("lowest FID so far")
    axes.set_title("Lowest FID for a budget of trials")
    if axes.get_legend_handles_labels()[0]:
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
