"""A file cache of reference features, keyed by what produced them.

Features of the real images are the same for every checkpoint of a run, so
they are computed once and stored. The cache keeps whole feature sets, not
only their mean and covariance, because KID needs the features themselves.

Every entry carries a key that records how the features were made: dataset,
split, resolution, sample count, preprocessing and feature network. FIDs
computed against references from another split, resolution or
preprocessing differ widely and must never be compared, so a stored key that
does not match the requested one raises an error naming the fields.

Each entry is an `.npz` file named after a hash of the key. It contains the
key as JSON, the features and, when present, the logits. A `.json` file
beside it repeats the key for people reading the directory.
"""

import hashlib
import json
import os
import pathlib
import tempfile
from typing import Any, Callable
import zipfile

from absl import logging
import numpy as np

from tfgan_study.metrics import feature_extractor

KEY_FIELDS = (
    "dataset",
    "split",
    "resolution",
    "num_samples",
    "preprocessing_id",
    "eval_model",
)

# Errors that mean a cache file cannot be read: a truncated or overwritten
# archive, a missing array, or a key that is not valid JSON.
_UNREADABLE_FILE_ERRORS = (
    OSError,
    EOFError,
    KeyError,
    ValueError,
    zipfile.BadZipFile,
)


def cache_path(
    cache_dir: str | os.PathLike, key: dict[str, Any]
) -> pathlib.Path:
    """Returns the path of the cache file for `key`.

    Args:
        cache_dir: Directory of the cache. The trainer passes
            `<model_dir>/reference_stats`.
        key: Dict with at least the fields in `KEY_FIELDS`, with JSON values.

    Raises:
        ValueError: If `key` lacks a field of `KEY_FIELDS`.
        TypeError: If `key` is not a dict or a value is not JSON-serializable.
    """
    digest = hashlib.sha256(_key_json(key).encode("utf-8")).hexdigest()
    return pathlib.Path(cache_dir) / f"reference_features_{digest[:16]}.npz"


def load_or_compute(
    cache_dir: str | os.PathLike,
    key: dict[str, Any],
    compute_fn: Callable[[], feature_extractor.Activations],
) -> feature_extractor.Activations:
    """Loads reference features for `key`, computing and storing them if absent.

    A cache file that cannot be read is recomputed and overwritten, with a
    warning. Writes go to a temporary file first and are then renamed, so an
    interrupted write leaves no partial file under the final name.

    Args:
        cache_dir: Directory of the cache, created if missing.
        key: Dict with at least the fields in `KEY_FIELDS` ("dataset",
            "split", "resolution", "num_samples", "preprocessing_id",
            "eval_model"), with JSON values. Extra fields are allowed and are
            part of the key.
        compute_fn: Function without arguments that returns the reference
            `Activations`, with key["num_samples"] rows.

    Returns:
        The reference `Activations`.

    Raises:
        ValueError: If the stored key differs from `key` (the message names
            each differing field), if `key` lacks a field, or if
            `compute_fn` returns a sample count other than
            key["num_samples"].
        TypeError: If `key` is not a dict, a value is not JSON-serializable,
            or `compute_fn` does not return `Activations`.
    """
    key_json = _key_json(key)
    path = cache_path(cache_dir, key)
    if path.exists():
        try:
            stored_key, activations = _read(path)
        except _UNREADABLE_FILE_ERRORS as error:
            logging.warning(
                "Reference cache file %s cannot be read (%s: %s), so the "
                "reference features are recomputed.",
                path,
                type(error).__name__,
                error,
            )
        else:
            _check_stored_key(stored_key, json.loads(key_json), path)
            logging.info("Loaded reference features from %s.", path)
            return activations

    logging.info("Computing reference features for %s.", key_json)
    activations = compute_fn()
    _check_activations(activations, key["num_samples"])
    _write(path, key_json, activations)
    logging.info("Stored reference features in %s.", path)
    return activations


def _key_json(key: dict[str, Any]) -> str:
    """Checks the key and returns its canonical JSON text."""
    if not isinstance(key, dict):
        raise TypeError(
            f"key must be a dict. Received: type={type(key).__name__}."
        )
    missing = [field for field in KEY_FIELDS if field not in key]
    if missing:
        raise ValueError(
            f"The reference cache key is missing fields {missing}. "
            f"Expected at least: {', '.join(KEY_FIELDS)}. Received keys: "
            f"{sorted(key)}."
        )
    return json.dumps(key, sort_keys=True)


def _read(
    path: pathlib.Path,
) -> tuple[dict[str, Any], feature_extractor.Activations]:
    """Reads one cache file. Raises one of _UNREADABLE_FILE_ERRORS if broken."""
    with np.load(path, allow_pickle=False) as archive:
        stored_key = json.loads(str(archive["key_json"]))
        features = archive["features"]
        logits = archive["logits"] if "logits" in archive.files else None
    if not isinstance(stored_key, dict):
        raise ValueError(f"The stored key is not a JSON object: {stored_key}")
    expected_rows = stored_key.get("num_samples")
    logits_rows = expected_rows if logits is None else logits.shape[0]
    if (
        features.ndim != 2
        or features.shape[0] != expected_rows
        or logits_rows != expected_rows
    ):
        raise ValueError(
            f"The stored features have shape {features.shape} and logits "
            f"{logits_rows} rows, but the stored key states "
            f"num_samples={expected_rows}."
        )
    return stored_key, feature_extractor.Activations(features, logits)


def _check_stored_key(
    stored: dict[str, Any], expected: dict[str, Any], path: pathlib.Path
) -> None:
    """Raises ValueError naming every field where the two keys differ."""
    differences = [
        f"{field} (stored={stored.get(field)!r}, "
        f"requested={expected.get(field)!r})"
        for field in sorted(set(stored) | set(expected))
        if stored.get(field) != expected.get(field)
    ]
    if differences:
        raise ValueError(
            f"The reference cache file {path} contains features computed "
            "for a different key, so they cannot be compared. Differing "
            f"fields: {'; '.join(differences)}. Delete the file to recompute "
            "it."
        )


def _check_activations(
    activations: feature_extractor.Activations, num_samples: int
) -> None:
    """Checks what compute_fn returned against the key's sample count."""
    if not isinstance(activations, feature_extractor.Activations):
        raise TypeError(
            "compute_fn must return feature_extractor.Activations. Received: "
            f"type={type(activations).__name__}."
        )
    num_rows = np.shape(activations.features)[0]
    if num_rows != num_samples:
        raise ValueError(
            "compute_fn returned a different number of samples than the key "
            f"states. Received: num_rows={num_rows}, "
            f"num_samples={num_samples}."
        )


def _write(
    path: pathlib.Path,
    key_json: str,
    activations: feature_extractor.Activations,
) -> None:
    """Writes the cache file and its JSON key through a temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        "key_json": np.array(key_json),
        "features": np.asarray(activations.features),
    }
    if activations.logits is not None:
        arrays["logits"] = np.asarray(activations.logits)
    with tempfile.NamedTemporaryFile(
        dir=path.parent, suffix=".tmp", delete=False
    ) as temporary:
        temporary_path = pathlib.Path(temporary.name)
        try:
            np.savez(temporary, **arrays)
        except BaseException:
            temporary.close()
            temporary_path.unlink(missing_ok=True)
            raise
    os.replace(temporary_path, path)
    path.with_suffix(".json").write_text(
        json.dumps(json.loads(key_json), indent=2, sort_keys=True) + "\n"
    )
