"""keras-tuner oracles for the study: the Table 1 grid and batched rounds.

Both oracles resume from their saved state: trials that ended are never
proposed again, and a trial that was running when the search stopped is
handed out again with the same id and values.

Batch proposals (`RoundBayesianOracle`): the trials of round k are proposed
together, when every trial of the rounds before k has ended, so the results
of round k cannot influence any proposal of round k. The first round is
drawn at random. Each later round fits the Gaussian process to the finite
objectives of all earlier trials and then proposes its trials one at a time.
Each proposal minimizes keras-tuner's lower confidence bound
(mean - beta * std). It then joins the fit as a pending point whose
objective is the pessimistic guess mean + std of the Gaussian process
fitted to real results only, which is how keras-tuner treats running
trials. Pending points shrink the uncertainty around them, so one round
spreads over the space instead of proposing the same point repeatedly.
"""

import math
from typing import Any

import keras_tuner
import numpy as np
import scipy.optimize
from keras_tuner.engine import trial as trial_module

_RUNNING = trial_module.TrialStatus.RUNNING
_IDLE = trial_module.TrialStatus.IDLE
_STOPPED = trial_module.TrialStatus.STOPPED
_COMPLETED = trial_module.TrialStatus.COMPLETED

# The acquisition is evaluated at this many random points at once, and
# L-BFGS-B starts from the best few of them. keras-tuner 1.4.8 instead runs
# L-BFGS-B from 50 random points, which took about 5 s per proposal on a
# busy 2-core CPU; this takes a fraction of that.
_ACQUISITION_SAMPLES = 1000
_ACQUISITION_STARTS = 5


class _ResumableMixin:
    """Serialized saves and recovery of a trial created just before a kill.

    `Oracle.create_trial` writes the new trial's trial.json before
    oracle.json. A search killed between the two writes leaves a trial that
    the reloaded state lists neither as running nor as ended. Without this
    recovery the trial would never run, and a round-based oracle would wait
    for it forever. Saves are serialized because worker threads of one
    search end trials concurrently and each end saves the oracle.
    """

    @keras_tuner.synchronized
    def save(self):
        super().save()

    @keras_tuner.synchronized
    def end_trial(self, trial):
        super().end_trial(trial)
        # keras-tuner 1.4.8 saves before it removes the trial from the
        # running ones, so a restart before the next save would rerun it.
        self.save()

    def reload(self):
        super().reload()
        ended = set(self.end_order)
        self._retry_queue = [i for i in self._retry_queue if i not in ended]
        accounted = ended | set(self._retry_queue)
        for trial_id in sorted(self.trials):
            if trial_id in accounted:
                continue
            self._retry_queue.append(trial_id)
            if trial_id not in self.start_order:
                self.start_order.append(trial_id)
            self._forget_proposal(self.trials[trial_id].hyperparameters.values)

    def _forget_proposal(self, values: dict[str, Any]) -> None:
        """Drop `values` from the proposals not yet handed out, if queued."""
        del values


class StudyGridOracle(_ResumableMixin, keras_tuner.Oracle):
    """Hands out every combination of a space of `Choice`s once, in order.

    Trial i runs combination i of `search_spaces.grid_values`, so the next
    combination follows from the number of trials created, which keras-tuner
    reloads from the trial files. keras-tuner's own `GridSearchOracle` is not
    used because it keeps its iteration order only in memory: in keras-tuner
    1.4.8 a reloaded `GridSearchOracle` finds nothing left to try and stops
    the search after the running trials.

    Args:
      hyperparameters: The declared grid (unconditional `Choice`s only).
      grid: The combinations, as `search_spaces.grid_values` returns them.
      **kwargs: Passed to `keras_tuner.Oracle` (objective, seed, ...).
    """

    def __init__(self, hyperparameters, grid: list[dict[str, Any]], **kwargs):
        super().__init__(
            hyperparameters=hyperparameters, max_trials=len(grid), **kwargs
        )
        self.grid = grid

    def populate_space(self, trial_id):
        index = int(trial_id)
        if index >= len(self.grid):
            return {"status": _STOPPED, "values": None}
        return {"status": _RUNNING, "values": dict(self.grid[index])}


