"""Tests of the comparison of runs: scores, medians, checks and the binary."""

import math
import pathlib
import subprocess
import sys

import pytest

from tfgan_study import compare_lib
from tfgan_study import config as config_lib
from tfgan_study import run_dir

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]

_CONFIG = config_lib.resolve(config_lib.StudyConfig(
    dataset="fashion_mnist", eval_model="features", num_eval_samples=1000,
))


def _make_run(root: pathlib.Path, name: str, fids: dict, **overrides) -> str:
    """Write a model directory whose scores.csv has one row per step."""
    model_dir = root / name
    model_dir.mkdir(parents=True)
    for step, fid in fids.items():
        row = {"step": step, "status": "ok", "fid": fid,
               "num_eval_samples": 1000, "num_reference_samples": 1000,
               "eval_model": "features"}
        if isinstance(fid, str):
            row.update(status=fid, fid=math.nan)
        row.update(overrides)
        run_dir.append_score(str(model_dir), row, _CONFIG)
    return str(model_dir)


def _compare(*flags):
    return subprocess.run(
        [sys.executable, "-m", "tfgan_study.compare", *flags],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )


def test_score_is_lowest_fid(tmp_path):
    model_dir = _make_run(tmp_path, "a", {500: 90.0, 1000: 40.5, 1500: 41.0})
    run = compare_lib.load_run(model_dir, "a")
    assert run.score == 40.5
    assert run.score_step == 1000


def test_failed_evaluation_is_not_a_score(tmp_path):
    model_dir = _make_run(
        tmp_path, "a", {500: 90.0, 1000: "failed: out of memory"}
    )
    run = compare_lib.load_run(model_dir, "a")
    assert run.score == 90.0
    assert run.statuses[1000] == "failed: out of memory"
    assert 1000 not in run.fids


def test_unscored_run_counts_as_infinite(tmp_path):
    runs = [
        compare_lib.load_run(_make_run(tmp_path, "a", {500: 10.0}), "a"),
        compare_lib.load_run(_make_run(tmp_path, "b", {500: 30.0}), "b"),
        compare_lib.load_run(_make_run(tmp_path, "c", {500: "failed: x"}), "c"),
    ]
    assert runs[2].score == math.inf
    assert runs[2].score_step is None
    # The median of 10, 30 and infinity is 30: the failed run is not dropped.
    assert compare_lib.median_score(runs) == 30.0


def test_median_of_even_count_averages(tmp_path):
    runs = [
        compare_lib.load_run(_make_run(tmp_path, name, {500: fid}), name)
        for name, fid in (("a", 10.0), ("b", 20.0))
    ]
    assert compare_lib.median_score(runs) == 15.0


def test_table_lists_steps_and_median(tmp_path):
    runs = [
        compare_lib.load_run(
            _make_run(tmp_path, "a", {500: 90.0, 1000: 40.0}), "a"
        ),
        compare_lib.load_run(
            _make_run(tmp_path, "b", {500: 80.0, 1000: "failed: nan"}), "b"
        ),
    ]
    table = compare_lib.format_table(runs).splitlines()
    assert table[0] == "| run | FID at 500 | FID at 1,000 | score (lowest) |"
    assert table[2] == "| a | 90.00 | 40.00 | 40.00 |"
    assert table[3] == "| b | 80.00 | failed | 80.00 |"
    assert table[-1] == "Median score over 2 run(s): 60.00"


@pytest.mark.parametrize("column,value", [
    ("eval_model", "inception"),
    ("num_eval_samples", 10000),
    ("num_reference_samples", 500),
])
def test_runs_measured_differently_rejected(tmp_path, column, value):
    runs = [
        compare_lib.load_run(_make_run(tmp_path, "a", {500: 9.0}), "a"),
        compare_lib.load_run(
            _make_run(tmp_path, "b", {500: 9.0}, **{column: value}), "b"
        ),
    ]
    with pytest.raises(compare_lib.CompareError) as error:
        compare_lib.check_comparable(runs)
    assert f"different {column}" in str(error.value)
    assert f"b: '{value}'" in str(error.value)


