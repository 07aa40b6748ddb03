"""Tests of the four losses against values worked out by hand."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfgan_study import losses

LOG2 = math.log(2.0)

# (loss, real logits, fake logits, expected d_real, d_fake, g per example)
GOLDEN = [
    ("ns", [0.0], [0.0], [LOG2], [LOG2], [LOG2]),
    ("wgan", [2.0, -1.0], [-1.0, 3.0], [-2.0, 1.0], [-1.0, 3.0], [1.0, -3.0]),
    ("ls", [0.0], [0.0], [0.125], [0.125], [0.125]),
    ("hinge", [0.5, 2.0], [-0.25, -3.0], [0.5, 0.0], [0.75, 0.0], [0.25, 3.0]),
]


@pytest.mark.parametrize("name,real,fake,d_real,d_fake,g", GOLDEN)
def test_loss_matches_hand_values(name, real, fake, d_real, d_fake, g):
    output = losses.get(name)(tf.constant(real), tf.constant(fake))
    np.testing.assert_allclose(output.d_real.numpy(), d_real, rtol=1e-6)
    np.testing.assert_allclose(output.d_fake.numpy(), d_fake, rtol=1e-6)
    np.testing.assert_allclose(output.g.numpy(), g, rtol=1e-6)


def _reference(name, real, fake):
    softplus = lambda t: np.log1p(np.exp(t))
    sigmoid = lambda t: 1.0 / (1.0 + np.exp(-t))
    if name == "ns":
        return softplus(-real), softplus(fake), softplus(-fake)
    if name == "wgan":
        return -real, fake, -fake
    if name == "ls":
        return (
            0.5 * (sigmoid(real) - 1) ** 2,
            0.5 * sigmoid(fake) ** 2,
            0.5 * (sigmoid(fake) - 1) ** 2,
        )
    return np.maximum(0, 1 - real), np.maximum(0, 1 + fake), -fake


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_loss_matches_float64_reference(name):
    rng = np.random.default_rng(0)
    real = rng.normal(size=16) * 3
    fake = rng.normal(size=16) * 3
    output = losses.get(name)(
        tf.constant(real[:, None], tf.float32),
        tf.constant(fake[:, None], tf.float32),
    )
    expected = _reference(name, real, fake)
    for actual, wanted in zip(output, expected):
        assert actual.shape == (16,)
        np.testing.assert_allclose(actual.numpy(), wanted, rtol=1e-5, atol=1e-6)


def test_ns_is_finite_for_extreme_logits():
    output = losses.ns(tf.constant([-1e4, 1e4]), tf.constant([1e4, -1e4]))
    for terms in output:
        assert np.all(np.isfinite(terms.numpy()))


def test_loss_rejects_matrix_logits():
    with pytest.raises(ValueError, match=r"shape \[batch_size\]"):
        losses.ns(tf.zeros([2, 3]), tf.zeros([2, 3]))


def test_get_lists_valid_losses():
    with pytest.raises(ValueError, match="Expected one of: hinge, ls, ns, wgan"):
        losses.get("nonsaturating")