class RoundBayesianOracle(
    _ResumableMixin, keras_tuner.oracles.BayesianOptimizationOracle
):
    """Gaussian-process Bayesian optimization in rounds of parallel trials.

    See the module docstring for how a round's proposals are made. Trial ids
    are consecutive integers in creation order and every round creates
    exactly `trials_per_round` trials, so trial i belongs to round
    i // trials_per_round.

    Deviation: the study used Google's internal Vizier service. This oracle
    uses keras-tuner's Gaussian process (Matern 5/2 kernel, lower confidence
    bound with beta 2.6) with the batching described above. It minimizes
    the bound with L-BFGS-B from the best of 1000 random points. Trials that
    failed are left out of the fit, as keras-tuner leaves them out.

    Args:
      rounds: Number of rounds.
      trials_per_round: Trials proposed together in each round.
      **kwargs: Passed to `BayesianOptimizationOracle` (objective,
        hyperparameters, seed, ...).
    """

    def __init__(self, rounds: int, trials_per_round: int, **kwargs):
        super().__init__(
            max_trials=rounds * trials_per_round,
            num_initial_points=trials_per_round,
            **kwargs,
        )
        self.rounds = rounds
        self.trials_per_round = trials_per_round
        # Values proposed for the current round and not yet handed out.
        self._proposals: list[dict[str, Any]] = []
        self._rounds_proposed = 0

    def populate_space(self, trial_id):
        if not self._proposals:
            ended = set(self.end_order)
            if any(trial_id not in ended for trial_id in self.trials):
                # The current round is still running.
                return {"status": _IDLE, "values": None}
            if self._rounds_proposed >= self.rounds:
                return {"status": _STOPPED, "values": None}
            self._proposals = self.propose_round()
            self._rounds_proposed += 1
            # Saved before the first trial of the round exists, so that a
            # restart finds every proposal either queued or in a trial.
            self.save()
        return {"status": _RUNNING, "values": self._proposals.pop(0)}

    def propose_round(self) -> list[dict[str, Any]]:
        """Return the values of the next round's trials, in order."""
        completed = [
            trial
            for trial in self.trials.values()
            if trial.status == _COMPLETED
            and trial.score is not None
            and math.isfinite(trial.score)
        ]
        # A Gaussian process needs at least two points to fit a length scale.
        if self._rounds_proposed == 0 or len(completed) < 2:
            return [
                self._random_values() for _ in range(self.trials_per_round)
            ]

        x_observed = np.array([self._to_vector(trial) for trial in completed])
        y_observed = np.array(
            [self._minimized(trial.score) for trial in completed]
        )
        observed_gp = self._make_gpr()
        observed_gp.fit(x_observed, y_observed)

        pending_x: list[np.ndarray] = []
        pending_y: list[float] = []
        proposals = []
        for _ in range(self.trials_per_round):
            if pending_x:
                x = np.concatenate([x_observed, np.array(pending_x)])
                y = np.concatenate([y_observed, np.array(pending_y)])
            else:
                x, y = x_observed, y_observed
            self.gpr.fit(x, y)
            best_x = self._minimize_acquisition()
            proposals.append(self._vector_to_values(best_x))
            mean, std = observed_gp.predict(
                best_x.reshape(1, -1), return_std=True
            )
            pending_x.append(best_x)
            pending_y.append(float(mean[0] + std[0]))
        return proposals

    def _minimized(self, score: float) -> float:
        return -score if self.objective.direction == "max" else score

    def _to_vector(self, trial) -> np.ndarray:
        """Map a trial's values into the unit cube keras-tuner fits in."""
        values = trial.hyperparameters.values
        vector = []
        for parameter in self._nonfixed_space():
            value = values.get(parameter.name, parameter.default)
            vector.append(parameter.value_to_prob(value))
        return np.array(vector)

    def _minimize_acquisition(self) -> np.ndarray:
        def lower_confidence_bound(x):
            points = x.reshape(-1, len(bounds))
            mean, std = self.gpr.predict(points, return_std=True)
            return mean - self.beta * std

        bounds = self._get_hp_bounds()
        samples = self._random_state.uniform(
            bounds[:, 0],
            bounds[:, 1],
            size=(_ACQUISITION_SAMPLES, len(bounds)),
        )
        order = np.argsort(lower_confidence_bound(samples))
        starts = samples[order[:_ACQUISITION_STARTS]]
        best_value = math.inf
        best_x = starts[0]
        for start in starts:
            result = scipy.optimize.minimize(
                lambda x: float(lower_confidence_bound(x)[0]),
                x0=start,
                bounds=bounds,
                method="L-BFGS-B",
            )
            if float(result.fun) < best_value:
                best_value = float(result.fun)
                best_x = result.x
        return np.clip(best_x, bounds[:, 0], bounds[:, 1])

    def _forget_proposal(self, values):
        if values in self._proposals:
            self._proposals.remove(values)

    def get_state(self):
        state = super().get_state()
        state.update(
            {
                "rounds": self.rounds,
                "trials_per_round": self.trials_per_round,
                "proposals": self._proposals,
                "rounds_proposed": self._rounds_proposed,
            }
        )
        return state

    def set_state(self, state):
        super().set_state(state)
        self._proposals = list(state["proposals"])
        self._rounds_proposed = int(state["rounds_proposed"])
