"""Tests of `python -m tuner.search` with the stand-in trainer."""

import json
import os
import pathlib
import signal
import time

import pytest


def _results(study_dir: pathlib.Path) -> dict[str, dict]:
    return {
        path.parent.name: json.loads(path.read_text())
        for path in (study_dir / "trials").glob("*/result.json")
    }


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--space=table3"], "--space=table3"),
        (
            ["--space=table2", "--learning_rate=1e-3"],
            "--learning_rate is searched",
        ),
        (["--space=table1", "--disc_iters=5"], "--disc_iters is searched"),
        (
            ["--space=table2", "--penalty=l2", "--penalty_weight=1"],
            "--penalty_weight is searched",
        ),
        (["--space=table2", "--seeds=0"], "--seeds must be at least 1"),
        (["--space=table2", "--rounds=0"], "--rounds must be at least 1"),
        (["--space=table2", "--num_workers=0"], "--num_workers must be"),
        (["--space=table2", "--search_seed=0"], "--search_seed must be"),
        (["--space=table1", "--rounds=3"], "--rounds applies to"),
        (["--space=table2", "--model_dir=/tmp/x"], "--model_dir is a trainer"),
        (["--space=table2", "--eval_every_steps=0"], "--eval_every_steps must"),
        (["--space=table2", "--loss=hinged"], "Unknown loss 'hinged'"),
        ([], "--space is required"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    tmp_path, fake_trainer, flags, message
):
    study_dir = tmp_path / "study"
    result = fake_trainer.run_search(f"--study_dir={study_dir}", *flags)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert not study_dir.exists()


def test_distributed_mode_needs_port_and_id(tmp_path, fake_trainer):
    study_dir = tmp_path / "study"
    result = fake_trainer.run_search(
        f"--study_dir={study_dir}",
        "--space=table2",
        env={"KERASTUNER_ORACLE_IP": "127.0.0.1"},
    )
    assert result.returncode == 2
    assert "needs KERASTUNER_ORACLE_PORT" in result.stderr
    assert not study_dir.exists()


def test_changed_study_is_rejected_on_rerun(tmp_path, fake_trainer, short_run):
    study_dir = tmp_path / "study"
    flags = [
        f"--study_dir={study_dir}",
        "--space=table2",
        "--rounds=1",
        "--trials_per_round=1",
        *short_run,
    ]
    assert fake_trainer.run_search(*flags).returncode == 0
    before = (study_dir / "study.json").read_text()
    result = fake_trainer.run_search(*flags, "--loss=wgan")
    assert result.returncode == 2
    assert "--loss: stored None, requested 'wgan'" in result.stderr
    assert (study_dir / "study.json").read_text() == before


