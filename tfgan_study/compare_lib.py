"""Comparison of the scores of several runs, such as one model over seeds.

Each run is scored as the study scored it: the lowest FID over its
evaluated checkpoints. Over several runs the comparison takes the median of
the scores, because single GAN runs vary a lot between seeds. A run without
a successful evaluation scores infinity, so it counts against the median
instead of disappearing from it (the search scores a diverged seed alike).
"""

import csv
import dataclasses
import math
import os
import pathlib
import statistics
import tempfile

from tfgan_study import run_dir

# scores.csv columns that must agree between runs for their FIDs to be
# comparable: FIDs from different feature networks, sample counts or
# reference images are different quantities.
COMPARABLE_COLUMNS = (
    "eval_model",
    "num_eval_samples",
    "num_reference_samples",
    "dataset",
    "resolution",
)

# Columns of a --baseline_csv file: one row per run and evaluated step.
BASELINE_COLUMNS = ("run", "step", "fid")


class CompareError(ValueError):
    """Input that cannot be compared; the message names what was wrong."""


@dataclasses.dataclass
class RunScores:
    """The evaluations of one run.

    Attributes:
      name: The label shown in tables and figures.
      fids: FID by evaluated step, for successful evaluations.
      statuses: The status of every evaluated step, `ok` or a failure.
      settings: The values of `COMPARABLE_COLUMNS`, empty for a baseline.
    """

    name: str
    fids: dict[int, float]
    statuses: dict[int, str]
    settings: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def score(self) -> float:
        """The lowest finite FID, or infinity when there is none."""
        finite = [fid for fid in self.fids.values() if math.isfinite(fid)]
        return min(finite, default=math.inf)

    @property
    def score_step(self) -> int | None:
        """The step of the lowest FID, or None when there is none."""
        if not math.isfinite(self.score):
            return None
        return min(step for step, fid in self.fids.items() if fid == self.score)


def _parse_fid(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def load_run(model_dir: str, name: str) -> RunScores:
    """Read the scores.csv of `model_dir`.

    Raises:
      CompareError: The directory or its scores.csv is missing or empty, or
        its rows disagree on a column of `COMPARABLE_COLUMNS`.
    """
    if not os.path.isdir(model_dir):
        raise CompareError(f"Model directory not found: {model_dir}.")
    rows = run_dir.read_scores(model_dir)
    if not rows:
        raise CompareError(
            f"No evaluations in {model_dir}: {run_dir.SCORES_FILE} is missing "
            "or empty. Train with --eval_every_steps or run "
            "`python -m tfgan_study.evaluate --model_dir=... --checkpoint=all`."
        )
    run = RunScores(name=name, fids={}, statuses={})
    for row in rows:
        step = int(row["step"])
        run.statuses[step] = row["status"]
        if row["status"] == "ok":
            run.fids[step] = _parse_fid(row["fid"])
            for column in COMPARABLE_COLUMNS:
                value = row.get(column, "")
                previous = run.settings.setdefault(column, value)
                if previous != value:
                    raise CompareError(
                        f"{model_dir} mixes evaluations with {column}="
                        f"{previous!r} and {column}={value!r}; its FIDs "
                        "cannot be compared with each other."
                    )
    return run


def check_comparable(runs: list[RunScores]) -> None:
    """Raise CompareError when the runs' FIDs were measured differently."""
    measured = [run for run in runs if run.settings]
    for column in COMPARABLE_COLUMNS:
        values = {run.name: run.settings[column] for run in measured}
        if len(set(values.values())) > 1:
            listing = ", ".join(f"{name}: {value!r}" for name, value in values.items())
            raise CompareError(
                f"The runs were evaluated with different {column} ({listing}); "
                "FIDs are comparable only when measured the same way. "
                "Re-evaluate them with the same settings through "
                "`python -m tfgan_study.evaluate`."
            )


def load_baseline(path: str) -> list[RunScores]:
    """Read runs made elsewhere from a CSV with the columns run, step, fid.

    Raises:
      CompareError: The file is missing, lacks a column or has a value that
        is not a number.
    """
    if not os.path.isfile(path):
        raise CompareError(f"Baseline file not found: {path}.")
    with open(path, newline="") as file:
        reader = csv.DictReader(file)
        missing = [c for c in BASELINE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CompareError(
                f"{path} lacks the column(s) {', '.join(missing)}; expected a "
                f"header with {', '.join(BASELINE_COLUMNS)}."
            )
        runs: dict[str, RunScores] = {}
        for line, row in enumerate(reader, start=2):
            try:
                step = int(row["step"])
                fid = float(row["fid"])
            except (TypeError, ValueError):
                raise CompareError(
                    f"{path}, line {line}: expected an integer step and a "
                    f"number fid, got step={row['step']!r} fid={row['fid']!r}."
                ) from None
            run = runs.setdefault(row["run"], RunScores(row["run"], {}, {}))
            run.fids[step] = fid
            run.statuses[step] = "ok"
    if not runs:
        raise CompareError(f"{path} has a header but no rows.")
    return list(runs.values())


def median_score(runs: list[RunScores]) -> float:
    """Return the median of the runs' scores (an unscored run is infinite)."""
    return statistics.median(run.score for run in runs)


def _format_fid(value: float) -> str:
    return f"{value:.2f}" if math.isfinite(value) else str(value)


def format_table(runs: list[RunScores]) -> str:
    """Return a Markdown table of FID by step, the scores and their median."""
    steps = sorted({step for run in runs for step in run.statuses})
    header = ["run", *[f"FID at {step:,}" for step in steps], "score (lowest)"]
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]
    for run in runs:
        cells = [run.name]
        for step in steps:
            if step in run.fids:
                cells.append(_format_fid(run.fids[step]))
            else:
                # A failed evaluation's status is `failed: <reason>`, and the
                # reason is too long for a table cell.
                cells.append(run.statuses.get(step, "").split(":")[0])
        cells.append(_format_fid(run.score))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"Median score over {len(runs)} run(s): {_format_fid(median_score(runs))}"
    )
    return "\n".join(lines)


