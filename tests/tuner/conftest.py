"""Fixtures of the tuner tests: the stand-in trainer and search processes.

`fake_trainer.py` replaces `python -m tfgan_study.train` through the
TFGAN_STUDY_TRAINER variable, so searches of many trials run in seconds.
Every stand-in process appends a JSON line to FAKE_TRAINER_LOG, which the
tests read to check which trainer ran when.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
FAKE_TRAINER = pathlib.Path(__file__).resolve().parent / "fake_trainer.py"

# Flags that keep a search short: the stand-in reads only these.
SHORT_RUN = ["--training_steps=4", "--eval_every_steps=2"]


class FakeTrainer:
    """The environment that selects the stand-in trainer, and its log."""

    def __init__(self, directory: pathlib.Path):
        self.log = directory / "fake_trainer.jsonl"
        self.env = {
            **os.environ,
            "TFGAN_STUDY_TRAINER": f"{sys.executable} {FAKE_TRAINER}",
            "FAKE_TRAINER_LOG": str(self.log),
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }

    def runs(self) -> list[dict]:
        """Return the log records of all stand-in processes, in end order."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def runs_by_model_dir(self) -> dict[str, list[dict]]:
        runs: dict[str, list[dict]] = {}
        for record in self.runs():
            runs.setdefault(record["flags"]["model_dir"], []).append(record)
        return runs

    def run_search(
        self, *flags: str, env: dict | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess:
        """Run `python -m tuner.search` to its end from the repository root."""
        return subprocess.run(
            search_command(*flags),
            cwd=REPO_ROOT,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start_search(
        self, *flags: str, env: dict | None = None, output=None
    ) -> subprocess.Popen:
        """Start `python -m tuner.search` and return without waiting."""
        return subprocess.Popen(
            search_command(*flags),
            cwd=REPO_ROOT,
            env={**self.env, **(env or {})},
            stdout=output or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            text=True,
        )


def search_command(*flags: str) -> list[str]:
    return [sys.executable, "-m", "tuner.search", *flags]


@pytest.fixture
def fake_trainer(tmp_path) -> FakeTrainer:
    """The stand-in trainer, logging into tmp_path."""
    return FakeTrainer(tmp_path)


@pytest.fixture
def short_run() -> list[str]:
    """Trainer flags of a short stand-in run."""
    return list(SHORT_RUN)
