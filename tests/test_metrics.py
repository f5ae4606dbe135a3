"""Metrics: closed forms, constructed point sets, the shipped lenet-mnist weights, the stats cache."""

from __future__ import annotations

import socket
import urllib.error

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from gankit.data.mnist import load_mnist
from gankit.errors import GankitError
from gankit.metrics import (
    compare,
    density_coverage,
    evaluate,
    fid,
    frechet_distance,
    get_extractor,
    inception_score,
    kid,
    label_accuracy,
    list_extractors,
    precision_recall,
)
from gankit.metrics.extractors import weights_dir
from gankit.metrics.inception import FID_WEIGHTS


@pytest.fixture(scope="module")
def lenet():
    return get_extractor("lenet-mnist")


@pytest.fixture(scope="module")
def mnist_features(lenet):
    """lenet features of the test and valid splits (10k each), plus test logits and labels."""
    x_test, y_test = load_mnist("test")
    x_valid, _ = load_mnist("valid")
    f_test, logits_test = lenet.extract(x_test)
    return {"test": f_test, "valid": lenet.features(x_valid), "logits": logits_test, "labels": y_test}


# FID ------------------------------------------------------------------------------------------


def test_frechet_distance_diagonal_closed_form():
    gen = torch.Generator().manual_seed(0)
    mu1, mu2 = (torch.randn(16, generator=gen, dtype=torch.float64) for _ in range(2))
    s1 = torch.rand(16, generator=gen, dtype=torch.float64) + 0.1
    s2 = torch.rand(16, generator=gen, dtype=torch.float64) * 3
    expected = (mu1 - mu2).square().sum() + (s1 + s2 - 2 * (s1 * s2).sqrt()).sum()
    got = frechet_distance(mu1, torch.diag(s1), mu2, torch.diag(s2))
    assert got == pytest.approx(float(expected), rel=1e-9, abs=1e-9)
    assert frechet_distance(mu1, torch.diag(s1), mu1, torch.diag(s1)) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_matches_sqrtm_for_full_covariances():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(32, 32)), rng.normal(size=(32, 20))  # the second covariance is singular (rank 20)
    c1, c2 = a @ a.T / 32, b @ b.T / 20
    mu1, mu2 = rng.normal(size=32), rng.normal(size=32)
    covmean = scipy.linalg.sqrtm(c1 @ c2).real
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(c1) + np.trace(c2) - 2 * np.trace(covmean)
    got = frechet_distance(*(torch.from_numpy(t) for t in (mu1, c1, mu2, c2)))
    assert got == pytest.approx(expected, rel=1e-7)


def test_fid_of_samples_approaches_closed_form():
    gen = torch.Generator().manual_seed(1)
    real = torch.randn(20000, 4, generator=gen)
    fake = torch.randn(20000, 4, generator=gen) * 2 + 1  # mean 1, variance 4 per axis
    assert fid(real, fake) == pytest.approx(4 * (1 + 1 + 4 - 2 * 2), rel=0.05)  # closed form: 8