def run_names(model_dirs: list[str]) -> list[str]:
    """Return the directory names as labels, or longer paths where they clash."""
    paths = [pathlib.Path(os.path.abspath(d)) for d in model_dirs]
    for depth in range(1, max(len(p.parts) for p in paths) + 1):
        names = [str(pathlib.Path(*p.parts[-depth:])) for p in paths]
        if len(set(names)) == len(names):
            return names
    return [str(p) for p in paths]


def plot(
    runs: list[RunScores], baseline: list[RunScores], label: str, path: str
) -> None:
    """Draw FID against step, runs solid and baseline runs dashed, into a PNG.

    The file is written to a temporary name first and then renamed, so an
    existing figure is replaced only by a complete one.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib import ticker

    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    # One colour per group and one marker per run within it, so that the
    # groups stand apart however many runs they have.
    markers = "osD^v<>p*h"
    groups = [("", runs, "-", "tab:blue")]
    if baseline:
        groups.append((f"{label}: ", baseline, "--", "tab:orange"))
    for prefix, group, style, colour in groups:
        for index, run in enumerate(group):
            steps = sorted(run.fids)
            axes.plot(
                steps,
                [run.fids[step] for step in steps],
                style,
                color=colour,
                marker=markers[index % len(markers)],
                label=f"{prefix}{run.name} ({_format_fid(run.score)})",
            )
    axes.set_yscale("log")
    axes.yaxis.set_major_formatter(ticker.ScalarFormatter())
    axes.yaxis.set_minor_formatter(ticker.ScalarFormatter())
    axes.set_xlabel("step (discriminator updates)")
    axes.set_ylabel("FID (lower is better)")
    title = f"Median score: runs {_format_fid(median_score(runs))}"
    if baseline:
        title += f", {label} {_format_fid(median_score(baseline))}"
    axes.set_title(title)
    axes.legend(title="run (score)", fontsize="small")
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(suffix=".png", dir=directory)
    os.close(handle)
    try:
        figure.savefig(temporary, dpi=100)
        os.replace(temporary, path)
    finally:
        pyplot.close(figure)
        if os.path.exists(temporary):
            os.remove(temporary)
