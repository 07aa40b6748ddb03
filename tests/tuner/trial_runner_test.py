"""Tests of one trial: trainer processes per seed, outcomes and result.json."""

import json
import math
import pathlib
import threading
import time

import pytest

from tuner import trial_results
from tuner import trial_runner

FIXED = {"training_steps": 4, "eval_every_steps": 2}
VALUES = {"learning_rate": 2e-4, "beta1": 0.5, "beta2": 0.9}


def _expected_fid(seed=0, learning_rate=2e-4):
    return 20.0 + 10.0 * (math.log10(learning_rate) + 3.5) ** 2 + 0.25 * seed


@pytest.fixture
def fake_env(fake_trainer, monkeypatch):
    for name, value in fake_trainer.env.items():
        monkeypatch.setenv(name, value)
    return fake_trainer


def _run(tmp_path, seeds=(0,), values=VALUES, stop=None):
    return trial_runner.run_trial(
        tmp_path / "trial",
        "3",
        1,
        values,
        FIXED,
        list(seeds),
        stop or threading.Event(),
    )


def test_completed_trial_reads_lowest_fid(tmp_path, fake_env):
    result = _run(tmp_path)
    assert result.status == "completed"
    assert result.fid == pytest.approx(_expected_fid())
    assert result.kid == pytest.approx(0.25)
    assert result.inception_score == pytest.approx(3.0)
    assert result.seeds[0].best_step == 4
    assert result.best_seed == 0
    assert result.round == 1
    stored = trial_results.load_result(tmp_path / "trial")
    assert stored == result
    assert (tmp_path / "trial" / "seed_0" / "scores.csv").exists()
    assert (tmp_path / "trial" / "seed_0.log").exists()


def test_trainer_gets_fixed_searched_and_seed_flags(tmp_path, fake_env):
    _run(tmp_path, seeds=(5,))
    (run,) = fake_env.runs()
    assert run["flags"]["learning_rate"] == "0.0002"
    assert run["flags"]["training_steps"] == "4"
    assert run["flags"]["seed"] == "5"
    assert run["flags"]["model_dir"] == str(tmp_path / "trial" / "seed_5")


def test_seeds_score_the_median_fid(tmp_path, fake_env):
    result = _run(tmp_path, seeds=(0, 1, 2))
    assert result.status == "completed"
    assert result.fid == pytest.approx(_expected_fid(seed=1))
    assert result.best_seed == 0
    assert [s.seed for s in result.seeds] == [0, 1, 2]


def test_diverged_seed_counts_as_worst(tmp_path, fake_env, monkeypatch):
    monkeypatch.setenv("FAKE_DIVERGE_SEEDS", "0")
    result = _run(tmp_path, seeds=(0, 1, 2))
    assert result.status == "completed"
    assert result.fid == pytest.approx(_expected_fid(seed=2))
    assert result.best_seed == 1


def test_half_diverged_seeds_fail_the_trial(tmp_path, fake_env, monkeypatch):
    monkeypatch.setenv("FAKE_DIVERGE_SEEDS", "1,2")
    result = _run(tmp_path, seeds=(0, 1, 2, 3))
    assert result.status == "failed"
    assert result.reason.startswith("diverged in 2 of 4 seeds")
    assert math.isnan(result.fid)


def test_majority_diverged_skips_remaining_seeds(
    tmp_path, fake_env, monkeypatch
):
    monkeypatch.setenv("FAKE_DIVERGE_SEEDS", "0,1")
    result = _run(tmp_path, seeds=(0, 1, 2))
    assert result.status == "failed"
    assert [s.seed for s in result.seeds] == [0, 1]
    assert len(fake_env.runs()) == 2


def test_divergence_reason_comes_from_trainer_log(
    tmp_path, fake_env, monkeypatch
):
    monkeypatch.setenv("FAKE_DIVERGE_ABOVE", "1e-4")
    result = _run(tmp_path)
    assert result.status == "failed"
    assert result.seeds[0].status == "diverged"
    assert result.seeds[0].exit_status == 3
    assert "Training diverged: loss/d is nan at step 3" in result.reason