def test_table1_runs_whole_grid_despite_failures(
    tmp_path, fake_trainer, short_run
):
    study_dir = tmp_path / "study"
    # The 8 settings with learning rate 1e-3 come last in the grid and all
    # diverge: 8 failures in a row.
    result = fake_trainer.run_search(
        f"--study_dir={study_dir}",
        "--space=table1",
        "--penalty=wgan_gp",
        "--num_workers=2",
        *short_run,
        env={"FAKE_DIVERGE_ABOVE": "5e-4"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results = _results(study_dir)
    assert len(results) == 24
    failed = [r for r in results.values() if r["status"] == "failed"]
    assert len(failed) == 8
    assert all(r["hyperparameters"]["learning_rate"] == 0.001 for r in failed)
    assert all("diverged" in r["reason"] for r in failed)
    runs = fake_trainer.runs_by_model_dir()
    assert len(runs) == 24
    assert all(len(r) == 1 for r in runs.values())
    # One progress line per trial.
    assert result.stderr.count(" ended after ") == 24
    assert "0 of 24 trials left" in result.stderr


def test_rounds_start_after_previous_round_ends(
    tmp_path, fake_trainer, short_run
):
    study_dir = tmp_path / "study"
    result = fake_trainer.run_search(
        f"--study_dir={study_dir}",
        "--space=table2",
        "--rounds=3",
        "--trials_per_round=2",
        "--num_workers=2",
        "--seeds=2",
        *short_run,
        env={"FAKE_STEP_SECONDS": "0.2"},
    )
    assert result.returncode == 0, result.stderr[-3000:]

    results = _results(study_dir)
    assert sorted(results) == ["0", "1", "2", "3", "4", "5"]
    assert [results[i]["round"] for i in sorted(results)] == [0, 0, 1, 1, 2, 2]

    runs = fake_trainer.runs()
    assert len(runs) == 12
    start = {}
    end = {}
    for run in runs:
        trial_id = pathlib.Path(run["flags"]["model_dir"]).parent.name
        round_index = int(trial_id) // 2
        start[round_index] = min(start.get(round_index, 1e18), run["start"])
        end[round_index] = max(end.get(round_index, 0), run["end"])
    assert start[1] >= end[0]
    assert start[2] >= end[1]

    # With --num_workers=2 the two trials of a round overlap in time.
    trial_span = {}
    for run in runs:
        trial_id = pathlib.Path(run["flags"]["model_dir"]).parent.name
        first, last = trial_span.get(trial_id, (1e18, 0))
        trial_span[trial_id] = (min(first, run["start"]), max(last, run["end"]))
    assert trial_span["1"][0] < trial_span["0"][1]
    assert trial_span["0"][0] < trial_span["1"][1]
    assert "Trial 1 (round 0) ended after" in result.stderr
    for trial in results.values():
        values = trial["hyperparameters"]
        assert 1e-5 <= values["learning_rate"] <= 1e-2
        assert 0 <= values["beta1"] < 1
        assert 0 <= values["beta2"] < 1


def _wait_for(condition, timeout=180.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.2)


@pytest.mark.slow
def test_killed_search_resumes_without_rerunning(
    tmp_path, fake_trainer, short_run
):
    study_dir = tmp_path / "study"
    flags = [
        f"--study_dir={study_dir}",
        "--space=table2",
        "--rounds=2",
        "--trials_per_round=2",
        "--training_steps=10",
        "--eval_every_steps=5",
    ]
    env = {"FAKE_STEP_SECONDS": "0.3"}

    def started(trial_id):
        return (study_dir / "trials" / trial_id / "seed_0.log").exists()

    # 1. SIGTERM while trial 1 trains: the search stops it and exits 4.
    with open(tmp_path / "first.log", "w") as output:
        search = fake_trainer.start_search(*flags, env=env, output=output)
        _wait_for(lambda: started("1"))
        time.sleep(1.0)
        search.send_signal(signal.SIGTERM)
        assert search.wait(timeout=120) == 4
    assert set(_results(study_dir)) == {"0"}

    # 2. SIGKILL while trial 1 or 2 trains: its trainer saves and exits.
    with open(tmp_path / "second.log", "w") as output:
        search = fake_trainer.start_search(*flags, env=env, output=output)
        _wait_for(lambda: "1" in _results(study_dir))
        _wait_for(lambda: started("2"))
        time.sleep(1.0)
        os.kill(search.pid, signal.SIGKILL)
        search.wait(timeout=60)

    # 3. The same command finishes the search.
    result = fake_trainer.run_search(*flags, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Resuming the table2 search" in result.stderr
    results = _results(study_dir)
    assert sorted(results) == ["0", "1", "2", "3"]
    assert all(r["status"] == "completed" for r in results.values())
    runs = fake_trainer.runs_by_model_dir()
    assert len(runs) == 4
    trial_0 = str(study_dir / "trials" / "0" / "seed_0")
    trial_1 = str(study_dir / "trials" / "1" / "seed_0")
    trial_2 = str(study_dir / "trials" / "2" / "seed_0")
    assert len(runs[trial_0]) == 1
    # Interrupted runs resumed from their saved step.
    assert [r["exit_status"] for r in runs[trial_1]] == [4, 0]
    assert runs[trial_1][1]["first_step"] == runs[trial_1][0]["last_step"]
    assert runs[trial_2][0]["exit_status"] == 4
    assert runs[trial_2][-1]["exit_status"] == 0
    assert runs[trial_2][-1]["first_step"] > 0
