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
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags
from absl import logging

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
    "JSON line, e.g. float32/false.",
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


def time_project_step(precision: str, jit_compile: str) -> dict:
    """Time the trainer's compiled step in this process; return the record."""
    import tfgan_study  # noqa: F401  (sets TensorFlow's oneDNN option first)
    import tensorflow as tf

    from tfgan_study import config as config_lib
    from tfgan_study import gan_model
    from tfgan_study import train_lib

    config = config_lib.resolve(
        config_lib.StudyConfig(
            dataset="cifar10",
            architecture="sndcgan",
            loss="ns",
            penalty="none",
            normalization="spectral_norm",
            global_batch_size=_BATCH.value,
            precision=precision,
            jit_compile=jit_compile,
        )
    )
    strategy = tf.distribute.get_strategy()
    model = gan_model.GanModel(config, num_channels=3)
    _, d_and_g_step = train_lib._make_step_functions(strategy, model)
    images = tf.random.stateless_uniform(
        [config.global_batch_size, 32, 32, 3], seed=[0, 0]
    )
    inputs = [
        train_lib.step_randomness(config, tf.constant(step, tf.int64), images)
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
        "mode": f"{precision}/xla={jit_compile}",
        "images_per_sec": round(config.global_batch_size / seconds, 2),
        "ms_per_step": round(1000 * seconds, 1),
    }


def run_measurement(command: list[str]) -> dict:
    """Run one measuring process; return its JSON record with peak memory.

    The record gains `peak_rss_mib`, the process's peak resident memory from
    `os.wait4` (Linux reports it in KiB).
    """
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile(
        "w+"
    ) as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        output, errors = stdout.read(), stderr.read()
    if process.returncode != 0:
        raise RuntimeError(
            f"Benchmark process failed with status {process.returncode}: "
            f"{' '.join(command)}\n{errors[-3000:]}"
        )
    lines = [line for line in output.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(
            f"Benchmark process printed no JSON record: {' '.join(command)}"
        )
    record = json.loads(lines[-1])
    record["peak_rss_mib"] = round(usage.ru_maxrss / 1024, 1)
    return record


def _commands(torch_reference: str | None) -> list[list[str]]:
    commands = []
    for precision in _PRECISIONS.value:
        for jit_compile in _JIT_COMPILE.value:
            commands.append(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.train_step",
                    f"--worker={precision}/{jit_compile}",
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


def summarize(records: list[dict]) -> dict:
    """Return per-mode medians and the ratio of the fastest modes."""
    by_mode: dict[tuple[str, str], list[dict]] = {}
    for record in records:
        by_mode.setdefault((record["framework"], record["mode"]), []).append(
            record
        )
    rows = []
    for (framework, mode), group in by_mode.items():
        rows.append(
            {
                "framework": framework,
                "mode": mode,
                "images_per_sec": statistics.median(
                    r["images_per_sec"] for r in group
                ),
                "runs": [r["images_per_sec"] for r in group],
                "peak_rss_mib": max(r["peak_rss_mib"] for r in group),
            }
        )
    summary: dict = {"rows": rows}
    best = {}
    for framework in ("tfgan_study", "torch"):
        candidates = [r for r in rows if r["framework"] == framework]
        if candidates:
            best[framework] = max(candidates, key=lambda r: r["images_per_sec"])
    if len(best) == 2:
        summary["ratio"] = (
            best["tfgan_study"]["images_per_sec"]
            / best["torch"]["images_per_sec"]
        )
        summary["fastest"] = {
            name: row["mode"] for name, row in best.items()
        }
        # The ratio of the two fastest modes within each round, whose
        # processes ran minutes apart, is less sensitive to load that
        # changes between rounds than the ratio of medians.
        round_ratios = []
        for round_index in sorted({r["round"] for r in records}):
            speeds = {
                (r["framework"], r["mode"]): r["images_per_sec"]
                for r in records
                if r["round"] == round_index
            }
            ours = speeds.get(("tfgan_study", best["tfgan_study"]["mode"]))
            theirs = speeds.get(("torch", best["torch"]["mode"]))
            if ours and theirs:
                round_ratios.append(ours / theirs)
        summary["round_ratios"] = round_ratios
        summary["median_round_ratio"] = statistics.median(round_ratios)
    return summary


def _format(summary: dict) -> str:
    lines = [
        "| framework | mode | images/s (median) | runs | peak memory (MiB) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in summary["rows"]:
        runs = ", ".join(f"{value:.1f}" for value in row["runs"])
        lines.append(
            f"| {row['framework']} | {row['mode']} | "
            f"{row['images_per_sec']:.1f} | {runs} | {row['peak_rss_mib']:.0f} |"
        )
    if "ratio" in summary:
        lines.append(
            f"\nFastest tfgan_study mode ({summary['fastest']['tfgan_study']}) "
            f"/ fastest PyTorch mode ({summary['fastest']['torch']}): "
            f"{summary['ratio']:.2f}x (ratio of medians); per round: "
            + ", ".join(f"{ratio:.2f}" for ratio in summary["round_ratios"])
            + f"; median per-round ratio {summary['median_round_ratio']:.2f}x"
        )
    return "\n".join(lines)


def _plot(summary: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    rows = summary["rows"]
    labels = [f"{row['framework']}\n{row['mode']}" for row in rows]
    values = [row["images_per_sec"] for row in rows]
    colors = [
        "tab:orange" if row["framework"] == "tfgan_study" else "tab:blue"
        for row in rows
    ]
    figure, axes = pyplot.subplots(figsize=(1.6 * len(rows) + 2, 4))
    axes.bar(range(len(rows)), values, color=colors)
    axes.set_xticks(range(len(rows)), labels, fontsize=8)
    axes.set_ylabel("images/s (median over rounds)")
    axes.set_title("SNDCGAN 32x32x3 training step, batch 64")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def main(argv: list[str]) -> None:
    del argv
    if _WORKER.value:
        precision, _, jit_compile = _WORKER.value.partition("/")
        print(json.dumps(time_project_step(precision, jit_compile or "false")))
        return
    torch_reference = _find_torch_reference() if _TORCH_MODES.value else None
    commands = _commands(torch_reference)
    records = []
    total = _ROUNDS.value * len(commands)
    start = time.time()
    for round_index in range(_ROUNDS.value):
        for command in commands:
            record = run_measurement(command)
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
    summary = summarize(records)
    summary["records"] = records
    summary["machine"] = {"cpu_count": os.cpu_count(), "platform": sys.platform}
    print(_format(summary))
    if _OUTPUT.value:
        pathlib.Path(_OUTPUT.value).write_text(json.dumps(summary, indent=2))
        _plot(summary, str(pathlib.Path(_OUTPUT.value).with_suffix(".png")))


if __name__ == "__main__":
    app.run(main)
