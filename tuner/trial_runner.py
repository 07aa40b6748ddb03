"""Run one trial: one trainer process per seed, and the trial's outcome.

For each seed s, a trial directory contains the trainer's model directory
`seed_<s>/`, its output `seed_<s>.log` and, once that run has ended, its
outcome `seed_<s>.json`. `result.json` is written when the whole trial has
ended. A rerun of an interrupted trial skips the seeds that have an outcome
and resumes the others from their latest checkpoint (the trainer resumes on
its own when given the same model directory).

The trainer's exit status distinguishes the outcomes: 0 done, 2 bad input, 3
diverged, 4 stopped by SIGTERM after saving a checkpoint (see
tfgan_study/train.py). Any other status is a crash.

Limitations: the time of a trial counts only the last run of each seed, not
the part before an interruption. Trainers that outlive a killed search are
stopped through the parent-death signal, which only Linux provides.
"""

import csv
import fcntl
import math
import os
import pathlib
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from absl import logging
from keras_tuner import errors

from tfgan_study import cli
from tuner import trial_results


# The trainer's per-evaluation table and the columns read from it (see
# tfgan_study/run_dir.py).
SCORES_FILE = "scores.csv"

# Names a command that replaces `python -m tfgan_study.train`, split like a
# shell command line; it receives the same flags. Tests use it to run a fast
# stand-in trainer.
TRAINER_ENV = "TFGAN_STUDY_TRAINER"

# How often a waiting search checks whether a stop was requested.
_POLL_SECONDS = 0.5

# Runs in the child before the trainer: requests SIGTERM from Linux when the
# search dies (PR_SET_PDEATHSIG = 1), then replaces itself with the trainer.
# The trainer saves a checkpoint on SIGTERM, so a killed search loses no
# progress. The setting survives exec; the parent check closes the window in
# which the search died before the request was made.
_PARENT_DEATH_SIGNAL = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None).prctl(1, signal.SIGTERM)\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit(4)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


class TrialInterrupted(errors.FatalError):
    """The search is stopping; the trial is left to a later rerun."""


class TrainerRejectedInput(errors.FatalError):
    """The trainer exited with status 2 for a flag shared by every trial.

    The searched values are validated before the search starts, so a bad
    input reported by the trainer (missing data, feature network or a bad
    fixed flag) would fail every trial alike. The search stops instead.
    """


def trainer_command() -> list[str]:
    """Return the trainer command line before the flags."""
    override = os.environ.get(TRAINER_ENV)
    if override:
        return shlex.split(override)
    return [sys.executable, "-m", "tfgan_study.train"]


def best_evaluation(model_dir: pathlib.Path) -> dict[str, Any] | None:
    """Return the scores.csv row with the lowest finite FID, or None."""
    path = model_dir / SCORES_FILE
    if not path.exists():
        return None
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    finite = [
        row
        for row in rows
        if row.get("status") == "ok"
        and math.isfinite(trial_results.to_float(row["fid"]))
    ]
    if not finite:
        return None
    return min(finite, key=lambda row: float(row["fid"]))


# An error line that absl logging writes from Python code:
# "E1204 21:31:28.811184 140319756651392 train.py:162] message". TensorFlow's
# C++ lines ("E0000 00:00:... util.cc:131] ...") do not match.
_ABSL_ERROR = re.compile(r"^E\d{4} [\d:.]+ +\d+ [\w.]+\.py:\d+\] (.*)$")


def _log_lines(log_path: pathlib.Path) -> list[str]:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]


def _last_error(log_path: pathlib.Path) -> str:
    """Return a trainer log's last absl error message, else its last line."""
    lines = _log_lines(log_path)
    for line in reversed(lines):
        match = _ABSL_ERROR.match(line)
        if match:
            return match.group(1)
    return lines[-1] if lines else "no trainer output"


def _last_line(log_path: pathlib.Path) -> str:
    """Return the last line of a trainer log, such as a traceback's error."""
    lines = _log_lines(log_path)
    if not lines:
        return "no trainer output"
    match = _ABSL_ERROR.match(lines[-1])
    return match.group(1) if match else lines[-1]


def _flag_arguments(flags: dict[str, Any]) -> list[str]:
    return [f"--{name}={value}" for name, value in sorted(flags.items())]


