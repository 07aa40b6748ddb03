"""Checkpoints of a run: atomic saves, retention, and lookup by step.

Each checkpoint lives in its own folder, `checkpoints/step_0002000/`, which
is written under a temporary name (`.step_0002000.tmp`), flushed to disk and
renamed when complete, so a crash never leaves a half-written checkpoint
under a real name. `state.json` lists the FID of each evaluated checkpoint.
Clean-up keeps the checkpoint with the lowest FID and the latest
`keep_latest` ones.

Resuming goes through `restore_latest_intact`: it reads every tensor of the
latest checkpoint (TensorFlow checks each tensor's checksum), and when a
checkpoint is damaged (missing or truncated files, changed bytes) it logs a
warning that names the step and the problem, sets the folder aside as
`.step_0002000.damaged` and falls back to the previous one.

A checkpoint contains both networks (with batch-norm statistics and
spectral-norm vectors), both optimizers (slots and iteration counts) and the
step counter. The run needs no random-generator state: every random value of
step s is drawn statelessly from the seed and s.
"""

import json
import math
import os
import pathlib
import re
import shutil

import tensorflow as tf
from absl import logging

from tfgan_study import config as config_lib
from tfgan_study import run_dir

_STEP_DIR = re.compile(r"^step_(\d{7})$")
# Folders an interrupted save leaves behind: a partial write, the previous
# copy of a step being replaced, and a non-chief worker's scratch copy.
_LEFTOVER_DIR = re.compile(r"^\.(step_\d{7}\.(tmp|old)|worker_\d+)$")
STATE_FILE = "state.json"
PREFIX = "ckpt"


class NoIntactCheckpointError(config_lib.ConfigError):
    """Every checkpoint of a run is damaged; the message lists the problems."""


def _sync_tree(directory: pathlib.Path) -> None:
    """Flush the files of `directory` and the folder itself to disk."""
    for path in directory.iterdir():
        with open(path, "rb") as file:
            os.fsync(file.fileno())
    _sync_directory(directory)


