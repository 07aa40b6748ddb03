"""Tests of the TFDS pipelines, the data order and the offline checks.

Fashion-MNIST tests read the prepared data in `TFDS_DATA_DIR` (the
`tfds_data_dir` fixture). The other TFDS cases use empty data directories,
with network access made to fail, so nothing is ever downloaded.
"""

import glob
import os
import socket
import time

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_datasets.core.utils import gcs_utils

from tfgan_study import config
from tfgan_study import datasets


def fashion_config(**changes) -> config.StudyConfig:
    cfg = config.StudyConfig(dataset="fashion_mnist", global_batch_size=16)
    return config.resolve(cfg.replace(**changes))


def collect(dataset: tf.data.Dataset) -> list[np.ndarray]:
    return list(dataset.as_numpy_iterator())


@pytest.fixture
def no_network(monkeypatch):
    """Make every socket connection and every TFDS GCS lookup fail."""

    def fail(*args, **kwargs):
        raise AssertionError(f"Network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", fail)
    monkeypatch.setattr(socket, "create_connection", fail)
    monkeypatch.setattr(socket, "getaddrinfo", fail)
    monkeypatch.setattr(gcs_utils, "exists", fail)
    monkeypatch.setattr(gcs_utils, "is_dataset_on_gcs", fail)
    # Behave like the TFDS releases that looked up metadata on GCS by
    # default; check_available must switch that off itself.
    monkeypatch.setattr(gcs_utils, "_is_gcs_disabled", False)


@pytest.fixture
def empty_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("TFDS_DATA_DIR", raising=False)
    data_dir = tmp_path / "tfds"
    data_dir.mkdir()
    return str(data_dir)


def raw_records(tfds_data_dir: str, split: str) -> np.ndarray:
    """Read the Fashion-MNIST records of `split` in file order, without TFDS."""
    pattern = os.path.join(
        tfds_data_dir, "fashion_mnist", "*", f"fashion_mnist-{split}.tfrecord*"
    )
    records = tf.data.TFRecordDataset(sorted(glob.glob(pattern)))
    return next(iter(records.batch(100000))).numpy()


def decode_records(records) -> np.ndarray:
    images = []
    for record in records:
        example = tf.train.Example.FromString(record)
        encoded = example.features.feature["image"].bytes_list.value[0]
        images.append(tf.io.decode_png(encoded).numpy())
    return np.stack(images)


def resize_like_study(images: np.ndarray) -> np.ndarray:
    scaled = tf.cast(images, tf.float32) / 255.0
    return tf.image.resize(scaled, [32, 32], method="bilinear").numpy()


def test_check_available_fashion_mnist_info(tfds_data_dir, no_network):
    info = datasets.check_available(fashion_config())

    assert info.name == "fashion_mnist"
    assert info.resolution == 32
    assert info.num_channels == 1
    assert info.num_train_examples == 60000
    assert info.train_split == "train"
    assert info.reference_split == "test"
    assert info.num_reference_examples == 10000


def test_build_train_dataset_shape_dtype_range(tfds_data_dir):
    cfg = fashion_config()
    info = datasets.check_available(cfg)

    dataset = datasets.build_train_dataset(cfg, info, 0, 3)
    batches = collect(dataset)

    assert dataset.element_spec.shape == (16, 32, 32, 1)
    assert dataset.element_spec.dtype == tf.float32
    assert len(batches) == 3
    for batch in batches:
        assert batch.min() >= 0.0
        assert batch.max() <= 1.0
        assert batch.max() > 0.5


def test_build_train_dataset_images_are_resized_examples(tfds_data_dir):
    cfg = fashion_config()
    info = datasets.check_available(cfg)
    records = raw_records(tfds_data_dir, "train")

    batch = collect(datasets.build_train_dataset(cfg, info, 5, 6))[0]
    indices = datasets.example_indices(
        tf.constant(5, tf.int64), cfg.seed, 60000, cfg.global_batch_size
    ).numpy()

    originals = decode_records(records[indices])
    np.testing.assert_allclose(batch, resize_like_study(originals), atol=1e-6)


