"""The keras-tuner `Tuner` that runs the study's trials, alone or in parallel.

Three ways to run, all with the same binary:

- Alone: one process keeps the oracle and runs `num_workers` trials at a
  time.
- Chief (`KERASTUNER_TUNER_ID=chief`, with `KERASTUNER_ORACLE_IP` and
  `KERASTUNER_ORACLE_PORT`): serves the oracle over gRPC and runs no trial;
  keras-tuner's distributed mode.
- Worker (`KERASTUNER_TUNER_ID=tuner0`, `tuner1`, ..., same address): pulls
  trials from the chief and runs `num_workers` of them at a time.

`num_workers` trials run in one process as threads that each wait on a
trainer process, rather than as processes of a local distributed search:
the trials' work happens in the trainer processes, so threads cost nothing
in speed, share one oracle in memory without a gRPC server, and stop
together on a signal.
"""

import os
import threading

from absl import logging
from keras_tuner.engine import base_tuner
from keras_tuner.engine import trial as trial_module

from tuner import progress
from tuner import search_spaces
from tuner import study
from tuner import trial_results
from tuner import trial_runner

# How long a worker waits before asking again when the oracle has no trial
# ready (a round still running, or the chief computing proposals).
IDLE_WAIT_SECONDS = 2.0

TUNER_ID_ENV = "KERASTUNER_TUNER_ID"
ORACLE_IP_ENV = "KERASTUNER_ORACLE_IP"
ORACLE_PORT_ENV = "KERASTUNER_ORACLE_PORT"


def role() -> str:
    """Return `alone`, `chief` or `worker` from keras-tuner's variables."""
    if ORACLE_IP_ENV not in os.environ:
        return "alone"
    if "chief" in os.environ.get(TUNER_ID_ENV, ""):
        return "chief"
    return "worker"


class StudyTuner(base_tuner.BaseTuner):
    """Runs trials of a `StudyHyperModel`, ending each with a progress line.

    Args:
      oracle: One of the oracles in `tuner.oracles`.
      hypermodel: A `StudyHyperModel`.
      study_dir: The study directory; keras-tuner's state goes to its
        `keras_tuner/` folder and is reloaded when present.
      num_trials: Trials in the whole search, for the progress line.
      num_workers: Trials this process runs at a time.
    """

    def __init__(self, oracle, hypermodel, study_dir, num_trials, num_workers):
        if oracle.objective.name != search_spaces.OBJECTIVE:
            raise ValueError(
                f"The oracle must minimize {search_spaces.OBJECTIVE!r}, the "
                "objective the trials report. Received: "
                f"objective={oracle.objective.name!r}."
            )
        # keras-tuner prints a table per trial unless verbose is 0; this
        # search logs its own line per trial instead.
        oracle.verbose = 0
        super().__init__(
            oracle,
            hypermodel,
            directory=str(study_dir),
            project_name=study.TUNER_PROJECT,
            overwrite=False,
        )
        self.study_dir = str(study_dir)
        self.num_trials = num_trials
        self.num_workers = num_workers
        self.errors: list[BaseException] = []
        self.interrupted = False
        self._end_lock = threading.Lock()

    @property
    def stop(self) -> threading.Event:
        return self.hypermodel.stop

    def run_trial(self, trial, *args, **kwargs):
        del args, kwargs
        flags = self.hypermodel.build(trial.hyperparameters)
        return self.hypermodel.fit(
            trial.hyperparameters, flags, trial_id=trial.trial_id
        )

    def on_trial_end(self, trial):
        with self._end_lock:
            super().on_trial_end(trial)
        result = trial_results.load_result(
            study.trial_dir(self.study_dir, trial.trial_id)
        )
        if result is None:
            # The trial raised before the runner wrote a result (a bug in
            # this package); keras-tuner records it as failed.
            logging.error(
                "Trial %s ended without a result: %s",
                trial.trial_id,
                trial.message,
            )
            return
        logging.info(
            "%s",
            progress.trial_line(
                self.study_dir, result, self.num_trials, self.num_workers
            ),
        )

    def search(self, *args, **kwargs):
        """Run the search until the oracle stops it or `stop` is set.

        Returns after every trial of this process has ended or been
        interrupted. Errors of the worker threads are in `errors`, and
        `interrupted` is true when a trainer stopped on SIGTERM.
        """
        if role() == "chief":
            logging.info(
                "Serving the oracle on %s:%s; the workers run the trials.",
                os.environ[ORACLE_IP_ENV],
                os.environ[ORACLE_PORT_ENV],
            )
            super().search(*args, **kwargs)
            return
        base_id = os.environ.get(TUNER_ID_ENV, "tuner0")
        if self.num_workers == 1:
            tuner_ids = [base_id]
        else:
            tuner_ids = [f"{base_id}-{i}" for i in range(self.num_workers)]
        threads = [
            threading.Thread(
                target=self._run_worker, args=(tuner_id,), name=tuner_id
            )
            for tuner_id in tuner_ids
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            # A join with a timeout lets the main thread handle signals.
            while thread.is_alive():
                thread.join(timeout=1.0)

    def _run_worker(self, tuner_id: str) -> None:
        try:
            while not self.stop.is_set():
                trial = self.oracle.create_trial(tuner_id)
                if trial.status == trial_module.TrialStatus.STOPPED:
                    return
                if trial.status == trial_module.TrialStatus.IDLE:
                    self.stop.wait(IDLE_WAIT_SECONDS)
                    continue
                logging.info(
                    "Starting trial %s: %s.",
                    trial.trial_id,
                    ", ".join(
                        f"{name}={value}"
                        for name, value in sorted(
                            trial.hyperparameters.values.items()
                        )
                    ),
                )
                # Catches everything but keras-tuner's FatalError, which
                # trial_runner raises to stop the search.
                self._try_run_and_update_trial(trial)
                self.on_trial_end(trial)
        except trial_runner.TrialInterrupted as error:
            logging.warning("%s", error)
            self.interrupted = True
            self.stop.set()
        except BaseException as error:  # Reported by the binary.
            logging.exception("Worker %s stopped.", tuner_id)
            self.errors.append(error)
            self.stop.set()
        finally:
            logging.info("Worker %s finished.", tuner_id)

