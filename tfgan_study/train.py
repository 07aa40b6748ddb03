r"""Train one GAN of the study's landscape.

    python -m tfgan_study.train --model_dir=/tmp/run --dataset=fashion_mnist \
        --training_steps=2000 --eval_every_steps=500

Exit status: 0 done, 2 bad input (nothing started), 3 diverged (the last good
checkpoint is kept), 4 interrupted by SIGTERM after saving a checkpoint.
Rerunning the same command resumes from the latest checkpoint.
"""

import signal

from absl import app
from absl import flags
from absl import logging

from tfgan_study import cli
from tfgan_study import config as config_lib
from tfgan_study import presets

_CHOICES = {
    "architecture": config_lib.ARCHITECTURES,
    "loss": config_lib.LOSSES,
    "penalty": config_lib.PENALTIES,
    "normalization": config_lib.NORMALIZATIONS,
    "strategy": config_lib.STRATEGIES,
    "precision": config_lib.PRECISIONS,
    "jit_compile": config_lib.JIT_COMPILE,
}
_HELP = {
    "dataset": "A TFDS name (cifar10, fashion_mnist, mnist, celeb_a_hq/128, "
    "lsun/bedroom, ...) or folder:/path/to/images.",
    "tfds_data_dir": "TFDS data directory; defaults to TFDS_DATA_DIR, else "
    "TFDS's default.",
    "resolution": "Image side length in pixels; defaults from the dataset.",
    "normalization": "Discriminator normalization",
    "learning_rate": "Adam learning rate of both networks.",
    "beta1": "Adam beta1 of both networks, in [0, 1).",
    "beta2": "Adam beta2 of both networks, in [0, 1).",
    "disc_iters": "Discriminator updates per generator update.",
    "penalty_weight": "Weight of the penalty (the study's lambda).",
    "training_steps": "Discriminator updates; defaults to the study's length "
    "for the dataset (200000 for CIFAR10).",
    "global_batch_size": "Images per update over all replicas.",
    "z_dim": "Latent size; latents are uniform in [-1, 1].",
    "seed": "Seed of every random stream of the run.",
    "checkpoint_every_steps": "Checkpoint period in steps; 0 saves only the "
    "final step.",
    "eval_every_steps": "Evaluation period in steps; 0 turns evaluation off.",
    "log_every_steps": "Status-line period in steps; 0 turns it off.",
    "num_eval_samples": "Generated and reference images for FID and KID; "
    "defaults to 10000 (3000 for CelebA-HQ).",
    "precision": "Keras dtype policy of both networks; losses, penalties, "
    "spectral norm and metrics stay float32",
    "jit_compile": "Compile the training step with XLA; auto uses it only on "
    "TPUs",
    "eval_model": "TF-Hub handle or SavedModel path of the feature network.",
}


def _define_config_flags() -> None:
    defaults = config_lib.StudyConfig()
    for name in config_lib.field_names():
        if name == "preset":
            continue
        default = getattr(defaults, name)
        if name in _CHOICES:
            help_text = (
                f"{_HELP.get(name, name.capitalize())}: one of "
                f"{', '.join(_CHOICES[name])}."
            )
            flags.DEFINE_string(name, default, help_text)
        elif name in ("resolution", "training_steps", "num_eval_samples"):
            flags.DEFINE_integer(name, default, _HELP[name])
        elif isinstance(default, bool):
            flags.DEFINE_boolean(name, default, _HELP[name])
        elif isinstance(default, int):
            flags.DEFINE_integer(name, default, _HELP[name])
        elif isinstance(default, float):
            flags.DEFINE_float(name, default, _HELP[name])
        else:
            flags.DEFINE_string(name, default, _HELP[name])


_define_config_flags()
_MODEL_DIR = flags.DEFINE_string("model_dir", None, "Directory of the run.")
_PRESET = flags.DEFINE_string(
    "preset",
    "",
    "A published best model of the study; explicit flags override it. One "
    f"of: {', '.join(sorted(presets.PRESETS))}.",
)
_DRY_RUN = flags.DEFINE_boolean(
    "dry_run", False, "Print the resolved configuration and exit."
)
_TPU = flags.DEFINE_string(
    "tpu", "", "TPU name or address for --strategy=tpu; empty for a TPU VM."
)
_DETERMINISTIC = flags.DEFINE_boolean(
    "deterministic",
    False,
    "Make TensorFlow's ops deterministic, so that a resumed run ends with "
    "bitwise the same weights as an uninterrupted one (slower on GPU).",
)


def config_from_flags() -> config_lib.StudyConfig:
    """Return the resolved config: preset values, then explicit flags."""
    values = {}
    if _PRESET.value:
        try:
            preset = presets.get(_PRESET.value)
        except ValueError as error:
            raise config_lib.ConfigError(str(error)) from None
        values.update(preset.values)
        values["preset"] = _PRESET.value
    for name in config_lib.field_names():
        if name == "preset":
            continue
        if flags.FLAGS[name].present or name not in values:
            values[name] = flags.FLAGS[name].value
    return config_lib.resolve(config_lib.from_dict(values, "flags"))


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        logging.error("Unexpected arguments: %s", " ".join(argv[1:]))
        return cli.EXIT_BAD_INPUT
    if not _MODEL_DIR.value:
        logging.error("--model_dir is required.")
        return cli.EXIT_BAD_INPUT
    try:
        config = config_from_flags()
    except config_lib.ConfigError as error:
        logging.error("%s", error)
        return cli.EXIT_BAD_INPUT
    if _DRY_RUN.value:
        print(config_lib.to_json(config))
        return cli.EXIT_OK

    stop = {"requested": False}

    def request_stop(signum, frame):
        del frame
        logging.warning("Received signal %d; saving a checkpoint.", signum)
        stop["requested"] = True

    # Installed before the slow imports, so an early SIGTERM is not lost.
    signal.signal(signal.SIGTERM, request_stop)
    # TensorFlow is imported here so that flag errors return quickly.
    import tensorflow as tf

    from tfgan_study import distribution
    from tfgan_study import train_lib

    if _DETERMINISTIC.value:
        tf.config.experimental.enable_op_determinism()
    try:
        strategy = distribution.create_strategy(config.strategy, _TPU.value)
        # MultiWorkerMirroredStrategy's runtime replaces the SIGTERM handler
        # with its own, which only records the signal; take it back.
        signal.signal(signal.SIGTERM, request_stop)
        train_lib.train_and_evaluate(
            config, _MODEL_DIR.value, strategy, lambda: stop["requested"]
        )
    except config_lib.ConfigError as error:
        logging.error("%s", error)
        return cli.EXIT_BAD_INPUT
    except train_lib.TrainingDiverged as error:
        logging.error("Training diverged: %s", error)
        return cli.EXIT_DIVERGED
    except train_lib.TrainingInterrupted as error:
        logging.warning("%s Rerun the same command to resume.", error)
        return cli.EXIT_INTERRUPTED
    return cli.EXIT_OK


def run() -> None:
    app.run(main, flags_parser=cli.parse_flags)


if __name__ == "__main__":
    run()