def test_run_mixing_settings_rejected(tmp_path):
    model_dir = _make_run(tmp_path, "a", {500: 9.0})
    run_dir.append_score(
        model_dir,
        {"step": 1000, "status": "ok", "fid": 8.0, "num_eval_samples": 1000,
         "num_reference_samples": 1000, "eval_model": "inception"},
        _CONFIG,
    )
    with pytest.raises(compare_lib.CompareError, match="mixes evaluations"):
        compare_lib.load_run(model_dir, "a")


def test_missing_directory_rejected(tmp_path):
    with pytest.raises(compare_lib.CompareError, match="not found"):
        compare_lib.load_run(str(tmp_path / "absent"), "absent")


def test_directory_without_scores_rejected(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(compare_lib.CompareError, match="scores.csv is missing"):
        compare_lib.load_run(str(tmp_path / "empty"), "empty")


def test_baseline_csv_read_per_run(tmp_path):
    path = tmp_path / "peer.csv"
    path.write_text("run,step,fid\ns0,500,50\ns0,1000,30\ns1,500,70\n")
    runs = compare_lib.load_baseline(str(path))
    assert [run.name for run in runs] == ["s0", "s1"]
    assert runs[0].score == 30.0
    assert compare_lib.median_score(runs) == 50.0


@pytest.mark.parametrize("text,message", [
    ("run,step\ns0,500\n", "lacks the column"),
    ("run,step,fid\ns0,five,50\n", "line 2: expected an integer step"),
    ("run,step,fid\ns0,500,\n", "line 2"),
    ("run,step,fid\n", "no rows"),
])
def test_bad_baseline_csv_rejected(tmp_path, text, message):
    path = tmp_path / "peer.csv"
    path.write_text(text)
    with pytest.raises(compare_lib.CompareError, match=message):
        compare_lib.load_baseline(str(path))


def test_run_names_disambiguate(tmp_path):
    names = compare_lib.run_names(
        [str(tmp_path / "x" / "seed0"), str(tmp_path / "y" / "seed0"),
         str(tmp_path / "y" / "seed1")]
    )
    assert names == ["x/seed0", "y/seed0", "y/seed1"]


def test_binary_prints_table_and_draws(tmp_path):
    a = _make_run(tmp_path, "a", {500: 90.0, 1000: 40.0})
    b = _make_run(tmp_path, "b", {500: 80.0, 1000: 60.0})
    peer = tmp_path / "peer.csv"
    peer.write_text("run,step,fid\ns0,500,100\ns0,1000,95\n")
    output = tmp_path / "fid.png"
    result = _compare(f"--model_dirs={a},{b}", f"--baseline_csv={peer}",
                      "--baseline_label=peer", f"--output={output}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Median score over 2 run(s): 50.00" in result.stdout
    assert "Median score over 1 run(s): 95.00" in result.stdout
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a", "b", "fid.png", "peer.csv"
    ]


def test_binary_rejects_bad_input_keeping_figure(tmp_path):
    a = _make_run(tmp_path, "a", {500: 90.0})
    output = tmp_path / "fid.png"
    output.write_bytes(b"earlier figure")
    result = _compare(f"--model_dirs={a},{tmp_path / 'absent'}",
                      f"--output={output}")
    assert result.returncode == 2
    assert "Model directory not found" in result.stderr
    assert str(tmp_path / "absent") in result.stderr
    assert output.read_bytes() == b"earlier figure"


def test_binary_rejects_missing_output_directory(tmp_path):
    a = _make_run(tmp_path, "a", {500: 90.0})
    result = _compare(f"--model_dirs={a}",
                      f"--output={tmp_path / 'absent' / 'fid.png'}")
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_binary_requires_model_dirs():
    result = _compare()
    assert result.returncode == 2
    assert "model_dirs" in result.stderr


def test_binary_rejects_empty_model_dirs():
    result = _compare("--model_dirs=")
    assert result.returncode == 2
    assert "--model_dirs lists no directory" in result.stderr
