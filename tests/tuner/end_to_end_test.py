"""A tiny real study: the trainer on Fashion-MNIST, the report and export."""

import csv
import json
import os
import pathlib
import subprocess
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def _run(module, *flags, timeout=900):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("TFGAN_STUDY_TRAINER", None)
    return subprocess.run(
        [sys.executable, "-m", module, *flags],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
def test_table2_study_on_fashion_mnist(
    tmp_path, tfds_data_dir, feature_model_path
):
    study_dir = tmp_path / "study"
    search = _run(
        "tuner.search",
        f"--study_dir={study_dir}",
        "--space=table2",
        "--rounds=2",
        "--trials_per_round=2",
        "--num_workers=2",
        "--dataset=fashion_mnist",
        f"--tfds_data_dir={tfds_data_dir}",
        "--resolution=8",
        "--global_batch_size=8",
        "--training_steps=4",
        "--eval_every_steps=4",
        "--log_every_steps=2",
        "--num_eval_samples=64",
        f"--eval_model={feature_model_path}",
    )
    assert search.returncode == 0, search.stderr[-5000:]
    assert search.stderr.count(" ended after ") == 4

    results = {
        path.parent.name: json.loads(path.read_text())
        for path in (study_dir / "trials").glob("*/result.json")
    }
    assert sorted(results) == ["0", "1", "2", "3"]
    assert [results[i]["round"] for i in "0123"] == [0, 0, 1, 1]
    completed = [r for r in results.values() if r["status"] == "completed"]
    assert completed, results
    for result in completed:
        scores = study_dir / "trials" / result["trial_id"] / "seed_0"
        with open(scores / "scores.csv", newline="") as file:
            rows = list(csv.DictReader(file))
        assert result["fid"] == pytest.approx(float(rows[-1]["fid"]))
        assert float(rows[-1]["learning_rate"]) == pytest.approx(
            result["hyperparameters"]["learning_rate"]
        )

    output_dir = tmp_path / "report"
    report = _run(
        "tuner.report",
        f"--study_dir={study_dir}",
        f"--output_dir={output_dir}",
        "--export_best=1",
    )
    assert report.returncode == 0, report.stderr[-5000:]
    with open(output_dir / "trials.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 4
    assert {row["dataset"] for row in rows} == {"fashion_mnist"}
    for name in ("fid_by_loss.png", "lowest_fid_by_trials.png"):
        assert (output_dir / name).stat().st_size > 5000
    best = min(completed, key=lambda r: r["fid"])
    export_dir = (
        output_dir / "best_generators" / f"1_study_trial_{best['trial_id']}"
    )
    assert (export_dir / "saved_model.pb").exists()
    summary = (output_dir / "summary.md").read_text()
    assert "## Exported generators" in summary
