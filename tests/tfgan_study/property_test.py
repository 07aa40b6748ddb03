"""Property-based tests of configuration parsing and of the metric invariants."""

import math

import numpy as np
import pytest
from hypothesis import assume
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tfgan_study import config as config_lib
from tfgan_study import run_dir
from tfgan_study.metrics import fid
from tfgan_study.metrics import kid

_SETTINGS = settings(max_examples=30, deadline=None)

_names = st.text(
    st.characters(min_codepoint=ord("a"), max_codepoint=ord("z")) | st.just("_"),
    min_size=1, max_size=12,
)


@st.composite
def _valid_configs(draw):
    architecture = draw(st.sampled_from(config_lib.ARCHITECTURES))
    supported = config_lib.ARCHITECTURE_RESOLUTIONS.get(architecture)
    if supported is None:
        resolution = draw(st.integers(1, 32)) * 8
    else:
        resolution = draw(st.sampled_from(supported))
    unit = st.floats(0.0, 1.0, exclude_max=True, allow_nan=False)
    return config_lib.StudyConfig(
        dataset=draw(st.sampled_from(
            sorted(config_lib.DATASET_RESOLUTIONS) + ["folder:/data/faces"]
        )),
        tfds_data_dir=draw(st.none() | st.just("/data/tfds")),
        resolution=resolution,
        architecture=architecture,
        loss=draw(st.sampled_from(config_lib.LOSSES)),
        penalty=draw(st.sampled_from(config_lib.PENALTIES)),
        normalization=draw(st.sampled_from(config_lib.NORMALIZATIONS)),
        learning_rate=draw(st.floats(1e-7, 1.0)),
        beta1=draw(unit),
        beta2=draw(unit),
        disc_iters=draw(st.integers(1, 10)),
        penalty_weight=draw(st.floats(0.0, 1e6)),
        training_steps=draw(st.none() | st.integers(1, 10**6)),
        global_batch_size=draw(st.integers(2, 4096)),
        z_dim=draw(st.integers(1, 512)),
        seed=draw(st.integers(0, 2**31)),
        strategy=draw(st.sampled_from(config_lib.STRATEGIES)),
        checkpoint_every_steps=draw(st.integers(0, 10**5)),
        eval_every_steps=draw(st.integers(0, 10**5)),
        log_every_steps=draw(st.integers(0, 10**4)),
        num_eval_samples=draw(st.none() | st.integers(2, 50000)),
    )


@_SETTINGS
@given(config=_valid_configs())
def test_json_round_trip(config):
    resolved = config_lib.resolve(config)
    assert config_lib.from_json(config_lib.to_json(resolved)) == resolved
    assert config_lib.resolve(resolved) == resolved


@settings(max_examples=10, deadline=None)
@given(config=_valid_configs())
def test_config_json_round_trip(tmp_path_factory, config):
    resolved = config_lib.resolve(config)
    model_dir = str(tmp_path_factory.mktemp("run"))
    run_dir.save_config(model_dir, resolved, 3)
    assert run_dir.load_config(model_dir) == resolved
    assert run_dir.load_num_channels(model_dir) == 3


_CHOICE_FIELDS = {
    "architecture": config_lib.ARCHITECTURES,
    "loss": config_lib.LOSSES,
    "penalty": config_lib.PENALTIES,
    "normalization": config_lib.NORMALIZATIONS,
    "strategy": config_lib.STRATEGIES,
}


@_SETTINGS
@given(field=st.sampled_from(sorted(_CHOICE_FIELDS)), value=_names)
def test_unknown_name_lists_choices(field, value):
    choices = _CHOICE_FIELDS[field]
    assume(value not in choices)
    with pytest.raises(config_lib.ConfigError) as raised:
        config_lib.resolve(config_lib.StudyConfig(**{field: value}))
    message = str(raised.value)
    assert f"Unknown {field} {value!r}" in message
    assert ", ".join(sorted(choices)) in message


