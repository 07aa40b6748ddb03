"""Tests of the hub export: round trips, signatures, variables and errors."""

import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub
import tf_keras

from hub_export import export_lib
from tfgan_study import config as config_lib
from tfgan_study import run_dir

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
TOLERANCE = 1e-5
LATEST_STEP = 2


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a Python command from the repository root, as a user would."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        **kwargs,
    )


def _directory_snapshot(path: pathlib.Path) -> dict[str, bytes]:
    return {
        str(file.relative_to(path)): file.read_bytes()
        for file in sorted(path.rglob("*"))
        if file.is_file()
    }


def _hidden_entries(path: pathlib.Path) -> list[str]:
    return [entry.name for entry in path.iterdir() if entry.name[0] == "."]


def test_export_matches_generator_in_inference_mode(sn_run, sn_export):
    expected = sn_run.images[LATEST_STEP]
    for loaded in (tf.saved_model.load(sn_export), hub.load(sn_export)):
        images = loaded(sn_run.z).numpy()
        assert images.shape == (8, 32, 32, 1)
        assert images.dtype == np.float32
        np.testing.assert_allclose(images, expected, atol=TOLERANCE)


def test_export_output_range_not_saturated(sn_module):
    z = tf.random.stateless_uniform([64, 16], seed=[3, 0], minval=-1, maxval=1)
    images = sn_module(z).numpy()
    assert images.min() >= 0.0
    assert images.max() <= 1.0
    saturated = np.mean((images < 1e-3) | (images > 1 - 1e-3))
    assert saturated < 0.5


@pytest.mark.parametrize("batch_size", [2, 8, 33])
def test_export_image_same_alone_and_in_batch(sn_run, sn_module, batch_size):
    z = sn_run.z[:1]
    others = tf.random.stateless_uniform(
        [batch_size - 1, 16], seed=[batch_size, 1], minval=-1, maxval=1
    )
    position = batch_size // 2
    batch = tf.concat([others[:position], z, others[position:]], axis=0)

    alone = sn_module(z).numpy()[0]
    in_batch = sn_module(batch).numpy()[position]
    np.testing.assert_allclose(in_batch, alone, atol=TOLERANCE)
    np.testing.assert_allclose(
        alone, sn_run.images[LATEST_STEP][0], atol=TOLERANCE
    )


def test_generator_training_mode_depends_on_batch(sn_run):
    # The batch test above can fail: in training mode, batch norm uses the
    # batch's statistics and the same latent gives another image.
    generator = sn_run.model.generator
    z = tf.constant(sn_run.z)
    # Training-mode calls update the moving statistics of the shared model.
    saved_values = [weight.numpy() for weight in generator.weights]
    try:
        first_of_batch = generator(z, training=True).numpy()[0]
        first_of_pair = generator(z[:2], training=True).numpy()[0]
    finally:
        for weight, value in zip(generator.weights, saved_values):
            weight.assign(value)
    assert np.max(np.abs(first_of_batch - first_of_pair)) > 1e-3


def test_export_signature_keys(sn_module):
    assert set(sn_module.signatures) == {
        export_lib.SERVING_SIGNATURE,
        export_lib.DISCRIMINATOR_SIGNATURE,
    }


def test_serving_signature_called_by_keyword(sn_run, sn_module):
    signature = sn_module.signatures["serving_default"]
    assert signature.structured_input_signature[1].keys() == {"z"}

    outputs = signature(z=tf.constant(sn_run.z))
    assert set(outputs) == {"images"}
    assert outputs["images"].shape == (8, 32, 32, 1)
    np.testing.assert_allclose(
        outputs["images"].numpy(), sn_run.images[LATEST_STEP], atol=TOLERANCE
    )


def test_call_takes_no_training_argument(sn_module):
    for function in sn_module.__call__.concrete_functions:
        args, kwargs = function.structured_input_signature
        assert len(args) == 1
        assert kwargs == {}


def test_discriminator_matches_in_memory_logits(sn_run, sn_module):
    images = sn_run.images[LATEST_STEP]
    expected = sn_run.logits[LATEST_STEP]

    logits = sn_module.discriminator(images).numpy()
    signature = sn_module.signatures["discriminator"]
    outputs = signature(images=tf.constant(images))

    assert logits.shape == (8,)
    np.testing.assert_allclose(logits, expected, atol=TOLERANCE)
    assert set(outputs) == {"logits"}
    np.testing.assert_allclose(
        outputs["logits"].numpy(), expected, atol=TOLERANCE
    )


