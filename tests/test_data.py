"""Data: embedded MNIST, folders (and each bad input), the in-memory sampler."""

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data import BatchSampler, ImageDataset, fit_images, load_data, load_folder, load_mnist
from gankit.errors import GankitError


def test_embedded_mnist_splits():
    sizes = {"train": 50_000, "valid": 10_000, "test": 10_000}
    for split, n in sizes.items():
        images, labels = load_mnist(split)
        assert images.shape == (n, 1, 28, 28) and images.dtype == torch.uint8
        assert labels.shape == (n,) and set(labels.unique().tolist()) == set(range(10))
    images, _ = load_mnist("train")
    assert images.max() == 255 and abs(images.float().mean().item() / 255 - 0.1307) < 0.002
    with pytest.raises(GankitError, match="unknown MNIST split"):
        load_mnist("dev")


def test_load_data_fits_model_size_and_channels():
    ds = load_data("mnist", 32, 3, split="test")
    assert ds.images.shape == (10_000, 3, 32, 32) and ds.labels is not None
    assert torch.equal(ds.images[:, 0], ds.images[:, 2]), "gray to RGB repeats the channel"


def test_fit_images_resizes_crops_and_converts():
    rgb = torch.zeros(2, 3, 40, 80, dtype=torch.uint8)
    rgb[:, 0] = 255  # pure red
    out = fit_images(rgb, 16, 1)
    assert out.shape == (2, 1, 16, 16) and abs(int(out[0, 0, 8, 8]) - 76) <= 1  # luma of red
    rgba = torch.full((1, 4, 8, 8), 200, dtype=torch.uint8)
    assert fit_images(rgba, 8, 3).shape == (1, 3, 8, 8)
    with pytest.raises(GankitError, match="2 channels"):
        fit_images(torch.zeros(1, 2, 8, 8, dtype=torch.uint8), 8, 1)
    with pytest.raises(GankitError, match="uint8"):
        fit_images(torch.zeros(1, 1, 8, 8), 8, 1)


def _write_images(folder, n, size=(20, 12), mode="RGB", ext="png"):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
        Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode).save(folder / f"img{i}.{ext}")


def test_folder_recursive_mixed_formats_and_class_labels(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    _write_images(tmp_path / "data" / "cats", 3, ext="png")
    _write_images(tmp_path / "data" / "dogs" / "deep", 2, mode="L", ext="jpg")
    _write_images(tmp_path / "data" / "dogs", 1, ext="webp")
    (tmp_path / "data" / "notes.txt").write_text("ignored: not an image extension")
    ds = load_folder(tmp_path / "data", 16, 3)
    assert ds.images.shape == (6, 3, 16, 16) and ds.class_names == ("cats", "dogs")
    assert sorted(ds.labels.tolist()) == [0, 0, 0, 1, 1, 1]
    again = load_folder(tmp_path / "data", 16, 3)  # from the decoded cache
    assert torch.equal(again.images, ds.images) and torch.equal(again.labels, ds.labels)
    assert load_folder(tmp_path / "data", 8, 1).images.shape == (6, 1, 8, 8)


def test_folder_bad_inputs_give_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    with pytest.raises(GankitError, match="does not exist"):
        load_folder(tmp_path / "nope", 16, 3)
    (tmp_path / "empty").mkdir()
    with pytest.raises(GankitError, match="no images found"):
        load_folder(tmp_path / "empty", 16, 3)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "a.png").write_bytes(b"definitely not a png")
    with pytest.raises(GankitError, match="none of the 1 image files"):
        load_folder(tmp_path / "broken", 16, 3)
    with pytest.raises(GankitError, match="neither a folder, an image file, photo:NAME nor one of mnist"):
        load_data(str(tmp_path / "typo"), 16, 3)


def test_corrupt_files_are_skipped_with_a_counted_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    _write_images(tmp_path / "d", 4)
    (tmp_path / "d" / "bad1.png").write_bytes(b"junk")
    (tmp_path / "d" / "bad2.jpg").write_bytes(b"")
    with pytest.warns(UserWarning, match="skipped 2 unreadable image file"):
        ds = load_folder(tmp_path / "d", 8, 3)
    assert len(ds) == 4


def test_fewer_images_than_a_batch(tmp_path):
    ds = ImageDataset(torch.zeros(5, 1, 8, 8, dtype=torch.uint8), name="tiny-folder")
    with pytest.raises(GankitError, match="tiny-folder has 5 images, fewer than one batch of 64: lower --batch-size"):
        BatchSampler(ds, 64, seed=0)


def test_sampler_batches_are_in_range_and_resume_exactly():
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 1, 2, 2).contiguous()
    ds = ImageDataset(images, torch.arange(10))
    a = BatchSampler(ds, 3, seed=1)
    seen = [a.next() for _ in range(4)]  # crosses an epoch boundary (3 batches per epoch)
    x, y = seen[0]
    assert x.shape == (3, 1, 2, 2) and x.min() >= -1 and x.max() <= 1
    assert torch.equal(((x[:, 0, 0, 0] + 1) * 127.5).round().long(), y)
    epoch0 = torch.cat([s[1] for s in seen[:3]])
    assert len(set(epoch0.tolist())) == 9, "no repeats within an epoch"
    state = a.state_dict()
    b = BatchSampler(ds, 3, seed=999)
    b.load_state_dict(state)
    for _ in range(5):
        assert torch.equal(a.next()[1], b.next()[1])


def test_sampler_shards_are_disjoint_across_processes():
    ds = ImageDataset(torch.zeros(12, 1, 2, 2, dtype=torch.uint8), torch.arange(12))
    r0, r1 = BatchSampler(ds, 3, 0, rank=0, world_size=2), BatchSampler(ds, 3, 0, rank=1, world_size=2)
    for _ in range(2):
        a, b = r0.next()[1], r1.next()[1]
        assert not set(a.tolist()) & set(b.tolist())


def test_torchvision_set_missing_offline_says_how_to_supply_it(tmp_path):
    with pytest.raises(GankitError, match="CIFAR10 not found under .*cifar-10-batches-py"):
        load_data("cifar10", 32, 3, data_dir=tmp_path)


def test_gray_images_at_the_right_size_become_rgb():
    gray = torch.arange(2 * 4 * 4, dtype=torch.uint8).view(2, 1, 4, 4)
    rgb = fit_images(gray, 4, 3)  # no resize: the channel expand is the only change
    assert rgb.shape == (2, 3, 4, 4) and torch.equal(rgb[:, 2], gray[:, 0])
