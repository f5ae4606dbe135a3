"""Test isolation: no network, no downloads, caches and runs in temporary folders."""

from __future__ import annotations

import os
import socket

import pytest
import torch

_real_connect = socket.socket.connect


def _local_only_connect(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1", "")) or self.family == socket.AF_UNIX:
        return _real_connect(self, address)
    raise OSError(f"network access is disabled in tests (tried {address})")


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("GANKIT_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch_home")))
    monkeypatch.setattr(socket.socket, "connect", _local_only_connect)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    yield


@pytest.fixture(scope="session")
def mnist_small():
    """The first 512 embedded MNIST training images at 28x28, as an ImageDataset."""
    from gankit.data import ImageDataset, load_mnist

    images, labels = load_mnist("train")
    return ImageDataset(images[:512].clone(), labels[:512].clone(), "mnist-small")
