"""Two trainer processes on 127.0.0.1 under --strategy=multi_worker.

The workers find each other through TF_CONFIG with two free local ports.
Together they must train the model that one process trains with the same
global batch, and a SIGTERM to one of them must stop both with a checkpoint.
"""

import json
import signal
import time

import numpy as np
import pytest

from tfgan_study import run_dir


def _start_workers(trainer, args):
    ports = trainer.free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    workers = []
    for index in range(2):
        tf_config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        workers.append(
            trainer.start(
                [*args, "--strategy=multi_worker"],
                {"TF_CONFIG": json.dumps(tf_config)},
            )
        )
    return workers


def _finish(workers, timeout=400):
    """Wait for the workers; kill them all if one does not end in time."""
    results = []
    try:
        for worker in workers:
            output, _ = worker.communicate(timeout=timeout)
            results.append((worker.returncode, output))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()
    return results


def _losses(model_dir):
    lines = (model_dir / "metrics.jsonl").read_text().splitlines()
    return [
        {name: value for name, value in json.loads(line).items()
         if name.startswith("loss/")}
        for line in lines
    ]


def _prefix(model_dir, step):
    return str(
        run_dir.checkpoints_dir(model_dir) / run_dir.step_name(step) / "ckpt"
    )


@pytest.mark.slow
def test_two_workers_match_one_process(
    tmp_path, image_folder, trainer
):
    args = [
        f"--dataset=folder:{image_folder}", *trainer.tiny_flags,
        "--training_steps=4", "--checkpoint_every_steps=1",
        "--penalty=wgan_gp", "--deterministic",
    ]
    single_dir = tmp_path / "single"
    status, output = trainer.run([f"--model_dir={single_dir}", *args])
    assert status == 0, output[-3000:]

    multi_dir = tmp_path / "multi"
    workers = _start_workers(trainer, [f"--model_dir={multi_dir}", *args])
    results = _finish(workers)
    for index, (status, output) in enumerate(results):
        assert status == 0, f"worker {index}:\n{output[-3000:]}"
    assert "Global batch 8 over 2 replicas (4 per replica)" in results[0][1]

    # Only the chief writes the run's files.
    single_losses = _losses(single_dir)
    multi_losses = _losses(multi_dir)
    assert len(multi_losses) == len(single_losses) == 4
    for one, two in zip(single_losses, multi_losses):
        assert one.keys() == two.keys()
        for name in one:
            np.testing.assert_allclose(two[name], one[name], rtol=1e-4, atol=1e-5)

    # Adam moves a weight by about the learning rate whatever the gradient's
    # size, so a round-off difference in a near-zero gradient becomes a full
    # step. Compare the difference between the two runs with what the last
    # two steps changed: a wrong gradient scale or data split is as large.
    single = trainer.tensors(_prefix(single_dir, 4))
    earlier = trainer.tensors(_prefix(single_dir, 2))
    multi = trainer.tensors(_prefix(multi_dir, 4))
    assert single.keys() == multi.keys()
    difference = np.sqrt(sum(
        float(np.sum((multi[name].astype(np.float64) - single[name]) ** 2))
        for name in single if single[name].dtype.kind == "f"
    ))
    movement = np.sqrt(sum(
        float(np.sum((single[name].astype(np.float64) - earlier[name]) ** 2))
        for name in single if single[name].dtype.kind == "f"
    ))
    assert movement > 0
    assert difference <= 0.05 * movement, (difference, movement)
    for name in single:
        if "iter" in name or name.endswith("step/.ATTRIBUTES/VARIABLE_VALUE"):
            np.testing.assert_array_equal(multi[name], single[name], err_msg=name)


@pytest.mark.slow
def test_sigterm_one_worker_stops_both(
    tmp_path, image_folder, trainer
):
    model_dir = tmp_path / "run"
    workers = _start_workers(trainer, [
        f"--model_dir={model_dir}", f"--dataset=folder:{image_folder}",
        *trainer.tiny_flags, "--training_steps=100000",
        "--checkpoint_every_steps=0",
    ])
    metrics = model_dir / "metrics.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and not (
        metrics.exists() and len(metrics.read_text().splitlines()) >= 2
    ):
        time.sleep(0.2)
    assert metrics.exists(), "the workers never trained"
    sent = time.time()
    workers[1].send_signal(signal.SIGTERM)
    results = _finish(workers, timeout=300)
    elapsed = time.time() - sent
    for index, (status, output) in enumerate(results):
        assert status == 4, f"worker {index}:\n{output[-3000:]}"
        assert "Rerun the same command to resume" in output
    saved = [
        path.name for path in run_dir.checkpoints_dir(model_dir).iterdir()
        if path.name.startswith("step_")
    ]
    assert len(saved) == 1
    step = int(saved[0][len("step_"):])
    assert f"Training interrupted at step {step}." in results[0][1]
    assert elapsed < 120, elapsed
