"""Tests of sampling image grids from generator modules."""

import logging
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from hub_export import sample_lib

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def _run_sample_binary(*flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hub_export.sample", *flags],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _png_shape(path: pathlib.Path) -> tuple[int, ...]:
    return tuple(tf.io.decode_png(path.read_bytes()).shape)


def _save_signature_module(
    path: pathlib.Path, batch_size: int, z_dim: int, scale: float
) -> None:
    """Save a module with only a `generator` signature of fixed batch size.

    Its images are z * scale reshaped to [batch_size, 2, z_dim // 2, 1], so
    the test can recompute them from the latents. It states no z_dim and no
    distribution.
    """

    @tf.function(
        input_signature=[tf.TensorSpec([batch_size, z_dim], tf.float32, "z")]
    )
    def generate(z):
        return {"default": tf.reshape(z * scale, [-1, 2, z_dim // 2, 1])}

    root = tf.train.Checkpoint()
    root.generate = generate
    tf.saved_model.save(root, str(path), signatures={"generator": generate})


def _save_callable_module(
    path: pathlib.Path,
    z_dim: int | None,
    distribution: str | None,
    output_scale: float = 1.0,
) -> None:
    """Save a module whose `__call__` maps z to sigmoid(z) * output_scale.

    Images have shape [batch_size, 1, z_dim, 1]. `z_dim` and
    `distribution` become attributes when given. The input shape always
    leaves z_dim open.
    """

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)])
    def generate(z):
        images = tf.sigmoid(z) * output_scale
        return images[:, tf.newaxis, :, tf.newaxis]

    root = tf.train.Checkpoint()
    root.__call__ = generate
    if z_dim is not None:
        root.z_dim = tf.Variable(z_dim, trainable=False)
    if distribution is not None:
        root.z_distribution = tf.Variable(distribution, trainable=False)
    tf.saved_model.save(root, str(path))


def test_sample_binary_writes_grid_png(sn_export, tmp_path):
    output = tmp_path / "grid.png"
    result = _run_sample_binary(
        f"--module={sn_export}",
        "--num_samples=10",
        "--seed=0",
        f"--output={output}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # ceil(sqrt(10)) = 4 columns and 3 rows of 32x32 grey images.
    assert _png_shape(output) == (96, 128, 1)


def test_sample_grid_matches_seeded_latents(sn_export, tmp_path):
    images = sample_lib.write_sample_grid(
        sn_export, tmp_path / "grid.png", num_samples=6, seed=4
    )
    z = np.random.RandomState(4).uniform(-1.0, 1.0, (6, 16))
    expected = tf.saved_model.load(sn_export)(z.astype(np.float32)).numpy()
    np.testing.assert_allclose(images, expected, atol=1e-6)


def test_sample_same_seed_same_png_bytes(sn_export, tmp_path):
    paths = {
        name: tmp_path / f"{name}.png" for name in ("first", "again", "other")
    }
    sample_lib.write_sample_grid(sn_export, paths["first"], 9, seed=0)
    sample_lib.write_sample_grid(sn_export, paths["again"], 9, seed=0)
    sample_lib.write_sample_grid(sn_export, paths["other"], 9, seed=1)

    first = paths["first"].read_bytes()
    assert paths["again"].read_bytes() == first
    assert paths["other"].read_bytes() != first


def test_sample_grid_num_columns(sn_export, tmp_path):
    output = tmp_path / "grid.png"
    sample_lib.write_sample_grid(
        sn_export, output, num_samples=10, seed=0, num_columns=5
    )
    assert _png_shape(output) == (64, 160, 1)


def test_sample_signature_module_fixed_batch(tmp_path, caplog):
    _save_signature_module(tmp_path / "module", 4, z_dim=6, scale=3.0)
    caplog.set_level(logging.INFO, logger="absl")

    images = sample_lib.write_sample_grid(
        str(tmp_path / "module"), tmp_path / "grid.png", 5, seed=3
    )

    z = np.random.RandomState(3).uniform(-1.0, 1.0, (5, 6)).astype(np.float32)
    expected = np.clip(z.reshape(5, 2, 3, 1) * 3.0, 0.0, 1.0)
    np.testing.assert_allclose(images, expected, atol=1e-6)
    assert "records no latent distribution" in caplog.text
    assert "outside [0, 1]; clipping" in caplog.text


def test_sample_reads_distribution_attribute(tmp_path):
    _save_callable_module(tmp_path / "module", z_dim=5, distribution="normal")
    module = sample_lib.load_module(str(tmp_path / "module"))

    images = sample_lib.generate_samples(module, 7, seed=2)

    z = np.random.RandomState(2).standard_normal((7, 5)).astype(np.float32)
    expected = (1.0 / (1.0 + np.exp(-z))).reshape(7, 1, 5, 1)
    np.testing.assert_allclose(images, expected, atol=1e-6)


def test_sample_rejects_unknown_distribution(tmp_path):
    _save_callable_module(tmp_path / "module", 5, distribution="gamma")
    module = sample_lib.load_module(str(tmp_path / "module"))
    with pytest.raises(ValueError, match="'gamma'.*uniform, normal"):
        sample_lib.generate_samples(module, 4, seed=0)


def test_sample_z_dim_for_unstated_module(tmp_path):
    _save_callable_module(tmp_path / "module", z_dim=None, distribution=None)
    module = sample_lib.load_module(str(tmp_path / "module"))

    with pytest.raises(ValueError, match="states no z_dim.*Pass z_dim"):
        sample_lib.generate_samples(module, 4, seed=0)
    images = sample_lib.generate_samples(module, 4, seed=0, z_dim=3)
    assert images.shape == (4, 1, 3, 1)


def test_sample_rejects_contradicting_z_dim(sn_export):
    module = sample_lib.load_module(sn_export)
    with pytest.raises(
        ValueError, match=r"shape \[batch_size, 16\]. Received: z_dim=8"
    ):
        sample_lib.generate_samples(module, 4, seed=0, z_dim=8)


def test_sample_rejects_non_finite_images(tmp_path):
    _save_callable_module(tmp_path / "module", 2, None, output_scale=np.inf)
    module = sample_lib.load_module(str(tmp_path / "module"))
    with pytest.raises(ValueError, match="NaN or infinite"):
        sample_lib.generate_samples(module, 4, seed=0)


def test_sample_rejects_module_without_generator(tmp_path):
    root = tf.train.Checkpoint()
    root.weights = tf.Variable([1.0, 2.0])
    tf.saved_model.save(root, str(tmp_path / "module"))
    module = sample_lib.load_module(str(tmp_path / "module"))
    with pytest.raises(ValueError, match="no callable generator"):
        sample_lib.generate_samples(module, 4, seed=0)


def test_sample_rejects_invalid_module_path(tmp_path):
    with pytest.raises(ValueError, match="absent not found"):
        sample_lib.load_module(str(tmp_path / "absent"))
    with pytest.raises(ValueError, match="has no saved_model.pb"):
        sample_lib.load_module(str(tmp_path))


def test_sample_rejects_num_samples_below_one(sn_export, tmp_path):
    module = sample_lib.load_module(sn_export)
    with pytest.raises(ValueError, match="Received: num_samples=0"):
        sample_lib.generate_samples(module, 0, seed=0)
    with pytest.raises(ValueError, match="Received: num_columns=0"):
        sample_lib.write_sample_grid(sn_export, tmp_path / "grid.png", 4, 0, 0)


def test_sample_without_tensorflow_hub(sn_export, tmp_path, monkeypatch):
    monkeypatch.setattr(sample_lib, "hub", None)
    monkeypatch.setattr(
        sample_lib, "_HUB_IMPORT_ERROR", ImportError("no tf_keras")
    )

    images = sample_lib.write_sample_grid(
        sn_export, tmp_path / "grid.png", 4, seed=0
    )
    assert images.shape == (4, 32, 32, 1)
    with pytest.raises(ValueError, match="needs tensorflow_hub.*tf_keras"):
        sample_lib.load_module("https://tfhub.dev/google/compare_gan/x/1")


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--num_samples=0"], "--num_samples must be at least 1"),
        (["--num_columns=-2"], "--num_columns must be at least 1"),
        (["--module=/nonexistent/module"], "/nonexistent/module not found"),
    ],
)
def test_sample_binary_rejects_bad_flags(sn_export, tmp_path, flags, message):
    result = _run_sample_binary(
        f"--module={sn_export}", f"--output={tmp_path / 'grid.png'}", *flags
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "grid.png").exists()


def test_sample_binary_rejects_directory_output(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "hub_export.sample", f"--module={tmp_path}",
         f"--output={tmp_path}"],
        cwd=pathlib.Path(__file__).resolve().parents[2],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2
    assert "is a directory. Expected the path of a PNG file" in result.stderr
    assert list(tmp_path.parent.glob(f".{tmp_path.name}.tmp")) == []
