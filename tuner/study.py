"""The layout of a study directory and its settings file, study.json.

    study.json            the search's settings, checked on every rerun
    keras_tuner/          keras-tuner's state: oracle.json, trial_<id>/
    trials/<id>/          one trial: seed_<s>/ (a trainer model directory),
                          seed_<s>.log, seed_<s>.json and result.json

A rerun of `python -m tuner.search` on the same directory continues the
search, and must ask for the same search: only the trainer flags in
`RESUMABLE_FLAG_CHANGES`, which change where data lies or how often a run
logs, may differ from study.json.
"""

import dataclasses
import json
import os
import pathlib
from typing import Any

from tfgan_study import config as config_lib

STUDY_FILE = "study.json"
TUNER_PROJECT = "keras_tuner"
TRIALS_DIR = "trials"

RESUMABLE_FLAG_CHANGES = (
    "tfds_data_dir",
    "log_every_steps",
    "checkpoint_every_steps",
    "strategy",
    "tpu",
)


@dataclasses.dataclass(frozen=True)
class StudySettings:
    """The settings of a search, stored as study.json.

    Attributes:
      space: `table1` or `table2`.
      rounds: Rounds of the table2 search; None for table1.
      trials_per_round: Trials proposed together per round; None for table1.
      num_trials: Trials in the whole search.
      seeds: The trainer seeds each trial trains.
      search_seed: Seed of the oracle's random proposals.
      trainer_flags: Trainer flags given explicitly, passed to every trial.
      trainer_config: The trainer's resolved configuration with the searched
        flags at their defaults, from which a report reads the values of
        flags that were not given.
      tuned_flags: The trainer flags the space sets per trial.
    """

    space: str
    rounds: int | None
    trials_per_round: int | None
    num_trials: int
    seeds: list[int]
    search_seed: int
    trainer_flags: dict[str, Any]
    trainer_config: dict[str, Any]
    tuned_flags: list[str]


def trials_dir(study_dir: str | pathlib.Path) -> pathlib.Path:
    return pathlib.Path(study_dir) / TRIALS_DIR


def trial_dir(study_dir: str | pathlib.Path, trial_id: str) -> pathlib.Path:
    return trials_dir(study_dir) / trial_id


def load(study_dir: str | pathlib.Path) -> StudySettings | None:
    """Return the settings in study_dir/study.json, or None if absent.

    Raises:
      ConfigError: If study.json is not valid JSON or misses a setting.
    """
    path = pathlib.Path(study_dir) / STUDY_FILE
    if not path.exists():
        return None
    try:
        document = json.loads(path.read_text())
        return StudySettings(**document)
    except (json.JSONDecodeError, TypeError) as error:
        raise config_lib.ConfigError(
            f"{path} is not a valid study file ({error})."
        ) from error


def _differences(stored: StudySettings, requested: StudySettings) -> list[str]:
    differing = []
    for field in dataclasses.fields(StudySettings):
        if field.name in ("trainer_flags", "trainer_config"):
            continue
        old = getattr(stored, field.name)
        new = getattr(requested, field.name)
        if old != new:
            differing.append(f"{field.name}: stored {old!r}, requested {new!r}")
    names = set(stored.trainer_flags) | set(requested.trainer_flags)
    for name in sorted(names - set(RESUMABLE_FLAG_CHANGES)):
        old = stored.trainer_flags.get(name)
        new = requested.trainer_flags.get(name)
        if old != new:
            differing.append(f"--{name}: stored {old!r}, requested {new!r}")
    return differing


def create_or_check(
    study_dir: str | pathlib.Path, settings: StudySettings
) -> bool:
    """Write study.json for a new study, or check a rerun against it.

    Returns:
      Whether the study directory already held a study.

    Raises:
      ConfigError: If the stored study differs in anything but
        `RESUMABLE_FLAG_CHANGES`. Nothing is written then.
    """
    stored = load(study_dir)
    if stored is not None:
        differing = _differences(stored, settings)
        if differing:
            raise config_lib.ConfigError(
                f"{study_dir} contains a different study "
                f"({'; '.join(differing)}). A rerun may change only "
                f"{', '.join('--' + name for name in RESUMABLE_FLAG_CHANGES)}."
                " Use a new --study_dir for a different study."
            )
        if stored == settings:
            return True
    path = pathlib.Path(study_dir) / STUDY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    # Worker processes of a distributed search may write the same file at
    # once; each writes a complete file under its own name and renames it.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(
        json.dumps(dataclasses.asdict(settings), indent=2, sort_keys=True)
    )
    os.replace(temporary, path)
    return stored is not None
