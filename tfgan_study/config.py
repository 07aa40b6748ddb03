"""The configuration of one training run: fields, defaults, validation, JSON.

A `StudyConfig` contains every setting of a run. Its field names are the flag
names of `python -m tfgan_study.train` and the keys of `config.json`, so a
run directory can always be read back into the configuration that made it.

Defaults that depend on the dataset or the architecture (resolution,
training length, evaluation sample count) are `None` in a fresh config and
filled in by `resolve`, which also validates everything. A resolved config is
what the trainer uses and what `config.json` stores.
"""

import dataclasses
import json
import math
from typing import Any

LOSSES = ("ns", "wgan", "ls", "hinge")
PENALTIES = ("none", "wgan_gp", "dragan", "l2")
NORMALIZATIONS = ("none", "batch_norm", "layer_norm", "spectral_norm")
ARCHITECTURES = ("sndcgan", "resnet_cifar", "resnet19")
STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
# Keras dtype policies. Variables stay float32 in each, and the mixed ones
# compute convolutions and matrix products in 16 bits.
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
# `auto` compiles the step with XLA only where it was measured to help; see
# `use_xla`.
JIT_COMPILE = ("auto", "true", "false")

# The TF-Hub module of TF-GAN's Inception network (the 2015-12-05 graph that
# the study's frozen evaluation graph holds).
DEFAULT_EVAL_MODEL = "https://tfhub.dev/tensorflow/tfgan/eval/inception/1"

# Side lengths of the TFDS datasets the study and this project know by name.
# Fashion-MNIST and MNIST are 28x28 and resized bilinearly to 32x32.
DATASET_RESOLUTIONS = {
    "cifar10": 32,
    "fashion_mnist": 32,
    "mnist": 32,
    "celeb_a_hq/128": 128,
    "lsun/bedroom": 128,
}

# Output sizes each architecture supports. SNDCGAN works at any multiple
# of 8 (its generator starts at resolution / 8).
ARCHITECTURE_RESOLUTIONS = {
    "resnet_cifar": (32,),
    "resnet19": (128,),
}

# Settings a resumed run may change, because they do not change the model's
# mathematics (the data directory only gives where the same data lies). Every
# other difference from the stored config is rejected.
RESUMABLE_CHANGES = (
    "tfds_data_dir",
    "training_steps",
    "checkpoint_every_steps",
    "eval_every_steps",
    "log_every_steps",
    "eval_model",
    "num_eval_samples",
    "strategy",
    "jit_compile",
)


class ConfigError(ValueError):
    """A configuration value or combination that the project cannot run."""


