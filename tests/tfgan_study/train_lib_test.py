"""End-to-end tests of training: files, resume, divergence, bad input."""

import csv
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from tfgan_study import config as config_lib
from tfgan_study import gan_model
from tfgan_study import run_dir
from tfgan_study import train_lib

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def _write_folder(root: pathlib.Path, count: int = 24, size: int = 16) -> str:
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        pixels = rng.integers(0, 256, size=(size, size, 1), dtype=np.uint8)
        png = tf.io.encode_png(pixels).numpy()
        (root / f"image_{index:03d}.png").write_bytes(png)
    return str(root)


def _config(folder, **values):
    defaults = dict(
        dataset=f"folder:{folder}", resolution=16, z_dim=8,
        global_batch_size=4, training_steps=4, checkpoint_every_steps=2,
        eval_every_steps=0, log_every_steps=1, num_eval_samples=8,
    )
    defaults.update(values)
    return config_lib.resolve(config_lib.StudyConfig(**defaults))


def _checkpoint_values(model_dir, step):
    reader = tf.train.load_checkpoint(
        str(run_dir.checkpoints_dir(model_dir) / run_dir.step_name(step))
        + "/ckpt"
    )
    return {
        name: reader.get_tensor(name)
        for name in reader.get_variable_to_shape_map()
        if "save_counter" not in name
        and not name.startswith("_CHECKPOINTABLE_OBJECT_GRAPH")
    }


def _tree_files(root):
    return {
        str(path): path.read_bytes()
        for path in pathlib.Path(root).rglob("*")
        if path.is_file()
    }


@pytest.fixture(autouse=True)
def _deterministic_ops():
    tf.config.experimental.enable_op_determinism()


def test_train_writes_run_files(tmp_path, feature_model_path):
    folder = _write_folder(tmp_path / "images")
    config = _config(
        folder, eval_every_steps=2, eval_model=feature_model_path,
        penalty="wgan_gp",
    )
    model_dir = str(tmp_path / "run")
    strategy = tf.distribute.get_strategy()
    assert train_lib.train_and_evaluate(config, model_dir, strategy) == 4

    stored = json.loads(run_dir.config_path(model_dir).read_text())
    config_keys = set(stored) - set(run_dir.EXTRA_CONFIG_KEYS)
    assert config_keys == set(config_lib.field_names())
    assert {key: stored[key] for key in config_keys} == config.to_dict()
    assert stored["num_channels"] == 1
    assert set(stored["versions"]) >= {"python", "tensorflow", "keras"}
    records = [
        json.loads(line)
        for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    ]
    assert [record["step"] for record in records] == [1, 2, 3, 4]
    assert {"loss/d", "loss/g", "loss/penalty", "perf/steps_per_sec"} <= set(
        records[0]
    )
    with open(tmp_path / "run" / "scores.csv") as file:
        rows = list(csv.DictReader(file))
    assert [row["step"] for row in rows] == ["2", "4"]
    for row in rows:
        assert row["status"] == "ok"
        assert np.isfinite(float(row["fid"]))
        assert row["num_eval_samples"] == "8"
        assert row["eval_model"] == feature_model_path
        assert row["loss"] == "ns"
    assert (tmp_path / "run" / "samples" / "step_0000004.png").exists()
    assert any((tmp_path / "run" / "summaries").iterdir())


def test_resume_matches_uninterrupted_run(tmp_path):
    folder = _write_folder(tmp_path / "images")
    strategy = tf.distribute.get_strategy()
    config = _config(
        folder, training_steps=6, disc_iters=2, penalty="dragan",
        normalization="spectral_norm",
    )
    straight = str(tmp_path / "straight")
    train_lib.train_and_evaluate(config, straight, strategy)

    resumed = str(tmp_path / "resumed")
    train_lib.train_and_evaluate(config.replace(training_steps=3), resumed, strategy)
    train_lib.train_and_evaluate(config, resumed, strategy)

    expected = _checkpoint_values(straight, 6)
    actual = _checkpoint_values(resumed, 6)
    assert set(expected) == set(actual)
    iteration_names = [name for name in expected if "iteration" in name]
    assert iteration_names
    for name in expected:
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)


def test_restore_recovers_optimizer_and_counters(tmp_path):
    folder = _write_folder(tmp_path / "images")
    config = _config(folder, training_steps=5, disc_iters=2)
    model_dir = str(tmp_path / "run")
    train_lib.train_and_evaluate(config, model_dir, tf.distribute.get_strategy())

    from tfgan_study import run_loader

    loaded = run_loader.load_run(model_dir, 5)
    assert int(loaded.model.step.numpy()) == 5
    # Generator updates on steps 0, 2 and 4 of 5 discriminator updates.
    assert int(loaded.model.d_optimizer.iterations.numpy()) == 5
    assert int(loaded.model.g_optimizer.iterations.numpy()) == 3
    values = _checkpoint_values(model_dir, 5)
    assert any("/u/" in name or name.endswith("u/.ATTRIBUTES/VARIABLE_VALUE")
               for name in values)


