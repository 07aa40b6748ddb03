"""Loading a trained run back: its config, networks and a chosen checkpoint."""

from typing import NamedTuple

from tfgan_study import checkpoints
from tfgan_study import config as config_lib
from tfgan_study import gan_model
from tfgan_study import run_dir


class LoadedRun(NamedTuple):
    """A run restored from its model directory."""

    config: config_lib.StudyConfig
    model: gan_model.GanModel
    step: int
    num_channels: int


def load_run(model_dir: str, checkpoint: str | int = "latest") -> LoadedRun:
    """Rebuild the run in `model_dir` and restore one of its checkpoints.

    Args:
      model_dir: A directory written by `python -m tfgan_study.train`.
      checkpoint: `best` (lowest FID), `latest` or a step number.

    Raises:
      ValueError: If the directory contains no run or no such checkpoint. The
        message lists the available steps.
    """
    config = run_dir.load_config(model_dir)
    if config is None:
        raise ValueError(
            f"{model_dir} contains no training run: "
            f"{run_dir.config_path(model_dir)} is missing."
        )
    num_channels = run_dir.load_num_channels(model_dir)
    model = gan_model.GanModel(config, num_channels)
    store = checkpoints.CheckpointStore(model_dir, model.checkpoint())
    step = store.resolve(checkpoint)
    store.restore(step)
    return LoadedRun(config, model, step, num_channels)