@dataclasses.dataclass(frozen=True)
class StudyConfig:
    """Every setting of one training run, named as the training flags.

    Attributes:
      dataset: A TFDS name such as `cifar10` or `celeb_a_hq/128`, or
        `folder:/path/to/images`.
      tfds_data_dir: The TFDS data directory; `None` means `TFDS_DATA_DIR`,
        else TFDS's default.
      resolution: Side length of the images in pixels; `None` takes the
        dataset's default.
      architecture: One of `ARCHITECTURES`.
      loss: One of `LOSSES`.
      penalty: One of `PENALTIES`.
      normalization: Discriminator normalization, one of `NORMALIZATIONS`.
      learning_rate: Adam learning rate of both networks.
      beta1: Adam beta1 of both networks, in [0, 1).
      beta2: Adam beta2 of both networks, in [0, 1).
      disc_iters: Discriminator updates per generator update.
      penalty_weight: The study's lambda, the weight of the penalty.
      training_steps: Number of discriminator updates; `None` takes the
        study's length for the dataset.
      global_batch_size: Images per discriminator update over all replicas.
      z_dim: Size of the latent vector, drawn uniformly from [-1, 1].
      seed: The seed from which every random stream of the run derives.
      strategy: One of `STRATEGIES`.
      precision: Keras dtype policy of both networks, one of `PRECISIONS`.
      jit_compile: Whether the training step is compiled with XLA, one of
        `JIT_COMPILE`.
      checkpoint_every_steps: Checkpoint cadence in steps; 0 turns it off
        (the final step is still saved).
      eval_every_steps: Evaluation cadence in steps; 0 turns evaluation off.
      log_every_steps: Status-line cadence in steps; 0 turns it off.
      num_eval_samples: Generated and reference images for FID and KID;
        `None` takes the study's count for the dataset.
      eval_model: TF-Hub handle or SavedModel path of the feature network.
      preset: Name of the preset this config started from, or "".
    """

    dataset: str = "cifar10"
    tfds_data_dir: str | None = None
    resolution: int | None = None
    architecture: str = "sndcgan"
    loss: str = "ns"
    penalty: str = "none"
    normalization: str = "spectral_norm"
    learning_rate: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    disc_iters: int = 1
    penalty_weight: float = 1.0
    training_steps: int | None = None
    global_batch_size: int = 64
    z_dim: int = 128
    seed: int = 0
    strategy: str = "default"
    precision: str = "float32"
    jit_compile: str = "auto"
    checkpoint_every_steps: int = 20000
    eval_every_steps: int = 20000
    log_every_steps: int = 100
    num_eval_samples: int | None = None
    eval_model: str = DEFAULT_EVAL_MODEL
    preset: str = ""

    def replace(self, **changes: Any) -> "StudyConfig":
        """Return a copy with `changes` applied; unknown keys are rejected."""
        check_known_keys(changes, "config override")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-serializable dict."""
        return dataclasses.asdict(self)


def field_names() -> tuple[str, ...]:
    """Return the names of all `StudyConfig` fields, in declaration order."""
    return tuple(field.name for field in dataclasses.fields(StudyConfig))


def check_known_keys(values: dict[str, Any], source: str) -> None:
    """Raise `ConfigError` if `values` has a key that is not a config field."""
    unknown = sorted(set(values) - set(field_names()))
    if unknown:
        raise ConfigError(
            f"Unknown keys in {source}: {', '.join(unknown)}. Expected keys "
            f"among: {', '.join(field_names())}."
        )


def from_dict(values: dict[str, Any], source: str = "config") -> StudyConfig:
    """Build a `StudyConfig` from a dict, rejecting unknown keys."""
    check_known_keys(values, source)
    return StudyConfig(**values)


def to_json(config: StudyConfig) -> str:
    """Serialize `config` as indented JSON with sorted keys."""
    return json.dumps(config.to_dict(), indent=2, sort_keys=True)


def from_json(text: str, source: str = "config.json") -> StudyConfig:
    """Parse a config written by `to_json`, rejecting unknown keys."""
    try:
        values = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{source} is not valid JSON: {error}.") from error
    if not isinstance(values, dict):
        raise ConfigError(
            f"{source} must hold a JSON object. Received: "
            f"{type(values).__name__}."
        )
    return from_dict(values, source)


def is_folder_dataset(dataset: str) -> bool:
    """Return whether `dataset` names a folder of images (`folder:PATH`)."""
    return dataset.startswith("folder:")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(
            f"Unknown {name} {value!r}. Expected one of: "
            f"{', '.join(sorted(choices))}."
        )


def _check_integer(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(
            f"{name} must be an integer. Received: {name}={value!r}."
        )
    if value < minimum:
        raise ConfigError(
            f"{name} must be at least {minimum}. Received: {name}={value}."
        )


def _check_float(
    name: str, value: Any, low: float, high: float, high_inclusive: bool
) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number. Received: {value!r}.")
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be finite. Received: {name}={value}.")
    upper_ok = value <= high if high_inclusive else value < high
    if value < low or not upper_ok:
        bracket = "]" if high_inclusive else ")"
        raise ConfigError(
            f"{name} must be in [{low}, {high}{bracket}. Received: "
            f"{name}={value}."
        )


def default_resolution(dataset: str, architecture: str) -> int:
    """Return the default side length for a dataset and architecture."""
    if dataset in DATASET_RESOLUTIONS:
        return DATASET_RESOLUTIONS[dataset]
    if architecture in ARCHITECTURE_RESOLUTIONS:
        return ARCHITECTURE_RESOLUTIONS[architecture][0]
    return 32


def default_training_steps(dataset: str, architecture: str) -> int:
    """Return the study's training length in discriminator updates.

    CIFAR10 and ResNet19 train 200K steps and SNDCGAN on CelebA-HQ and LSUN
    100K steps, as the study's released best-model configurations do.
    """
    if dataset in ("celeb_a_hq/128", "lsun/bedroom"):
        return 200000 if architecture == "resnet19" else 100000
    return 200000


def default_num_eval_samples(dataset: str) -> int:
    """Return the study's FID sample count: 3,000 for CelebA-HQ, else 10,000."""
    return 3000 if dataset.startswith("celeb_a_hq") else 10000


