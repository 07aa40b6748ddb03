"""Tests of the report's tables, figures and Markdown on made-up studies."""

import csv
import math
import pathlib
import subprocess
import sys

import pytest

from tuner import results
from tuner import study
from tuner import trial_results

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _make_study(study_dir, loss, fids, space="table2"):
    """Write study.json and one result.json per FID (None: a failed trial)."""
    settings = study.StudySettings(
        space=space,
        rounds=len(fids),
        trials_per_round=1,
        num_trials=len(fids),
        seeds=[0],
        search_seed=1,
        trainer_flags={"loss": loss},
        trainer_config={
            "loss": loss,
            "penalty": "wgan_gp",
            "normalization": "spectral_norm",
            "disc_iters": 1,
            "dataset": "fashion_mnist",
            "seed": 0,
        },
        tuned_flags=["beta1", "beta2", "learning_rate", "penalty_weight"],
    )
    study.create_or_check(study_dir, settings)
    for index, fid in enumerate(fids):
        trial_id = f"{index:02d}"
        trial_dir = study.trial_dir(study_dir, trial_id)
        trial_dir.mkdir(parents=True)
        failed = fid is None
        outcome = trial_results.SeedOutcome(
            seed=0,
            status="diverged" if failed else "completed",
            reason="loss/d is nan" if failed else "",
            fid=math.nan if failed else fid,
            kid=math.nan if failed else fid / 100,
            inception_score=math.nan if failed else 2.0,
            best_step=None if failed else 4,
            seconds=10.0,
            exit_status=3 if failed else 0,
        )
        trial_results.save_result(
            trial_dir,
            trial_results.summarize(
                trial_id,
                index,
                {
                    "learning_rate": 1e-4 * (index + 1),
                    "beta1": 0.5,
                    "beta2": 0.9,
                    "penalty_weight": 10.0,
                },
                [outcome],
                1,
            ),
        )


@pytest.fixture
def two_studies(tmp_path):
    # Study a: 40 completed trials with FIDs 10..49, then 5 failures.
    study_a = tmp_path / "study_a"
    _make_study(study_a, "ns", [10.0 + i for i in range(40)] + [None] * 5)
    # Study b: 8 completed, 2 failed; fewer than 20, so all are kept.
    study_b = tmp_path / "study_b"
    _make_study(study_b, "wgan", [None, 60, 55, None, 50, 58, 52, 51, 70, 65])
    return str(study_a), str(study_b)


def test_rows_hold_settings_and_scores(two_studies):
    rows = results.load_rows(two_studies[0])
    assert len(rows) == 45
    first = rows[0]
    assert first["trial_id"] == "00"
    assert first["fid"] == 10.0
    assert first["kid"] == pytest.approx(0.1)
    assert first["loss"] == "ns"
    assert first["learning_rate"] == pytest.approx(1e-4)
    assert first["disc_iters"] == 1
    assert first["status"] == "completed"
    failed = rows[-1]
    assert failed["status"] == "failed"
    assert "loss/d is nan" in failed["reason"]
    assert math.isnan(failed["fid"])


def test_top_fraction_per_study(two_studies):
    rows = results.load_rows(two_studies[0]) + results.load_rows(two_studies[1])
    top = results.select_top(rows)
    top_a = [row["fid"] for row in top if row["study"] == two_studies[0]]
    top_b = [row["fid"] for row in top if row["study"] == two_studies[1]]
    # ceil(5% of 40) = 2 of study a; all 8 completed of study b.
    assert top_a == [10.0, 11.0]
    assert top_b == [50, 51, 52, 55, 58, 60, 65, 70]


def test_box_statistics_of_known_values():
    rows = [{"loss": "ns", "fid": fid} for fid in (1.0, 2.0, 3.0, 4.0, 5.0)]
    rows.append({"loss": "ls", "fid": 7.0})
    statistics = results.box_statistics(rows, "loss")
    assert statistics["ns"] == {
        "count": 5,
        "min": 1.0,
        "q1": 2.0,
        "median": 3.0,
        "q3": 4.0,
        "max": 5.0,
    }
    assert statistics["ls"]["median"] == 7.0


def test_lowest_fid_curve_counts_failed_trials(two_studies):
    rows = results.load_rows(two_studies[1])
    curve = results.lowest_fid_curve(rows)
    assert math.isnan(curve[0])
    assert curve[1:] == [60, 55, 55, 50, 50, 50, 50, 50, 50]


def _report(*flags):
    return subprocess.run(
        [sys.executable, "-m", "tuner.report", *flags],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_report_writes_table_figures_and_summary(tmp_path, two_studies):
    output_dir = tmp_path / "report"
    result = _report(
        f"--study_dir={two_studies[0]}",
        f"--study_dir={two_studies[1]}",
        f"--output_dir={output_dir}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(output_dir / "trials.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 55
    assert set(results.COLUMNS) == set(rows[0])
    assert rows[0]["fid"] == "10.0"
    assert sum(row["status"] == "failed" for row in rows) == 7
    for name in (
        "fid_by_loss.png",
        "fid_by_penalty.png",
        "fid_by_normalization.png",
        "lowest_fid_by_trials.png",
    ):
        data = (output_dir / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE), name
        assert len(data) > 5000, name
    summary = (output_dir / "summary.md").read_text()
    # The box-plot numbers: 2 trials of ns (10, 11), 8 of wgan.
    assert "| ns | 2 | 10 | 10.25 | 10.5 | 10.75 | 11 |" in summary
    assert "| wgan | 8 | 50 | 51.75 | 56.5 | 61.25 | 70 |" in summary
    assert f"| {two_studies[1]} | table2 | 10 | 8 | 2 | 50 |" in summary
    assert "## Failed trials" in summary


def test_report_rejects_directory_without_study(tmp_path):
    result = _report(f"--study_dir={tmp_path}")
    assert result.returncode == 2
    assert "contains no study" in result.stderr
    assert not (tmp_path / "report").exists()


def test_report_rejects_negative_export_count(tmp_path, two_studies):
    result = _report(f"--study_dir={two_studies[0]}", "--export_best=-1")
    assert result.returncode == 2
    assert "--export_best must be at least 0" in result.stderr
