"""Tests of the Table 1 grid and the Table 2 ranges."""

import math

import keras_tuner
import numpy as np
import pytest

from tfgan_study import config as config_lib
from tuner import search_spaces

TABLE1_TRIPLES = {
    (0.5, 0.9, 5),
    (0.5, 0.999, 1),
    (0.5, 0.999, 5),
    (0.9, 0.999, 5),
}


def _grid_flags(penalty):
    hp = search_spaces.declared_space("table1", penalty)
    flags = []
    for values in search_spaces.grid_values(hp):
        trial_hp = search_spaces.declared_space("table1", penalty)
        trial_hp.values.update(values)
        flags.append(search_spaces.build("table1", trial_hp, penalty))
    return flags


@pytest.mark.parametrize("penalty", ["wgan_gp", "dragan", "l2"])
def test_table1_grid_has_24_distinct_settings(penalty):
    flags = _grid_flags(penalty)
    settings = {tuple(sorted(f.items())) for f in flags}
    assert len(flags) == 24
    assert len(settings) == 24
    assert {f["learning_rate"] for f in flags} == {0.0002, 0.0001, 0.001}
    assert {f["penalty_weight"] for f in flags} == {1.0, 10.0}
    triples = {(f["beta1"], f["beta2"], f["disc_iters"]) for f in flags}
    assert triples == TABLE1_TRIPLES


def test_table1_without_penalty_runs_each_weight_once():
    flags = _grid_flags("none")
    assert len(flags) == 12
    assert all("penalty_weight" not in f for f in flags)
    assert search_spaces.num_trials("table1", "none", 12, 10) == 12
    assert search_spaces.num_trials("table1", "l2", 12, 10) == 24


@pytest.mark.parametrize(
    "space, penalty, expected",
    [
        ("table1", "none", ("beta1", "beta2", "disc_iters", "learning_rate")),
        (
            "table1",
            "wgan_gp",
            ("beta1", "beta2", "disc_iters", "learning_rate", "penalty_weight"),
        ),
        ("table2", "none", ("beta1", "beta2", "learning_rate")),
        ("table2", "l2", ("beta1", "beta2", "learning_rate", "penalty_weight")),
    ],
)
def test_tuned_flags_per_space_and_penalty(space, penalty, expected):
    assert search_spaces.tuned_flags(space, penalty) == expected


def test_tuned_flags_are_trainer_flags():
    for space in search_spaces.SPACES:
        for penalty in config_lib.PENALTIES:
            names = search_spaces.tuned_flags(space, penalty)
            assert set(names) <= set(config_lib.field_names())


@pytest.mark.parametrize(
    "penalty, low, high",
    [("l2", 1e-4, 1e1), ("wgan_gp", 1e-1, 1e2), ("dragan", 1e-1, 1e2)],
)
def test_table2_penalty_weight_range_depends_on_penalty(penalty, low, high):
    hp = search_spaces.declared_space("table2", penalty)
    weight = hp.get("penalty_weight")
    parameter = next(p for p in hp.space if p.name == "penalty_weight")
    assert weight == pytest.approx(low)
    assert parameter.min_value == low
    assert parameter.max_value == high
    assert parameter.sampling == "log"


def test_table2_log_scales_and_linear_betas():
    hp = search_spaces.declared_space("table2", "wgan_gp")
    parameters = {p.name: p for p in hp.space}
    learning_rate = parameters["learning_rate"]
    assert learning_rate.sampling == "log"
    assert (learning_rate.min_value, learning_rate.max_value) == (1e-5, 1e-2)
    # The log scale maps the geometric midpoint 10**-3.5 to the middle.
    assert learning_rate.value_to_prob(10**-3.5) == pytest.approx(0.5)
    assert learning_rate.prob_to_value(0.5) == pytest.approx(10**-3.5)
    for name in ("beta1", "beta2"):
        assert parameters[name].sampling == "linear"
        assert parameters[name].min_value == 0.0
        assert parameters[name].max_value == search_spaces.BETA_MAX


def test_beta_max_is_below_one_in_float32():
    assert search_spaces.BETA_MAX < 1.0
    assert np.float32(search_spaces.BETA_MAX) < np.float32(1.0)
    hp = search_spaces.declared_space("table2", "none")
    beta2 = next(p for p in hp.space if p.name == "beta2")
    # The largest value the oracle can propose (probability 1).
    assert beta2.prob_to_value(1.0) < 1.0


@pytest.mark.parametrize("penalty", config_lib.PENALTIES)
def test_table2_random_values_stay_in_range(penalty):
    hp = search_spaces.declared_space("table2", penalty)
    parameters = {p.name: p for p in hp.space}
    for seed in range(300):
        for name, parameter in parameters.items():
            value = parameter.random_sample(seed)
            assert parameter.min_value <= value <= parameter.max_value, name


def test_table2_values_pass_trainer_validation():
    base = config_lib.StudyConfig(penalty="l2")
    hp = search_spaces.declared_space("table2", "l2")
    for parameter in hp.space:
        for prob in (0.0, 0.5, 1.0):
            values = search_spaces.default_flags("table2", "l2")
            values[parameter.name] = parameter.prob_to_value(prob)
            config_lib.resolve(base.replace(**values))


def test_default_flags_match_keras_tuner_defaults():
    for space in search_spaces.SPACES:
        hp = search_spaces.declared_space(space, "wgan_gp")
        built = search_spaces.build(space, hp, "wgan_gp")
        assert search_spaces.default_flags(space, "wgan_gp") == built


def test_log_range_from_zero_is_rejected_by_name():
    hp = keras_tuner.HyperParameters()
    with pytest.raises(ValueError, match="name='learning_rate'"):
        hp.Float("learning_rate", 0.0, 1e-2, sampling="log")


def test_unknown_space_is_rejected_with_choices():
    with pytest.raises(ValueError, match="Expected one of: table1, table2"):
        search_spaces.build("table3", keras_tuner.HyperParameters(), "none")


def test_grid_rejects_float_hyperparameters():
    hp = search_spaces.declared_space("table2", "none")
    with pytest.raises(ValueError, match="Choice hyperparameters only"):
        search_spaces.grid_values(hp)


def test_log_scale_round_trip_is_exact():
    hp = search_spaces.declared_space("table2", "l2")
    weight = next(p for p in hp.space if p.name == "penalty_weight")
    for value in (1e-4, 3e-3, 1.0, 10.0):
        prob = weight.value_to_prob(value)
        assert 0.0 <= prob <= 1.0
        assert math.isclose(weight.prob_to_value(prob), value, rel_tol=1e-9)
