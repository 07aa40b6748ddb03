"""Presets: the study's published best models as named configurations.

Each preset sets the configuration of one best model from the study's
released code (compare_gan v2 `generate_tasks_lib.py`), with the FID the
study reported for it (10K samples against the test split, or 3K for
CelebA-HQ, with the 2015 Inception graph; lowest over checkpoints taken
every 20K steps). Flags given explicitly on the command line override a
preset's values. Lines of the study's tables that repeat a configuration,
or differ only in an unused penalty weight, appear once, with the lower FID.
"""

from typing import Any, NamedTuple


class Preset(NamedTuple):
    """A published configuration and the FID the study reported for it."""

    values: dict[str, Any]
    reported_fid: float
    source: str


def _sndcgan(dataset, fid, row, **values) -> Preset:
    values = {"architecture": "sndcgan", "dataset": dataset, **values}
    return Preset(values, fid, f"SNDCGAN best models, line {row}")


def _resnet19(dataset, fid, row, **values) -> Preset:
    values = {"architecture": "resnet19", "dataset": dataset, **values}
    return Preset(values, fid, f"ResNet19 best models, line {row}")


def _resnet_cifar(fid, row, **values) -> Preset:
    values = {
        "architecture": "resnet_cifar",
        "dataset": "cifar10",
        "disc_iters": 5,
        **values,
    }
    return Preset(values, fid, f"ResNet-CIFAR best models, line {row}")


_NONE = {"normalization": "none", "penalty": "none"}
_SN = {"normalization": "spectral_norm", "penalty": "none"}
_SN_GP = {"normalization": "spectral_norm", "penalty": "wgan_gp"}
_LN = {"normalization": "layer_norm", "penalty": "none"}
_CELEBA = "celeb_a_hq/128"
_LSUN = "lsun/bedroom"