def _sync_directory(directory: pathlib.Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class CheckpointStore:
    """Saves, lists, restores and prunes the checkpoints of one run.

    Args:
      model_dir: The run's model directory.
      checkpoint: The `tf.train.Checkpoint` holding the run's state.
      keep_latest: How many of the most recent checkpoints survive clean-up,
        besides the best.
      is_chief: Whether this process writes checkpoints. Other workers of a
        multi-worker run write to a scratch folder that is deleted, because
        every worker must take part in a save.
      worker_index: This process's worker index, for that scratch folder.
    """

    def __init__(
        self,
        model_dir: str,
        checkpoint: tf.train.Checkpoint,
        keep_latest: int = 3,
        is_chief: bool = True,
        worker_index: int = 0,
    ):
        self.directory = run_dir.checkpoints_dir(model_dir)
        self.checkpoint = checkpoint
        self.keep_latest = keep_latest
        self.is_chief = is_chief
        self.worker_index = worker_index

    def _state_path(self) -> pathlib.Path:
        return self.directory / STATE_FILE

    def read_fids(self) -> dict[int, float]:
        """Return the recorded FID of each evaluated checkpoint step."""
        path = self._state_path()
        if not path.exists():
            return {}
        try:
            state = json.loads(path.read_text())
        except json.JSONDecodeError:
            logging.warning("Ignoring unreadable %s.", path)
            return {}
        return {int(step): float(fid) for step, fid in state["fids"].items()}

    def steps(self) -> list[int]:
        """Return the steps of the complete checkpoints, in increasing order."""
        if not self.directory.exists():
            return []
        found = []
        for child in self.directory.iterdir():
            match = _STEP_DIR.match(child.name)
            if match and (child / f"{PREFIX}.index").exists():
                found.append(int(match.group(1)))
        return sorted(found)

    def path(self, step: int) -> str:
        """Return the checkpoint prefix of `step`."""
        return str(self.directory / run_dir.step_name(step) / PREFIX)

    def save(self, step: int) -> str:
        """Write the checkpoint of `step` atomically and return its prefix.

        The files are flushed to disk before the rename, so that after a
        power loss the folder under its real name contains the whole
        checkpoint. Replacing an existing folder of the same step moves the
        old one aside first: a crash in between leaves the earlier
        checkpoints, never a half-written one.
        """
        if not self.is_chief:
            scratch = self.directory / f".worker_{self.worker_index}"
            self.checkpoint.write(str(scratch / PREFIX))
            shutil.rmtree(scratch, ignore_errors=True)
            return ""
        name = run_dir.step_name(step)
        final = self.directory / name
        temporary = self.directory / f".{name}.tmp"
        shutil.rmtree(temporary, ignore_errors=True)
        self.checkpoint.write(str(temporary / PREFIX))
        _sync_tree(temporary)
        if final.exists():
            previous = self.directory / f".{name}.old"
            shutil.rmtree(previous, ignore_errors=True)
            final.rename(previous)
            temporary.rename(final)
            shutil.rmtree(previous)
        else:
            temporary.rename(final)
        _sync_directory(self.directory)
        return str(final / PREFIX)

    def record_fid(self, step: int, fid: float) -> None:
        """Store the FID of checkpoint `step` (NaN for a failed evaluation)."""
        if not self.is_chief:
            return
        fids = self.read_fids()
        fids[step] = fid
        document = {"fids": {str(key): value for key, value in fids.items()}}
        run_dir.write_atomically(
            self._state_path(), json.dumps(document, indent=2, sort_keys=True)
        )

    def best_step(self) -> int | None:
        """Return the available step with the lowest finite FID, if any."""
        available = set(self.steps())
        scored = [
            (fid, step)
            for step, fid in self.read_fids().items()
            if step in available and math.isfinite(fid)
        ]
        return min(scored)[1] if scored else None

    def latest_step(self) -> int | None:
        steps = self.steps()
        return steps[-1] if steps else None

    def prune(self) -> None:
        """Delete checkpoints other than the best and the latest few."""
        if not self.is_chief:
            return
        steps = self.steps()
        keep = set(steps[-self.keep_latest :])
        best = self.best_step()
        if best is not None:
            keep.add(best)
        for step in steps:
            if step not in keep:
                shutil.rmtree(self.directory / run_dir.step_name(step))

    def restore(self, step: int) -> None:
        """Restore every tracked object from checkpoint `step`."""
        status = self.checkpoint.read(self.path(step))
        status.assert_existing_objects_matched()

    def damage(self, step: int) -> str | None:
        """Return what is wrong with checkpoint `step`, or None if intact.

        Reads every tensor, so TensorFlow verifies each checksum; a missing,
        truncated or altered file is reported.
        """
        folder = self.directory / run_dir.step_name(step)
        index = folder / f"{PREFIX}.index"
        if not index.exists():
            return f"{index.name} is missing"
        data_files = sorted(folder.glob(f"{PREFIX}.data-*"))
        if not data_files:
            return f"no {PREFIX}.data-* file"
        match = re.search(r"-of-(\d+)$", data_files[0].name)
        if match and len(data_files) != int(match.group(1)):
            return (
                f"{len(data_files)} of {int(match.group(1))} "
                f"{PREFIX}.data-* files present"
            )
        try:
            reader = tf.train.load_checkpoint(self.path(step))
            for name in reader.get_variable_to_shape_map():
                reader.get_tensor(name)
        # Whatever the reader raises (DataLossError, IndexError for a short
        # file, ...), a checkpoint that cannot be read back is damaged.
        except Exception as error:  # pylint: disable=broad-except
            return _first_line(error)
        return None

    def remove_leftovers(self) -> None:
        """Delete the folders that interrupted saves left behind."""
        if not self.is_chief or not self.directory.exists():
            return
        for child in sorted(self.directory.iterdir()):
            if child.is_dir() and _LEFTOVER_DIR.match(child.name):
                logging.warning(
                    "Removing %s, left by an interrupted checkpoint save.",
                    child,
                )
                shutil.rmtree(child, ignore_errors=True)

    def _step_folders(self) -> list[int]:
        if not self.directory.exists():
            return []
        return sorted(
            int(match.group(1))
            for match in map(_STEP_DIR.match, os.listdir(self.directory))
            if match
        )

    def find_latest_intact(self) -> tuple[int | None, list[tuple[int, str]]]:
        """Return the latest intact step and the damaged steps after it.

        Changes nothing on disk, so callers can check a run before writing.

        Returns:
          The latest step that `damage` finds intact (None when the run has
          no checkpoint), and (step, problem) for each later, damaged one.

        Raises:
          NoIntactCheckpointError: If checkpoints exist but all are damaged.
        """
        problems = []
        for step in reversed(self._step_folders()):
            problem = self.damage(step)
            if problem is None:
                return step, problems
            problems.append((step, problem))
        if problems:
            details = "; ".join(
                f"step {step}: {problem}" for step, problem in problems
            )
            raise NoIntactCheckpointError(
                f"Every checkpoint in {self.directory} is damaged ({details})."
                " Move them away to train from scratch in the same model_dir,"
                " or use a new --model_dir."
            )
        return None, problems

    def restore_latest_intact(self) -> int | None:
        """Restore the latest checkpoint that is not damaged.

        Each damaged later checkpoint is reported with a warning. The chief
        renames it to `.step_XXXXXXX.damaged`, so nothing picks it up again
        and the files stay for inspection.

        Returns:
          The restored step, or None when the run has no checkpoint.

        Raises:
          NoIntactCheckpointError: If checkpoints exist but all are damaged;
            nothing is renamed or deleted then.
        """
        step, problems = self.find_latest_intact()
        for damaged_step, problem in problems:
            logging.warning(
                "The checkpoint of step %d is damaged: %s. Falling back to "
                "the previous checkpoint.",
                damaged_step,
                problem,
            )
            self._set_aside(damaged_step)
        self.remove_leftovers()
        if step is not None:
            self.restore(step)
        return step

    def _set_aside(self, step: int) -> None:
        if not self.is_chief:
            return
        name = run_dir.step_name(step)
        target = self.directory / f".{name}.damaged"
        shutil.rmtree(target, ignore_errors=True)
        try:
            (self.directory / name).rename(target)
        except FileNotFoundError:
            return
        logging.warning("Moved the damaged checkpoint of step %d to %s.", step, target)

    def resolve(self, selector: str | int) -> int:
        """Return the step that `best`, `latest` or a step number names.

        Raises:
          ValueError: If no such checkpoint exists; the message lists the
            available steps.
        """
        steps = self.steps()
        if not steps:
            raise ValueError(f"No checkpoints found in {self.directory}.")
        if selector == "latest":
            return steps[-1]
        if selector == "best":
            best = self.best_step()
            if best is None:
                raise ValueError(
                    f"No evaluated checkpoint in {self.directory}, so there "
                    "is no best one. Use --checkpoint=latest or a step from: "
                    f"{', '.join(map(str, steps))}."
                )
            return best
        try:
            step = int(selector)
        except (TypeError, ValueError):
            raise ValueError(
                "checkpoint must be best, latest or a step number. "
                f"Received: {selector!r}."
            ) from None
        if step not in steps:
            raise ValueError(
                f"No checkpoint at step {step} in {self.directory}. "
                f"Available steps: {', '.join(map(str, steps))}."
            )
        return step


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