def test_divergence_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    folder = _write_folder(tmp_path / "images")
    config = _config(folder, training_steps=6)
    model_dir = str(tmp_path / "run")
    # Both step functions reach the discriminator update through this method.
    original = gan_model.GanModel._discriminator_update

    def failing_step(self, inputs, fake_images):
        values = original(self, inputs, fake_images)
        bad = tf.where(self.step >= 3, np.nan, 0.0)
        values["loss/d"] = values["loss/d"] + tf.cast(bad, tf.float32)
        return values

    monkeypatch.setattr(
        gan_model.GanModel, "_discriminator_update", failing_step
    )
    with pytest.raises(train_lib.TrainingDiverged, match="loss/d became nan at step 4"):
        train_lib.train_and_evaluate(config, model_dir, tf.distribute.get_strategy())
    steps = sorted(p.name for p in run_dir.checkpoints_dir(model_dir).iterdir()
                   if p.name.startswith("step_"))
    assert steps == ["step_0000002"]


def _run_binary(args, env_extra=None, timeout=600):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run(
        [sys.executable, "-m", "tfgan_study.train", *args],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, env=env,
    )


def test_binary_rejects_changed_config_without_touching_files(tmp_path):
    folder = _write_folder(tmp_path / "images")
    model_dir = tmp_path / "run"
    common = [
        f"--model_dir={model_dir}", f"--dataset=folder:{folder}",
        "--resolution=16", "--z_dim=8", "--global_batch_size=4",
        "--training_steps=2", "--eval_every_steps=0",
    ]
    first = _run_binary(common)
    assert first.returncode == 0, first.stderr[-3000:]
    before = _tree_files(model_dir)
    second = _run_binary(common + ["--learning_rate=0.001", "--loss=hinge"])
    assert second.returncode == 2
    assert "learning_rate: stored 0.0002, requested 0.001" in second.stderr
    assert "loss: stored 'ns', requested 'hinge'" in second.stderr
    assert _tree_files(model_dir) == before


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--loss=wgangp"], "Unknown loss 'wgangp'. Expected one of"),
        (["--beta2=1.0"], r"beta2 must be in \[0.0, 1.0\)"),
        (["--global_batch_size=abc"], "Invalid flag"),
        (["--preset=nope"], "Unknown preset 'nope'"),
        (["--dataset=folder:/nonexistent/images"], "/nonexistent/images"),
    ],
)
def test_binary_bad_input_exits_2_and_writes_nothing(tmp_path, flags, message):
    model_dir = tmp_path / "run"
    result = _run_binary([f"--model_dir={model_dir}", *flags])
    assert result.returncode == 2
    assert pytest.approx(0) == 0
    assert message in result.stderr or __import__("re").search(message, result.stderr)
    assert not model_dir.exists()


def test_binary_rejects_corrupt_config_json(tmp_path):
    model_dir = tmp_path / "run"
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{not json")
    folder = _write_folder(tmp_path / "images")
    result = _run_binary([
        f"--model_dir={model_dir}", f"--dataset=folder:{folder}",
        "--resolution=16", "--eval_every_steps=0",
    ])
    assert result.returncode == 2
    assert "config.json is not valid JSON" in result.stderr
    assert (model_dir / "config.json").read_text() == "{not json"


def test_binary_missing_tfds_data_names_dataset_and_dir(tmp_path):
    empty = tmp_path / "tfds"
    empty.mkdir()
    result = _run_binary(
        [f"--model_dir={tmp_path / 'run'}", "--dataset=cifar10",
         f"--tfds_data_dir={empty}"],
    )
    assert result.returncode == 2
    assert "cifar10" in result.stderr
    assert str(empty) in result.stderr
    assert not (tmp_path / "run").exists()


def test_binary_sigterm_saves_and_exits_4(tmp_path):
    folder = _write_folder(tmp_path / "images")
    model_dir = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "tfgan_study.train", f"--model_dir={model_dir}",
         f"--dataset=folder:{folder}", "--resolution=16", "--z_dim=8",
         "--global_batch_size=4", "--training_steps=100000",
         "--eval_every_steps=0", "--checkpoint_every_steps=0",
         "--log_every_steps=1"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.time() + 300
    metrics = model_dir / "metrics.jsonl"
    while time.time() < deadline and not (
        metrics.exists() and len(metrics.read_text().splitlines()) >= 2
    ):
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 4, output[-3000:]
    assert "Rerun the same command to resume" in output
    saved = [p.name for p in run_dir.checkpoints_dir(model_dir).iterdir()
             if p.name.startswith("step_")]
    assert len(saved) == 1


def _write_corrupt_folder(root: pathlib.Path) -> str:
    folder = _write_folder(root)
    (root / "image_005.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    return folder


@pytest.mark.parametrize(
    "case,message",
    [
        ("bad_eval_model", "eval_model /nonexistent/model cannot be loaded"),
        ("corrupt_image", "image_005.png"),
        ("model_dir_is_file", "exists and is not a directory"),
    ],
)
def test_binary_late_bad_input_writes_nothing(tmp_path, case, message):
    model_dir = tmp_path / "run"
    flags = ["--resolution=16", "--training_steps=2", "--eval_every_steps=0"]
    if case == "bad_eval_model":
        folder = _write_folder(tmp_path / "images")
        flags += ["--eval_every_steps=1", "--eval_model=/nonexistent/model"]
    elif case == "corrupt_image":
        folder = _write_corrupt_folder(tmp_path / "images")
    else:
        folder = _write_folder(tmp_path / "images")
        model_dir.write_text("a file, not a run")
    result = _run_binary(
        [f"--model_dir={model_dir}", f"--dataset=folder:{folder}", *flags]
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert message in result.stderr
    if case == "model_dir_is_file":
        assert model_dir.read_text() == "a file, not a run"
    else:
        assert not model_dir.exists()
