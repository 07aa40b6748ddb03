"""Tests of the reference feature cache: hits, misses, key checks, repair."""

import json
import logging
import shutil

import numpy as np
import pytest

from tfgan_study.metrics import feature_extractor
from tfgan_study.metrics import reference_cache


def _key(**overrides):
    key = {
        "dataset": "cifar10",
        "split": "test",
        "resolution": 32,
        "num_samples": 6,
        "preprocessing_id": "module_call_0_1",
        "eval_model": "models/features",
    }
    key.update(overrides)
    return key


class _CountingCompute:
    """A compute_fn that records how often it runs."""

    def __init__(self, num_samples=6, with_logits=True, seed=0):
        rng = np.random.default_rng(seed)
        features = rng.standard_normal((num_samples, 4)).astype(np.float32)
        logits = rng.standard_normal((num_samples, 3)).astype(np.float32)
        self.activations = feature_extractor.Activations(
            features, logits if with_logits else None
        )
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.activations


def test_load_or_compute_miss_computes_and_writes(tmp_path):
    compute = _CountingCompute()

    activations = reference_cache.load_or_compute(tmp_path, _key(), compute)

    path = reference_cache.cache_path(tmp_path, _key())
    assert compute.calls == 1
    assert path.exists()
    assert json.loads(path.with_suffix(".json").read_text()) == _key()
    np.testing.assert_array_equal(
        activations.features, compute.activations.features
    )


def test_load_or_compute_hit_skips_compute(tmp_path):
    compute = _CountingCompute()
    reference_cache.load_or_compute(tmp_path, _key(), compute)

    loaded = reference_cache.load_or_compute(tmp_path, _key(), compute)

    assert compute.calls == 1
    np.testing.assert_array_equal(loaded.features, compute.activations.features)
    np.testing.assert_array_equal(loaded.logits, compute.activations.logits)
    assert loaded.features.dtype == np.float32


def test_load_or_compute_without_logits_round_trip(tmp_path):
    compute = _CountingCompute(with_logits=False)
    reference_cache.load_or_compute(tmp_path, _key(), compute)

    loaded = reference_cache.load_or_compute(tmp_path, _key(), compute)

    assert compute.calls == 1
    assert loaded.logits is None


def test_load_or_compute_creates_cache_dir(tmp_path):
    cache_dir = tmp_path / "model_dir" / "reference_stats"

    reference_cache.load_or_compute(cache_dir, _key(), _CountingCompute())

    assert reference_cache.cache_path(cache_dir, _key()).exists()


@pytest.mark.parametrize(
    "field, value",
    [
        ("dataset", "celeb_a_hq/128"),
        ("split", "train"),
        ("resolution", 64),
        ("preprocessing_id", "tfgan_inception_legacy_bilinear_299"),
        ("eval_model", "models/other"),
    ],
)
def test_load_or_compute_other_key_misses(tmp_path, field, value):
    compute = _CountingCompute()
    reference_cache.load_or_compute(tmp_path, _key(), compute)

    reference_cache.load_or_compute(tmp_path, _key(**{field: value}), compute)

    assert compute.calls == 2
    assert reference_cache.cache_path(
        tmp_path, _key(**{field: value})
    ) != reference_cache.cache_path(tmp_path, _key())


def test_cache_path_ignores_key_order(tmp_path):
    reordered = dict(reversed(list(_key().items())))

    assert reference_cache.cache_path(
        tmp_path, reordered
    ) == reference_cache.cache_path(tmp_path, _key())


def test_load_or_compute_key_mismatch_names_field(tmp_path):
    # A file stored for resolution 256 placed under the name of the key for
    # resolution 32 must not be used for it.
    compute = _CountingCompute()
    reference_cache.load_or_compute(tmp_path, _key(resolution=256), compute)
    shutil.copy(
        reference_cache.cache_path(tmp_path, _key(resolution=256)),
        reference_cache.cache_path(tmp_path, _key()),
    )

    with pytest.raises(
        ValueError, match=r"resolution \(stored=256, requested=32\)"
    ):
        reference_cache.load_or_compute(tmp_path, _key(), compute)
    assert compute.calls == 1


def test_load_or_compute_key_mismatch_lists_every_field(tmp_path):
    stored = _key(split="train", dataset="mnist")
    reference_cache.load_or_compute(tmp_path, stored, _CountingCompute())
    shutil.copy(
        reference_cache.cache_path(tmp_path, stored),
        reference_cache.cache_path(tmp_path, _key()),
    )

    with pytest.raises(
        ValueError, match=r"dataset \(stored='mnist'.*split \(stored='train'"
    ):
        reference_cache.load_or_compute(tmp_path, _key(), _CountingCompute())


@pytest.mark.parametrize(
    "content", [b"", b"not an npz archive", b"PK\x03\x04truncated"]
)
def test_load_or_compute_corrupt_file_recomputed(tmp_path, caplog, content):
    path = reference_cache.cache_path(tmp_path, _key())
    path.write_bytes(content)
    compute = _CountingCompute()

    with caplog.at_level(logging.WARNING):
        activations = reference_cache.load_or_compute(tmp_path, _key(), compute)

    assert compute.calls == 1
    assert "cannot be read" in caplog.text
    np.testing.assert_array_equal(
        activations.features, compute.activations.features
    )
    reference_cache.load_or_compute(tmp_path, _key(), compute)
    assert compute.calls == 1


def test_load_or_compute_file_missing_array_recomputed(tmp_path, caplog):
    path = reference_cache.cache_path(tmp_path, _key())
    with open(path, "wb") as file:
        np.savez(file, key_json=np.array(json.dumps(_key())))
    compute = _CountingCompute()

    with caplog.at_level(logging.WARNING):
        reference_cache.load_or_compute(tmp_path, _key(), compute)

    assert compute.calls == 1
    assert "KeyError" in caplog.text


def test_load_or_compute_missing_field_raises(tmp_path):
    key = _key()
    del key["split"]

    with pytest.raises(ValueError, match=r"missing fields \['split'\]"):
        reference_cache.load_or_compute(tmp_path, key, _CountingCompute())


def test_load_or_compute_wrong_sample_count_raises(tmp_path):
    compute = _CountingCompute(num_samples=5)

    with pytest.raises(ValueError, match="num_rows=5, num_samples=6"):
        reference_cache.load_or_compute(tmp_path, _key(), compute)
    assert not reference_cache.cache_path(tmp_path, _key()).exists()


def test_load_or_compute_non_json_key_raises(tmp_path):
    with pytest.raises(TypeError, match="not JSON serializable"):
        reference_cache.load_or_compute(
            tmp_path, _key(resolution=object()), _CountingCompute()
        )


def test_load_or_compute_wrong_return_type_raises(tmp_path):
    with pytest.raises(TypeError, match="Received: type=ndarray"):
        reference_cache.load_or_compute(
            tmp_path, _key(), lambda: np.zeros((6, 4))
        )