def test_build_train_dataset_resume_matches_uninterrupted(tfds_data_dir):
    cfg = fashion_config()
    info = datasets.check_available(cfg)

    uninterrupted = collect(datasets.build_train_dataset(cfg, info, 0, 6))
    resumed = collect(datasets.build_train_dataset(cfg, info, 4, 6))

    assert len(resumed) == 2
    np.testing.assert_array_equal(resumed[0], uninterrupted[4])
    np.testing.assert_array_equal(resumed[1], uninterrupted[5])


def test_build_train_dataset_seeds_give_different_orders(tfds_data_dir):
    cfg = fashion_config()
    info = datasets.check_available(cfg)

    seed_0 = collect(datasets.build_train_dataset(cfg, info, 0, 1))[0]
    seed_1 = collect(
        datasets.build_train_dataset(cfg.replace(seed=1), info, 0, 1)
    )[0]
    seed_0_again = collect(datasets.build_train_dataset(cfg, info, 0, 1))[0]

    assert not np.array_equal(seed_0, seed_1)
    np.testing.assert_array_equal(seed_0, seed_0_again)


def test_build_train_dataset_rejects_bad_steps(tfds_data_dir):
    cfg = fashion_config()
    info = datasets.check_available(cfg)

    with pytest.raises(ValueError, match="start_step=5, end_step=4"):
        datasets.build_train_dataset(cfg, info, 5, 4)
    with pytest.raises(ValueError, match="start_step=-1"):
        datasets.build_train_dataset(cfg, info, -1, 4)


def test_build_train_dataset_rejects_info_of_other_config(tfds_data_dir):
    info = datasets.check_available(fashion_config())
    other = fashion_config(resolution=64)

    with pytest.raises(ValueError, match="resolution=32"):
        datasets.build_train_dataset(other, info, 0, 1)


def test_stream_train_dataset_resume_matches(tfds_data_dir, monkeypatch):
    monkeypatch.setattr(datasets, "IN_MEMORY_BUDGET_BYTES", 0)
    monkeypatch.setattr(datasets, "STREAM_SHUFFLE_BLOCK", 100)
    cfg = fashion_config()
    info = datasets.check_available(cfg)

    # Step 13 starts at example 208, inside the third block of 100.
    uninterrupted = collect(datasets.build_train_dataset(cfg, info, 0, 15))
    resumed = collect(datasets.build_train_dataset(cfg, info, 13, 15))

    assert uninterrupted[0].shape == (16, 32, 32, 1)
    assert uninterrupted[0].dtype == np.float32
    assert 0.0 <= uninterrupted[0].min() <= uninterrupted[0].max() <= 1.0
    np.testing.assert_array_equal(resumed[0], uninterrupted[13])
    np.testing.assert_array_equal(resumed[1], uninterrupted[14])


def test_stream_train_dataset_permutes_within_blocks(
    tfds_data_dir, monkeypatch
):
    monkeypatch.setattr(datasets, "IN_MEMORY_BUDGET_BYTES", 0)
    monkeypatch.setattr(datasets, "STREAM_SHUFFLE_BLOCK", 32)
    cfg = fashion_config()
    info = datasets.check_available(cfg)
    first_block = decode_records(raw_records(tfds_data_dir, "train")[:32])
    expected = resize_like_study(first_block)

    streamed = np.concatenate(
        collect(datasets.build_train_dataset(cfg, info, 0, 2))
    )

    # The first two steps are the first block of 32 records, reordered.
    assert not np.allclose(streamed, expected)
    streamed_sums = np.sort(streamed.sum(axis=(1, 2, 3)))
    expected_sums = np.sort(expected.sum(axis=(1, 2, 3)))
    np.testing.assert_allclose(streamed_sums, expected_sums, rtol=1e-5)