def test_fid_lenet_real_vs_real_is_small_and_vs_noise_large(mnist_features, lenet):
    # Measured with the shipped weights: test vs valid 12.3 (features have total variance ~4500),
    # test vs uniform noise ~4500. (Test's two halves differ more, ~143: MNIST's writers differ.)
    real_vs_real = fid(mnist_features["test"], mnist_features["valid"])
    noise = torch.rand(2000, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    real_vs_noise = fid(mnist_features["test"], lenet.features(noise))
    assert real_vs_real < 20.0
    assert real_vs_noise > 1000 and real_vs_noise > 100 * real_vs_real


# KID ------------------------------------------------------------------------------------------


def test_kid_same_distribution_near_zero_and_shift_positive(mnist_features):
    same, same_std = kid(mnist_features["test"], mnist_features["valid"], num_subsets=20, subset_size=500)
    assert abs(same) < 3 * same_std
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(2000, 16, generator=gen), torch.randn(2000, 16, generator=gen)
    mean, std = kid(x, y, num_subsets=20, subset_size=500)
    assert abs(mean) < 3 * std
    shifted, shifted_std = kid(x, y + 0.5, num_subsets=20, subset_size=500)
    assert shifted > 10 * shifted_std and shifted > 10 * abs(mean)


# IS and label accuracy ------------------------------------------------------------------------------------------


def test_inception_score_uniform_is_one_and_confident_balanced_is_k():
    mean, std = inception_score(torch.zeros(1000, 10))
    assert mean == pytest.approx(1.0, abs=1e-12) and std == pytest.approx(0.0, abs=1e-12)
    confident = 50.0 * F.one_hot(torch.arange(1000) % 10, 10).double()
    assert inception_score(confident)[0] == pytest.approx(10.0, rel=1e-6)
    one_class = 50.0 * F.one_hot(torch.zeros(1000, dtype=torch.long), 10).double()
    assert inception_score(one_class)[0] == pytest.approx(1.0, rel=1e-6)  # confident but no diversity


def test_label_accuracy():
    logits = F.one_hot(torch.tensor([0, 1, 2, 3]), 5).float()
    assert label_accuracy(logits, torch.tensor([0, 1, 2, 3])) == 1.0
    assert label_accuracy(logits, torch.tensor([0, 1, 4, 4])) == 0.5


# precision / recall, density / coverage --------------------------------------------------------------------------


def _clusters(n: int, centers: list[float], seed: int = 0, dim: int = 8) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    c = torch.tensor(centers).repeat_interleave(n // len(centers))[:, None]
    return torch.randn(n, dim, generator=gen) + c * 20.0  # clusters ~57 apart, points ~4 apart


def test_precision_recall_constructed_sets():
    real = _clusters(1000, [0.0, 1.0])  # two far clusters of 500 points each
    assert precision_recall(real, real.clone()) == (1.0, 1.0)
    far = _clusters(1000, [5.0], seed=1)
    assert precision_recall(real, far) == (0.0, 0.0)
    half = real[:500].clone()  # covers exactly the first cluster
    assert precision_recall(real, half) == (1.0, 0.5)
    # An independent sample of one cluster: nearly all fakes are realistic, half the real support is
    # covered. In 2-d; in 8-d with 500 points per cluster the k=3 balls leave gaps (precision ~0.84).
    p, r = precision_recall(_clusters(1000, [0.0, 1.0], dim=2), _clusters(500, [0.0], seed=2, dim=2))
    assert p > 0.95 and 0.45 < r <= 0.5


def test_density_coverage_constructed_sets():
    real = _clusters(1000, [0.0, 1.0])
    assert density_coverage(real, real.clone()) == pytest.approx((1.0, 1.0))
    assert density_coverage(real, _clusters(1000, [5.0], seed=1)) == (0.0, 0.0)
    # Same distribution: density ~1; coverage ~1 - 2^-k (Naeem et al., Sec. 4) = 0.969 for k = 5.
    d, c = density_coverage(_clusters(4000, [0.0], seed=3), _clusters(4000, [0.0], seed=4))
    assert d == pytest.approx(1.0, abs=0.1) and c == pytest.approx(1 - 2**-5, abs=0.03)
    # Fakes duplicating one half: coverage halves; density stays 1 (each copy sits in ~k balls).
    d, c = density_coverage(real, torch.cat([real[:500], real[:500]]))
    assert c == pytest.approx(0.5) and d == pytest.approx(1.0)


# extractors ------------------------------------------------------------------------------------------


def test_registry_and_unknown_names():
    assert {"lenet-mnist", "inception-v3"} <= set(list_extractors())
    with pytest.raises(GankitError, match="lenet-mnist"):
        get_extractor("no-such-net")
    with pytest.raises(GankitError, match="choose from"):
        compare(torch.zeros(4, 1, 28, 28), torch.zeros(4, 1, 28, 28), metrics=("fidd",))


def test_lenet_shipped_weights_reach_99_percent_on_test(mnist_features, lenet):
    acc = label_accuracy(mnist_features["logits"], mnist_features["labels"])
    assert acc >= 0.99
    assert len(lenet.weights_hash) == 16 and mnist_features["test"].shape == (10000, 128)
    assert (weights_dir() / "lenet_mnist.safetensors").stat().st_size < 2_000_000


def test_lenet_prepare_accepts_rgb_and_other_sizes(lenet):
    x, y = load_mnist("test")
    x = x[:500].float() / 127.5 - 1
    big_rgb = F.interpolate(x, size=(64, 64), mode="bilinear", align_corners=False).expand(-1, 3, -1, -1)
    assert (lenet.logits(big_rgb).argmax(1) == y[:500]).float().mean() > 0.97
    with pytest.raises(GankitError, match="1 or 3 channels"):
        lenet.features(torch.zeros(2, 2, 28, 28))


# evaluate / compare ------------------------------------------------------------------------------------------


def _rgb32(images: torch.Tensor) -> torch.Tensor:
    """uint8 MNIST -> RGB 32 x 32 in [-1, 1], like a generator trained on resized MNIST would emit."""
    x = images.float() / 127.5 - 1
    return F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False).repeat(1, 3, 1, 1)


def test_evaluate_end_to_end_with_labels_and_protocol():
    x_valid, y_valid = load_mnist("valid")
    x_test, _ = load_mnist("test")
    by_class = [x_valid[y_valid == k][:400] for k in range(10)]
    state = torch.get_rng_state()

    def sample_fn(b, labels):  # a "perfect" class-conditional generator
        idx = torch.randint(0, 400, (b,))
        return _rgb32(torch.stack([by_class[int(k)][int(i)] for k, i in zip(labels, idx)]))

    out = evaluate(
        sample_fn, _rgb32(x_test[:1000]), metrics=("fid", "is", "label_acc"), n=1000, batch_size=250
    )
    m = out["metrics"]
    assert set(m) == {"fid[lenet-mnist]", "is[lenet-mnist]", "is_std[lenet-mnist]", "label_acc[lenet-mnist]"}
    # FID of 1k vs 1k real images is ~58 (the estimator's small-sample bias); uniform noise scores ~4500.
    assert m["label_acc[lenet-mnist]"] > 0.97 and m["is[lenet-mnist]"] > 8.0 and m["fid[lenet-mnist]"] < 100
    assert out["protocol"] | {"gankit_version": None} == {
        "extractor": "lenet-mnist",
        "weights_hash": get_extractor("lenet-mnist").weights_hash,
        "n_real": 1000,
        "n_fake": 1000,
        "reference": "tensor[1000]",
        "seed": 0,
        "gankit_version": None,
    }
    assert torch.equal(torch.get_rng_state(), state)  # sampling ran under its own seed


def test_compare_reports_every_metric_under_its_extractor():
    x_test, _ = load_mnist("test")
    x_valid, _ = load_mnist("valid")
    out = compare(x_test[:1000], x_valid[:1000].float() / 127.5 - 1)
    assert set(out["metrics"]) == {
        f"{k}[lenet-mnist]"
        for k in ("fid", "kid", "kid_std", "is", "is_std", "precision", "recall", "density", "coverage")
    }
    assert out["metrics"]["precision[lenet-mnist]"] > 0.6 and out["metrics"]["recall[lenet-mnist]"] > 0.6


def test_stats_cache_reused_and_invalidated_by_weights_hash(tmp_path, monkeypatch, lenet):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    x_valid, _ = load_mnist("valid")
    noise = torch.rand(300, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    fake = lambda b: torch.zeros(b, 1, 28, 28)  # noqa: E731

    with pytest.raises(GankitError, match="no cached features for mnist-valid"):
        evaluate(fake, None, ("fid",), n=300, extractor=lenet, real_key=("mnist", "valid"))
    first = evaluate(fake, x_valid, "fid", n=300, extractor=lenet, real_key=("mnist", "valid"))
    assert first["protocol"]["reference"] == "mnist-valid"
    files = sorted((tmp_path / "cache" / "stats").iterdir())
    assert len(files) == 1 and lenet.weights_hash in files[0].name
    # Same key, same weights: the cached real features are used (the noise passed here is ignored).
    again = evaluate(fake, noise, ("fid",), n=300, extractor=lenet, real_key=("mnist", "valid"))
    assert again["metrics"] == first["metrics"]
    assert (
        evaluate(fake, None, ("fid",), n=300, extractor=lenet, real_key="mnist-valid")["metrics"]
        == first["metrics"]
    )

    # New weights (one bias nudged): the hash changes and the stale features must not be reused.
    state = load_file(str(weights_dir() / "lenet_mnist.safetensors"))
    state["fc1.bias"] = state["fc1.bias"] + 0.01
    save_file(state, str(tmp_path / "other.safetensors"))
    other = get_extractor("lenet-mnist", weights=tmp_path / "other.safetensors")
    assert other.weights_hash != lenet.weights_hash
    fresh = evaluate(fake, noise, ("fid",), n=300, extractor=other, real_key=("mnist", "valid"))
    assert len(list((tmp_path / "cache" / "stats").iterdir())) == 2
    uncached = evaluate(fake, noise, ("fid",), n=300, extractor=other)
    assert fresh["metrics"] == uncached["metrics"] != first["metrics"]
    assert fresh["protocol"]["weights_hash"] == other.weights_hash


# inception-v3 ------------------------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    def refuse(*args, **kwargs):
        raise AssertionError("test tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints" / FID_WEIGHTS


def test_inception_offline_says_where_to_put_weights(no_network, monkeypatch):
    monkeypatch.setenv("GANKIT_OFFLINE", "1")
    monkeypatch.setattr(
        torch.hub, "load_state_dict_from_url", lambda *a, **k: pytest.fail("download attempted")
    )
    with pytest.raises(GankitError) as err:
        get_extractor("inception-v3")
    msg = str(err.value)
    assert str(no_network) in msg and "--inception-weights FILE" in msg and "\n" not in msg


def test_inception_failed_download_is_a_clear_error(no_network, monkeypatch):
    monkeypatch.delenv("GANKIT_OFFLINE", raising=False)

    def unreachable(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", unreachable)
    with pytest.raises(GankitError, match="--inception-weights FILE"):
        get_extractor("inception-v3")
    with pytest.raises(GankitError, match="does not exist"):
        get_extractor("inception-v3", weights=no_network.parent / "missing.pth")


def test_inception_loads_a_state_dict_of_the_fid_layout(no_network, tmp_path):
    from torchvision.models import inception_v3

    # Random weights with the FID file's keys and shapes: checks our blocks load it strictly.
    state = inception_v3(weights=None, aux_logits=False, init_weights=False, num_classes=1008).state_dict()
    torch.save(state, tmp_path / "fake_inception.pth")
    net = get_extractor("inception-v3", weights=tmp_path / "fake_inception.pth")
    feats, logits = net.extract(torch.rand(2, 1, 28, 28) * 2 - 1)
    assert feats.shape == (2, 2048) and logits.shape == (2, 1008) and len(net.weights_hash) == 16