PRESETS: dict[str, Preset] = {
    "sndcgan_cifar10_ns_none_lr1e-4": _sndcgan(
        "cifar10", 28.66, 1, **_NONE, learning_rate=1e-4, seed=2
    ),
    "sndcgan_cifar10_ns_none_lr2e-4": _sndcgan(
        "cifar10", 33.23, 2, **_NONE, learning_rate=2e-4, seed=2
    ),
    "sndcgan_celebahq_ns_none_lr4.12e-4": _sndcgan(
        _CELEBA, 61.15, 3, **_NONE, learning_rate=4.12e-4, beta1=0.246,
        beta2=0.341, seed=23,
    ),
    "sndcgan_celebahq_ns_none_lr2.54e-4": _sndcgan(
        _CELEBA, 62.96, 4, **_NONE, learning_rate=2.54e-4, beta1=0.222,
        beta2=0.599, seed=23,
    ),
    "sndcgan_lsun_ns_none_lr2e-4": _sndcgan(
        _LSUN, 163.51, 5, **_NONE, learning_rate=2e-4, seed=23
    ),
    "sndcgan_lsun_ns_none_lr6.2e-5": _sndcgan(
        _LSUN, 167.15, 6, **_NONE, learning_rate=6.2e-5, beta1=0.608,
        beta2=0.620, seed=23,
    ),
    "sndcgan_cifar10_ns_sn_lr2e-4": _sndcgan(
        "cifar10", 25.27, 7, **_SN, learning_rate=2e-4, seed=2
    ),
    "sndcgan_cifar10_ns_sn_lr1e-4": _sndcgan(
        "cifar10", 26.16, 8, **_SN, learning_rate=1e-4, seed=2
    ),
    "sndcgan_celebahq_ns_sn_lr2e-4_b2_0.9": _sndcgan(
        _CELEBA, 28.21, 9, **_SN, learning_rate=2e-4, beta2=0.9, seed=2
    ),
    "sndcgan_celebahq_ns_sn_lr1.54e-4": _sndcgan(
        _CELEBA, 29.92, 10, **_SN, learning_rate=1.54e-4, beta1=0.246,
        beta2=0.734, seed=2,
    ),
    "sndcgan_lsun_ns_sn_lr2.64e-4": _sndcgan(
        _LSUN, 53.59, 11, **_SN, learning_rate=2.64e-4, beta1=0.011,
        beta2=0.966, seed=2,
    ),
    "sndcgan_lsun_ns_sn_lr1.92e-3": _sndcgan(
        _LSUN, 56.71, 12, **_SN, learning_rate=1.92e-3, beta1=0.097,
        beta2=0.938, seed=2,
    ),
    "sndcgan_cifar10_ns_sn_gp10_lr2e-4": _sndcgan(
        "cifar10", 26.00, 14, **_SN_GP, penalty_weight=10.0,
        learning_rate=2e-4, seed=2,
    ),
    "sndcgan_celebahq_ns_sn_gp_lr2e-4": _sndcgan(
        _CELEBA, 24.67, 15, **_SN_GP, penalty_weight=1.0, learning_rate=2e-4,
        seed=2,
    ),
    "sndcgan_celebahq_ns_sn_gp_lr2e-4_b2_0.9": _sndcgan(
        _CELEBA, 25.22, 16, **_SN_GP, penalty_weight=1.0, learning_rate=2e-4,
        beta2=0.9, seed=2,
    ),
    "resnet19_celebahq_ns_none_lr3.38e-5": _resnet19(
        _CELEBA, 34.29, 1, **_NONE, learning_rate=3.381e-5, beta1=0.3753,
        beta2=0.9982,
    ),
    "resnet19_celebahq_ns_none_lr1e-4": _resnet19(
        _CELEBA, 35.85, 2, **_NONE, learning_rate=1e-4
    ),
    "resnet19_lsun_ls_none_lr3.22e-5": _resnet19(
        _LSUN, 102.74, 3, **_NONE, loss="ls", learning_rate=3.22e-5,
        beta1=0.5850, beta2=0.9904,
    ),
    "resnet19_lsun_ns_none_lr1.93e-5": _resnet19(
        _LSUN, 112.92, 4, **_NONE, learning_rate=1.927e-5, beta1=0.1947,
        beta2=0.8819,
    ),
    "resnet19_celebahq_ns_ln_lr1e-4": _resnet19(
        _CELEBA, 30.02, 5, **_LN, learning_rate=1e-4
    ),
    "resnet19_lsun_ls_sn_lr2e-4": _resnet19(
        _LSUN, 41.60, 7, **_SN, loss="ls", learning_rate=2e-4
    ),
    "resnet19_lsun_ns_sn_lr2.851e-4": _resnet19(
        _LSUN, 42.51, 8, **_SN, learning_rate=2.851e-4, beta1=0.1019,
        beta2=0.998,
    ),
    "resnet19_celebahq_ns_sn_gp_lr2e-4": _resnet19(
        _CELEBA, 29.04, 9, **_SN_GP, penalty_weight=1.0, learning_rate=2e-4
    ),
    "resnet19_celebahq_ns_ln_dragan_lr1e-4_ndis5": _resnet19(
        _CELEBA, 29.13, 10, normalization="layer_norm", penalty="dragan",
        penalty_weight=1.0, learning_rate=1e-4, beta2=0.9, disc_iters=5,
    ),
    "resnet19_lsun_ns_ln_gp_lr1.281e-4": _resnet19(
        _LSUN, 40.36, 11, normalization="layer_norm", penalty="wgan_gp",
        penalty_weight=0.1451, learning_rate=1.281e-4, beta1=0.7108,
        beta2=0.9792,
    ),
    "resnet_cifar_cifar10_ns_none_lr2e-4": _resnet_cifar(
        28.12, 1, **_NONE, learning_rate=2e-4
    ),
    "resnet_cifar_cifar10_ns_none_lr1e-4": _resnet_cifar(
        30.08, 2, **_NONE, learning_rate=1e-4
    ),
    "resnet_cifar_cifar10_ns_sn_lr2e-4": _resnet_cifar(
        22.91, 3, **_SN, learning_rate=2e-4
    ),
    "resnet_cifar_cifar10_ns_sn_gp_lr2e-4": _resnet_cifar(
        22.73, 5, **_SN_GP, penalty_weight=1.0, learning_rate=2e-4
    ),
}


def get(name: str) -> Preset:
    """Return the preset called `name`."""
    if name not in PRESETS:
        raise ValueError(
            f"Unknown preset {name!r}. Expected one of: "
            f"{', '.join(sorted(PRESETS))}."
        )
    return PRESETS[name]
