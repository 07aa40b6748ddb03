"""The step benchmark's worker processes, on a small batch."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def _run_worker(spec):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.train_step",
            f"--worker={spec}",
            "--batch=4",
            "--steps=1",
            "--warmup=1",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "spec,mode",
    [
        ("float32/false/1", "float32/xla=false"),
        ("float32/false/2", "float32/xla=false/2 generator passes"),
    ],
)
def test_worker_times_each_generator_pass_count(spec, mode):
    record = _run_worker(spec)
    assert record["framework"] == "tfgan_study"
    assert record["mode"] == mode
    assert record["images_per_sec"] > 0
    assert record["ms_per_step"] > 0


def test_generator_passes_rejects_other_counts():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.train_step",
            "--generator_passes=1,3",
            "--torch_modes=",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "Invalid --generator_passes value '3'; expected 1 or 2." in (
        result.stderr
    )
