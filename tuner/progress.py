"""The log line written when a trial ends.

The numbers come from the result.json files of the study directory, so they
include trials that ended before a restart and, with a shared study
directory, trials of other machines.
"""

import math
import pathlib

from tuner import study
from tuner import trial_results


def format_duration(seconds: float) -> str:
    """Return `1h02m`, `12m03s` or `41s`."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{seconds:02d}s"
    return f"{seconds}s"


def _format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def load_results(study_dir: str | pathlib.Path) -> list:
    """Return the `TrialResult` of every ended trial, by trial id."""
    directory = study.trials_dir(study_dir)
    if not directory.exists():
        return []
    results = []
    for trial_dir in sorted(directory.iterdir()):
        result = trial_results.load_result(trial_dir)
        if result is not None:
            results.append(result)
    return results


def trial_line(
    study_dir: str | pathlib.Path,
    result: trial_results.TrialResult,
    num_trials: int,
    num_workers: int,
) -> str:
    """Describe an ended trial and the state of the whole search.

    The time left is an estimate: the mean time of the ended trials, times
    the trials left, divided by the trials this process runs at a time.
    """
    results = load_results(study_dir)
    round_text = "" if result.round is None else f" (round {result.round})"
    values = " ".join(
        f"{name}={_format_value(value)}"
        for name, value in sorted(result.hyperparameters.items())
    )
    if result.status == "completed":
        outcome = f"fid={result.fid:.4g}"
    else:
        outcome = f"failed: {result.reason}"
    completed = [r for r in results if r.status == "completed"]
    if completed:
        best = min(completed, key=lambda r: r.fid)
        best_text = f"best fid={best.fid:.4g} (trial {best.trial_id})"
    else:
        best_text = "no trial completed yet"
    left = max(num_trials - len(results), 0)
    mean_seconds = sum(r.seconds for r in results) / max(len(results), 1)
    eta = mean_seconds * math.ceil(left / max(num_workers, 1))
    return (
        f"Trial {result.trial_id}{round_text} ended after "
        f"{format_duration(result.seconds)}: {outcome}; {values}. "
        f"{best_text}; {left} of {num_trials} trials left, about "
        f"{format_duration(eta)} left."
    )
