"""The study's two hyperparameter spaces, written with keras-tuner.

Each space function declares its hyperparameters on `hp` and returns the
trainer flags of one trial, `{flag name: value}`, so a trial's command line
is the fixed flags of the search plus this dict. Hyperparameter names are the
trainer's flag names wherever one value maps to one flag.

The functions only call `hp.Choice` and `hp.Float`, so `tuned_flags` and
`default_flags` run them on a stand-in that returns defaults, without
importing keras-tuner (which imports TensorFlow).

Source: Kurach et al., "A Large-Scale Study on Regularization and
Normalization in GANs" (ICML 2019), Table 1 (the fixed grid) and Table 2
(the Bayesian-optimization ranges), whose values match compare_gan v2
`params.py`.
"""

import itertools
import math
from typing import Any

SPACES = ("table1", "table2")

# The objective: the lowest FID over a run's checkpoints, named like the
# `fid` column of the trainer's scores.csv.
OBJECTIVE = "fid"

TABLE1_LEARNING_RATES = (0.0002, 0.0001, 0.001)
TABLE1_PENALTY_WEIGHTS = (1.0, 10.0)
# (beta1, beta2, disc_iters) triples, searched as one choice because the
# table lists them as four tuples, not as a product of three axes.
TABLE1_ADAM_AND_DISC_ITERS = (
    (0.5, 0.9, 5),
    (0.5, 0.999, 1),
    (0.5, 0.999, 5),
    (0.9, 0.999, 5),
)

TABLE2_LEARNING_RATE_RANGE = (1e-5, 1e-2)
TABLE2_PENALTY_WEIGHT_RANGES = {
    "l2": (1e-4, 1e1),
    "wgan_gp": (1e-1, 1e2),
    "dragan": (1e-1, 1e2),
}
# Deviation: Table 2 searches beta1 and beta2 in [0, 1], but Adam divides by
# 1 - beta**t, which is zero at beta = 1, and float32 rounds any beta within
# 6e-8 of 1 to exactly 1. The search therefore stops at 1 - 2**-20, the
# largest value whose float32 distance from 1 is still 2**-20.
BETA_MAX = 1.0 - 2.0**-20


def _triple_name(beta1: float, beta2: float, disc_iters: int) -> str:
    return f"beta1={beta1} beta2={beta2} disc_iters={disc_iters}"


def _parse_triple(name: str) -> dict[str, Any]:
    values = dict(item.split("=") for item in name.split())
    return {
        "beta1": float(values["beta1"]),
        "beta2": float(values["beta2"]),
        "disc_iters": int(values["disc_iters"]),
    }


def table1(hp: "keras_tuner.HyperParameters", penalty: str) -> dict[str, Any]:
    """Declare the Table 1 grid on `hp` and return one trial's trainer flags.

    The grid is learning rate x penalty weight x (beta1, beta2, disc_iters):
    3 x 2 x 4 = 24 settings. With `penalty="none"` the penalty weight has no
    effect, so it is not searched and the grid has 12 settings.

    Args:
      hp: The trial's hyperparameters; unset values take their defaults.
      penalty: The trainer's `--penalty` of the whole search.

    Returns:
      `learning_rate`, `beta1`, `beta2`, `disc_iters` and, with a
      penalty, `penalty_weight`.
    """
    flags = {
        "learning_rate": hp.Choice("learning_rate", TABLE1_LEARNING_RATES)
    }
    if penalty != "none":
        flags["penalty_weight"] = hp.Choice(
            "penalty_weight", TABLE1_PENALTY_WEIGHTS
        )
    triple = hp.Choice(
        "beta1_beta2_disc_iters",
        [_triple_name(*triple) for triple in TABLE1_ADAM_AND_DISC_ITERS],
    )
    flags.update(_parse_triple(triple))
    return flags


