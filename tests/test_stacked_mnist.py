"""Stacked MNIST (`--data stacked-mnist`) and the `stacked_modes` capability.

Measured on 1 thread (lenet-mnist reads about 10,000 digits a second): the real held-out split at
32 px reads as 1000 modes, KL 0.0245 nats, 93.2% confident at mode_samples = 26,000 (the default;
7.1 s for the samples, 13.8 s with the baseline); at the 5,000 used here 992 modes, KL 0.107
(thresholds below: >= 970 modes, KL < 0.2).
"""

import math

import pytest
import torch

from gankit.capabilities import HeldOut, get_capability
from gankit.capabilities.modes import coverage
from gankit.data import load_data
from gankit.data.core import ImageDataset, to_signed_unit
from gankit.data.mnist import load_mnist
from gankit.data.stacked_mnist import stacked_mnist
from gankit.errors import GankitError


class FakeModel:
    """Just what the capability reads: `device` and `sample(n, labels=None, generator=None)`."""

    name = "fake"
    device = torch.device("cpu")

    def __init__(self, images: torch.Tensor) -> None:
        self.images, self.cursor = images, 0  # (N, C, H, W) uint8, handed out in order

    def sample(self, n, labels=None, generator=None):
        out = self.images[self.cursor : self.cursor + n]
        self.cursor += n
        return to_signed_unit(out)


def _digit_table(split):
    """The bytes of every MNIST digit of `split` -> its label."""
    images, labels = load_mnist(split)
    return {img.numpy().tobytes(): int(y) for img, y in zip(images[:, 0], labels)}


def test_same_seed_same_images_and_a_new_seed_new_ones():
    a, b = stacked_mnist("test", n=300), stacked_mnist("test", n=300)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, stacked_mnist("test", n=300, seed=5).images)
    assert not torch.equal(a.images, stacked_mnist("train", n=300, seed=1).images)  # same seed, other digits


@pytest.mark.parametrize("split,other", [("train", "test"), ("test", "train")])
def test_each_channel_is_a_digit_of_its_own_split_and_the_label_is_the_triple(split, other):
    own, foreign = _digit_table(split), _digit_table(other)
    ds = stacked_mnist(split, n=200)
    digits = torch.tensor([[own[ds.images[i, c].numpy().tobytes()] for c in range(3)] for i in range(len(ds))])
    assert not any(ds.images[i, c].numpy().tobytes() in foreign for i in range(len(ds)) for c in range(3))
    assert torch.equal(ds.labels, digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2])
    assert len(set(ds.labels.tolist())) > 150  # the three digits are drawn independently: many triples


def test_named_source_shapes_dtypes_and_class_names():
    ds = load_data("stacked-mnist", 32, 3, "test")
    assert ds.images.shape == (26_000, 3, 32, 32) and ds.images.dtype == torch.uint8
    assert ds.labels.dtype == torch.int64 and 0 <= ds.labels.min() and ds.labels.max() <= 999
    assert len(ds.class_names) == 1000 and ds.class_names[7] == "007" and ds.class_names[999] == "999"
    assert len(stacked_mnist("train")) == 60_000
    with pytest.raises(GankitError, match="RGB by construction"):
        load_data("stacked-mnist", 32, 1, "train")
    with pytest.raises(GankitError, match="splits train, test"):
        load_data("stacked-mnist", 32, 3, "valid")


def test_coverage_figures_exactly():
    uniform = coverage(torch.arange(1000).repeat(3), torch.ones(3000))
    assert uniform["covered"] == 1000 and uniform["kl"] == pytest.approx(0.0, abs=1e-12)
    two = coverage(torch.tensor([5, 5, 9, 9]), torch.tensor([0.95, 0.5, 0.99, 0.91]))
    assert two["covered"] == 2 and two["kl"] == pytest.approx(math.log(500)) and two["confident"] == 0.75


def test_real_held_out_images_cover_nearly_all_modes_with_a_small_kl():
    test = load_data("stacked-mnist", 32, 3, "test")
    data = HeldOut(train=None, test=test)
    result = get_capability("stacked_modes")(FakeModel(test.images), data, baselines=True, mode_samples=5000)
    assert result["modes/covered"] >= 970 and result["modes/kl"] < 0.2 and result["modes/confident"] > 0.85
    # the baseline reads the same first 5,000 held-out images: the very same figures
    assert all(result[f"baseline/modes/{k}"] == result[f"modes/{k}"] for k in ("covered", "kl", "confident"))


def test_a_collapsed_model_covers_one_mode_and_the_baseline_is_built_for_other_data():
    one = stacked_mnist("test", n=1).images.expand(1000, -1, -1, -1)  # (1000, 3, 28, 28): one image, always
    mnist = ImageDataset(*load_mnist("test"), "mnist-test")  # not stacked: the baseline makes its own images
    result = get_capability("stacked_modes")(FakeModel(one), HeldOut(None, mnist), baselines=True, mode_samples=1000)
    assert result["modes/covered"] == 1 and result["modes/kl"] == pytest.approx(math.log(1000))
    assert result["baseline/modes/covered"] > 560  # 1000 draws of 1000 modes: 632 distinct expected


def test_gray_samples_are_one_clear_error():
    gray = load_mnist("test")[0][:10]  # (10, 1, 28, 28)
    with pytest.raises(GankitError, match="reads RGB samples") as err:
        get_capability("stacked_modes")(FakeModel(gray), HeldOut(None, None), mode_samples=10)
    assert "\n" not in str(err.value)