def test_load_reference_images_first_test_images(tfds_data_dir, no_network):
    cfg = fashion_config()
    info = datasets.check_available(cfg)

    batches = list(
        datasets.load_reference_images(
            cfg, info, num_images=300, batch_size=128
        )
    )

    assert [batch.shape for batch in batches] == [
        (128, 32, 32, 1),
        (128, 32, 32, 1),
        (44, 32, 32, 1),
    ]
    assert all(batch.dtype == np.float32 for batch in batches)
    records = raw_records(tfds_data_dir, "test")[:300]
    expected = resize_like_study(decode_records(records))
    np.testing.assert_allclose(np.concatenate(batches), expected, atol=1e-6)


def test_load_reference_images_rejects_bad_counts(tfds_data_dir):
    cfg = fashion_config()
    info = datasets.check_available(cfg)

    with pytest.raises(ValueError, match="num_images=0"):
        datasets.load_reference_images(cfg, info, num_images=0)
    with pytest.raises(ValueError, match="batch_size=0"):
        datasets.load_reference_images(cfg, info, 10, batch_size=0)


def test_reference_key_fashion_mnist(tfds_data_dir):
    cfg = fashion_config()
    info = datasets.check_available(cfg)

    assert datasets.reference_key(cfg, info, 10000) == {
        "dataset": "fashion_mnist",
        "split": "test",
        "resolution": 32,
        "num_samples": 10000,
    }
    assert datasets.reference_key(cfg, info, 50000)["num_samples"] == 10000


def test_check_available_missing_dataset_fails_fast(empty_data_dir, no_network):
    cfg = config.StudyConfig(dataset="cifar10", tfds_data_dir=empty_data_dir)

    start = time.monotonic()
    with pytest.raises(datasets.DatasetError) as raised:
        datasets.check_available(cfg)
    elapsed = time.monotonic() - start

    message = str(raised.value)
    assert "Dataset cifar10" in message
    assert f"TFDS data directory {empty_data_dir}" in message
    assert "--tfds_data_dir" in message
    assert f"tfds build cifar10 --data_dir={empty_data_dir}" in message
    assert "download_and_prepare()" in message
    assert elapsed < 10


def test_check_available_names_tfds_data_dir_variable(
    tmp_path, monkeypatch, no_network
):
    data_dir = str(tmp_path)
    monkeypatch.setenv("TFDS_DATA_DIR", data_dir)

    with pytest.raises(
        datasets.DatasetError, match="from the TFDS_DATA_DIR environment"
    ) as raised:
        datasets.check_available(config.StudyConfig(dataset="mnist"))
    assert f"not prepared in the TFDS data directory {data_dir}" in str(
        raised.value
    )


def test_check_available_lists_versions_found(empty_data_dir, no_network):
    os.makedirs(os.path.join(empty_data_dir, "cifar10", "1.0.0"))
    cfg = config.StudyConfig(dataset="cifar10", tfds_data_dir=empty_data_dir)

    with pytest.raises(
        datasets.DatasetError, match="Versions found in .*1.0.0"
    ):
        datasets.check_available(cfg)


def test_check_available_unknown_dataset(empty_data_dir, no_network):
    cfg = config.StudyConfig(dataset="cifar_10", tfds_data_dir=empty_data_dir)

    with pytest.raises(
        datasets.DatasetError,
        match=(
            "Unknown dataset 'cifar_10'. Expected one of the study's datasets "
            r"\(celeb_a_hq/128, cifar10, fashion_mnist, lsun/bedroom, "
            r"mnist\), any other TFDS image dataset, or folder:"
        ),
    ):
        datasets.check_available(cfg)


def test_check_available_rejects_unknown_builder_config(
    empty_data_dir, no_network
):
    cfg = config.StudyConfig(
        dataset="celeb_a_hq/100", tfds_data_dir=empty_data_dir
    )

    with pytest.raises(
        datasets.DatasetError,
        match=(
            "Unknown config '100' of TFDS dataset celeb_a_hq in "
            "'celeb_a_hq/100'. Expected one of: 1, 1024, 128, 16,"
        ),
    ):
        datasets.check_available(cfg)


def test_check_available_rejects_community_namespace(
    empty_data_dir, no_network
):
    cfg = config.StudyConfig(
        dataset="huggingface:mnist", tfds_data_dir=empty_data_dir
    )

    with pytest.raises(datasets.DatasetError, match="community namespace"):
        datasets.check_available(cfg)