def run_trainer(
    model_dir: pathlib.Path,
    log_path: pathlib.Path,
    flags: dict[str, Any],
    stop: threading.Event,
) -> tuple[int, float]:
    """Run the trainer on `flags` into `model_dir` and wait for it to end.

    When `stop` is set the trainer receives SIGTERM, saves a checkpoint and
    exits with status 4. The trainer runs in its own session, so a Ctrl-C
    in the terminal reaches only the search, which then stops it this way.

    Returns:
      The exit status (negative for a signal) and the wall time in seconds.
    """
    command = trainer_command() + _flag_arguments(
        {**flags, "model_dir": str(model_dir)}
    )
    if sys.platform.startswith("linux"):
        command = [
            sys.executable,
            "-c",
            _PARENT_DEATH_SIGNAL,
            str(os.getpid()),
        ] + command
    # The lock is held by the trainer too (through the inherited file
    # descriptor), so a rerun waits for a trainer that outlived its search.
    lock_path = model_dir.parent / f".{model_dir.name}.lock"
    with open(lock_path, "w") as lock, open(log_path, "a") as log:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logging.warning(
                "Waiting for an earlier trainer of %s to exit.", model_dir
            )
            fcntl.flock(lock, fcntl.LOCK_EX)
        start = time.monotonic()
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=(lock.fileno(),),
        )
        terminated = False
        while True:
            try:
                status = process.wait(timeout=_POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                if stop.is_set() and not terminated:
                    process.send_signal(signal.SIGTERM)
                    terminated = True
    return status, time.monotonic() - start


def run_seed(
    trial_dir: pathlib.Path,
    seed: int,
    flags: dict[str, Any],
    stop: threading.Event,
) -> trial_results.SeedOutcome:
    """Train one seed of a trial and return how it ended.

    Raises:
      TrialInterrupted: If the trainer stopped on SIGTERM.
      TrainerRejectedInput: If the trainer exited with status 2.
    """
    model_dir = trial_dir / f"seed_{seed}"
    log_path = trial_dir / f"seed_{seed}.log"
    status, seconds = run_trainer(
        model_dir, log_path, {**flags, "seed": seed}, stop
    )
    outcome = trial_results.SeedOutcome(seed=seed, status="", seconds=seconds)
    outcome.exit_status = status
    if status == cli.EXIT_INTERRUPTED:
        raise TrialInterrupted(
            f"The trainer of {model_dir} stopped after saving a checkpoint."
        )
    if status == cli.EXIT_BAD_INPUT:
        raise TrainerRejectedInput(
            f"The trainer rejected its input: {_last_error(log_path)} "
            f"(log: {log_path})."
        )
    if status == cli.EXIT_DIVERGED:
        outcome.status = "diverged"
        outcome.reason = _last_error(log_path)
    elif status == cli.EXIT_OK:
        row = best_evaluation(model_dir)
        if row is None:
            outcome.status = "diverged"
            outcome.reason = f"no finite FID in {model_dir / SCORES_FILE}"
        else:
            outcome.status = "completed"
            outcome.fid = float(row["fid"])
            outcome.kid = trial_results.to_float(row.get("kid") or None)
            outcome.inception_score = trial_results.to_float(
                row.get("inception_score") or None
            )
            outcome.best_step = int(row["step"])
    else:
        outcome.status = "crashed"
        how = (
            f"killed by signal {-status}"
            if status < 0
            else f"exit status {status}"
        )
        outcome.reason = f"{how}: {_last_line(log_path)}"
    return outcome


def run_trial(
    trial_dir: pathlib.Path,
    trial_id: str,
    round_index: int | None,
    hyperparameters: dict[str, Any],
    fixed_flags: dict[str, Any],
    seeds: list[int],
    stop: threading.Event,
) -> trial_results.TrialResult:
    """Train every seed of a trial and write its result.json.

    Seeds run one after another. Seeds that already have an outcome file
    from an interrupted run are not trained again. Once more than half of
    the seeds have diverged the median is infinite whatever the others do,
    so the remaining seeds are skipped.

    Args:
      trial_dir: The trial's directory; created if missing.
      trial_id: keras-tuner's trial id.
      round_index: The trial's search round, or None for the grid.
      hyperparameters: The searched trainer flags of this trial.
      fixed_flags: The trainer flags shared by all trials.
      seeds: The trainer seeds to run.
      stop: Set when the search must stop; see `run_trainer`.

    Raises:
      TrialInterrupted: If the search is stopping; rerun the trial later.
      TrainerRejectedInput: If the trainer rejected a shared flag.
    """
    trial_dir.mkdir(parents=True, exist_ok=True)
    flags = {**fixed_flags, **hyperparameters}
    outcomes = []
    for seed in seeds:
        outcome_path = trial_dir / f"seed_{seed}.json"
        if outcome_path.exists():
            outcome = trial_results.load_outcome(outcome_path)
        else:
            if stop.is_set():
                raise TrialInterrupted(f"Stopped before trial {trial_id}.")
            outcome = run_seed(trial_dir, seed, flags, stop)
            trial_results.save_outcome(outcome_path, outcome)
        outcomes.append(outcome)
        num_diverged = sum(o.status == "diverged" for o in outcomes)
        if outcome.status == "crashed" or num_diverged * 2 > len(seeds):
            break
    result = trial_results.summarize(
        trial_id, round_index, hyperparameters, outcomes, len(seeds)
    )
    trial_results.save_result(trial_dir, result)
    return result
