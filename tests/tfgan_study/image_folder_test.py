"""Tests of folder datasets: listing, hold-out rules, channels and errors.

Folders are written to `tmp_path`. Grey images of index i have the constant
value 20 * i + 5, so a training batch shows which files it drew.
"""

import os

import numpy as np
import pytest
import tensorflow as tf

from tfgan_study import config
from tfgan_study import datasets
from tfgan_study import image_folder


def write_image(path, pixels, encoding="png"):
    """Write uint8 `pixels` of shape [height, width, channels] to `path`."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pixels = tf.constant(np.asarray(pixels, np.uint8))
    if encoding == "png":
        encoded = tf.io.encode_png(pixels)
    else:
        encoded = tf.io.encode_jpeg(pixels, quality=100)
    tf.io.write_file(str(path), encoded)


def write_grey_images(folder, count, size=8, prefix="image"):
    for index in range(count):
        pixels = np.full([size, size, 1], 20 * index + 5)
        write_image(os.path.join(folder, f"{prefix}_{index:02d}.png"), pixels)


def folder_config(folder, **changes) -> config.StudyConfig:
    cfg = config.StudyConfig(
        dataset=f"folder:{folder}", resolution=8, global_batch_size=4
    )
    return config.resolve(cfg.replace(**changes))


def drawn_indices(batch: np.ndarray) -> list[int]:
    """Return the grey image index of every image of a batch."""
    values = np.round(batch[:, 0, 0, 0] * 255).astype(int)
    return list((values - 5) // 20)


def train_test_folder(tmp_path, num_train=10, num_test=2):
    write_grey_images(tmp_path / "train", num_train)
    write_grey_images(tmp_path / "test", num_test, prefix="test")
    return tmp_path


def test_check_available_folder_missing(tmp_path):
    folder = tmp_path / "missing"

    with pytest.raises(
        datasets.DatasetError, match=f"Image folder {folder} .* does not exist"
    ):
        datasets.check_available(folder_config(folder))


def test_check_available_folder_not_a_directory(tmp_path):
    path = tmp_path / "file.png"
    path.write_bytes(b"")

    with pytest.raises(datasets.DatasetError, match="is not a directory"):
        datasets.check_available(folder_config(path))


@pytest.mark.parametrize(
    "names", [(), ("notes.txt", "image.gif", ".hidden.png")]
)
def test_check_available_folder_without_images(tmp_path, names):
    for name in names:
        (tmp_path / name).write_bytes(b"data")

    with pytest.raises(
        datasets.DatasetError,
        match=(
            f"Image folder {tmp_path} contains no image files. Expected files "
            r"with the extensions \.png, \.jpg, \.jpeg \(any case\)"
        ),
    ):
        datasets.check_available(folder_config(tmp_path))


def test_check_available_folder_names_corrupt_file(tmp_path):
    write_grey_images(tmp_path, 12)
    corrupt = tmp_path / "image_05b.png"
    corrupt.write_bytes(np.random.default_rng(0).bytes(200))

    with pytest.raises(
        datasets.DatasetError,
        match=f"Image file {corrupt} is not a PNG or JPEG image",
    ):
        datasets.check_available(folder_config(tmp_path))


def test_build_train_dataset_names_truncated_file(tmp_path):
    write_grey_images(tmp_path, 12)
    truncated = tmp_path / "image_03.png"
    truncated.write_bytes(truncated.read_bytes()[:30])
    cfg = folder_config(tmp_path)
    info = datasets.check_available(cfg)

    with pytest.raises(
        datasets.DatasetError, match=f"Image file {truncated} cannot be decoded"
    ):
        datasets.build_train_dataset(cfg, info, 0, 1)


def test_check_available_folder_first_image_corrupt(tmp_path):
    write_grey_images(tmp_path, 12)
    first = tmp_path / "image_00.png"
    first.write_bytes(first.read_bytes()[:30])

    with pytest.raises(
        datasets.DatasetError, match=f"Image file {first} cannot be decoded"
    ):
        datasets.check_available(folder_config(tmp_path))


def test_check_available_folder_ten_percent_rule(tmp_path):
    write_grey_images(tmp_path / "a", 7)
    write_grey_images(tmp_path / "b", 7)

    info = datasets.check_available(folder_config(tmp_path))

    assert info.num_train_examples == 12
    assert info.num_reference_examples == 2
    assert info.train_split == "folder files[:12]"
    assert info.reference_split == "folder files[12:]"
    assert info.num_channels == 1
    assert info.resolution == 8


@pytest.mark.parametrize("count, num_reference", [(11, 2), (20, 2), (21, 3)])
def test_split_files_rounds_ten_percent_up(tmp_path, count, num_reference):
    write_grey_images(tmp_path, count)

    splits = image_folder.split_files(f"folder:{tmp_path}")

    assert len(splits.reference_files) == num_reference
    assert len(splits.train_files) == count - num_reference
    expected_last = os.path.join(tmp_path, f"image_{count - 1:02d}.png")
    assert splits.reference_files[-1] == expected_last


def test_split_files_sorted_recursive_and_case_insensitive(tmp_path):
    pixels = np.zeros([8, 8, 3])
    names = ["b/z.PNG", "a.JPG", "b/a.jpeg", "c.png", "a/y.Jpeg", ".skip/x.png"]
    for name in names:
        encoding = "png" if name.lower().endswith("png") else "jpeg"
        write_image(tmp_path / name, pixels, encoding)
    (tmp_path / "readme.txt").write_text("not an image")

    assert image_folder.list_images(str(tmp_path)) == [
        "a.JPG",
        "a/y.Jpeg",
        "b/a.jpeg",
        "b/z.PNG",
        "c.png",
    ]


def test_check_available_folder_train_test_rule(tmp_path):
    train_test_folder(tmp_path, num_train=10, num_test=3)
    write_grey_images(tmp_path / "extra", 4)

    info = datasets.check_available(folder_config(tmp_path))

    assert info.num_train_examples == 10
    assert info.num_reference_examples == 3
    assert info.train_split == "folder train/"
    assert info.reference_split == "folder test/"


@pytest.mark.parametrize(
    "num_train, num_test, message",
    [
        (1, 3, r"training set of image folder .* \(folder train/\) has 1"),
        (3, 1, r"reference set of image folder .* \(folder test/\) has 1"),
        (5, 0, r"reference set of image folder .* has 0 images"),
    ],
)
def test_check_available_folder_needs_two_images_per_set(
    tmp_path, num_train, num_test, message
):
    train_test_folder(tmp_path, num_train, num_test)
    os.makedirs(tmp_path / "test", exist_ok=True)

    with pytest.raises(datasets.DatasetError, match=message):
        datasets.check_available(folder_config(tmp_path))


def test_check_available_small_folder_without_subfolders(tmp_path):
    write_grey_images(tmp_path, 10)

    with pytest.raises(
        datasets.DatasetError,
        match=r"reference set .* \(folder files\[9:\]\) has 1 images",
    ):
        datasets.check_available(folder_config(tmp_path))


def test_folder_channels_follow_first_image(tmp_path):
    write_image(tmp_path / "train/0.png", np.full([8, 8, 1], 50))
    write_image(tmp_path / "train/1.png", np.full([8, 8, 3], [90, 90, 90]))
    write_image(tmp_path / "train/2.png", np.full([8, 8, 2], [70, 9]))
    write_grey_images(tmp_path / "test", 2)
    cfg = folder_config(tmp_path, global_batch_size=3)

    info = datasets.check_available(cfg)
    batch = list(datasets.build_train_dataset(cfg, info, 0, 1))[0].numpy()

    assert info.num_channels == 1
    assert batch.shape == (3, 8, 8, 1)
    values = sorted(np.round(batch[:, 0, 0, 0] * 255).astype(int))
    assert values == [50, 70, 90]


def test_folder_colour_first_converts_grey_and_drops_alpha(tmp_path):
    write_image(tmp_path / "train/0.png", np.full([8, 8, 3], [10, 20, 30]))
    write_image(tmp_path / "train/1.png", np.full([8, 8, 1], 40))
    write_image(tmp_path / "train/2.png", np.full([8, 8, 4], [50, 60, 70, 0]))
    write_image(tmp_path / "test/0.png", np.full([8, 8, 4], [1, 2, 3, 4]))
    write_image(tmp_path / "test/1.png", np.full([8, 8, 1], 8))
    cfg = folder_config(tmp_path, global_batch_size=3)

    info = datasets.check_available(cfg)
    batch = list(datasets.build_train_dataset(cfg, info, 0, 1))[0].numpy()
    reference = np.concatenate(
        list(datasets.load_reference_images(cfg, info, 2))
    )

    assert info.num_channels == 3
    colours = np.round(batch[:, 0, 0] * 255).astype(int)
    pixels = sorted(tuple(colour) for colour in colours)
    assert pixels == [(10, 20, 30), (40, 40, 40), (50, 60, 70)]
    assert reference.shape == (2, 8, 8, 3)
    np.testing.assert_allclose(reference[0, 0, 0] * 255, [1, 2, 3], atol=1e-4)
    np.testing.assert_allclose(reference[1, 0, 0] * 255, [8, 8, 8], atol=1e-4)


def test_folder_jpeg_images_are_read(tmp_path):
    for index in range(12):
        pixels = np.full([8, 8, 3], [20 * index, 100, 200])
        write_image(tmp_path / f"{index:02d}.jpg", pixels, encoding="jpeg")
    cfg = folder_config(tmp_path)

    info = datasets.check_available(cfg)
    batch = list(datasets.build_train_dataset(cfg, info, 0, 1))[0].numpy()

    assert info.num_channels == 3
    assert batch.shape == (4, 8, 8, 3)
    np.testing.assert_allclose(batch[:, :, :, 1], 100 / 255, atol=3 / 255)


def test_folder_images_cropped_and_resized(tmp_path):
    # The 8x16 image keeps its central 8x8 square. The 16x16 checkerboard
    # is resized to 8x8, which averages each 2x2 block.
    wide = np.zeros([8, 16, 1])
    wide[:, 4:12] = 200
    write_image(tmp_path / "train/wide.png", wide)
    checker = np.indices([16, 16]).sum(axis=0) % 2 * 100
    write_image(tmp_path / "train/checker.png", checker[..., None])
    write_grey_images(tmp_path / "test", 2)
    cfg = folder_config(tmp_path, global_batch_size=2)
    info = datasets.check_available(cfg)

    source = image_folder.open_folder(cfg.dataset, info)
    images = source.decode_train()

    assert images.dtype == np.uint8
    np.testing.assert_array_equal(images[0], np.full([8, 8, 1], 50))
    np.testing.assert_array_equal(images[1], np.full([8, 8, 1], 200))


def test_folder_epochs_are_permutations(tmp_path):
    # 10 images, batch 4: steps 0-7 hold epochs 0-2 and the start of 3.
    train_test_folder(tmp_path, num_train=10)
    cfg = folder_config(tmp_path)
    info = datasets.check_available(cfg)

    batches = list(datasets.build_train_dataset(cfg, info, 0, 8))
    stream = np.concatenate([drawn_indices(b.numpy()) for b in batches])
    epochs = stream[:30].reshape(3, 10)

    for epoch in epochs:
        assert sorted(epoch) == list(range(10))
    assert not np.array_equal(epochs[0], epochs[1])
    assert not np.array_equal(epochs[1], epochs[2])


def test_folder_resume_after_two_epochs_continues_order(tmp_path):
    # 10 images, batch 5: epochs 0 and 1 are steps 0-3, then the run stops.
    # The resumed run must draw epoch 2, not replay the order of epoch 0.
    train_test_folder(tmp_path, num_train=10)
    cfg = folder_config(tmp_path, global_batch_size=5)
    info = datasets.check_available(cfg)

    uninterrupted = list(datasets.build_train_dataset(cfg, info, 0, 6))
    resumed = list(datasets.build_train_dataset(cfg, info, 4, 6))

    order = [drawn_indices(b.numpy()) for b in uninterrupted]
    assert order[0] + order[1] != order[4] + order[5]
    assert len(resumed) == 2
    for step, batch in zip((4, 5), resumed):
        np.testing.assert_array_equal(batch, uninterrupted[step])


def test_folder_per_step_decoding_matches_memory(tmp_path, monkeypatch):
    train_test_folder(tmp_path, num_train=10)
    cfg = folder_config(tmp_path)
    info = datasets.check_available(cfg)
    in_memory = list(datasets.build_train_dataset(cfg, info, 2, 5))

    monkeypatch.setattr(datasets, "IN_MEMORY_BUDGET_BYTES", 0)
    from_files = list(datasets.build_train_dataset(cfg, info, 2, 5))

    assert len(from_files) == 3
    for memory_batch, file_batch in zip(in_memory, from_files):
        np.testing.assert_array_equal(memory_batch, file_batch)


def test_folder_reference_images_in_file_order(tmp_path):
    train_test_folder(tmp_path, num_train=4, num_test=7)
    cfg = folder_config(tmp_path)
    info = datasets.check_available(cfg)

    batches = list(datasets.load_reference_images(cfg, info, 5, batch_size=2))

    assert [b.shape for b in batches] == [(2, 8, 8, 1)] * 2 + [(1, 8, 8, 1)]
    assert all(b.dtype == np.float32 for b in batches)
    assert drawn_indices(np.concatenate(batches)) == [0, 1, 2, 3, 4]


def test_folder_reference_images_fewer_than_requested(tmp_path, caplog):
    train_test_folder(tmp_path, num_train=4, num_test=3)
    cfg = folder_config(tmp_path)
    info = datasets.check_available(cfg)

    with caplog.at_level("WARNING"):
        batches = list(datasets.load_reference_images(cfg, info, 10))

    assert sum(len(b) for b in batches) == 3
    assert "has 3 images, fewer than the 10 requested" in caplog.text
    assert datasets.reference_key(cfg, info, 10) == {
        "dataset": f"folder:{tmp_path}",
        "split": "folder test/",
        "resolution": 8,
        "num_samples": 3,
    }


def test_open_folder_detects_changed_folder(tmp_path):
    train_test_folder(tmp_path, num_train=4)
    cfg = folder_config(tmp_path)
    info = datasets.check_available(cfg)
    write_grey_images(tmp_path / "train", 5, prefix="late")

    with pytest.raises(
        datasets.DatasetError, match="changed since it was checked"
    ):
        datasets.build_train_dataset(cfg, info, 0, 1)
