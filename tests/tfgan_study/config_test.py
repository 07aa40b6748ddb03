"""Tests of configuration validation, JSON round trips and resume rules."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tfgan_study import config as config_lib
from tfgan_study import presets


def _resolve(**values):
    return config_lib.resolve(config_lib.StudyConfig(**values))


def test_resolve_fills_dataset_defaults():
    cifar = _resolve(dataset="cifar10")
    assert (cifar.resolution, cifar.training_steps) == (32, 200000)
    assert cifar.num_eval_samples == 10000
    celeba = _resolve(dataset="celeb_a_hq/128", architecture="resnet19")
    assert (celeba.resolution, celeba.num_eval_samples) == (128, 3000)
    assert celeba.training_steps == 200000
    lsun = _resolve(dataset="lsun/bedroom")
    assert (lsun.resolution, lsun.training_steps) == (128, 100000)
    assert _resolve(dataset="fashion_mnist").resolution == 32


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("loss", "wgangp", r"Unknown loss 'wgangp'. Expected one of: hinge, ls"),
        ("penalty", "gp", r"Unknown penalty 'gp'. Expected one of: dragan, l2"),
        ("normalization", "sn", r"Unknown normalization 'sn'"),
        ("architecture", "resnet", r"Unknown architecture 'resnet'"),
        ("strategy", "gpu", r"Unknown strategy 'gpu'"),
        ("beta1", 1.0, r"beta1 must be in \[0.0, 1.0\)"),
        ("beta2", -0.1, r"beta2 must be in \[0.0, 1.0\)"),
        ("learning_rate", float("nan"), r"learning_rate must be finite"),
        ("learning_rate", 0.0, r"learning_rate must be in \(0, 1\]"),
        ("penalty_weight", float("inf"), r"penalty_weight must be finite"),
        ("disc_iters", 0, r"disc_iters must be at least 1"),
        ("training_steps", 0, r"training_steps must be at least 1"),
        ("global_batch_size", 1, r"global_batch_size must be at least 2"),
        ("z_dim", 2.5, r"z_dim must be an integer"),
        ("resolution", 36, r"sndcgan needs a resolution divisible by 8"),
        ("eval_every_steps", -1, r"eval_every_steps must be at least 0"),
        ("dataset", "folder:", r"names no folder"),
    ],
)
def test_resolve_rejects_bad_values(field, value, message):
    with pytest.raises(config_lib.ConfigError, match=message):
        _resolve(**{field: value})


def test_resolve_rejects_resolution_the_architecture_lacks():
    with pytest.raises(config_lib.ConfigError, match="resnet19 generates"):
        _resolve(architecture="resnet19", dataset="cifar10")


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(config_lib.ConfigError, match="Unknown keys in test: dics_iters"):
        config_lib.from_dict({"dics_iters": 5}, "test")


def test_json_round_trip_keeps_every_field():
    config = _resolve(dataset="mnist", loss="hinge", penalty="l2", seed=7)
    assert config_lib.from_json(config_lib.to_json(config)) == config
    assert set(json.loads(config_lib.to_json(config))) == set(
        config_lib.field_names()
    )


def test_from_json_rejects_non_object():
    with pytest.raises(config_lib.ConfigError, match="must hold a JSON object"):
        config_lib.from_json("[1, 2]")


def test_batch_must_split_across_replicas():
    config = _resolve(global_batch_size=100)
    config_lib.check_divisible_batch(config, 4)
    with pytest.raises(config_lib.ConfigError, match=r"replicas \(8\)"):
        config_lib.check_divisible_batch(config, 8)


def test_resume_allows_cadence_and_length_changes():
    stored = _resolve(dataset="fashion_mnist")
    requested = stored.replace(
        training_steps=5, eval_every_steps=7, strategy="mirrored",
        num_eval_samples=50, eval_model="/elsewhere", log_every_steps=1,
        checkpoint_every_steps=3, tfds_data_dir="/moved/tfds",
    )
    config_lib.check_resume_compatible(stored, requested)


def test_resume_rejects_changed_mathematics_naming_keys():
    stored = _resolve(dataset="fashion_mnist")
    requested = stored.replace(learning_rate=1e-3, loss="hinge")
    with pytest.raises(config_lib.ConfigError) as error:
        config_lib.check_resume_compatible(stored, requested)
    assert "learning_rate: stored 0.0002, requested 0.001" in str(error.value)
    assert "loss: stored 'ns', requested 'hinge'" in str(error.value)


def test_config_choices_match_registries():
    from tfgan_study import architectures
    from tfgan_study import losses

    assert set(config_lib.LOSSES) == set(losses.LOSSES)
    assert set(config_lib.ARCHITECTURES) == set(architectures.ARCHITECTURES)


@pytest.mark.parametrize("name", sorted(presets.PRESETS))
def test_every_preset_resolves(name):
    preset = presets.get(name)
    config = config_lib.resolve(config_lib.from_dict(preset.values))
    assert preset.reported_fid > 0
    assert config.dataset in config_lib.DATASET_RESOLUTIONS


def test_preset_example_from_the_docs_exists():
    preset = presets.get("resnet_cifar_cifar10_ns_sn_gp_lr2e-4")
    assert preset.reported_fid == 22.73
    assert preset.values["disc_iters"] == 5


@given(
    beta1=st.floats(allow_nan=True, allow_infinity=True),
    disc_iters=st.integers(min_value=-5, max_value=10),
)
def test_resolve_accepts_exactly_the_valid_range(beta1, disc_iters):
    valid = 0.0 <= beta1 < 1.0 and disc_iters >= 1
    try:
        _resolve(beta1=beta1, disc_iters=disc_iters)
    except config_lib.ConfigError:
        assert not valid
    else:
        assert valid