@pytest.mark.parametrize("name", datasets.KNOWN_DATASETS)
def test_check_available_known_names_are_tfds_datasets(
    name, empty_data_dir, no_network
):
    cfg = config.StudyConfig(dataset=name, tfds_data_dir=empty_data_dir)

    with pytest.raises(datasets.DatasetError, match=f"Dataset {name} "):
        datasets.check_available(cfg)


@pytest.mark.parametrize(
    "manual_files, found",
    [
        (None, "no such directory"),
        ((), "no files"),
        (("data256x256.tar",), "data256x256.tar"),
        (("data128x128.tar",), "data128x128.tar"),
    ],
)
def test_check_available_celeb_a_hq_names_manual_file(
    manual_files, found, empty_data_dir, no_network
):
    manual_dir = os.path.join(empty_data_dir, "downloads", "manual")
    if manual_files is not None:
        os.makedirs(manual_dir)
        for name in manual_files:
            open(os.path.join(manual_dir, name), "wb").close()
    cfg = config.StudyConfig(
        dataset="celeb_a_hq/128", tfds_data_dir=empty_data_dir
    )

    with pytest.raises(datasets.DatasetError) as raised:
        datasets.check_available(cfg)

    message = str(raised.value)
    assert "Dataset celeb_a_hq/128" in message
    assert "put data128x128.tar" in message
    assert f"manual_dir {manual_dir} (found: {found})" in message
    assert "progressive_growing_of_gans" in message
    assert f"--manual_dir={manual_dir}" in message


def test_check_available_lsun_without_tensorflow_io(
    empty_data_dir, no_network, monkeypatch
):
    real_import = datasets.importlib.import_module

    def import_module(name, *args):
        if name == "tensorflow_io":
            raise ImportError("No module named 'tensorflow_io'")
        return real_import(name, *args)

    monkeypatch.setattr(datasets.importlib, "import_module", import_module)
    cfg = config.StudyConfig(
        dataset="lsun/bedroom", tfds_data_dir=empty_data_dir
    )

    with pytest.raises(
        datasets.DatasetError,
        match="needs the tensorflow_io package.*dl.yf.io",
    ):
        datasets.check_available(cfg)


def test_check_available_lsun_names_download_url(
    empty_data_dir, no_network, monkeypatch
):
    monkeypatch.setattr(datasets, "_check_tensorflow_io", lambda *args: None)
    cfg = config.StudyConfig(
        dataset="lsun/bedroom", tfds_data_dir=empty_data_dir
    )

    with pytest.raises(datasets.DatasetError) as raised:
        datasets.check_available(cfg)

    message = str(raised.value)
    assert "http://dl.yf.io/lsun/scenes/" in message
    assert "bedroom_train_lmdb.zip" in message
    assert "bedroom_val_lmdb.zip" in message
    assert os.path.join(empty_data_dir, "downloads", "manual") in message


@pytest.mark.parametrize(
    "step, seed, num_examples, global_batch_size",
    [(0, 0, 10, 4), (3, 7, 10, 4), (2, 1, 10, 25), (9, 2, 1, 3)],
)
def test_example_indices_cover_each_epoch_once(
    step, seed, num_examples, global_batch_size
):
    # Rebuild whole epochs from consecutive steps and check each one.
    indices_of_step = tf.function(
        lambda s: datasets.example_indices(
            s, seed, num_examples, global_batch_size
        )
    )
    num_steps = 4 * num_examples
    stream = np.concatenate(
        [
            indices_of_step(tf.constant(s, tf.int64)).numpy()
            for s in range(step, step + num_steps)
        ]
    )
    first = step * global_batch_size
    skip = -first % num_examples
    whole_epochs = stream[skip:]
    whole_epochs = whole_epochs[
        : len(whole_epochs) // num_examples * num_examples
    ].reshape(-1, num_examples)

    assert len(whole_epochs) >= 2
    for epoch in whole_epochs:
        np.testing.assert_array_equal(np.sort(epoch), np.arange(num_examples))
    if num_examples > 3:
        assert not np.array_equal(whole_epochs[0], whole_epochs[1])


