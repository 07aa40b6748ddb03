"""Tests of the feature extractor on the shared feature network and fakes.

TF-GAN's Inception module cannot be downloaded here, so Inception mode is
tested with its preprocessing and with a small stand-in SavedModel that has
the real output names (`pool_3`, `logits`) and a fixed batch signature.
"""

import pathlib

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub

from tfgan_study import config
from tfgan_study.metrics import feature_extractor

_FAKE_INCEPTION_BATCH = 4
_LOGIT_WEIGHTS = np.arange(1.0, 6.0, dtype=np.float32)


class _FakeInception(tf.Module):
    """Returns the first row of channel 0 as `pool_3`, like the real names."""

    @tf.function(
        input_signature=[
            tf.TensorSpec([_FAKE_INCEPTION_BATCH, 299, 299, 3], tf.float32)
        ]
    )
    def __call__(self, images):
        first_row = images[:, 0, :, 0]  # [batch, 299]
        logits = (
            tf.reduce_mean(images, axis=[1, 2, 3])[:, None] * _LOGIT_WEIGHTS
        )
        return {
            "pool_3": tf.reshape(first_row, [-1, 1, 1, 299]),
            "logits": logits,
        }


class _MeanFeatures(tf.Module):
    """Returns the per-channel mean, without a `logits` function."""

    @tf.function(
        input_signature=[tf.TensorSpec([None, None, None, None], tf.float32)]
    )
    def __call__(self, images):
        return tf.reduce_mean(images, axis=[1, 2])


class _DictOutput(tf.Module):
    """Returns a dict that is not Inception's."""

    @tf.function(
        input_signature=[tf.TensorSpec([None, None, None, None], tf.float32)]
    )
    def __call__(self, images):
        return {"embedding": tf.reduce_mean(images, axis=[1, 2])}


class _NotCallable(tf.Module):
    def __init__(self):
        super().__init__()
        self.scale = tf.Variable(1.0)