def test_call_rejects_wrong_z_dimension(sn_module):
    with pytest.raises(TypeError, match=r"shape=\(None, 16\)"):
        sn_module(tf.zeros([2, 8]))


@pytest.mark.parametrize("shape", [(2, 8), (2, 16, 1), (16,)])
def test_serving_signature_rejects_wrong_z_shape(sn_module, shape):
    signature = sn_module.signatures["serving_default"]
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=r"expected shape \[\?,16\]"
    ):
        signature(z=tf.zeros(shape))


def test_discriminator_signature_rejects_wrong_image_shape(sn_module):
    signature = sn_module.signatures["discriminator"]
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=r"expected shape \[\?,32,32,1\]"
    ):
        signature(images=tf.zeros([2, 28, 28, 1]))


def test_hub_keras_layer_in_tf_keras_models(sn_run, sn_export):
    layer = hub.KerasLayer(sn_export, trainable=True)
    sequential = tf_keras.Sequential([tf_keras.Input((16,)), layer])
    inputs = tf_keras.Input((16,))
    functional = tf_keras.Model(
        inputs, hub.KerasLayer(sn_export, trainable=True)(inputs)
    )
    expected = sn_run.images[LATEST_STEP]
    generator = sn_run.model.generator

    np.testing.assert_allclose(
        sequential(sn_run.z).numpy(), expected, atol=TOLERANCE
    )
    np.testing.assert_allclose(
        functional(sn_run.z).numpy(), expected, atol=TOLERANCE
    )
    assert len(sequential.trainable_weights) == len(generator.trainable_weights)
    assert len(sequential.weights) == len(generator.weights)


def test_hub_keras_layer_signature_route(sn_run, sn_export):
    layer = hub.KerasLayer(
        sn_export, signature="serving_default", output_key="images"
    )
    images = layer(tf.constant(sn_run.z), training=False)
    np.testing.assert_allclose(
        images.numpy(), sn_run.images[LATEST_STEP], atol=TOLERANCE
    )


def test_hub_keras_layer_rejected_by_keras3_model(sn_export):
    # The module docstring sends Keras 3 users to hub.load or TFSMLayer
    # because of this rejection.
    layer = hub.KerasLayer(sn_export)
    with pytest.raises(ValueError, match="Only instances of `keras.Layer`"):
        keras.Sequential([keras.Input((16,)), layer])


def test_tfsm_layer_in_keras3_model(sn_run, sn_export):
    inputs = keras.Input((16,))
    layer = keras.layers.TFSMLayer(sn_export, call_endpoint="serving_default")
    model = keras.Model(inputs, layer(inputs))

    outputs = model(sn_run.z)
    assert set(outputs) == {"images"}
    np.testing.assert_allclose(
        outputs["images"].numpy(), sn_run.images[LATEST_STEP], atol=TOLERANCE
    )
    assert len(model.trainable_weights) == len(
        sn_run.model.generator.trainable_weights
    )


def test_trainable_variables_are_generator_weights(sn_run, sn_module):
    generator = sn_run.model.generator
    trainable = sn_module.trainable_variables
    assert len(trainable) > 0
    assert len(trainable) == len(generator.trainable_weights)
    assert all(variable.trainable for variable in trainable)
    for variable, weight in zip(trainable, generator.trainable_weights):
        np.testing.assert_array_equal(variable.numpy(), weight.numpy())


def test_trainable_variables_get_gradients(sn_run, sn_module):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(sn_module(sn_run.z))
    gradients = tape.gradient(loss, sn_module.trainable_variables)
    assert all(gradient is not None for gradient in gradients)


def test_variables_include_batch_norm_statistics(sn_run, sn_module):
    generator = sn_run.model.generator
    names = [variable.name for variable in sn_module.variables]
    assert len(names) == len(generator.weights)
    for statistic in ("moving_mean", "moving_variance"):
        exported = [
            variable
            for variable in sn_module.variables
            if statistic in variable.name
        ]
        in_memory = [
            weight for weight in generator.weights if statistic in weight.path
        ]
        assert len(exported) == 4
        for variable, weight in zip(exported, in_memory):
            assert not variable.trainable
            np.testing.assert_array_equal(variable.numpy(), weight.numpy())
    moving_means = [v for v in sn_module.variables if "moving_mean" in v.name]
    assert np.any(moving_means[0].numpy() != 0.0)


