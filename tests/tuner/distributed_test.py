"""A chief and two workers of keras-tuner's distributed mode on 127.0.0.1."""

import json
import pathlib
import socket
import time

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_chief_and_two_workers_run_each_trial_once(tmp_path, fake_trainer):
    study_dir = tmp_path / "study"
    flags = [
        f"--study_dir={study_dir}",
        "--space=table2",
        "--rounds=2",
        "--trials_per_round=3",
        "--training_steps=6",
        "--eval_every_steps=3",
    ]
    address = {
        "KERASTUNER_ORACLE_IP": "127.0.0.1",
        "KERASTUNER_ORACLE_PORT": str(_free_port()),
        "FAKE_STEP_SECONDS": "0.3",
    }
    outputs = {}
    processes = {}
    # The workers start first: they must wait for the chief, not fail.
    for tuner_id in ("tuner0", "tuner1", "chief"):
        outputs[tuner_id] = open(tmp_path / f"{tuner_id}.log", "w")
        processes[tuner_id] = fake_trainer.start_search(
            *flags,
            env={**address, "KERASTUNER_TUNER_ID": tuner_id},
            output=outputs[tuner_id],
        )
        if tuner_id == "tuner1":
            time.sleep(5.0)
    try:
        statuses = {
            tuner_id: process.wait(timeout=400)
            for tuner_id, process in processes.items()
        }
    finally:
        for tuner_id, process in processes.items():
            if process.poll() is None:
                process.kill()
            outputs[tuner_id].close()
    logs = {
        tuner_id: (tmp_path / f"{tuner_id}.log").read_text()
        for tuner_id in processes
    }
    assert statuses == {"tuner0": 0, "tuner1": 0, "chief": 0}, logs

    runs = fake_trainer.runs_by_model_dir()
    expected = {
        str(study_dir / "trials" / str(i) / "seed_0") for i in range(6)
    }
    assert set(runs) == expected
    assert all(len(records) == 1 for records in runs.values())
    results = [
        json.loads(path.read_text())
        for path in (study_dir / "trials").glob("*/result.json")
    ]
    assert len(results) == 6
    assert all(result["status"] == "completed" for result in results)
    # Both workers ran trials; the chief ran none.
    assert " ended after " in logs["tuner0"]
    assert " ended after " in logs["tuner1"]
    assert " ended after " not in logs["chief"]
    oracle = json.loads(
        pathlib.Path(study_dir / "keras_tuner" / "oracle.json").read_text()
    )
    assert sorted(oracle["end_order"]) == [str(i) for i in range(6)]
