"""The step profiler, on a small batch."""

import json
import pathlib
import subprocess
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]

CATEGORIES = {
    "filter gradients",
    "input gradients and transposed convolutions",
    "forward convolutions",
    "other ops",
}


def test_profile_step_splits_step_time(tmp_path):
    output = tmp_path / "profile.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.profile_step",
            "--batch=4",
            "--steps=1",
            "--warmup=1",
            "--top=3",
            f"--output={output}",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Wall time per step:" in result.stdout

    record = json.loads(output.read_text())
    assert set(record["ms_per_step_by_category"]) == CATEGORIES
    assert record["wall_ms_per_step"] > 0
    # With one inter-op thread the ops run one at a time, so they cannot add
    # up to more than the wall time. Executor events spanning many ops are
    # left out.
    op_total = sum(record["ms_per_step_by_op"].values())
    assert 0 < op_total <= record["wall_ms_per_step"] * 1.05
    assert "ExecutorState::Process" not in record["ms_per_step_by_op"]
    filter_ops = [
        name
        for name in record["ms_per_step_by_op"]
        if name.endswith("Conv2DBackpropFilter")
    ]
    # Six discriminator convolutions after the first, the first one, and
    # the generator's three transposed convolutions.
    assert len(filter_ops) >= 8