def test_regularization_losses_empty(sn_module):
    assert list(sn_module.regularization_losses) == []


def test_latent_attributes_survive_loading(sn_run, sn_export):
    for loaded in (tf.saved_model.load(sn_export), hub.load(sn_export)):
        assert int(loaded.z_dim.numpy()) == 16
        assert loaded.z_distribution.numpy() == b"uniform"
        assert float(loaded.z_low.numpy()) == -1.0
        assert float(loaded.z_high.numpy()) == 1.0
        assert loaded.image_shape.numpy().tolist() == [32, 32, 1]
        assert int(loaded.checkpoint_step.numpy()) == LATEST_STEP
        config = config_lib.from_json(loaded.config_json.numpy().decode())
        assert config == sn_run.config
        attribute_ids = {id(loaded.z_dim), id(loaded.z_distribution)}
        assert not attribute_ids & {id(v) for v in loaded.variables}


def test_export_contains_spectral_norm_vectors(sn_run, sn_export):
    module = tf.saved_model.load(sn_export)
    u_vectors = [
        variable
        for variable in module.discriminator_variables
        if variable.name.endswith("/u:0")
    ]
    in_memory = [
        weight
        for weight in sn_run.model.discriminator.weights
        if weight.path.endswith("/u")
    ]
    stored = [
        name
        for name, _ in tf.train.list_variables(
            os.path.join(sn_export, "variables", "variables")
        )
        if name.startswith("discriminator_variables/")
    ]

    assert len(u_vectors) == 8
    assert len(stored) == len(sn_run.model.discriminator.weights)
    for variable, weight in zip(u_vectors, in_memory):
        assert not variable.trainable
        np.testing.assert_array_equal(variable.numpy(), weight.numpy())


def test_discriminator_calls_leave_u_unchanged(sn_run, sn_module):
    module = sn_module
    before = [v.numpy() for v in module.discriminator_variables]
    module.discriminator(sn_run.images[LATEST_STEP])
    module.signatures["discriminator"](images=sn_run.images[LATEST_STEP])
    after = [v.numpy() for v in module.discriminator_variables]
    for old, new in zip(before, after):
        np.testing.assert_array_equal(new, old)


def test_batch_norm_discriminator_export(bn_run, bn_export):
    module = tf.saved_model.load(bn_export)
    names = [variable.name for variable in module.discriminator_variables]
    images = bn_run.images[1]

    logits = module.discriminator(images).numpy()
    alone = module.discriminator(images[:1]).numpy()

    assert not any(name.endswith("/u:0") for name in names)
    assert any("moving_variance" in name for name in names)
    np.testing.assert_allclose(logits, bn_run.logits[1], atol=TOLERANCE)
    np.testing.assert_allclose(alone[0], logits[0], atol=TOLERANCE)


def test_export_run_step_replaces_old_export(bn_run, bn_export):
    export_dir = pathlib.Path(bn_export)
    module = tf.saved_model.load(bn_export)

    assert int(module.checkpoint_step.numpy()) == 1
    np.testing.assert_allclose(
        module(bn_run.z).numpy(), bn_run.images[1], atol=TOLERANCE
    )
    assert not np.allclose(bn_run.images[1], bn_run.images[2], atol=1e-3)
    assert not (export_dir / "old.txt").exists()
    assert (export_dir / "saved_model.pb").exists()
    assert _hidden_entries(export_dir.parent) == []


def test_default_checkpoint_choice(sn_run, bn_run, tmp_path):
    assert export_lib.default_checkpoint(sn_run.model_dir) == "best"
    assert export_lib.default_checkpoint(bn_run.model_dir) == "latest"
    assert export_lib.default_checkpoint(str(tmp_path)) == "latest"


def test_export_run_rejects_unknown_step(sn_run, tmp_path):
    with pytest.raises(ValueError, match=r"step 7 .*Available steps: 1, 2"):
        export_lib.export_run(sn_run.model_dir, tmp_path / "module", 7)
    assert not (tmp_path / "module").exists()


