"""The benchmarks' measuring processes and summaries, without training."""

import sys

import pytest

from benchmarks import measurement


def _record(framework, mode, speed, round_index, memory=100.0):
    return {
        "framework": framework,
        "mode": mode,
        "images_per_sec": speed,
        "peak_rss_mib": memory,
        "round": round_index,
    }


def test_summarize_takes_medians_and_ratios():
    records = [
        _record("tfgan_study", "float32", 30.0, 1),
        _record("torch", "fp32", 20.0, 1),
        _record("tfgan_study", "float32", 36.0, 2, memory=300.0),
        _record("torch", "fp32", 30.0, 2),
        _record("tfgan_study", "float32", 33.0, 3),
        _record("torch", "fp32", 22.0, 3),
        _record("torch", "bf16", 2.0, 1),
    ]
    summary = measurement.summarize(records)
    rows = {(row["framework"], row["mode"]): row for row in summary["rows"]}
    assert rows[("tfgan_study", "float32")]["images_per_sec"] == 33.0
    assert rows[("tfgan_study", "float32")]["peak_rss_mib"] == 300.0
    assert rows[("torch", "fp32")]["images_per_sec"] == 22.0
    assert summary["fastest"] == {"tfgan_study": "float32", "torch": "fp32"}
    assert summary["ratio"] == pytest.approx(33.0 / 22.0)
    assert summary["round_ratios"] == pytest.approx([1.5, 1.2, 1.5])
    assert summary["median_round_ratio"] == pytest.approx(1.5)


def test_summarize_without_torch_has_no_ratio():
    summary = measurement.summarize([_record("tfgan_study", "float32", 30.0, 1)])
    assert "ratio" not in summary


def test_run_measurement_reads_record_and_memory():
    record = measurement.run_measurement(
        [sys.executable, "-c", "print('log line'); print('{\"images_per_sec\": 5}')"]
    )
    assert record["images_per_sec"] == 5
    assert record["peak_rss_mib"] > 0


def test_run_measurement_reports_failed_process():
    with pytest.raises(RuntimeError, match="status 3"):
        measurement.run_measurement(
            [sys.executable, "-c", "import sys; sys.exit(3)"]
        )


def test_run_measurement_requires_json_record():
    with pytest.raises(RuntimeError, match="no JSON record"):
        measurement.run_measurement([sys.executable, "-c", "print('no record')"])
