"""Fixtures for tests that run the trainer as a real process.

`image_folder` writes a small folder of grey PNGs; `trainer` gives the
helpers that start `python -m tfgan_study.train` and read its checkpoints.
Each process pays about ten seconds of TensorFlow import, so tests keep
their process count small.
"""

import os
import pathlib
import socket
import subprocess
import sys
import types

import numpy as np
import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]

# Flags of a run that takes a fraction of a second per step on one CPU core.
TINY_FLAGS = (
    "--resolution=8",
    "--z_dim=8",
    "--global_batch_size=8",
    "--eval_every_steps=0",
    "--log_every_steps=1",
)


def write_images(root: pathlib.Path, count: int = 16, size: int = 8) -> str:
    """Write `count` random grey PNGs of side `size` into `root`."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        pixels = rng.integers(0, 256, size=(size, size, 1), dtype=np.uint8)
        (root / f"image_{index:03d}.png").write_bytes(
            tf.io.encode_png(pixels).numpy()
        )
    return str(root)


@pytest.fixture
def image_folder(tmp_path) -> str:
    return write_images(tmp_path / "images")


def start_trainer(args, env_extra=None, **kwargs) -> subprocess.Popen:
    """Start the trainer with `args`; stdout and stderr go to one pipe."""
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.Popen(
        [sys.executable, "-m", "tfgan_study.train", *args],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, **kwargs,
    )


def run_trainer(args, env_extra=None, timeout=600) -> tuple[int, str]:
    """Run the trainer to completion; return its exit status and output."""
    process = start_trainer(args, env_extra)
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output


def free_ports(count: int) -> list[int]:
    """Return `count` ports on 127.0.0.1 that were free a moment ago."""
    sockets = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def checkpoint_tensors(prefix: str) -> dict:
    """Return every tensor of a checkpoint except the save counter."""
    import tensorflow as tf

    reader = tf.train.load_checkpoint(prefix)
    return {
        name: reader.get_tensor(name)
        for name in reader.get_variable_to_shape_map()
        if "save_counter" not in name
        and not name.startswith("_CHECKPOINTABLE_OBJECT_GRAPH")
    }


@pytest.fixture
def trainer() -> types.SimpleNamespace:
    """The helpers above, for test files (which cannot import conftest)."""
    return types.SimpleNamespace(
        tiny_flags=list(TINY_FLAGS),
        start=start_trainer,
        run=run_trainer,
        free_ports=free_ports,
        tensors=checkpoint_tensors,
        write_images=write_images,
    )