def test_export_run_rejects_best_without_fid(bn_run, tmp_path):
    with pytest.raises(ValueError, match="no best one.*1, 2"):
        export_lib.export_run(bn_run.model_dir, tmp_path / "module", "best")


def test_export_run_rejects_bad_selector(sn_run, tmp_path):
    with pytest.raises(ValueError, match="best, latest or a step number"):
        export_lib.export_run(sn_run.model_dir, tmp_path / "module", "first")


def test_export_run_rejects_missing_run(tmp_path):
    for model_dir in (tmp_path / "absent", tmp_path):
        with pytest.raises(ValueError, match="config.json is missing"):
            export_lib.export_run(str(model_dir), tmp_path / "module")


def test_export_run_rejects_run_without_checkpoints(sn_run, tmp_path):
    run_dir.save_config(str(tmp_path), sn_run.config, 1)
    with pytest.raises(ValueError, match="No checkpoints found"):
        export_lib.export_run(str(tmp_path), tmp_path / "module")


def test_export_keeps_non_empty_export_dir(sn_run, tmp_path):
    export_dir = tmp_path / "module"
    export_dir.mkdir()
    (export_dir / "saved_model.pb").write_bytes(b"previous export")
    before = _directory_snapshot(export_dir)

    with pytest.raises(FileExistsError, match=f"{export_dir}.*--overwrite"):
        export_lib.export_run(sn_run.model_dir, export_dir)

    assert _directory_snapshot(export_dir) == before
    assert _hidden_entries(tmp_path) == []


def test_export_rejects_file_as_export_dir(sn_run, tmp_path):
    export_file = tmp_path / "module"
    export_file.write_text("a file")
    with pytest.raises(FileExistsError, match="not a directory"):
        export_lib.export_run(sn_run.model_dir, export_file, overwrite=True)


def test_failed_verification_keeps_export_dir(sn_run, tmp_path, monkeypatch):
    export_dir = tmp_path / "module"
    export_dir.mkdir()
    (export_dir / "saved_model.pb").write_bytes(b"previous export")
    before = _directory_snapshot(export_dir)
    # A negative tolerance fails every comparison.
    monkeypatch.setattr(export_lib, "VERIFY_TOLERANCE", -1.0)
    model = sn_run.model

    with pytest.raises(
        export_lib.ExportVerificationError, match="generator_difference="
    ):
        export_lib.export_model(
            model.generator,
            model.discriminator,
            export_dir,
            2,
            sn_run.config,
            overwrite=True,
        )

    assert _directory_snapshot(export_dir) == before
    assert _hidden_entries(tmp_path) == []


def test_verify_export_detects_other_weights(bn_run, bn_export):
    # bn_export contains step 1 and the in-memory model step 2.
    model = bn_run.model
    with pytest.raises(
        export_lib.ExportVerificationError, match="generator_difference="
    ):
        export_lib.verify_export(
            bn_export, model.generator, model.discriminator
        )


def test_build_hub_module_rejects_mismatched_networks(sn_run):
    generator = keras.Sequential(
        [keras.Input((16,)), keras.layers.Reshape((4, 4, 1))]
    )
    with pytest.raises(ValueError, match=r"\[batch_size, 4, 4, 1\]"):
        export_lib.build_hub_module(
            generator, sn_run.model.discriminator, 2, sn_run.config
        )


# Runs in a fresh interpreter: first with tf_keras blocked, to check the
# routes that need neither tensorflow_hub nor tf_keras (tensorflow_hub 0.16.1
# fails to import without tf_keras under Keras 3), then with hub.load.
_CLEAN_PROCESS_SCRIPT = """
import json, sys
sys.modules["tf_keras"] = None
import keras
import numpy as np
import tensorflow as tf

path, z_path, out_dir = sys.argv[1:]
z = np.load(z_path)
module = tf.saved_model.load(path)
np.save(out_dir + "/tf.npy", module(z).numpy())
outputs = module.signatures["serving_default"](z=tf.constant(z))
np.save(out_dir + "/signature.npy", outputs["images"].numpy())
inputs = keras.Input((z.shape[1],))
layer = keras.layers.TFSMLayer(path, call_endpoint="serving_default")
model = keras.Model(inputs, layer(inputs))
np.save(out_dir + "/tfsm.npy", model(z)["images"].numpy())

del sys.modules["tf_keras"]
import tensorflow_hub as hub
hub_module = hub.load(path)
np.save(out_dir + "/hub.npy", hub_module(z).numpy())
facts = {
    "signatures": sorted(hub_module.signatures),
    "z_dim": int(hub_module.z_dim.numpy()),
    "z_distribution": hub_module.z_distribution.numpy().decode(),
    "num_trainable": len(hub_module.trainable_variables),
}
with open(out_dir + "/facts.json", "w") as file:
    json.dump(facts, file)
"""