def test_example_indices_depend_on_seed():
    step = tf.constant(0, tf.int64)

    seed_0 = datasets.example_indices(step, 0, 1000, 64).numpy()
    seed_1 = datasets.example_indices(step, 1, 1000, 64).numpy()

    assert not np.array_equal(seed_0, seed_1)


def test_preprocess_image_lsun_crop_keeps_pixels():
    image = tf.random.stateless_uniform(
        [200, 300, 3], seed=[1, 2], maxval=256, dtype=tf.int32
    )
    image = tf.cast(image, tf.uint8)
    preprocessing = datasets.Preprocessing(128, 3, crop_size=128)

    output = datasets.preprocess_image(image, preprocessing)

    assert output.dtype == tf.uint8
    np.testing.assert_array_equal(output, image[36:164, 86:214])


def test_preprocess_image_crops_to_square_then_resizes():
    # Columns 0-1 and 6-7 are cropped away. The 4x4 square becomes 2x2.
    image = np.zeros([4, 8, 1], np.uint8)
    image[:, 2:6] = [[[0], [255], [0], [255]]]
    preprocessing = datasets.Preprocessing(2, 1, resize=True)

    output = datasets.preprocess_image(tf.constant(image), preprocessing)

    assert output.dtype == tf.float32
    np.testing.assert_allclose(output[..., 0], [[0.5, 0.5], [0.5, 0.5]])


@pytest.mark.parametrize(
    "pixel, num_channels, expected",
    [
        ([100], 3, [100, 100, 100]),
        ([100, 7], 3, [100, 100, 100]),
        ([10, 20, 30, 40], 3, [10, 20, 30]),
        ([100, 100, 100], 1, [100]),
        ([100, 100, 100, 0], 1, [100]),
        ([100, 9], 1, [100]),
    ],
)
def test_preprocess_image_converts_channels(pixel, num_channels, expected):
    image = tf.constant(np.full([8, 8, len(pixel)], pixel, np.uint8))
    preprocessing = datasets.Preprocessing(8, num_channels)
    # An unknown static channel count, as tf.io.decode_image gives.
    preprocess = tf.function(
        lambda x: datasets.preprocess_image(x, preprocessing),
        input_signature=[tf.TensorSpec([8, 8, None], tf.uint8)],
    )

    output = preprocess(image)

    assert output.shape == (8, 8, num_channels)
    np.testing.assert_array_equal(output[0, 0], expected)


def copy_fashion_mnist(tfds_data_dir, target, skip=(), truncate=()):
    """Copy the prepared Fashion-MNIST, leaving out or cutting some files."""
    (source,) = glob.glob(os.path.join(tfds_data_dir, "fashion_mnist", "*"))
    copy = os.path.join(target, "fashion_mnist", os.path.basename(source))
    os.makedirs(copy)
    for name in os.listdir(source):
        if any(part in name for part in skip):
            continue
        with open(os.path.join(source, name), "rb") as file:
            contents = file.read()
        if any(part in name for part in truncate):
            contents = contents[: len(contents) // 2]
        with open(os.path.join(copy, name), "wb") as file:
            file.write(contents)
    return copy


def test_check_available_missing_record_file(tfds_data_dir, tmp_path):
    copy = copy_fashion_mnist(tfds_data_dir, tmp_path, skip=["-train."])
    cfg = fashion_config(tfds_data_dir=str(tmp_path))

    with pytest.raises(
        datasets.DatasetError,
        match=(
            f"Dataset fashion_mnist is incomplete: the record file "
            f"{copy}/fashion_mnist-train.tfrecord-00000-of-00001 is missing"
        ),
    ):
        datasets.check_available(cfg)


def test_check_available_truncated_record_file(tfds_data_dir, tmp_path):
    copy_fashion_mnist(tfds_data_dir, tmp_path, truncate=["-test."])
    cfg = fashion_config(tfds_data_dir=str(tmp_path))

    with pytest.raises(
        datasets.DatasetError,
        match="record files of split test have .* bytes, but its metadata",
    ):
        datasets.check_available(cfg)
