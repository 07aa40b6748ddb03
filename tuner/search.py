r"""Search the study's hyperparameters: the Table 1 grid or Table 2 rounds.

    python -m tuner.search --study_dir=/tmp/study --space=table2 \
        --rounds=3 --trials_per_round=2 --dataset=fashion_mnist \
        --training_steps=400 --eval_every_steps=200

Every other flag is a flag of `python -m tfgan_study.train` (see its --help)
and is passed unchanged to every trial, except the flags the space sets per
trial, which are rejected. Each trial trains one trainer process per seed in
STUDY_DIR/trials/<trial_id>/. Rerunning the same command resumes the search.
keras-tuner's distributed mode (a chief and workers) is selected with the
variables KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP and
KERASTUNER_ORACLE_PORT; see the README.

Exit status: 0 done, 2 bad input (nothing written), 4 stopped by a signal
(rerun to resume), 1 any other error.
"""

import os

from absl import app
from absl import flags
from absl import logging

# Importing the trainer defines its flags here too, with the same names,
# defaults and help text, and gives its config_from_flags.
from tfgan_study import cli
from tfgan_study import config as config_lib
from tfgan_study import train as trainer
from tuner import search_spaces
from tuner import study

_STUDY_DIR = flags.DEFINE_string("study_dir", None, "Directory of the study.")
_SPACE = flags.DEFINE_enum(
    "space", None, ["table1", "table2"], "The study's fixed grid or ranges."
)
_SEEDS = flags.DEFINE_integer(
    "seeds", 1, "Seeds per setting; a setting scores the median FID."
)
_ROUNDS = flags.DEFINE_integer("rounds", 12, "Rounds of the table2 search.")
_TRIALS_PER_ROUND = flags.DEFINE_integer(
    "trials_per_round", 10, "Trials proposed together per table2 round."
)
_NUM_WORKERS = flags.DEFINE_integer(
    "num_workers", 1, "Trials this process runs at a time."
)
_SEARCH_SEED = flags.DEFINE_integer(
    "search_seed", 1, "Seed of the oracle's random proposals (at least 1)."
)

# Trainer flags that the search sets itself or that make no sense per trial.
_SEARCH_OWNED_FLAGS = ("model_dir", "dry_run")
_POSITIVE_FLAGS = (
    "seeds",
    "rounds",
    "trials_per_round",
    "num_workers",
    "search_seed",
)


def _flag_error() -> str | None:
    """Return the error in the flags, or None; runs before keras-tuner loads."""
    if not _STUDY_DIR.value:
        return "--study_dir is required."
    if not _SPACE.value:
        return "--space is required: one of table1, table2."
    for name in _POSITIVE_FLAGS:
        if flags.FLAGS[name].value < 1:
            return (
                f"--{name} must be at least 1. Received: "
                f"{flags.FLAGS[name].value}."
            )
    for name in _SEARCH_OWNED_FLAGS:
        if flags.FLAGS[name].present:
            return (
                f"--{name} is a trainer flag that the search sets per trial "
                "(STUDY_DIR/trials/<trial_id>/seed_<seed>); remove it."
            )
    if _SPACE.value == "table1":
        for name in ("rounds", "trials_per_round"):
            if flags.FLAGS[name].present:
                return f"--{name} applies to --space=table2 only."
    if "KERASTUNER_ORACLE_IP" in os.environ:
        for variable in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID"):
            if not os.environ.get(variable):
                return (
                    "KERASTUNER_ORACLE_IP is set, so keras-tuner's "
                    f"distributed mode needs {variable} too."
                )
    return None


def _settings() -> study.StudySettings:
    """Return the study settings from the flags; raise ConfigError if bad."""
    config = trainer.config_from_flags()
    if config.eval_every_steps == 0:
        raise config_lib.ConfigError(
            "--eval_every_steps must be positive: trials are scored by FID. "
            "Received: 0."
        )

    space = _SPACE.value
    tuned = search_spaces.tuned_flags(space, config.penalty)
    for name in tuned:
        if flags.FLAGS[name].present:
            raise config_lib.ConfigError(
                f"--{name} is searched by --space={space}; remove it. The "
                f"space sets {', '.join('--' + n for n in tuned)} per trial."
            )

    # Every trial differs from this sample only in searched values, which
    # the space keeps inside the trainer's valid ranges.
    sample = search_spaces.default_flags(space, config.penalty)
    config_lib.resolve(config.replace(**sample))

    names = config_lib.field_names() + ("preset", "tpu")
    trainer_flags = {
        name: flags.FLAGS[name].value
        for name in names
        if flags.FLAGS[name].present and name != "seed"
    }
    table2 = space == "table2"
    return study.StudySettings(
        space=space,
        rounds=_ROUNDS.value if table2 else None,
        trials_per_round=_TRIALS_PER_ROUND.value if table2 else None,
        num_trials=search_spaces.num_trials(
            space, config.penalty, _ROUNDS.value, _TRIALS_PER_ROUND.value
        ),
        seeds=[config.seed + i for i in range(_SEEDS.value)],
        search_seed=_SEARCH_SEED.value,
        trainer_flags=trainer_flags,
        trainer_config=config.to_dict(),
        tuned_flags=list(tuned),
    )


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        logging.error("Unexpected arguments: %s", " ".join(argv[1:]))
        return 2
    error = _flag_error()
    if error:
        logging.error("%s", error)
        return 2

    try:
        settings = _settings()
        resumed = study.create_or_check(_STUDY_DIR.value, settings)
    except config_lib.ConfigError as error:
        logging.error("%s", error)
        return 2

    # keras-tuner imports TensorFlow, so it loads after the input checks.
    from tuner import search_lib
    logging.info(
        "%s the %s search in %s: %d trials, seeds %s, %d at a time.",
        "Resuming" if resumed else "Starting",
        settings.space,
        _STUDY_DIR.value,
        settings.num_trials,
        settings.seeds,
        _NUM_WORKERS.value,
    )
    return search_lib.run_search(
        _STUDY_DIR.value, settings, _NUM_WORKERS.value
    )


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
