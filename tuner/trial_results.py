"""The outcome of a trial and of each of its seeds, and their JSON files.

`result.json` in a trial directory stores a `TrialResult`; `seed_<s>.json`
stores the `SeedOutcome` of one seed. Non-finite numbers are stored as null
and read back as NaN.
"""

import dataclasses
import json
import math
import os
import pathlib
import statistics
from typing import Any

RESULT_FILE = "result.json"


@dataclasses.dataclass
class SeedOutcome:
    """The outcome of the trainer run of one seed.

    Attributes:
      seed: The trainer's `--seed`.
      status: `completed`, `diverged` (non-finite loss, or no finite FID) or
        `crashed`.
      reason: Why the run did not complete; empty when it did.
      fid: The lowest finite FID over the run's evaluations, or NaN.
      kid: KID at that evaluation, or NaN.
      inception_score: Inception Score at that evaluation, or NaN.
      best_step: The step of that evaluation, or None.
      seconds: Wall time of the trainer process.
      exit_status: The trainer's exit status; negative for a signal.
    """

    seed: int
    status: str
    reason: str = ""
    fid: float = math.nan
    kid: float = math.nan
    inception_score: float = math.nan
    best_step: int | None = None
    seconds: float = 0.0
    exit_status: int | None = None


@dataclasses.dataclass
class TrialResult:
    """The outcome of one trial, stored as result.json.

    Attributes:
      trial_id: keras-tuner's trial id.
      round: The search round (0-based); None for the grid.
      status: `completed` or `failed`.
      reason: Why the trial failed; empty when it completed.
      fid: Median over seeds of each seed's lowest FID (a diverged seed
        counts as infinite); NaN when failed.
      kid: Median KID over the completed seeds, at their lowest-FID step.
      inception_score: Median Inception Score over the completed seeds.
      seconds: Sum of the seeds' trainer wall times.
      hyperparameters: The searched trainer flags and their values.
      seeds: One `SeedOutcome` per seed run.
      best_seed: The completed seed with the lowest FID, or None.
    """

    trial_id: str
    round: int | None
    status: str
    reason: str
    fid: float
    kid: float
    inception_score: float
    seconds: float
    hyperparameters: dict[str, Any]
    seeds: list[SeedOutcome]
    best_seed: int | None


def _json_number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def to_float(value: Any) -> float:
    """Return `value` as a float, with None as NaN."""
    return math.nan if value is None else float(value)


def write_json(path: pathlib.Path, document: dict[str, Any]) -> None:
    """Write `document` to `path` through a temporary file and a rename."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(document, indent=2, sort_keys=True))
    os.replace(temporary, path)


def _outcome_to_json(outcome: SeedOutcome) -> dict[str, Any]:
    document = dataclasses.asdict(outcome)
    for name in ("fid", "kid", "inception_score"):
        document[name] = _json_number(document[name])
    return document


def _outcome_from_json(document: dict[str, Any]) -> SeedOutcome:
    values = dict(document)
    for name in ("fid", "kid", "inception_score"):
        values[name] = to_float(values[name])
    return SeedOutcome(**values)


def save_outcome(path: pathlib.Path, outcome: SeedOutcome) -> None:
    """Write a seed's outcome file; non-finite numbers become null."""
    write_json(path, _outcome_to_json(outcome))


def load_outcome(path: pathlib.Path) -> SeedOutcome:
    """Read a seed's outcome file written by `save_outcome`."""
    return _outcome_from_json(json.loads(path.read_text()))


def save_result(trial_dir: pathlib.Path, result: TrialResult) -> None:
    """Write result.json; non-finite numbers become null."""
    document = dataclasses.asdict(result)
    for name in ("fid", "kid", "inception_score"):
        document[name] = _json_number(document[name])
    document["seeds"] = [_outcome_to_json(seed) for seed in result.seeds]
    write_json(trial_dir / RESULT_FILE, document)


def load_result(trial_dir: pathlib.Path) -> TrialResult | None:
    """Read result.json of a trial, or return None if it has none."""
    path = trial_dir / RESULT_FILE
    if not path.exists():
        return None
    document = json.loads(path.read_text())
    for name in ("fid", "kid", "inception_score"):
        document[name] = to_float(document[name])
    document["seeds"] = [
        _outcome_from_json(seed) for seed in document["seeds"]
    ]
    return TrialResult(**document)


def _median(values: list[float]) -> float:
    finite = [value for value in values if not math.isnan(value)]
    return statistics.median(finite) if finite else math.nan


def summarize(
    trial_id: str,
    round_index: int | None,
    hyperparameters: dict[str, Any],
    outcomes: list[SeedOutcome],
    num_seeds: int,
) -> TrialResult:
    """Combine the seeds' outcomes into the trial's result.

    Deviation: the study trained one seed per setting. With several seeds
    the score is the median of the seeds' lowest FIDs, where a diverged seed
    counts as infinitely bad. The trial fails when that median is infinite,
    which happens when at least half of the seeds diverged. A crashed seed
    fails the trial, because a crash gives no information on the setting.
    """
    completed = [o for o in outcomes if o.status == "completed"]
    crashed = [o for o in outcomes if o.status == "crashed"]
    diverged = [o for o in outcomes if o.status == "diverged"]
    fids = [outcome.fid for outcome in completed] + [math.inf] * (
        len(diverged) + num_seeds - len(outcomes)
    )
    fid = statistics.median(fids) if fids else math.inf
    status, reason = "completed", ""
    if crashed:
        status = "failed"
        reason = f"seed {crashed[0].seed} crashed ({crashed[0].reason})"
    elif not math.isfinite(fid):
        status = "failed"
        reason = (
            f"diverged in {len(diverged)} of {num_seeds} seeds "
            f"(seed {diverged[0].seed}: {diverged[0].reason})"
        )
    best = min(completed, key=lambda outcome: outcome.fid, default=None)
    return TrialResult(
        trial_id=trial_id,
        round=round_index,
        status=status,
        reason=reason,
        fid=fid if status == "completed" else math.nan,
        kid=_median([outcome.kid for outcome in completed]),
        inception_score=_median(
            [outcome.inception_score for outcome in completed]
        ),
        seconds=sum(outcome.seconds for outcome in outcomes),
        hyperparameters=dict(hyperparameters),
        seeds=list(outcomes),
        best_seed=best.seed if best else None,
    )
