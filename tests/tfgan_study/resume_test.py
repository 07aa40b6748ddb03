"""Exact resume after SIGKILL, and fallback from a damaged latest checkpoint.

A kill loses the steps since the last checkpoint, yet the resumed run ends
with bitwise the weights of an uninterrupted one. That holds because the data
order and every random value of a step are functions of (seed, step), and
the checkpoint contains every counter, both optimizers, the spectral-norm vectors and the
batch-norm statistics.
"""

import hashlib
import os
import pathlib
import random
import shutil
import signal
import time

import numpy as np
import pytest
import tensorflow as tf

from tfgan_study import checkpoints
from tfgan_study import config as config_lib
from tfgan_study import run_dir
from tfgan_study import train_lib


def _prefix(model_dir, step):
    return str(
        run_dir.checkpoints_dir(model_dir) / run_dir.step_name(step) / "ckpt"
    )


def _assert_same_tensors(trainer, expected_prefix, actual_prefix):
    expected = trainer.tensors(expected_prefix)
    actual = trainer.tensors(actual_prefix)
    assert expected.keys() == actual.keys()
    for name in expected:
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)


def _metric_lines(model_dir: pathlib.Path) -> int:
    path = model_dir / "metrics.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


def _kill_during_a_write(process, checkpoint_dir, deadline):
    """SIGKILL `process` as soon as a partial checkpoint folder appears."""
    while time.time() < deadline and process.poll() is None:
        names = os.listdir(checkpoint_dir) if checkpoint_dir.exists() else []
        if any(name.endswith(".tmp") for name in names):
            process.send_signal(signal.SIGKILL)
            return
        time.sleep(0.0005)


def _kill_after_a_save(process, checkpoint_dir, delay, deadline):
    """SIGKILL `process` `delay` seconds after a checkpoint save completed."""

    def saved():
        if not checkpoint_dir.exists():
            return set()
        return {name for name in os.listdir(checkpoint_dir) if name.startswith("step_")}

    before = saved()
    while time.time() < deadline and process.poll() is None:
        if saved() - before:
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            return
        time.sleep(0.0005)


def _kill_after_steps(process, model_dir, steps, delay, deadline):
    """SIGKILL `process` `delay` seconds after it logged `steps` more steps."""
    target = _metric_lines(model_dir) + steps
    while time.time() < deadline and process.poll() is None:
        if _metric_lines(model_dir) >= target:
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            return
        time.sleep(0.005)


@pytest.mark.slow
def test_random_sigkills_resume_bitwise(
    tmp_path, image_folder, trainer
):
    steps = 20
    common = [
        f"--dataset=folder:{image_folder}", *trainer.tiny_flags,
        f"--training_steps={steps}", "--checkpoint_every_steps=1",
        "--disc_iters=2", "--penalty=dragan", "--deterministic",
    ]
    model_dir = tmp_path / "killed"
    checkpoint_dir = run_dir.checkpoints_dir(model_dir)
    rng = random.Random(20190601)
    kills = 0
    partial_writes_left = 0
    for attempt in range(3):
        process = trainer.start([f"--model_dir={model_dir}", *common])
        deadline = time.time() + 300
        if attempt == 0:
            # Inside the training step that follows a save.
            _kill_after_a_save(
                process, checkpoint_dir, rng.uniform(0, 0.02), deadline
            )
        elif attempt == 1:
            _kill_during_a_write(process, checkpoint_dir, deadline)
        else:
            # A random point inside a step or a save, after 1 to 4 steps:
            # tied to progress, so that a fast machine cannot finish first.
            _kill_after_steps(
                process, model_dir, rng.randint(1, 4), rng.uniform(0, 0.8),
                deadline,
            )
        output, _ = process.communicate(timeout=300)
        if process.returncode == 0:
            break
        assert process.returncode == -signal.SIGKILL, output[-3000:]
        kills += 1
        partial_writes_left += any(
            name.endswith(".tmp") for name in os.listdir(checkpoint_dir)
        )
    print(f"{kills} kills, {partial_writes_left} during a checkpoint save")
    assert kills == 3, "the run finished before it could be killed"

    status, output = trainer.run([f"--model_dir={model_dir}", *common])
    assert status == 0, output[-3000:]
    assert "Restored the checkpoint of step" in output
    if partial_writes_left:
        assert "left by an interrupted checkpoint save" in output
    assert not [
        name for name in os.listdir(checkpoint_dir) if name.startswith(".")
    ]

    # The uninterrupted run is a process too: a run inside the test process
    # differed in the last bits (2.5e-6 in a batch-norm variance).
    straight = tmp_path / "straight"
    status, output = trainer.run([f"--model_dir={straight}", *common])
    assert status == 0, output[-3000:]
    _assert_same_tensors(
        trainer, _prefix(straight, steps), _prefix(model_dir, steps)
    )


# In-process runs of the damaged-checkpoint cases: three steps with a
# checkpoint after each, then a resume to step five.


@pytest.fixture(scope="module")
def _runs(tmp_path_factory):
    tf.config.experimental.enable_op_determinism()
    root = tmp_path_factory.mktemp("damage")
    folder = _write_images(root / "images")
    config = config_lib.resolve(config_lib.StudyConfig(
        dataset=f"folder:{folder}", resolution=8, z_dim=8,
        global_batch_size=8, training_steps=5, checkpoint_every_steps=1,
        eval_every_steps=0, log_every_steps=0, normalization="spectral_norm",
        disc_iters=2,
    ))
    strategy = tf.distribute.get_strategy()
    straight = root / "straight"
    train_lib.train_and_evaluate(config, str(straight), strategy)
    template = root / "template"
    train_lib.train_and_evaluate(
        config.replace(training_steps=3), str(template), strategy
    )
    return config, straight, template


