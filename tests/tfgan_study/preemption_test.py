"""SIGTERM (preemption) makes the trainer save a checkpoint and exit 4.

The multi-worker case is in multi_worker_test.py.
"""

import pathlib
import signal
import time

import pytest

from tfgan_study import run_dir


def _saved_steps(model_dir):
    return sorted(
        int(path.name[len("step_"):])
        for path in run_dir.checkpoints_dir(model_dir).iterdir()
        if path.name.startswith("step_")
    )


def _wait_for_steps(model_dir, count, process, timeout=300):
    metrics = model_dir / "metrics.jsonl"
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        if metrics.exists() and len(metrics.read_text().splitlines()) >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"the trainer did not reach step {count}")


def _wait_for_sigterm_handler(process, timeout=120):
    """Wait until `process` catches SIGTERM (Linux: /proc/PID/status)."""
    status = pathlib.Path(f"/proc/{process.pid}/status")
    if not status.exists():
        pytest.skip("needs /proc to see when the handler is installed")
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        for line in status.read_text().splitlines():
            if line.startswith("SigCgt:"):
                caught = int(line.split()[1], 16)
                if caught & (1 << (signal.SIGTERM - 1)):
                    return
        time.sleep(0.01)
    raise AssertionError("the trainer never installed its SIGTERM handler")


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["default", "mirrored"])
def test_sigterm_saves_and_exits_4(tmp_path, image_folder, trainer, strategy):
    model_dir = tmp_path / "run"
    process = trainer.start([
        f"--model_dir={model_dir}", f"--dataset=folder:{image_folder}",
        *trainer.tiny_flags, "--training_steps=100000",
        "--checkpoint_every_steps=0", f"--strategy={strategy}",
    ])
    _wait_for_steps(model_dir, 2, process)

    sent = time.time()
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    elapsed = time.time() - sent

    assert process.returncode == 4, output[-3000:]
    saved = _saved_steps(model_dir)
    assert len(saved) == 1
    assert (
        f"Training interrupted at step {saved[0]}. Rerun the same command to "
        "resume." in output
    )
    # One step (well under a second here) and one save, with slack for a
    # loaded machine.
    assert elapsed < 60, elapsed


@pytest.mark.slow
def test_sigterm_during_startup_saves(
    tmp_path, image_folder, trainer
):
    common = [
        f"--dataset=folder:{image_folder}", *trainer.tiny_flags,
        "--training_steps=4", "--checkpoint_every_steps=0",
    ]
    model_dir = tmp_path / "run"
    process = trainer.start([f"--model_dir={model_dir}", *common])
    # The handler is installed before TensorFlow loads: signal as soon as
    # the process catches SIGTERM, while TensorFlow is still being imported.
    _wait_for_sigterm_handler(process)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 4, output[-3000:]
    assert _saved_steps(model_dir) == [1]
    assert "Training interrupted at step 1." in output

    status, output = trainer.run([f"--model_dir={model_dir}", *common])
    assert status == 0, output[-3000:]
    assert "Restored the checkpoint of step 1." in output
