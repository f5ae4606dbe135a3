"""IDX export: torchvision's MNIST and gankit's loader read back exactly what was written."""

import pytest
import torch
import torchvision

from gankit.data import load_data
from gankit.data.idx import write_idx_labels, write_torchvision_mnist
from gankit.errors import GankitError


def tiny_set(n, seed):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 10, (n,), generator=g)
    return images, labels


def test_torchvision_and_gankit_read_back_the_written_mnist(tmp_path):
    (train_x, train_y), (test_x, test_y) = tiny_set(100, 0), tiny_set(20, 1)
    # Test images as (N, 28, 28): both accepted shapes are exercised.
    write_torchvision_mnist(tmp_path, train_x, train_y, test_x[:, 0], test_y)

    for train, x, y in ((True, train_x, train_y), (False, test_x, test_y)):
        ds = torchvision.datasets.MNIST(str(tmp_path), train=train, download=False)
        assert torch.equal(ds.data, x[:, 0]) and torch.equal(ds.targets, y)
        assert ds.targets.dtype == torch.int64

    for split, x, y in (("train", train_x, train_y), ("test", test_x, test_y)):
        loaded = load_data("mnist", 28, 1, split=split, data_dir=tmp_path)
        assert torch.equal(loaded.images, x) and torch.equal(loaded.labels, y)


def test_missing_fashion_mnist_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_OFFLINE", "1")

    def no_download(self):
        raise AssertionError("tried to download while offline")

    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "download", no_download)
    with pytest.raises(GankitError, match="FashionMNIST") as info:
        load_data("fashion-mnist", 28, 1, data_dir=tmp_path)
    assert str(tmp_path / "FashionMNIST") in str(info.value)


def test_labels_outside_a_byte_are_rejected(tmp_path):
    with pytest.raises(GankitError, match="0..255"):
        write_idx_labels(tmp_path / "labels", torch.tensor([0, 256]))
