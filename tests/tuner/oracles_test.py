"""Tests of the grid oracle and of the round semantics of the Bayesian one."""

import math
import pathlib

import pytest
from keras_tuner.engine import trial as trial_module

from tuner import search_lib
from tuner import search_spaces
from tuner import study

Status = trial_module.TrialStatus


def _settings(space="table2", rounds=3, per_round=2, penalty="wgan_gp"):
    return study.StudySettings(
        space=space,
        rounds=rounds if space == "table2" else None,
        trials_per_round=per_round if space == "table2" else None,
        num_trials=search_spaces.num_trials(space, penalty, rounds, per_round),
        seeds=[0],
        search_seed=7,
        trainer_flags={},
        trainer_config={"penalty": penalty},
        tuned_flags=list(search_spaces.tuned_flags(space, penalty)),
    )


def _oracle(directory, **kwargs):
    oracle = search_lib.make_oracle(_settings(**kwargs))
    oracle.verbose = 0
    oracle._set_project_dir(str(directory), "project")
    return oracle


def _reloaded(directory, **kwargs):
    oracle = _oracle(directory, **kwargs)
    oracle.reload()
    return oracle


def _fid(values):
    """A smooth objective with its minimum inside the Table 2 ranges."""
    return (
        20.0
        + 10.0 * (math.log10(values["learning_rate"]) + 3.5) ** 2
        + 8.0 * (values["beta1"] - 0.5) ** 2
        + 8.0 * (values["beta2"] - 0.9) ** 2
    )


def _end(oracle, trial, fid):
    """End `trial` with `fid`, or as failed when `fid` is None."""
    if fid is None:
        trial.status = Status.FAILED
    else:
        oracle.update_trial(trial.trial_id, {"fid": fid})
        trial.status = Status.COMPLETED
    oracle.end_trial(trial)


def _run_round(oracle, tuner_ids=("a", "b"), fid=_fid):
    trials = [oracle.create_trial(tuner_id) for tuner_id in tuner_ids]
    assert all(trial.status == Status.RUNNING for trial in trials)
    for trial in trials:
        _end(oracle, trial, fid(trial.hyperparameters.values))
    return trials


def _in_range(hp, values):
    for parameter in hp.space:
        value = values[parameter.name]
        if not parameter.min_value <= value <= parameter.max_value:
            return False
    return True


def test_next_round_waits_for_running_round(tmp_path):
    oracle = _oracle(tmp_path)
    first = oracle.create_trial("a")
    second = oracle.create_trial("b")
    assert [first.trial_id, second.trial_id] == ["0", "1"]
    assert oracle.create_trial("c").status == Status.IDLE
    _end(oracle, first, 30.0)
    assert oracle.create_trial("c").status == Status.IDLE
    _end(oracle, second, 40.0)
    third = oracle.create_trial("c")
    assert third.status == Status.RUNNING
    assert third.trial_id == "2"


def test_round_ignores_results_of_its_own_trials(tmp_path):
    together = _oracle(tmp_path / "together")
    one_by_one = _oracle(tmp_path / "one_by_one")
    _run_round(together)
    _run_round(one_by_one)
    together_trials = [together.create_trial(i) for i in ("a", "b")]
    first = one_by_one.create_trial("a")
    # A result of round 1 arrives before the second trial of round 1 is
    # handed out; it must not change that trial's values.
    _end(one_by_one, first, 1.0)
    second = one_by_one.create_trial("b")
    assert first.hyperparameters.values == (
        together_trials[0].hyperparameters.values
    )
    assert second.hyperparameters.values == (
        together_trials[1].hyperparameters.values
    )


def test_bayesian_rounds_stay_in_range_and_stop(tmp_path):
    oracle = _oracle(tmp_path, rounds=3, per_round=3, penalty="l2")
    hp = search_spaces.declared_space("table2", "l2")
    seen = []
    for _ in range(3):
        trials = _run_round(oracle, tuner_ids=("a", "b", "c"))
        values = [trial.hyperparameters.values for trial in trials]
        assert all(_in_range(hp, v) for v in values)
        # The pending points keep one round's proposals apart.
        assert len({tuple(sorted(v.items())) for v in values}) == 3
        seen.extend(values)
    assert oracle.create_trial("a").status == Status.STOPPED
    assert len(oracle.trials) == 9
    assert len({tuple(sorted(v.items())) for v in seen}) == 9


def test_gaussian_process_improves_on_random_round(tmp_path):
    oracle = _oracle(tmp_path, rounds=3, per_round=4)
    first = _run_round(oracle, tuner_ids=("a", "b", "c", "d"))
    random_best = min(_fid(t.hyperparameters.values) for t in first)
    later = []
    for _ in range(2):
        later += _run_round(oracle, tuner_ids=("a", "b", "c", "d"))
    assert min(_fid(t.hyperparameters.values) for t in later) < random_best