# For each numeric field, a strategy of values that resolve must reject.
_INVALID_VALUES = {
    "learning_rate": st.sampled_from([math.nan, math.inf, -math.inf, 0.0])
    | st.floats(max_value=0.0, exclude_max=True)
    | st.floats(min_value=1.0, exclude_min=True),
    "beta1": st.sampled_from([math.nan, math.inf, 1.0])
    | st.floats(max_value=0.0, exclude_max=True)
    | st.floats(min_value=1.0),
    "beta2": st.sampled_from([math.nan, -math.inf, 1.0])
    | st.floats(max_value=0.0, exclude_max=True)
    | st.floats(min_value=1.0),
    "penalty_weight": st.sampled_from([math.nan, math.inf])
    | st.floats(max_value=0.0, exclude_max=True)
    | st.floats(min_value=1e6, exclude_min=True),
    "disc_iters": st.integers(max_value=0),
    "training_steps": st.integers(max_value=0),
    "global_batch_size": st.integers(max_value=1),
    "z_dim": st.integers(max_value=0),
    "seed": st.integers(max_value=-1),
    "checkpoint_every_steps": st.integers(max_value=-1),
    "eval_every_steps": st.integers(max_value=-1),
    "log_every_steps": st.integers(max_value=-1),
    "num_eval_samples": st.integers(max_value=1),
    "resolution": st.integers(max_value=7),
}


@_SETTINGS
@given(data=st.data(), field=st.sampled_from(sorted(_INVALID_VALUES)))
def test_invalid_value_names_field(data, field):
    value = data.draw(_INVALID_VALUES[field])
    with pytest.raises(config_lib.ConfigError) as raised:
        config_lib.resolve(config_lib.StudyConfig(**{field: value}))
    assert field in str(raised.value)


@_SETTINGS
@given(field=st.sampled_from(sorted(_INVALID_VALUES)), value=_names)
def test_wrong_type_names_field(field, value):
    with pytest.raises(config_lib.ConfigError) as raised:
        config_lib.resolve(config_lib.StudyConfig(**{field: value}))
    assert field in str(raised.value)


def _gaussian(rng, dim, scale):
    factor = rng.standard_normal((dim, dim)) * scale
    return rng.standard_normal(dim) * scale, factor @ factor.T


@_SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    dim=st.integers(1, 8),
    scale=st.floats(0.01, 10.0),
)
def test_frechet_distance_symmetric_nonnegative(seed, dim, scale):
    rng = np.random.default_rng(seed)
    mu1, sigma1 = _gaussian(rng, dim, scale)
    mu2, sigma2 = _gaussian(rng, dim, scale)

    forward = fid.frechet_distance(mu1, sigma1, mu2, sigma2)
    backward = fid.frechet_distance(mu2, sigma2, mu1, sigma1)

    assert forward >= 0.0
    size = np.trace(sigma1) + np.trace(sigma2) + np.sum((mu1 - mu2) ** 2)
    assert forward == pytest.approx(backward, rel=1e-6, abs=1e-9 * size)


@_SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    dim=st.integers(1, 8),
    scale=st.floats(0.01, 10.0),
)
def test_frechet_distance_zero_on_same_gaussian(seed, dim, scale):
    mu, sigma = _gaussian(np.random.default_rng(seed), dim, scale)
    distance = fid.frechet_distance(mu, sigma, mu, sigma)
    assert 0.0 <= distance <= 1e-9 * max(1.0, float(np.trace(sigma)))


_feature_sets = st.tuples(
    st.integers(0, 2**32 - 1), st.integers(2, 20), st.integers(2, 20),
    st.integers(1, 16), st.floats(0.1, 10.0),
)


@_SETTINGS
@given(sets=_feature_sets)
def test_kid_symmetric(sets):
    seed, count_a, count_b, dim, scale = sets
    rng = np.random.default_rng(seed)
    features_a = rng.standard_normal((count_a, dim)) * scale
    features_b = rng.standard_normal((count_b, dim)) * scale + 0.5

    forward = kid.kernel_inception_distance(features_a, features_b)
    backward = kid.kernel_inception_distance(features_b, features_a)

    assert math.isfinite(forward)
    assert forward == pytest.approx(backward, rel=1e-9, abs=1e-12)


@_SETTINGS
@given(sets=_feature_sets)
def test_kid_of_identical_sets_not_positive(sets):
    # The unbiased estimate of a set against itself is
    # 2 (S - n D) / (n^2 (n - 1)) for the kernel matrix's total S and trace
    # D, and S <= n D for a positive semi-definite kernel, so it is at most
    # zero. It is not clipped, so it may be negative.
    seed, count, _, dim, scale = sets
    features = np.random.default_rng(seed).standard_normal((count, dim)) * scale
    value = kid.kernel_inception_distance(features, features)
    kernel = (features @ features.T / dim + 1.0) ** 3
    assert value <= 1e-12 * np.abs(kernel).max()