@pytest.fixture(scope="module")
def fake_models(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("fake_models")
    paths = {}
    for name, module in [
        ("inception", _FakeInception()),
        ("mean", _MeanFeatures()),
        ("dict", _DictOutput()),
        ("not_callable", _NotCallable()),
    ]:
        paths[name] = str(root / name)
        tf.saved_model.save(module, paths[name])
    return paths


@pytest.fixture(scope="module")
def extractor(feature_model_path) -> feature_extractor.FeatureExtractor:
    return feature_extractor.FeatureExtractor(feature_model_path)


def _images(seed, shape):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def _legacy_bilinear_row(row: np.ndarray, out_width: int) -> np.ndarray:
    """Resizes one row with the TF1 rule: sample at j * in / out, clamped."""
    in_width = row.shape[0]
    source = np.arange(out_width) * in_width / out_width
    left = np.floor(source).astype(int)
    right = np.minimum(left + 1, in_width - 1)
    fraction = source - left
    return (1.0 - fraction) * row[left] + fraction * row[right]


def test_preprocess_legacy_resize_values():
    images = np.array([[[[0.0], [1.0]]]], dtype=np.float32)  # [1, 1, 2, 1]

    processed = feature_extractor.preprocess_for_inception(images, (1, 4))

    pixels = processed.numpy()[0, 0, :, 0] * 128.0 + 128.0
    np.testing.assert_allclose(pixels, [0.0, 127.5, 255.0, 255.0], atol=1e-4)


def test_preprocess_differs_from_half_pixel_resize():
    # TF2's default resize uses half-pixel centres and gives other values.
    images = tf.constant([[[[0.0], [255.0]]]])

    half_pixel = tf.image.resize(images, (1, 4), method="bilinear")

    np.testing.assert_allclose(
        half_pixel.numpy().ravel(), [0.0, 63.75, 191.25, 255.0], atol=1e-4
    )


def test_preprocess_output_shape_and_range():
    images = _images(0, (2, 28, 28, 1))
    images[0, 0, 0, 0] = 0.0
    images[1, 0, 0, 0] = 1.0

    processed = feature_extractor.preprocess_for_inception(images).numpy()

    assert processed.shape == (2, 299, 299, 3)
    assert processed.min() == pytest.approx(-1.0)
    assert processed.max() == pytest.approx(127.0 / 128.0)
    np.testing.assert_array_equal(processed[..., 0], processed[..., 2])


def test_preprocess_rejects_two_channels():
    with pytest.raises(ValueError, match=r"shape=\(1, 4, 4, 2\)"):
        feature_extractor.preprocess_for_inception(np.zeros((1, 4, 4, 2)))


def test_extractor_shared_model_shapes(extractor, feature_model_path):
    activations = extractor.compute([_images(1, (6, 28, 28, 1))])

    assert activations.features.shape == (6, 256)
    assert activations.features.dtype == np.float32
    assert activations.logits.shape == (6, 10)
    assert extractor.has_logits
    assert extractor.handle == feature_model_path
    assert extractor.preprocessing_id == "module_call_0_1"
    assert extractor.batch_size == feature_extractor.DEFAULT_BATCH_SIZE


def test_extractor_matches_direct_module_call(extractor, feature_model_path):
    images = _images(2, (5, 32, 32, 3))
    module = hub.load(feature_model_path)

    activations = extractor.compute(images)

    np.testing.assert_allclose(
        activations.features, module(tf.constant(images)).numpy(), rtol=1e-6
    )
    np.testing.assert_allclose(
        activations.logits,
        module.logits(tf.constant(images)).numpy(),
        rtol=1e-6,
    )


def test_extractor_batching_same_features(extractor, feature_model_path):
    images = _images(3, (10, 28, 28, 1))
    small_calls = feature_extractor.FeatureExtractor(
        feature_model_path, batch_size=3
    )

    whole = extractor.compute([images])
    uneven = extractor.compute([images[:1], images[1:7], images[7:]])
    tensors = small_calls.compute(tf.constant(b) for b in np.split(images, 5))

    np.testing.assert_allclose(uneven.features, whole.features, atol=1e-5)
    np.testing.assert_allclose(tensors.features, whole.features, atol=1e-5)
    np.testing.assert_allclose(tensors.logits, whole.logits, atol=1e-5)


@pytest.mark.parametrize("low, high", [(-1.0, 1.0), (0.0, 255.0), (0.0, 1.01)])
def test_extractor_out_of_range_raises(extractor, low, high):
    images = np.linspace(low, high, 2 * 8 * 8).reshape(2, 8, 8, 1)

    with pytest.raises(
        ValueError, match=rf"\[0, 1\].*min={low:g}, max={high:g}"
    ):
        extractor.compute([images])


def test_extractor_range_tolerance_accepts_round_off(extractor):
    images = np.full((1, 8, 8, 1), 1.0 + 1e-6, dtype=np.float32)

    assert extractor.compute([images]).features.shape == (1, 256)


def test_extractor_out_of_range_names_batch(extractor):
    batches = [np.zeros((1, 8, 8, 1)), np.full((1, 8, 8, 1), 2.0)]

    with pytest.raises(ValueError, match="in batch 1"):
        extractor.compute(batches)


def test_extractor_nan_raises(extractor):
    images = np.zeros((2, 8, 8, 1))
    images[1, 3, 3, 0] = np.nan

    with pytest.raises(ValueError, match="num_non_finite=1"):
        extractor.compute([images])


def test_extractor_wrong_rank_raises(extractor):
    with pytest.raises(ValueError, match=r"shape=\(8, 8, 1\)"):
        extractor.compute([np.zeros((8, 8, 1))])


def test_extractor_no_images_raises(extractor):
    with pytest.raises(ValueError, match="no images"):
        extractor.compute([])


def test_extractor_without_logits(fake_models):
    extractor = feature_extractor.FeatureExtractor(fake_models["mean"])
    images = _images(4, (3, 8, 8, 3))

    activations = extractor.compute([images])

    assert not extractor.has_logits
    assert activations.logits is None
    np.testing.assert_allclose(
        activations.features, images.mean(axis=(1, 2)), rtol=1e-6
    )


def test_extractor_unknown_dict_output_raises(fake_models):
    extractor = feature_extractor.FeatureExtractor(fake_models["dict"])

    with pytest.raises(TypeError, match=r"Received keys: \['embedding'\]"):
        extractor.compute([np.zeros((1, 8, 8, 3))])


def test_extractor_not_callable_raises(fake_models):
    with pytest.raises(TypeError, match="must be callable"):
        feature_extractor.FeatureExtractor(fake_models["not_callable"])


def test_extractor_fake_inception_outputs(fake_models):
    extractor = feature_extractor.FeatureExtractor(fake_models["inception"])
    # 6 images in batches of 2 and 4 become network calls of 4 and 2, and
    # the second call is padded to the signature's fixed batch of 4.
    images = _images(5, (6, 3, 5, 1))

    activations = extractor.compute([images[:2], images[2:]])

    assert extractor.preprocessing_id == "tfgan_inception_legacy_bilinear_299"
    assert extractor.batch_size == _FAKE_INCEPTION_BATCH
    assert activations.features.shape == (6, 299)
    for index in range(6):
        expected_row = _legacy_bilinear_row(images[index, 0, :, 0] * 255.0, 299)
        np.testing.assert_allclose(
            activations.features[index],
            (expected_row - 128.0) / 128.0,
            atol=1e-5,
        )
    preprocessed = feature_extractor.preprocess_for_inception(images).numpy()
    expected_logits = (
        preprocessed.mean(axis=(1, 2, 3))[:, None] * _LOGIT_WEIGHTS
    )
    np.testing.assert_allclose(activations.logits, expected_logits, atol=1e-5)


def test_extractor_fixed_batch_mismatch_raises(fake_models):
    with pytest.raises(
        ValueError, match=r"one of \[4\]. Received: batch_size=3"
    ):
        feature_extractor.FeatureExtractor(
            fake_models["inception"], batch_size=3
        )


def test_extractor_nonpositive_batch_size_raises(feature_model_path):
    with pytest.raises(ValueError, match="batch_size=0"):
        feature_extractor.FeatureExtractor(feature_model_path, batch_size=0)


def test_extractor_default_handle_selects_inception(monkeypatch):
    # A plain callable has no traced signature, so only the handle can
    # select Inception mode here.
    def fake_inception(images):
        corner = images[:, :1, :1, :]  # [batch, 1, 1, 3]
        return {"pool_3": corner, "logits": tf.reshape(corner, [-1, 3])[:, :2]}

    monkeypatch.setattr(hub, "load", lambda handle: fake_inception)
    extractor = feature_extractor.FeatureExtractor(config.DEFAULT_EVAL_MODEL)
    images = np.full((3, 10, 10, 1), 0.75, dtype=np.float32)

    activations = extractor.compute([images])

    assert extractor.preprocessing_id == "tfgan_inception_legacy_bilinear_299"
    expected = (0.75 * 255.0 - 128.0) / 128.0
    np.testing.assert_allclose(
        activations.features, np.full((3, 3), expected), atol=1e-6
    )
    assert activations.logits.shape == (3, 2)


def test_extractor_generic_mode_passes_images_unchanged(monkeypatch):
    received = []

    def module(images):
        received.append(images.numpy())
        return tf.reduce_mean(images, axis=[1, 2])

    monkeypatch.setattr(hub, "load", lambda handle: module)
    extractor = feature_extractor.FeatureExtractor(str(pathlib.Path("model")))
    images = _images(6, (2, 5, 7, 3))

    extractor.compute([images])

    np.testing.assert_array_equal(received[0], images)
    assert extractor.preprocessing_id == "module_call_0_1"
