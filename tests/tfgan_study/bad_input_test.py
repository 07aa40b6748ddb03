"""Bad input a user can give the trainer and the sampler, case by case.

Each case checks the exit status 2 and that the message names the problem,
listing the valid choices where there are some. It also checks that no file
under the test's folder changed, by hashing the images, an existing run and
its checkpoints before and after.

The trainer's `main` runs in this process (flags parsed as the binary
parses them); the sampler, whose flags share names with the trainer's, and
the multi-replica case run as real processes.
"""

import hashlib
import json
import pathlib
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from tfgan_study import cli
from tfgan_study import config as config_lib
from tfgan_study import run_dir
from tfgan_study import train
from tfgan_study import train_lib

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def _tree_digest(root) -> dict[str, str]:
    """Return the SHA-256 of every file under `root`, and every folder."""
    digests = {}
    for path in sorted(pathlib.Path(root).rglob("*")):
        key = str(path.relative_to(root))
        if path.is_file():
            digests[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            digests[key] = "folder"
    return digests


def _write_images(root, count=16, size=8, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        pixels = rng.integers(0, 256, size=(size, size, channels), dtype=np.uint8)
        (root / f"image_{index:03d}.png").write_bytes(
            tf.io.encode_png(pixels).numpy()
        )
    return root


_BASE_FLAGS = [
    "--resolution=8", "--z_dim=8", "--global_batch_size=8",
    "--training_steps=1", "--eval_every_steps=0", "--log_every_steps=0",
]


@pytest.fixture(scope="module")
def _trained(tmp_path_factory):
    """A finished one-step run on grey 8x8 images: (folder, model_dir)."""
    root = tmp_path_factory.mktemp("trained")
    folder = _write_images(root / "images")
    config = config_lib.resolve(config_lib.StudyConfig(
        dataset=f"folder:{folder}", resolution=8, z_dim=8,
        global_batch_size=8, training_steps=1, eval_every_steps=0,
        log_every_steps=0,
    ))
    model_dir = root / "run"
    train_lib.train_and_evaluate(
        config, str(model_dir), tf.distribute.get_strategy()
    )
    return folder, model_dir


@pytest.fixture
def run_main(caplog, capsys):
    """Run the trainer's main on flags; return (status, messages)."""
    sigterm_handler = signal.getsignal(signal.SIGTERM)

    def run(args):
        flags.FLAGS.unparse_flags()
        caplog.clear()
        try:
            argv = cli.parse_flags(["train", *args])
        except SystemExit as exit_:
            return exit_.code, capsys.readouterr().err
        try:
            with caplog.at_level("WARNING"):
                status = train.main(argv)
        finally:
            signal.signal(signal.SIGTERM, sigterm_handler)
            flags.FLAGS.unparse_flags()
        return status, caplog.text

    return run


# (flags, message): names and values that are refused before any data is read.
_FLAG_CASES = {
    "misspelled_loss": (
        ["--loss=hinj"],
        "Unknown loss 'hinj'. Expected one of: hinge, ls, ns, wgan.",
    ),
    "misspelled_architecture": (
        ["--architecture=sndgan"],
        "Unknown architecture 'sndgan'. Expected one of: resnet19, "
        "resnet_cifar, sndcgan.",
    ),
    "misspelled_penalty": (
        ["--penalty=wgangp"],
        "Unknown penalty 'wgangp'. Expected one of: dragan, l2, none, wgan_gp.",
    ),
    "misspelled_normalization": (
        ["--normalization=spectral"],
        "Unknown normalization 'spectral'. Expected one of: batch_norm, "
        "layer_norm, none, spectral_norm.",
    ),
    "misspelled_strategy": (
        ["--strategy=mirrord"],
        "Unknown strategy 'mirrord'. Expected one of: default, mirrored, "
        "multi_worker, tpu.",
    ),
    "unknown_preset": (["--preset=nope"], "Unknown preset 'nope'. Expected one of: "),
    "misspelled_flag": (["--learning_rat=0.1"], "learning_rate"),
    "malformed_number": (["--global_batch_size=abc"], "Invalid flag"),
    "stray_argument": (["extra"], "Unexpected arguments: extra"),
    "resolution_for_architecture": (
        ["--architecture=resnet19", "--resolution=32"],
        "Architecture resnet19 generates images of side 128. Received: "
        "resolution=32.",
    ),
    "resolution_not_multiple_of_8": (
        ["--resolution=12"],
        "sndcgan needs a resolution divisible by 8. Received: resolution=12.",
    ),
    "learning_rate_nan": (
        ["--learning_rate=nan"], "learning_rate must be finite. Received: "
        "learning_rate=nan."
    ),
    "learning_rate_inf": (
        ["--learning_rate=inf"], "learning_rate must be finite."
    ),
    "learning_rate_zero": (
        ["--learning_rate=0"], "learning_rate must be in (0, 1]."
    ),
    "beta1_one": (["--beta1=1.0"], "beta1 must be in [0.0, 1.0)."),
    "beta2_negative": (["--beta2=-0.1"], "beta2 must be in [0.0, 1.0)."),
    "penalty_weight_inf": (
        ["--penalty_weight=inf"], "penalty_weight must be finite."
    ),
    "penalty_weight_negative": (
        ["--penalty_weight=-1"], "penalty_weight must be in [0.0, 1000000.0]."
    ),
    "disc_iters_zero": (
        ["--disc_iters=0"], "disc_iters must be at least 1. Received: "
        "disc_iters=0."
    ),
    "batch_of_one": (
        ["--global_batch_size=1"], "global_batch_size must be at least 2."
    ),
    "negative_seed": (["--seed=-1"], "seed must be at least 0."),
    "multi_worker_without_tf_config": (
        ["--strategy=multi_worker"], "needs the TF_CONFIG environment variable"
    ),
}


@pytest.mark.parametrize("case", sorted(_FLAG_CASES))
def test_bad_flag_exits_2(tmp_path, run_main, monkeypatch, case):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    args, message = _FLAG_CASES[case]
    folder = _write_images(tmp_path / "images")
    model_dir = tmp_path / "run"
    before = _tree_digest(tmp_path)

    status, text = run_main(
        [f"--model_dir={model_dir}", f"--dataset=folder:{folder}",
         *_BASE_FLAGS, *args]
    )

    assert status == cli.EXIT_BAD_INPUT, text
    assert message in text
    assert _tree_digest(tmp_path) == before
    assert not model_dir.exists()


def _empty_folder(root):
    folder = root / "images"
    folder.mkdir()
    (folder / "notes.txt").write_text("not an image")
    return folder


def _file_not_folder(root):
    path = root / "images"
    path.write_bytes(b"not a folder")
    return path


def _corrupt_among_good(root):
    folder = _write_images(root / "images")
    (folder / "image_007.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    return folder


def _truncated_among_good(root):
    folder = _write_images(root / "images")
    data = (folder / "image_011.png").read_bytes()
    (folder / "image_011.png").write_bytes(data[: len(data) // 2])
    return folder


# (make the folder, message): image folders the trainer must refuse.
_FOLDER_CASES = {
    "missing": (lambda root: root / "absent", "does not exist"),
    "empty": (_empty_folder, "contains no image files. Expected files with "
              "the extensions .png, .jpg, .jpeg"),
    "file_not_folder": (_file_not_folder, "is not a directory"),
    "corrupt_image": (_corrupt_among_good, "image_007.png"),
    "truncated_image": (_truncated_among_good, "image_011.png"),
}


@pytest.mark.parametrize("case", sorted(_FOLDER_CASES))
def test_bad_image_folder_exits_2(tmp_path, run_main, case):
    make, message = _FOLDER_CASES[case]
    folder = make(tmp_path)
    model_dir = tmp_path / "run"
    before = _tree_digest(tmp_path)

    status, text = run_main(
        [f"--model_dir={model_dir}", f"--dataset=folder:{folder}", *_BASE_FLAGS]
    )

    assert status == cli.EXIT_BAD_INPUT, text
    assert message in text
    assert str(folder) in text
    assert _tree_digest(tmp_path) == before
    assert not model_dir.exists()


def test_unknown_tfds_name_lists_known(tmp_path, run_main):
    data_dir = tmp_path / "tfds"
    data_dir.mkdir()
    status, text = run_main([
        f"--model_dir={tmp_path / 'run'}", "--dataset=fashion_mnst",
        f"--tfds_data_dir={data_dir}", *_BASE_FLAGS,
    ])
    assert status == cli.EXIT_BAD_INPUT, text
    assert "Unknown dataset 'fashion_mnst'. Expected one of" in text
    assert "fashion_mnist" in text
    assert not (tmp_path / "run").exists()


def _copy_run(trained, tmp_path):
    folder, model_dir = trained
    images = tmp_path / "images"
    shutil.copytree(folder, images)
    copy = tmp_path / "run"
    shutil.copytree(model_dir, copy)
    # The stored config names the original folder; point it at the copy.
    path = run_dir.config_path(str(copy))
    document = json.loads(path.read_text())
    document["dataset"] = f"folder:{images}"
    path.write_text(json.dumps(document, indent=2, sort_keys=True))
    return images, copy


def _recolour(images):
    shutil.rmtree(images)
    _write_images(images, channels=3)


def _damage_every_checkpoint(model_dir):
    for data in run_dir.checkpoints_dir(str(model_dir)).glob("step_*/ckpt.data-*"):
        data.write_bytes(data.read_bytes()[:10])


# (change to the copied run, extra flags, message): a model directory that
# contains another run, or a run the trainer cannot continue.
_RUN_CASES = {
    "other_loss": (
        None, ["--loss=hinge", "--learning_rate=0.001"],
        "loss: stored 'ns', requested 'hinge'",
    ),
    "other_resolution": (
        None, ["--resolution=16"], "resolution: stored 8, requested 16",
    ),
    "images_gained_channels": (
        _recolour, [], "was trained on images with 1 channels",
    ),
    "corrupt_config_json": (
        lambda model_dir: run_dir.config_path(str(model_dir)).write_text("{no"),
        [], "config.json is not valid JSON",
    ),
    "every_checkpoint_damaged": (
        _damage_every_checkpoint, ["--training_steps=2"],
        "is damaged (step 1: ",
    ),
}


@pytest.mark.parametrize("case", sorted(_RUN_CASES))
def test_incompatible_run_exits_2(
    tmp_path, _trained, run_main, case
):
    change, args, message = _RUN_CASES[case]
    images, model_dir = _copy_run(_trained, tmp_path)
    if change is _recolour:
        change(images)
    elif change is not None:
        change(model_dir)
    before = _tree_digest(tmp_path)

    status, text = run_main(
        [f"--model_dir={model_dir}", f"--dataset=folder:{images}",
         *_BASE_FLAGS, *args]
    )

    assert status == cli.EXIT_BAD_INPUT, text
    assert message in text
    assert _tree_digest(tmp_path) == before


def test_model_dir_file_is_kept(tmp_path, run_main):
    folder = _write_images(tmp_path / "images")
    model_dir = tmp_path / "run"
    model_dir.write_text("a file, not a run")
    before = _tree_digest(tmp_path)
    status, text = run_main(
        [f"--model_dir={model_dir}", f"--dataset=folder:{folder}", *_BASE_FLAGS]
    )
    assert status == cli.EXIT_BAD_INPUT
    assert "exists and is not a directory" in text
    assert _tree_digest(tmp_path) == before


_REPLICAS_SCRIPT = r"""
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tfgan_study import config as config_lib
from tfgan_study import train_lib
config = config_lib.resolve(config_lib.StudyConfig(
    dataset="folder:" + sys.argv[1], resolution=8, z_dim=8,
    global_batch_size=5, training_steps=1, eval_every_steps=0))
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
try:
    train_lib.train_and_evaluate(config, sys.argv[2], strategy)
except config_lib.ConfigError as error:
    print("REFUSED", error)
    sys.exit(2)
"""


@pytest.mark.slow
def test_batch_not_divisible_by_replicas(tmp_path):
    folder = _write_images(tmp_path / "images")
    model_dir = tmp_path / "run"
    before = _tree_digest(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", _REPLICAS_SCRIPT, str(folder), str(model_dir)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert (
        "global_batch_size must be divisible by the number of replicas (2). "
        "Received: global_batch_size=5." in result.stdout
    )
    assert _tree_digest(tmp_path) == before


def _save_module(path, z_dim):
    """Save a generator module of latent size `z_dim` with 2x2 grey images."""

    @tf.function(input_signature=[tf.TensorSpec([None, z_dim], tf.float32)])
    def generate(z):
        images = tf.sigmoid(tf.reduce_mean(z, axis=1, keepdims=True))
        return tf.tile(images[:, :, tf.newaxis, tf.newaxis], [1, 2, 2, 1])

    root = tf.train.Checkpoint()
    root.__call__ = generate
    root.z_dim = tf.Variable(z_dim, trainable=False)
    tf.saved_model.save(root, str(path))


def _save_module_without_generator(path):
    root = tf.train.Checkpoint()
    root.weights = tf.Variable([1.0, 2.0])
    tf.saved_model.save(root, str(path))


# (make the module, extra flags, message) for `python -m hub_export.sample`.
_SAMPLE_CASES = {
    "z_of_wrong_size": (
        lambda path: _save_module(path, 4), ["--z_dim=3"],
        "Received: z_dim=3",
    ),
    "export_without_generator": (
        _save_module_without_generator, [], "no callable generator",
    ),
    "missing_export": (lambda path: None, [], "not found"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(_SAMPLE_CASES))
def test_sampler_bad_input_exits_2(tmp_path, case):
    make, args, message = _SAMPLE_CASES[case]
    module = tmp_path / "module"
    make(module)
    output = tmp_path / "grid.png"
    output.write_bytes(b"an earlier grid")
    before = _tree_digest(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "hub_export.sample", f"--module={module}",
         f"--output={output}", *args],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert message in result.stderr
    assert _tree_digest(tmp_path) == before
