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


@pytest.fixture
def fid_before_and_after(tmp_path):
    """A learning test's measurement: `measure(name, model_config, steps, **train_kwargs)` gives
    fid[lenet-mnist] (2,000 samples vs the MNIST test split) of the untrained model (seed 0) and of
    the same config trained on MNIST (seed 0, batch 32), and the run folder."""
    import gankit
    from gankit.api import train
    from gankit.evaluation import evaluate_model

    def fid(model):
        return evaluate_model(model, {"data": {"source": "mnist"}}, ("fid",), n=2000)["metrics"]["fid[lenet-mnist]"]

    def measure(name, model_config, steps, **train_kwargs):
        torch.manual_seed(0)
        untrained = fid(gankit.create_model(name, **model_config))
        run = train(name, "mnist", out=tmp_path, name="r", model_config=model_config, steps=steps, seed=0,
                    batch_size=32, sample_every=10**6, checkpoint_every=10**6, log_every=100, **train_kwargs)
        trained = fid(gankit.load(run))
        print(f"{name}: fid[lenet-mnist] untrained {untrained:.1f} -> trained {trained:.1f}")
        return untrained, trained, run

    return measure
