"""The study's trials as a keras-tuner `HyperModel`.

`build(hp)` declares the search space and returns the trial's trainer
flags, because the "model" of a trial is its configuration.
`fit(hp, model, ...)` trains it in trainer processes and returns
`{"fid": ...}`, the oracle's objective, named like the `fid` column of the
trainer's scores.csv.
"""

import threading
from typing import Any

import keras_tuner

from tuner import search_spaces
from tuner import study
from tuner import trial_runner


class StudyHyperModel(keras_tuner.HyperModel):
    """Trains one configuration of the study per trial.

    Args:
      space: `table1` or `table2`.
      penalty: The trainer's penalty, which decides the penalty-weight range.
      study_dir: The study directory; trials go to its `trials/<id>/`.
      fixed_flags: Trainer flags shared by every trial.
      seeds: The trainer seeds each trial trains.
      trials_per_round: Trials per round of table2, to record each trial's
        round; None for table1.
      stop: Set when the search must stop; running trainers then save a
        checkpoint and exit.
    """

    def __init__(
        self,
        space: str,
        penalty: str,
        study_dir: str,
        fixed_flags: dict[str, Any],
        seeds: list[int],
        trials_per_round: int | None,
        stop: threading.Event,
    ):
        super().__init__(name=f"study_{space}")
        self.space = space
        self.penalty = penalty
        self.study_dir = study_dir
        self.fixed_flags = dict(fixed_flags)
        self.seeds = list(seeds)
        self.trials_per_round = trials_per_round
        self.stop = stop

    def build(self, hp: keras_tuner.HyperParameters) -> dict[str, Any]:
        return search_spaces.build(self.space, hp, self.penalty)

    def fit(
        self,
        hp: keras_tuner.HyperParameters,
        model: dict[str, Any],
        trial_id: str,
        **kwargs,
    ) -> dict[str, float]:
        """Train the trainer flags `model` for every seed; return the FID.

        Raises:
          FailedTrialError: If the trial diverged or crashed; the reason is
            in the trial's result.json.
          TrialInterrupted, TrainerRejectedInput: See `trial_runner`.
        """
        del hp, kwargs
        round_index = None
        if self.trials_per_round:
            round_index = int(trial_id) // self.trials_per_round
        result = trial_runner.run_trial(
            study.trial_dir(self.study_dir, trial_id),
            trial_id,
            round_index,
            model,
            self.fixed_flags,
            self.seeds,
            self.stop,
        )
        if result.status != "completed":
            raise keras_tuner.errors.FailedTrialError(
                f"Trial {trial_id} failed: {result.reason}"
            )
        return {search_spaces.OBJECTIVE: result.fid}
