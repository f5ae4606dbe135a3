"""Named sources beyond the embedded MNIST: Fashion-MNIST's IDX files, MNIST-M, lenet-fashion."""

import gzip

import pytest
import torch
from safetensors import safe_open

from gankit.data import load_data
from gankit.data.idx import read_idx, write_idx_images, write_idx_labels
from gankit.errors import GankitError


def _fake_fashion(folder, n=12, compress=True):
    folder.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(0)
    for prefix in ("train", "t10k"):
        images = torch.randint(0, 256, (n, 28, 28), generator=gen, dtype=torch.uint8)
        labels = torch.arange(n) % 10
        write_idx_images(folder / f"{prefix}-images-idx3-ubyte", images)
        write_idx_labels(folder / f"{prefix}-labels-idx1-ubyte", labels)
        if compress:  # Debian ships the original .gz archives
            for kind in ("images-idx3", "labels-idx1"):
                raw = folder / f"{prefix}-{kind}-ubyte"
                (folder / f"{raw.name}.gz").write_bytes(gzip.compress(raw.read_bytes()))
                raw.unlink()
    return images, labels  # the t10k ones


def test_idx_files_read_back_what_was_written(tmp_path):
    images = torch.randint(0, 256, (5, 7, 9), dtype=torch.uint8)
    write_idx_images(tmp_path / "x", images)
    assert torch.equal(read_idx(tmp_path / "x"), images)
    (tmp_path / "x.gz").write_bytes(gzip.compress((tmp_path / "x").read_bytes()))
    assert torch.equal(read_idx(tmp_path / "x.gz"), images)


def test_a_truncated_or_foreign_idx_file_is_one_clear_error(tmp_path):
    write_idx_images(tmp_path / "x", torch.zeros(4, 3, 3, dtype=torch.uint8))
    (tmp_path / "cut").write_bytes((tmp_path / "x").read_bytes()[:-5])
    with pytest.raises(GankitError, match="truncated"):
        read_idx(tmp_path / "cut")
    (tmp_path / "png").write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(GankitError, match="not a uint8 IDX file"):
        read_idx(tmp_path / "png")


@pytest.mark.parametrize("compress", [True, False])
def test_fashion_mnist_reads_the_original_idx_files(tmp_path, compress):
    images, labels = _fake_fashion(tmp_path / "fm", compress=compress)
    ds = load_data("fashion-mnist", 28, 1, "test", data_dir=tmp_path / "fm")
    assert torch.equal(ds.images[:, 0], images) and torch.equal(ds.labels, labels)
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
    assert load_data("fashion-mnist", 32, 3, "train", data_dir=tmp_path / "fm").images.shape == (12, 3, 32, 32)


def test_fashion_mnist_without_its_files_says_how_to_get_them(tmp_path, monkeypatch):
    import gankit.data.sources as sources

    monkeypatch.setattr(sources, "FASHION_MNIST_DIRS", (tmp_path / "nowhere",))
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    with pytest.raises(GankitError, match="apt install dataset-fashion-mnist"):
        load_data("fashion-mnist", 28, 1, "train")


def test_mnist_m_is_a_named_labelled_colour_source():
    ds = load_data("mnist-m", 32, 3, "test")
    assert ds.images.shape == (10_000, 3, 32, 32) and ds.labels.shape == (10_000,)
    assert ds.images.float().std() > 30


def test_lenet_fashion_ships_with_its_test_accuracy():
    from gankit.metrics import get_extractor
    from gankit.metrics.extractors import weights_dir

    with safe_open(str(weights_dir() / "lenet_fashion.safetensors"), "pt") as f:
        meta = f.metadata()
    assert meta["arch"] == "lenet-fashion" and float(meta["test_acc"]) >= 0.90
    net = get_extractor("lenet-fashion")
    features, logits = net(net.prepare(torch.zeros(2, 1, 32, 32)))
    assert features.shape == (2, 128) and logits.shape == (2, 10)