def resolve(config: StudyConfig) -> StudyConfig:
    """Fill in dataset-dependent defaults and validate the whole config.

    Args:
      config: A config whose `None` fields still take defaults.

    Returns:
      A config with every field set.

    Raises:
      ConfigError: If a name is unknown, a value is out of range or a
        combination cannot be run. The message names the field and value.
    """
    if not isinstance(config.dataset, str) or not config.dataset:
        raise ConfigError("dataset must be a non-empty string.")
    if config.dataset == "folder:":
        raise ConfigError(
            "dataset 'folder:' names no folder. Expected folder:/path/to/images."
        )
    _check_choice("architecture", config.architecture, ARCHITECTURES)
    _check_choice("loss", config.loss, LOSSES)
    _check_choice("penalty", config.penalty, PENALTIES)
    _check_choice("normalization", config.normalization, NORMALIZATIONS)
    _check_choice("strategy", config.strategy, STRATEGIES)
    _check_choice("precision", config.precision, PRECISIONS)
    _check_choice("jit_compile", config.jit_compile, JIT_COMPILE)

    changes: dict[str, Any] = {}
    resolution = config.resolution
    if resolution is None:
        resolution = default_resolution(config.dataset, config.architecture)
        changes["resolution"] = resolution
    _check_integer("resolution", resolution, 8)
    supported = ARCHITECTURE_RESOLUTIONS.get(config.architecture)
    if supported is not None and resolution not in supported:
        raise ConfigError(
            f"Architecture {config.architecture} generates images of side "
            f"{', '.join(map(str, supported))}. Received: "
            f"resolution={resolution}."
        )
    if config.architecture == "sndcgan" and resolution % 8:
        raise ConfigError(
            "Architecture sndcgan needs a resolution divisible by 8. "
            f"Received: resolution={resolution}."
        )

    if config.training_steps is None:
        changes["training_steps"] = default_training_steps(
            config.dataset, config.architecture
        )
    if config.num_eval_samples is None:
        changes["num_eval_samples"] = default_num_eval_samples(config.dataset)
    resolved = dataclasses.replace(config, **changes)

    _check_float("learning_rate", resolved.learning_rate, 0.0, 1.0, True)
    if resolved.learning_rate == 0:
        raise ConfigError(
            "learning_rate must be in (0, 1]. Received: learning_rate=0."
        )
    _check_float("beta1", resolved.beta1, 0.0, 1.0, False)
    _check_float("beta2", resolved.beta2, 0.0, 1.0, False)
    _check_float("penalty_weight", resolved.penalty_weight, 0.0, 1e6, True)
    _check_integer("disc_iters", resolved.disc_iters, 1)
    _check_integer("training_steps", resolved.training_steps, 1)
    _check_integer("global_batch_size", resolved.global_batch_size, 2)
    _check_integer("z_dim", resolved.z_dim, 1)
    _check_integer("seed", resolved.seed, 0)
    _check_integer("checkpoint_every_steps", resolved.checkpoint_every_steps, 0)
    _check_integer("eval_every_steps", resolved.eval_every_steps, 0)
    _check_integer("log_every_steps", resolved.log_every_steps, 0)
    _check_integer("num_eval_samples", resolved.num_eval_samples, 2)
    if not resolved.eval_model:
        raise ConfigError("eval_model must name a TF-Hub handle or a path.")
    return resolved


def use_xla(config: StudyConfig, device_type: str) -> bool:
    """Return whether the training step is compiled with XLA.

    `auto` turns XLA on only for TPUs, where every step is compiled anyway.
    On a 2-core x86 CPU, XLA made the SNDCGAN 32x32 step slower (3.7 s against
    2.9 s per step, `benchmarks/train_step.py --jit_compile`).

    NOTE: XLA on GPUs was not measured; `auto` leaves it off there.

    Args:
      config: A resolved config.
      device_type: `CPU`, `GPU` or `TPU`, the devices the step runs on.
    """
    if config.jit_compile == "auto":
        return device_type == "TPU"
    return config.jit_compile == "true"


def check_divisible_batch(config: StudyConfig, num_replicas: int) -> None:
    """Raise `ConfigError` unless the global batch splits evenly."""
    if config.global_batch_size % num_replicas:
        raise ConfigError(
            "global_batch_size must be divisible by the number of replicas "
            f"({num_replicas}). Received: "
            f"global_batch_size={config.global_batch_size}."
        )


def check_resume_compatible(
    stored: StudyConfig, requested: StudyConfig
) -> None:
    """Raise `ConfigError` if a resumed run changes the model's mathematics.

    Only the fields in `RESUMABLE_CHANGES` may differ between the config
    stored in a model directory and the one a resumed run requests. A
    changed strategy must keep the global batch size, which is already
    enforced because the batch size is not in that list.
    """
    stored_values = stored.to_dict()
    requested_values = requested.to_dict()
    differing = [
        name
        for name in field_names()
        if name not in RESUMABLE_CHANGES
        and stored_values[name] != requested_values[name]
    ]
    if differing:
        details = "; ".join(
            f"{name}: stored {stored_values[name]!r}, requested "
            f"{requested_values[name]!r}"
            for name in differing
        )
        raise ConfigError(
            "The model directory contains a run with a different configuration "
            f"({details}). Only {', '.join(RESUMABLE_CHANGES)} may change on "
            "resume. Use a new --model_dir for a different configuration."
        )
