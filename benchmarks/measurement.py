"""Measuring processes and summarizing their records, for the benchmarks.

Kept apart from the benchmark binaries so that it defines no absl flags and
can be imported next to the project's other binaries.
"""

import json
import os
import statistics
import subprocess
import tempfile


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


def format_summary(summary: dict) -> str:
    """Return the summary as a Markdown table and a ratio line."""
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


def plot_summary(summary: dict, path: str) -> None:
    """Write a bar chart of each mode's median images/s to `path` (PNG)."""
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
    figure, axes = pyplot.subplots(figsize=(max(6.0, 1.6 * len(rows) + 2), 4))
    axes.bar(range(len(rows)), values, color=colors)
    axes.set_xticks(range(len(rows)), labels, fontsize=8)
    axes.set_ylabel("images/s (median over rounds)")
    axes.set_title("SNDCGAN 32x32x3 training step, batch 64")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