def table2(hp: "keras_tuner.HyperParameters", penalty: str) -> dict[str, Any]:
    """Declare the Table 2 ranges on `hp` and return one trial's trainer flags.

    The learning rate is in [1e-5, 1e-2] on a log scale. The penalty weight
    is on a log scale in [1e-4, 1e1] for L2 and in [1e-1, 1e2] for WGAN-GP
    and DRAGAN, and is not searched without a penalty. beta1 and beta2 are
    uniform in [0, BETA_MAX].
    `disc_iters` is not searched: the study ran the search once with 1 and
    once with 5 discriminator updates per generator update.

    Args:
      hp: The trial's hyperparameters; unset values take their defaults.
      penalty: The trainer's `--penalty` of the whole search.

    Returns:
      `learning_rate`, `beta1`, `beta2` and, unless the penalty is none,
      `penalty_weight`.
    """
    low, high = TABLE2_LEARNING_RATE_RANGE
    flags = {
        "learning_rate": hp.Float("learning_rate", low, high, sampling="log")
    }
    if penalty in TABLE2_PENALTY_WEIGHT_RANGES:
        low, high = TABLE2_PENALTY_WEIGHT_RANGES[penalty]
        flags["penalty_weight"] = hp.Float(
            "penalty_weight", low, high, sampling="log"
        )
    flags["beta1"] = hp.Float("beta1", 0.0, BETA_MAX)
    flags["beta2"] = hp.Float("beta2", 0.0, BETA_MAX)
    return flags


def build(
    space: str, hp: "keras_tuner.HyperParameters", penalty: str
) -> dict[str, Any]:
    """Declare `space` on `hp` and return one trial's trainer flags."""
    if space == "table1":
        return table1(hp, penalty)
    if space == "table2":
        return table2(hp, penalty)
    raise ValueError(
        f"Unknown space {space!r}. Expected one of: {', '.join(SPACES)}."
    )


class _Defaults:
    """Stands in for `HyperParameters`: each value is its default.

    `choice_sizes` records the number of values of each `Choice`.
    """

    def __init__(self):
        self.choice_sizes: list[int] = []

    def Choice(self, name, values, **kwargs):  # noqa: N802 (keras-tuner API)
        del name, kwargs
        self.choice_sizes.append(len(values))
        return values[0]

    def Float(self, name, min_value, max_value, **kwargs):  # noqa: N802
        del name, max_value, kwargs
        return min_value


def default_flags(space: str, penalty: str) -> dict[str, Any]:
    """Return the trainer flags of `space` at their default values."""
    return build(space, _Defaults(), penalty)


def tuned_flags(space: str, penalty: str) -> tuple[str, ...]:
    """Return the trainer flags that `space` sets, sorted by name."""
    return tuple(sorted(default_flags(space, penalty)))


def declared_space(space: str, penalty: str) -> "keras_tuner.HyperParameters":
    """Return a `HyperParameters` holding every hyperparameter of `space`."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    build(space, hp, penalty)
    return hp


def grid_values(hp: "keras_tuner.HyperParameters") -> list[dict[str, Any]]:
    """Return every combination of the `Choice`s in `hp`, in a fixed order.

    The first hyperparameter declared varies slowest. Raises `ValueError` if
    `hp` contains anything but unconditional `Choice`s.
    """
    import keras_tuner

    names = []
    choices = []
    for parameter in hp.space:
        if not isinstance(parameter, keras_tuner.engine.hyperparameters.Choice):
            raise ValueError(
                "A grid needs Choice hyperparameters only. Received: "
                f"{parameter.name} of type {type(parameter).__name__}."
            )
        if parameter.conditions:
            raise ValueError(
                f"A grid cannot hold the conditional {parameter.name}."
            )
        names.append(parameter.name)
        choices.append(list(parameter.values))
    return [
        dict(zip(names, combination))
        for combination in itertools.product(*choices)
    ]


def num_trials(space: str, penalty: str, rounds: int, per_round: int) -> int:
    """Return the number of trials a search over `space` runs in total."""
    if space == "table1":
        defaults = _Defaults()
        build(space, defaults, penalty)
        return math.prod(defaults.choice_sizes)
    return rounds * per_round