def test_nan_fid_counts_as_divergence(tmp_path, fake_env, monkeypatch):
    monkeypatch.setenv("FAKE_NAN_FID_ABOVE", "1e-4")
    result = _run(tmp_path)
    assert result.status == "failed"
    assert result.seeds[0].status == "diverged"
    assert "no finite FID" in result.reason
    document = json.loads((tmp_path / "trial" / "result.json").read_text())
    assert document["fid"] is None


def test_crash_fails_trial_with_exit_status(tmp_path, fake_env, monkeypatch):
    monkeypatch.setenv("FAKE_CRASH_ABOVE", "1e-4")
    result = _run(tmp_path, seeds=(0, 1))
    assert result.status == "failed"
    assert result.seeds[0].status == "crashed"
    assert len(result.seeds) == 1
    assert "exit status 1: Segmentation fault" in result.reason


def test_bad_input_stops_with_trainer_message(tmp_path, fake_env, monkeypatch):
    monkeypatch.setenv("FAKE_BAD_INPUT", "1")
    with pytest.raises(
        trial_runner.TrainerRejectedInput, match="Dataset fashion_mnist"
    ):
        _run(tmp_path)
    assert trial_results.load_result(tmp_path / "trial") is None


def test_stop_interrupts_and_rerun_resumes(tmp_path, fake_env, monkeypatch):
    monkeypatch.setenv("FAKE_STEP_SECONDS", "0.5")
    fixed = {**FIXED, "training_steps": 8}
    stop = threading.Event()
    timer = threading.Timer(2.0, stop.set)
    timer.start()
    with pytest.raises(trial_runner.TrialInterrupted):
        trial_runner.run_trial(
            tmp_path / "trial", "0", None, VALUES, fixed, [0], stop
        )
    timer.cancel()
    assert trial_results.load_result(tmp_path / "trial") is None
    result = trial_runner.run_trial(
        tmp_path / "trial", "0", None, VALUES, fixed, [0], threading.Event()
    )
    assert result.status == "completed"
    first, second = fake_env.runs()
    assert first["exit_status"] == 4
    assert 0 < first["last_step"] < 8
    assert second["first_step"] == first["last_step"]


def test_rerun_skips_seeds_with_outcome(tmp_path, fake_env):
    first = _run(tmp_path, seeds=(0, 1))
    second = _run(tmp_path, seeds=(0, 1))
    assert len(fake_env.runs()) == 2
    assert second.fid == first.fid


def test_stop_before_start_runs_nothing(tmp_path, fake_env):
    stop = threading.Event()
    stop.set()
    with pytest.raises(trial_runner.TrialInterrupted):
        _run(tmp_path, stop=stop)
    assert fake_env.runs() == []


def test_scores_columns_match_trainer():
    from tfgan_study import run_dir

    assert trial_runner.SCORES_FILE == run_dir.SCORES_FILE
    for column in ("step", "status", "fid", "kid", "inception_score"):
        assert column in run_dir.SCORE_COLUMNS


def test_trainer_dies_with_killed_parent(tmp_path, fake_env, monkeypatch):
    """A trainer whose search is killed saves its step and exits 4."""
    import subprocess
    import sys

    monkeypatch.setenv("FAKE_STEP_SECONDS", "0.5")
    script = (
        "import pathlib, threading\n"
        "from tuner import trial_runner\n"
        f"trial_runner.run_trial(pathlib.Path({str(tmp_path / 'trial')!r}),"
        " '0', None, {'learning_rate': 2e-4}, {'training_steps': 40},"
        " [0], threading.Event())\n"
    )
    repo_root = pathlib.Path(__file__).resolve().parents[2]
    search = subprocess.Popen([sys.executable, "-c", script], cwd=repo_root)
    deadline = time.monotonic() + 60
    step_log = tmp_path / "trial" / "seed_0.log"
    while not step_log.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2.0)
    search.kill()
    search.wait()
    while not fake_env.runs() and time.monotonic() < deadline:
        time.sleep(0.2)
    (run,) = fake_env.runs()
    assert run["exit_status"] == 4
    assert 0 < run["last_step"] < 40
