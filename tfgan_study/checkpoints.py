"""Checkpoints of a run: atomic saves, retention, and lookup by step.

Each checkpoint lives in its own folder, `checkpoints/step_0002000/`, which
is written under a temporary name and renamed when complete, so a crash
never leaves a half-written checkpoint under a real name. `state.json` lists
the FID of each evaluated checkpoint. Clean-up keeps the checkpoint with the
lowest FID and the latest `keep_latest` ones.

A checkpoint contains both networks (with batch-norm statistics and
spectral-norm vectors), both optimizers (slots and iteration counts) and the
step counter. The run needs no random-generator state: every random value of
step s is drawn statelessly from the seed and s.
"""

import json
import math
import pathlib
import re
import shutil

import tensorflow as tf
from absl import logging

from tfgan_study import run_dir

_STEP_DIR = re.compile(r"^step_(\d{7})$")
STATE_FILE = "state.json"
PREFIX = "ckpt"


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
        """Write the checkpoint of `step` atomically and return its prefix."""
        if not self.is_chief:
            scratch = self.directory / f".worker_{self.worker_index}"
            self.checkpoint.write(str(scratch / PREFIX))
            shutil.rmtree(scratch, ignore_errors=True)
            return ""
        final = self.directory / run_dir.step_name(step)
        temporary = self.directory / f".{run_dir.step_name(step)}.tmp"
        shutil.rmtree(temporary, ignore_errors=True)
        self.checkpoint.write(str(temporary / PREFIX))
        if final.exists():
            shutil.rmtree(final)
        temporary.rename(final)
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
