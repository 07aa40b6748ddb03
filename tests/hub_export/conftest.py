"""Fixtures: tiny trained runs and their exports, built without training.

Each run is a real model directory (config.json and two checkpoints) of a
32x32 grey SNDCGAN with z_dim 16. Before each checkpoint the networks make
a few training-mode calls, so the batch-norm moving statistics and the
spectral-norm vectors differ from their initial values, and the generator's
kernels are perturbed between the checkpoints so that the steps give
different images. The fixture records what the in-memory networks return in
inference mode at each step, as the reference for the exports.
"""

import pathlib
from typing import NamedTuple

import numpy as np
import pytest
import tensorflow as tf

from hub_export import export_lib
from tfgan_study import checkpoints
from tfgan_study import config as config_lib
from tfgan_study import gan_model
from tfgan_study import run_dir

Z_DIM = 16
RESOLUTION = 32
NUM_CHANNELS = 1
NUM_REFERENCE_LATENTS = 8
STEPS = (1, 2)


class TrainedRun(NamedTuple):
    """A model directory and what its networks return at each step.

    Attributes:
      model_dir: The run's directory, with checkpoints at `STEPS`.
      config: The run's resolved config.
      model: The `GanModel`, containing the weights of the last step.
      z: Reference latents [8, Z_DIM], uniform in [-1, 1].
      images: Step -> generator(z, training=False), [8, 32, 32, 1].
      logits: Step -> discriminator(images[step], training=False), [8].
    """

    model_dir: str
    config: config_lib.StudyConfig
    model: gan_model.GanModel
    z: np.ndarray
    images: dict[int, np.ndarray]
    logits: dict[int, np.ndarray]


def _make_trained_run(
    model_dir: pathlib.Path,
    normalization: str,
    fids: dict[int, float],
    seed: int,
) -> TrainedRun:
    config = config_lib.resolve(
        config_lib.StudyConfig(
            dataset="fashion_mnist",
            architecture="sndcgan",
            resolution=RESOLUTION,
            normalization=normalization,
            z_dim=Z_DIM,
            global_batch_size=8,
            training_steps=2,
        )
    )
    model = gan_model.GanModel(config, NUM_CHANNELS)
    run_dir.save_config(str(model_dir), config, NUM_CHANNELS)
    store = checkpoints.CheckpointStore(str(model_dir), model.checkpoint())
    generator = tf.random.Generator.from_seed(seed)
    z = generator.uniform([NUM_REFERENCE_LATENTS, Z_DIM], -1.0, 1.0).numpy()
    images, logits = {}, {}
    for step in STEPS:
        for _ in range(3):
            batch_z = generator.uniform([8, Z_DIM], -1.0, 1.0)
            fake_images = model.generator(batch_z, training=True)
            model.discriminator(fake_images, training=True)
        for variable in model.generator.trainable_variables:
            if variable.path.endswith("kernel"):
                noise = generator.normal(variable.shape, stddev=0.01)
                variable.assign_add(noise)
        model.step.assign(step)
        store.save(step)
        images[step] = model.generator(z, training=False).numpy()
        logits[step] = model.discriminator(images[step], training=False).numpy()
    for step, fid in fids.items():
        store.record_fid(step, fid)
    return TrainedRun(str(model_dir), config, model, z, images, logits)


@pytest.fixture(scope="session")
def sn_run(tmp_path_factory) -> TrainedRun:
    """A run with a spectral-norm discriminator; step 1 has the best FID."""
    model_dir = tmp_path_factory.mktemp("sn_run")
    return _make_trained_run(model_dir, "spectral_norm", {1: 12.5, 2: 30.0}, 1)


@pytest.fixture(scope="session")
def bn_run(tmp_path_factory) -> TrainedRun:
    """A run with a batch-norm discriminator and no FID recorded."""
    model_dir = tmp_path_factory.mktemp("bn_run")
    return _make_trained_run(model_dir, "batch_norm", {}, 2)


@pytest.fixture(scope="session")
def sn_export(sn_run, tmp_path_factory) -> str:
    """The latest checkpoint of `sn_run`, exported."""
    export_dir = tmp_path_factory.mktemp("sn_export") / "module"
    export_lib.export_run(sn_run.model_dir, export_dir, "latest")
    return str(export_dir)


@pytest.fixture(scope="session")
def bn_export(bn_run, tmp_path_factory) -> str:
    """Step 1 of `bn_run`, exported over a directory containing `old.txt`."""
    export_dir = tmp_path_factory.mktemp("bn_export") / "module"
    export_dir.mkdir()
    (export_dir / "old.txt").write_text("a previous export")
    export_lib.export_run(bn_run.model_dir, export_dir, "1", overwrite=True)
    return str(export_dir)


@pytest.fixture(scope="session")
def sn_module(sn_export):
    """`sn_export` loaded with `tf.saved_model.load`."""
    return tf.saved_model.load(sn_export)
