"""Shared fixtures: the prepared Fashion-MNIST data and the feature network.

The tests use real data and a real SavedModel, located through environment
variables so that no machine path is written into the repository:

- `TFDS_DATA_DIR`: a TFDS data directory holding `fashion_mnist` prepared.
- `TFGAN_STUDY_FEATURE_MODEL`: a SavedModel mapping images in [0, 1] to
  features (and logits), used as `--eval_model` in place of Inception.

`.ci/run` sets both. Tests that need them skip with a reason when unset.
"""

import os
import pathlib

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


def _existing_path(variable: str, marker: str) -> str:
    value = os.environ.get(variable)
    if not value:
        pytest.skip(f"{variable} is not set; .ci/run sets it.")
    path = pathlib.Path(value)
    if not (path / marker).exists():
        pytest.skip(f"{variable}={value} has no {marker}.")
    return str(path)


@pytest.fixture(scope="session")
def tfds_data_dir() -> str:
    """A TFDS data directory with Fashion-MNIST prepared."""
    return _existing_path("TFDS_DATA_DIR", "fashion_mnist")


@pytest.fixture(scope="session")
def feature_model_path() -> str:
    """A SavedModel that maps images in [0, 1] to features and logits."""
    return _existing_path("TFGAN_STUDY_FEATURE_MODEL", "saved_model.pb")