def test_failures_never_stop_the_search(tmp_path):
    oracle = _oracle(tmp_path, rounds=4, per_round=2)
    for _ in range(3):
        _run_round(oracle, fid=lambda values: None)
    assert len(oracle.end_order) == 6
    trials = _run_round(oracle)
    assert all(trial.status == Status.COMPLETED for trial in trials)
    assert oracle.create_trial("a").status == Status.STOPPED


def test_failed_trials_stay_out_of_the_fit(tmp_path):
    oracle = _oracle(tmp_path, rounds=2, per_round=4)
    fids = iter([30.0, None, 25.0, None])
    _run_round(oracle, tuner_ids=("a", "b", "c", "d"), fid=lambda v: next(fids))
    oracle.create_trial("a")
    # The last fit of round 1 contains the 2 finite results and the 3
    # pending proposals that came before the last one.
    assert oracle.gpr.X_train_.shape[0] == 2 + 3
    assert all(math.isfinite(y) for y in oracle.gpr.y_train_)


def test_reload_reruns_running_trial_and_keeps_round(tmp_path):
    original = _oracle(tmp_path)
    _run_round(original)
    running = original.create_trial("a")
    expected_next = original.create_trial("b").hyperparameters.values
    resumed = _reloaded(tmp_path)
    reruns = [resumed.create_trial("x"), resumed.create_trial("y")]
    assert sorted(t.trial_id for t in reruns) == ["2", "3"]
    by_id = {t.trial_id: t.hyperparameters.values for t in reruns}
    assert by_id["2"] == running.hyperparameters.values
    assert by_id["3"] == expected_next
    assert resumed.create_trial("z").status == Status.IDLE
    for trial in reruns:
        _end(resumed, trial, 30.0)
    assert resumed.create_trial("z").trial_id == "4"


def test_reload_recovers_trial_missing_from_oracle_state(tmp_path):
    oracle = _oracle(tmp_path)
    _run_round(oracle)
    state_file = pathlib.Path(oracle._get_oracle_fname())
    before = state_file.read_text()
    trial = oracle.create_trial("a")
    # A kill between writing trial.json and oracle.json.
    state_file.write_text(before)
    resumed = _reloaded(tmp_path)
    rerun = resumed.create_trial("x")
    assert rerun.trial_id == trial.trial_id
    assert rerun.hyperparameters.values == trial.hyperparameters.values
    other = resumed.create_trial("y")
    assert other.trial_id == "3"
    assert other.hyperparameters.values != trial.hyperparameters.values


def test_grid_hands_out_every_setting_once_across_restarts(tmp_path):
    oracle = _oracle(tmp_path, space="table1")
    grid = search_spaces.grid_values(
        search_spaces.declared_space("table1", "wgan_gp")
    )
    handed_out = []
    for _ in range(10):
        trial = oracle.create_trial("a")
        handed_out.append(trial.hyperparameters.values)
        _end(oracle, trial, None if len(handed_out) % 2 else 40.0)
    running = oracle.create_trial("a")
    resumed = _reloaded(tmp_path, space="table1")
    rerun = resumed.create_trial("a")
    assert rerun.trial_id == running.trial_id
    handed_out.append(rerun.hyperparameters.values)
    _end(resumed, rerun, 40.0)
    while True:
        trial = resumed.create_trial("a")
        if trial.status == Status.STOPPED:
            break
        handed_out.append(trial.hyperparameters.values)
        _end(resumed, trial, 40.0)
    assert handed_out == grid
    assert len(grid) == 24


def test_objective_name_matches_scores_column():
    from tfgan_study import run_dir

    assert search_spaces.OBJECTIVE in run_dir.SCORE_COLUMNS
    oracle = search_lib.make_oracle(_settings())
    assert oracle.objective.name == search_spaces.OBJECTIVE
    assert oracle.objective.direction == "min"


@pytest.mark.parametrize("space", ["table1", "table2"])
def test_oracles_allow_unlimited_consecutive_failures(space):
    oracle = search_lib.make_oracle(_settings(space=space))
    assert oracle.max_consecutive_failed_trials > 10**6


def test_tuner_rejects_other_objective_name(tmp_path):
    import keras_tuner

    from tuner import study_tuner

    oracle = keras_tuner.oracles.BayesianOptimizationOracle(
        objective=keras_tuner.Objective("FID", "min"), max_trials=1
    )
    with pytest.raises(ValueError, match="must minimize 'fid'"):
        study_tuner.StudyTuner(oracle, None, tmp_path, 1, 1)
    assert not (tmp_path / study.TUNER_PROJECT).exists()