def _write_images(root):
    rng = np.random.default_rng(0)
    root.mkdir(parents=True)
    for index in range(16):
        pixels = rng.integers(0, 256, size=(8, 8, 1), dtype=np.uint8)
        (root / f"image_{index:03d}.png").write_bytes(
            tf.io.encode_png(pixels).numpy()
        )
    return str(root)


def _data_file(folder):
    return next(folder.glob("ckpt.data-*"))


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _alter(path):
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(
        (byte ^ 0xFF) for byte in data[middle : middle + 16]
    )
    path.write_bytes(bytes(data))


_DAMAGE = {
    "truncated_data": lambda folder: _truncate(_data_file(folder)),
    "altered_data": lambda folder: _alter(_data_file(folder)),
    "truncated_index": lambda folder: _truncate(folder / "ckpt.index"),
    "altered_index": lambda folder: _alter(folder / "ckpt.index"),
    "missing_data": lambda folder: _data_file(folder).unlink(),
    "missing_index": lambda folder: (folder / "ckpt.index").unlink(),
}


def _tree_digest(root):
    digest = hashlib.sha256()
    for path in sorted(pathlib.Path(root).rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.mark.parametrize("kind", sorted(_DAMAGE))
def test_damage_is_found_and_named(tmp_path, _runs, kind):
    _, _, template = _runs
    model_dir = tmp_path / "run"
    shutil.copytree(template, model_dir)
    _DAMAGE[kind](run_dir.checkpoints_dir(model_dir) / "step_0000003")
    store = checkpoints.CheckpointStore(str(model_dir), tf.train.Checkpoint())

    step, problems = store.find_latest_intact()

    assert step == 2
    assert [damaged for damaged, _ in problems] == [3]
    assert problems[0][1]
    assert store.damage(2) is None


# Training on from the fallback costs a compile per case, so two kinds
# stand for the rest: the fallback does not depend on the kind of damage.
@pytest.mark.parametrize("kind", ["altered_data", "missing_index"])
def test_damaged_checkpoint_falls_back(
    tmp_path, _runs, trainer, caplog, kind
):
    config, straight, template = _runs
    model_dir = tmp_path / "run"
    shutil.copytree(template, model_dir)
    checkpoint_dir = run_dir.checkpoints_dir(model_dir)
    _DAMAGE[kind](checkpoint_dir / "step_0000003")

    with caplog.at_level("WARNING"):
        train_lib.train_and_evaluate(
            config, str(model_dir), tf.distribute.get_strategy()
        )

    warnings = [
        record.getMessage() for record in caplog.records
        if "is damaged" in record.getMessage()
    ]
    assert len(warnings) == 1, caplog.text
    assert warnings[0].startswith("The checkpoint of step 3 is damaged: ")
    assert "Falling back to the previous checkpoint" in warnings[0]
    assert (checkpoint_dir / ".step_0000003.damaged").is_dir()
    # Steps 3 to 5 were trained again from step 2, exactly as before.
    _assert_same_tensors(trainer, _prefix(straight, 5), _prefix(model_dir, 5))


def test_leftover_partial_writes_removed(tmp_path, _runs, trainer, caplog):
    config, straight, template = _runs
    model_dir = tmp_path / "run"
    shutil.copytree(template, model_dir)
    checkpoint_dir = run_dir.checkpoints_dir(model_dir)
    partial = checkpoint_dir / ".step_0000004.tmp"
    shutil.copytree(checkpoint_dir / "step_0000003", partial)
    _truncate(_data_file(partial))
    shutil.copytree(checkpoint_dir / "step_0000002", checkpoint_dir / ".step_0000002.old")

    with caplog.at_level("WARNING"):
        train_lib.train_and_evaluate(
            config, str(model_dir), tf.distribute.get_strategy()
        )

    assert "left by an interrupted checkpoint save" in caplog.text
    assert str(partial) in caplog.text
    assert not [p for p in checkpoint_dir.iterdir() if p.name.startswith(".")]
    _assert_same_tensors(trainer, _prefix(straight, 5), _prefix(model_dir, 5))


def test_all_checkpoints_damaged_changes_nothing(tmp_path, _runs):
    config, _, template = _runs
    model_dir = tmp_path / "run"
    shutil.copytree(template, model_dir)
    checkpoint_dir = run_dir.checkpoints_dir(model_dir)
    for step in (1, 2, 3):
        _truncate(_data_file(checkpoint_dir / run_dir.step_name(step)))
    before = _tree_digest(model_dir)

    with pytest.raises(checkpoints.NoIntactCheckpointError) as raised:
        train_lib.train_and_evaluate(
            config, str(model_dir), tf.distribute.get_strategy()
        )

    message = str(raised.value)
    for step in (3, 2, 1):
        assert f"step {step}: " in message
    assert "use a new --model_dir" in message
    assert isinstance(raised.value, config_lib.ConfigError)
    assert _tree_digest(model_dir) == before


def test_damage_accepts_intact_checkpoint(_runs):
    _, straight, _ = _runs
    store = checkpoints.CheckpointStore(str(straight), tf.train.Checkpoint())
    assert store.steps() == [3, 4, 5]
    assert all(store.damage(step) is None for step in store.steps())
