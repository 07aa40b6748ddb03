r"""Time this project's SNDCGAN training step against the PyTorch reference.

    python -m benchmarks.train_step --torch_reference=path/to/torch_sndcgan.py \
        --rounds=3 --steps=5 --precisions=float32 --torch_modes=fp32

Both sides run the same update at 32x32x3, batch 64, z of size 128: one
discriminator update (non-saturating loss, spectral norm) on a real and a
fake batch, then one generator update, with Adam. The real batch is one
fixed tensor on both sides. This project's side is the trainer's own
compiled step (`train_lib._make_step_functions`) with its inputs built
in advance, so the input pipeline is not timed. The PyTorch side is the
reference script given by --torch_reference, run unchanged.

The trainer's step runs the generator forward once for both updates, while
the PyTorch reference runs it once per update. `--generator_passes=1,2`
also times this project's step with two passes, to show what sharing saves.

Every measurement is its own process, so each one pays its own start-up
outside the timed steps and reports its own peak resident memory. Rounds
alternate between the two sides and all modes, so a change in machine load
affects both. The report gives the median images/s of each mode over the
rounds, the peak memory, and the ratio of this project's fastest mode to
the fastest PyTorch mode.
"""

import json
import os
import pathlib
import sys
import time

from absl import app
from absl import flags
from absl import logging

from benchmarks import measurement

_ROUNDS = flags.DEFINE_integer("rounds", 3, "Alternating rounds of all modes.")
_STEPS = flags.DEFINE_integer("steps", 5, "Timed training steps per process.")
_WARMUP = flags.DEFINE_integer(
    "warmup", 2, "Untimed steps per process before timing (tracing included)."
)
_BATCH = flags.DEFINE_integer("batch", 64, "Images per discriminator update.")
_PRECISIONS = flags.DEFINE_list(
    "precisions",
    ["float32", "mixed_bfloat16"],
    "This project's --precision values to time.",
)
_JIT_COMPILE = flags.DEFINE_list(
    "jit_compile", ["false"], "--jit_compile values to time for each precision."
)
_GENERATOR_PASSES = flags.DEFINE_list(
    "generator_passes",
    ["1"],
    "Generator forward passes per step to time for each precision: 1 is the "
    "trainer's step, which shares the pass between the two updates; 2 runs "
    "the discriminator and generator updates one after the other, as the "
    "PyTorch reference does.",
)
_TORCH_MODES = flags.DEFINE_list(
    "torch_modes",
    ["fp32", "bf16", "bf16_channels_last"],
    "Modes of the PyTorch reference to time; empty times this project only.",
)
_TORCH_REFERENCE = flags.DEFINE_string(
    "torch_reference",
    None,
    "Path of the PyTorch reference script (torch_sndcgan.py). Defaults to "
    "shared/bench/torch_sndcgan.py next to the checkout or one of its parents.",
)
_OUTPUT = flags.DEFINE_string(
    "output", None, "Write the results as JSON here, and a bar chart beside it."
)
_WORKER = flags.DEFINE_string(
    "worker",
    None,
    "Internal: time one mode of this project in this process and print one "
    "JSON line, e.g. float32/false/1 (precision, jit_compile, generator "
    "passes).",
)


def _find_torch_reference() -> str:
    if _TORCH_REFERENCE.value:
        return _TORCH_REFERENCE.value
    directory = pathlib.Path(__file__).resolve().parent
    for parent in [directory, *directory.parents]:
        candidate = parent.parent / "shared" / "bench" / "torch_sndcgan.py"
        if candidate.is_file():
            return str(candidate)
    raise app.UsageError(
        "The PyTorch reference was not found next to the checkout; pass "
        "--torch_reference=path/to/torch_sndcgan.py or --torch_modes=."
    )


def time_project_step(
    precision: str, jit_compile: str, generator_passes: int = 1
) -> dict:
    """Time the trainer's compiled step in this process; return the record.

    With `generator_passes=2` the step runs the two updates one after the
    other instead, each with its own generator forward pass.
    """
    from benchmarks import sndcgan_step

    config, d_and_g_step = sndcgan_step.build(
        _BATCH.value, precision, jit_compile, generator_passes
    )
    inputs = [
        sndcgan_step.step_inputs(config, step)
        for step in range(_WARMUP.value + _STEPS.value)
    ]
    for step in range(_WARMUP.value):
        float(d_and_g_step(inputs[step])["loss/d"])
    start = time.perf_counter()
    for step in range(_WARMUP.value, _WARMUP.value + _STEPS.value):
        # Reading the loss waits for the step, as the trainer's loop does.
        float(d_and_g_step(inputs[step])["loss/d"])
    seconds = (time.perf_counter() - start) / _STEPS.value
    return {
        "framework": "tfgan_study",
        "mode": f"{precision}/xla={jit_compile}"
        + ("" if generator_passes == 1 else "/2 generator passes"),
        "images_per_sec": round(config.global_batch_size / seconds, 2),
        "ms_per_step": round(1000 * seconds, 1),
    }


def _commands(torch_reference: str | None) -> list[list[str]]:
    commands = []
    for precision in _PRECISIONS.value:
        for jit_compile in _JIT_COMPILE.value:
            for passes in _GENERATOR_PASSES.value:
                commands.append(
                    [
                        sys.executable,
                        "-m",
                        "benchmarks.train_step",
                        f"--worker={precision}/{jit_compile}/{passes}",
                        f"--steps={_STEPS.value}",
                        f"--warmup={_WARMUP.value}",
                        f"--batch={_BATCH.value}",
                    ]
                )
    for mode in _TORCH_MODES.value:
        commands.append(
            [
                sys.executable,
                torch_reference,
                f"--mode={mode}",
                f"--steps={_STEPS.value}",
                f"--warmup={_WARMUP.value}",
                f"--batch={_BATCH.value}",
            ]
        )
    return commands


def main(argv: list[str]) -> None:
    del argv
    if _WORKER.value:
        parts = _WORKER.value.split("/")
        precision = parts[0]
        jit_compile = parts[1] if len(parts) > 1 else "false"
        passes = int(parts[2]) if len(parts) > 2 else 1
        print(json.dumps(time_project_step(precision, jit_compile, passes)))
        return
    for passes in _GENERATOR_PASSES.value:
        if passes not in ("1", "2"):
            raise app.UsageError(
                f"Invalid --generator_passes value {passes!r}; expected 1 "
                "or 2."
            )
    torch_reference = _find_torch_reference() if _TORCH_MODES.value else None
    commands = _commands(torch_reference)
    records = []
    total = _ROUNDS.value * len(commands)
    start = time.time()
    for round_index in range(_ROUNDS.value):
        for command in commands:
            record = measurement.run_measurement(command)
            record["round"] = round_index + 1
            records.append(record)
            done = len(records)
            eta = (time.time() - start) / done * (total - done)
            logging.info(
                "[%d/%d, ETA %.0f s] round %d %s %s: %.1f images/s, "
                "peak %.0f MiB",
                done,
                total,
                eta,
                round_index + 1,
                record["framework"],
                record["mode"],
                record["images_per_sec"],
                record["peak_rss_mib"],
            )
    summary = measurement.summarize(records)
    summary["records"] = records
    summary["machine"] = {"cpu_count": os.cpu_count(), "platform": sys.platform}
    print(measurement.format_summary(summary))
    if _OUTPUT.value:
        output = pathlib.Path(_OUTPUT.value)
        output.write_text(json.dumps(summary, indent=2))
        measurement.plot_summary(summary, str(output.with_suffix(".png")))


if __name__ == "__main__":
    app.run(main)