def test_loading_in_clean_process(sn_run, sn_export, tmp_path):
    np.save(tmp_path / "z.npy", sn_run.z)
    result = _run(
        [
            "-c",
            _CLEAN_PROCESS_SCRIPT,
            sn_export,
            str(tmp_path / "z.npy"),
            str(tmp_path),
        ]
    )
    assert result.returncode == 0, result.stderr[-3000:]

    for name in ("tf", "signature", "tfsm", "hub"):
        images = np.load(tmp_path / f"{name}.npy")
        np.testing.assert_allclose(
            images, sn_run.images[LATEST_STEP], atol=TOLERANCE
        )
    facts = json.loads((tmp_path / "facts.json").read_text())
    assert facts["signatures"] == ["discriminator", "serving_default"]
    assert facts["z_dim"] == 16
    assert facts["z_distribution"] == "uniform"
    assert facts["num_trainable"] == len(
        sn_run.model.generator.trainable_weights
    )


def _export_binary(model_dir, export_dir, *flags: str):
    return _run(
        [
            "-m",
            "hub_export.export",
            f"--model_dir={model_dir}",
            f"--export_dir={export_dir}",
            *flags,
        ]
    )


def test_export_binary_rejects_missing_run(tmp_path):
    result = _export_binary(tmp_path / "no_run", tmp_path / "module")
    assert result.returncode == 2
    assert "contains no training run" in result.stderr
    assert "config.json is missing" in result.stderr
    assert not (tmp_path / "module").exists()


def test_export_binary_keeps_existing_export_dir(sn_run, tmp_path):
    export_dir = tmp_path / "module"
    export_dir.mkdir()
    (export_dir / "saved_model.pb").write_bytes(b"previous export")
    before = _directory_snapshot(export_dir)

    result = _export_binary(sn_run.model_dir, export_dir)

    assert result.returncode == 2
    assert f"export_dir {export_dir} exists and is not empty" in result.stderr
    assert "--overwrite" in result.stderr
    assert _directory_snapshot(export_dir) == before


@pytest.mark.slow
def test_export_binary_exports_best_checkpoint(sn_run, tmp_path):
    export_dir = tmp_path / "module"
    result = _export_binary(sn_run.model_dir, export_dir)
    module = tf.saved_model.load(str(export_dir))

    assert result.returncode == 0, result.stderr[-3000:]
    assert "taking the best one" in result.stderr
    assert "Verified the reloaded export" in result.stderr
    assert int(module.checkpoint_step.numpy()) == 1
    np.testing.assert_allclose(
        module(sn_run.z).numpy(), sn_run.images[1], atol=TOLERANCE
    )
    assert not np.allclose(sn_run.images[1], sn_run.images[2], atol=1e-3)
    assert _hidden_entries(tmp_path) == []


def test_export_binary_requires_export_dir(tmp_path):
    result = _run(["-m", "hub_export.export", f"--model_dir={tmp_path}"])
    assert result.returncode == 2
    assert "--export_dir" in result.stderr


@pytest.mark.parametrize("target", ["run", "parent", "checkpoints"])
def test_export_binary_never_overwrites_the_run(sn_run, target):
    model_dir = pathlib.Path(sn_run.model_dir)
    export_dir = {
        "run": model_dir,
        "parent": model_dir.parent,
        "checkpoints": model_dir / "checkpoints" / "module",
    }[target]
    before = _directory_snapshot(model_dir)

    result = _export_binary(model_dir, export_dir, "--overwrite")

    assert result.returncode == 2
    assert "would replace the run" in result.stderr
    assert _directory_snapshot(model_dir) == before
