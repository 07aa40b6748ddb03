"""A stand-in for `python -m tfgan_study.train` that trains nothing.

The search runs it through TFGAN_STUDY_TRAINER="python fake_trainer.py". It
accepts the trainer's flags, takes FAKE_STEP_SECONDS per step (default 0),
and writes a scores.csv whose FID is a smooth function of the searched
values, lowest at learning_rate=1e-3.5, beta1=0.5 and beta2=0.9. Like the
trainer it exits 0 done, 2 bad input, 3 diverged, 4 on SIGTERM after saving
its step, and resumes from the saved step.

Environment:
  FAKE_TRAINER_LOG: a file that gets one JSON line per process (flags,
    pid, first and last step, start and end times, exit status).
  FAKE_STEP_SECONDS: seconds per step.
  FAKE_DIVERGE_ABOVE: learning rates above it diverge (exit 3).
  FAKE_DIVERGE_SEEDS: comma-separated seeds that diverge (exit 3).
  FAKE_CRASH_ABOVE: learning rates above it crash (exit 1).
  FAKE_NAN_FID_ABOVE: learning rates above it score a NaN FID.
  FAKE_BAD_INPUT: when set, every run exits 2.
"""

import csv
import json
import math
import os
import pathlib
import signal
import sys
import time


def _parse(argv):
    flags = {}
    for argument in argv:
        name, _, value = argument.lstrip("-").partition("=")
        flags[name] = value
    return flags


def _fid(flags):
    learning_rate = float(flags.get("learning_rate", 2e-4))
    beta1 = float(flags.get("beta1", 0.5))
    beta2 = float(flags.get("beta2", 0.999))
    weight = float(flags.get("penalty_weight", 1.0))
    seed = int(flags.get("seed", 0))
    return (
        20.0
        + 10.0 * (math.log10(learning_rate) + 3.5) ** 2
        + 8.0 * (beta1 - 0.5) ** 2
        + 8.0 * (beta2 - 0.9) ** 2
        + 0.5 * abs(math.log10(weight))
        + 0.25 * seed
    )


def _above(flags, variable):
    limit = os.environ.get(variable)
    return limit is not None and float(flags["learning_rate"]) > float(limit)


def main():
    flags = _parse(sys.argv[1:])
    model_dir = pathlib.Path(flags["model_dir"])
    steps = int(flags.get("training_steps", 4))
    record = {
        "flags": flags,
        "pid": os.getpid(),
        "start": time.time(),
    }
    stop = {"requested": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(requested=True))

    def finish(status, message=""):
        if message:
            # The absl error-line format the search reads reasons from.
            prefix = "E1204 00:00:00.0 1 fake_trainer.py:1]"
            sys.stderr.write(f"{prefix} {message}\n")
        record.update(end=time.time(), exit_status=status)
        log = os.environ.get("FAKE_TRAINER_LOG")
        if log:
            with open(log, "a") as file:
                file.write(json.dumps(record) + "\n")
        sys.exit(status)

    if os.environ.get("FAKE_BAD_INPUT"):
        finish(2, "Dataset fashion_mnist not found in /nowhere.")
    model_dir.mkdir(parents=True, exist_ok=True)
    step_file = model_dir / "step.txt"
    step = int(step_file.read_text()) if step_file.exists() else 0
    record["first_step"] = step
    seconds = float(os.environ.get("FAKE_STEP_SECONDS", "0"))
    while step < steps:
        time.sleep(seconds)
        step += 1
        if stop["requested"] and step < steps:
            step_file.write_text(str(step))
            record["last_step"] = step
            finish(4, f"Stopped at step {step}.")
    step_file.write_text(str(step))
    record["last_step"] = step
    if _above(flags, "FAKE_CRASH_ABOVE"):
        finish(1, "Segmentation fault in a fake kernel.")
    diverging_seeds = os.environ.get("FAKE_DIVERGE_SEEDS", "").split(",")
    if _above(flags, "FAKE_DIVERGE_ABOVE") or (
        flags.get("seed") in diverging_seeds
    ):
        finish(3, "Training diverged: loss/d is nan at step 3.")
    fid = math.nan if _above(flags, "FAKE_NAN_FID_ABOVE") else _fid(flags)
    with open(model_dir / "scores.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["step", "status", "fid", "kid", "inception_score"])
        writer.writerow([steps // 2, "ok", fid + 5.0, 0.5, 2.0])
        writer.writerow([steps, "ok", fid, 0.25, 3.0])
    finish(0)


if __name__ == "__main__":
    main()
