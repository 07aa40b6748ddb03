"""Build the oracle, hypermodel and tuner of a study and run the search."""

import os
import signal
import sys
import threading
import warnings

import keras_tuner
import sklearn.exceptions
from absl import logging

from tfgan_study import cli
from tuner import hypermodel as hypermodel_lib
from tuner import oracles
from tuner import progress
from tuner import search_spaces
from tuner import study
from tuner import study_tuner
from tuner import trial_runner


def make_oracle(settings: study.StudySettings) -> keras_tuner.Oracle:
    """Return the oracle of `settings.space`, minimizing `fid`."""
    penalty = settings.trainer_config["penalty"]
    hyperparameters = search_spaces.declared_space(settings.space, penalty)
    common = {
        "objective": keras_tuner.Objective(search_spaces.OBJECTIVE, "min"),
        "hyperparameters": hyperparameters,
        "allow_new_entries": False,
        "tune_new_entries": False,
        "seed": settings.search_seed,
        # keras-tuner stops a search after 3 failed trials in a row by
        # default. Diverging settings are an expected result of a GAN study,
        # so failures never stop this search.
        "max_consecutive_failed_trials": sys.maxsize,
    }
    if settings.space == "table1":
        return oracles.StudyGridOracle(
            grid=search_spaces.grid_values(hyperparameters), **common
        )
    return oracles.RoundBayesianOracle(
        rounds=settings.rounds,
        trials_per_round=settings.trials_per_round,
        **common,
    )


def _install_stop_handlers(stop: threading.Event, chief: bool) -> None:
    """Stop the search on SIGTERM and SIGINT (Ctrl-C).

    A searching process sets `stop`: running trainers save a checkpoint and
    exit, and no new trial starts. A chief has no trainer to stop and saves
    its state after every change, so it exits at once.
    """

    def handle(signum, frame):
        del frame
        if chief:
            logging.warning("Received signal %d; the chief exits.", signum)
            os._exit(cli.EXIT_INTERRUPTED)
        if stop.is_set():
            logging.warning("Received signal %d; already stopping.", signum)
            return
        logging.warning(
            "Received signal %d; stopping the running trainers after their "
            "next step. Rerun the same command to resume.",
            signum,
        )
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def run_search(
    study_dir: str, settings: study.StudySettings, num_workers: int
) -> int:
    """Run (or resume) the search in `study_dir`; return the exit status.

    Returns:
      0 when the search ended, 2 when the trainer rejected a shared flag, 4
      when it was stopped (rerun to resume), 1 on any other error.
    """
    # The Gaussian process warns whenever a fitted length scale reaches its
    # bound, which is common with the few points of early rounds.
    warnings.filterwarnings(
        "ignore", category=sklearn.exceptions.ConvergenceWarning
    )
    stop = threading.Event()
    penalty = settings.trainer_config["penalty"]
    model = hypermodel_lib.StudyHyperModel(
        space=settings.space,
        penalty=penalty,
        study_dir=study_dir,
        fixed_flags=settings.trainer_flags,
        seeds=settings.seeds,
        trials_per_round=settings.trials_per_round,
        stop=stop,
    )
    tuner = study_tuner.StudyTuner(
        make_oracle(settings),
        model,
        study_dir,
        settings.num_trials,
        num_workers,
    )
    _install_stop_handlers(stop, study_tuner.role() == "chief")
    tuner.search()

    for error in tuner.errors:
        if isinstance(error, trial_runner.TrainerRejectedInput):
            logging.error("%s", error)
            return cli.EXIT_BAD_INPUT
    if tuner.errors:
        logging.error("The search stopped on an error: %s", tuner.errors[0])
        return cli.EXIT_ERROR
    if stop.is_set() or tuner.interrupted:
        logging.warning("Search stopped. Rerun the same command to resume.")
        return cli.EXIT_INTERRUPTED
    results = progress.load_results(study_dir)
    completed = [r for r in results if r.status == "completed"]
    summary = f"{len(results)} trials ended, {len(completed)} completed"
    if completed:
        best = min(completed, key=lambda r: r.fid)
        summary += f"; best fid={best.fid:.4g} (trial {best.trial_id})"
    logging.info("Search finished in %s: %s.", study_dir, summary)
    return cli.EXIT_OK
