"""Tests of the evaluate binary on a run, an export and a folder of images."""

import csv
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfgan_study import config as config_lib
from tfgan_study import train_lib

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def _write_folder(root: pathlib.Path, count: int = 20) -> str:
    rng = np.random.default_rng(1)
    root.mkdir(parents=True)
    for index in range(count):
        pixels = rng.integers(0, 256, size=(16, 16, 1), dtype=np.uint8)
        (root / f"{index:03d}.png").write_bytes(tf.io.encode_png(pixels).numpy())
    return str(root)


def _evaluate(*flags):
    result = subprocess.run(
        [sys.executable, "-m", "tfgan_study.evaluate", *flags],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )
    rows = [json.loads(line) for line in result.stdout.splitlines()
            if line.startswith("{")]
    return result, rows


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, feature_model_path):
    root = tmp_path_factory.mktemp("evaluate")
    folder = _write_folder(root / "images")
    config = config_lib.resolve(config_lib.StudyConfig(
        dataset=f"folder:{folder}", resolution=16, z_dim=8,
        global_batch_size=4, training_steps=2, checkpoint_every_steps=1,
        eval_every_steps=0, log_every_steps=0, num_eval_samples=8,
        eval_model=feature_model_path,
    ))
    model_dir = str(root / "run")
    train_lib.train_and_evaluate(config, model_dir, tf.distribute.get_strategy())
    return folder, model_dir


def test_evaluate_run_appends_scores(trained_run):
    _, model_dir = trained_run
    result, rows = _evaluate(f"--model_dir={model_dir}", "--checkpoint=all")
    assert result.returncode == 0, result.stderr[-3000:]
    assert [row["step"] for row in rows] == [1, 2]
    for row in rows:
        assert row["status"] == "ok"
        assert np.isfinite(row["fid"])
    with open(pathlib.Path(model_dir) / "scores.csv") as file:
        assert [r["step"] for r in csv.DictReader(file)] == ["1", "2"]


def test_evaluate_folder_of_images(trained_run, feature_model_path, tmp_path):
    folder, _ = trained_run
    result, rows = _evaluate(
        f"--image_folder={folder}", f"--dataset=folder:{folder}",
        f"--eval_model={feature_model_path}", "--num_eval_samples=2",
        f"--cache_dir={tmp_path / 'cache'}", "--resolution=16",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert rows[0]["status"] == "ok"
    assert rows[0]["num_eval_samples"] == 20
    assert any((tmp_path / "cache").iterdir())


def test_evaluate_exported_module(trained_run, feature_model_path, tmp_path):
    folder, model_dir = trained_run
    export_dir = tmp_path / "hub"
    export = subprocess.run(
        [sys.executable, "-m", "hub_export.export", f"--model_dir={model_dir}",
         f"--export_dir={export_dir}"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )
    assert export.returncode == 0, export.stderr[-3000:]
    result, rows = _evaluate(
        f"--module={export_dir}", f"--dataset=folder:{folder}",
        f"--eval_model={feature_model_path}", "--num_eval_samples=2",
        f"--cache_dir={tmp_path / 'cache'}", "--resolution=16",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert rows[0]["status"] == "ok"
    assert np.isfinite(rows[0]["fid"])


@pytest.mark.parametrize(
    "flags,message",
    [
        ([], "Give exactly one of --model_dir, --module and --image_folder"),
        (["--module=/nonexistent/hub"], "--dataset is required"),
        (["--model_dir=/nonexistent/run"], "contains no training run"),
    ],
)
def test_evaluate_bad_input_exits_2(flags, message):
    result, _ = _evaluate(*flags)
    assert result.returncode == 2
    assert message in result.stderr
