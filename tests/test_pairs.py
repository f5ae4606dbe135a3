"""Two-domain data: the aligned and unaligned folder formats, the embedded tasks, jitter and
mirroring, and the engine feeding domain B beside domain A (exactly resumable)."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.config import Config
from gankit.data import ImageDataset
from gankit.data.pairs import PairSampler, TwoDomainDataset, load_two_domain
from gankit.engine import TrainConfig, Trainer
from gankit.errors import GankitError
from gankit.models.base import Batch, DataSpec, GANModel


def _aligned_folder(root, n=3, width=16, height=8, split="train"):
    (root / split).mkdir(parents=True)
    for i in range(n):
        left = np.full((height, width // 2, 3), 20 * i, np.uint8)  # A: flat grey level i
        right = np.zeros((height, width - width // 2, 3), np.uint8)
        right[..., 0] = 200  # B: red
        Image.fromarray(np.concatenate([left, right], 1)).save(root / split / f"{i}.png")
    return root


def test_aligned_format_splits_each_image_into_a_and_b(tmp_path):
    data = load_two_domain(str(_aligned_folder(tmp_path / "facades")), 8, 3, 1, augment=False)
    assert data.aligned and len(data) == 3
    assert data.a.images.shape == (3, 3, 8, 8) and data.b.images.shape == (3, 1, 8, 8)
    assert data.a.images[2].float().mean() == pytest.approx(40, abs=1)
    swapped = load_two_domain(str(tmp_path / "facades"), 8, 1, 3, direction="BtoA", augment=False)
    assert swapped.a.images.shape == (3, 1, 8, 8) and swapped.b.images[2].float().mean() == pytest.approx(40, abs=1)
    jittered = load_two_domain(str(tmp_path / "facades"), 8, 3, 1)
    assert jittered.augment and jittered.a.images.shape[-1] == 9  # 8 * 286/256, for random 8px crops


def test_aligned_format_errors(tmp_path):
    with pytest.raises(GankitError, match="17 pixels wide.*must be even"):
        load_two_domain(str(_aligned_folder(tmp_path / "odd", width=17)), 8, 3, 3, aligned=True)
    with pytest.raises(GankitError, match="has no test/ folder of aligned pairs \\(found: train\\)"):
        load_two_domain(str(_aligned_folder(tmp_path / "ok")), 8, 3, 3, split="test", aligned=True)
    with pytest.raises(GankitError, match="domain A has 1 image"):
        load_two_domain(str(_aligned_folder(tmp_path / "one", n=1)), 8, 3, 3)
    (tmp_path / "neither" / "stuff").mkdir(parents=True)
    with pytest.raises(GankitError, match="neither translation format"):
        load_two_domain(str(tmp_path / "neither"), 8, 3, 3)


def test_unaligned_format_and_its_errors(tmp_path):
    root = tmp_path / "horse2zebra"
    for side, n in (("A", 3), ("B", 5)):
        (root / f"train{side}").mkdir(parents=True)
        for i in range(n):
            Image.fromarray(np.full((12, 10, 3), 50 * i, np.uint8)).save(root / f"train{side}" / f"{i}.jpg")
    data = load_two_domain(str(root), 8, 3, 3, augment=False)
    assert not data.aligned and len(data.a) == 3 and len(data.b) == 5 and len(data) == 5
    with pytest.raises(GankitError, match="unaligned domains but this model learns from aligned pairs"):
        load_two_domain(str(root), 8, 3, 3, aligned=True)
    (root / "testA").mkdir()
    with pytest.raises(GankitError, match="has no testB/ folder"):
        load_two_domain(str(root), 8, 3, 3, split="test")


def test_embedded_tasks_load_as_two_domains():
    pairs = load_two_domain("edges2digits", 32, 1, 1, split="test")
    assert pairs.aligned and not pairs.augment and pairs.a.images.shape == (10_000, 1, 32, 32)
    domains = load_two_domain("mnist-m", 32, 1, 3, split="test")
    assert not domains.aligned and domains.b.images.shape == (5_000, 3, 32, 32)
    assert torch.equal(domains.a.labels, pairs.a.labels[:5000]) and torch.equal(domains.b.labels, pairs.a.labels[5000:])


def _toy(aligned: bool) -> TwoDomainDataset:
    g = torch.Generator().manual_seed(0)
    a = torch.randint(0, 256, (12, 1, 6, 6), dtype=torch.uint8, generator=g)
    b = a.expand(-1, 3, -1, -1).clone() if aligned else torch.randint(0, 256, (9, 3, 6, 6), dtype=torch.uint8, generator=g)
    return TwoDomainDataset(ImageDataset(a, torch.arange(12) % 3), ImageDataset(b), aligned, "toy", augment=True)


def test_aligned_pairs_get_the_same_crop_and_flip():
    sampler = PairSampler(_toy(True), 4, seed=0, crop=4, augment=True)
    for _ in range(5):
        a, b, labels = sampler.next()
        assert a.shape == (4, 1, 4, 4) and b.shape == (4, 3, 4, 4) and labels is not None
        assert torch.equal(a.expand(-1, 3, -1, -1), b), "a pair must stay aligned through the jitter"


def test_pair_sampler_resumes_exactly():
    first = PairSampler(_toy(False), 4, seed=1, crop=4, augment=True)
    for _ in range(3):
        first.next()
    state = first.state_dict()
    expected = [first.next() for _ in range(4)]
    second = PairSampler(_toy(False), 4, seed=1, crop=4, augment=True)
    second.load_state_dict(state)
    for (a1, b1, _), (a2, b2, _) in zip(expected, [second.next() for _ in range(4)]):
        assert torch.equal(a1, a2) and torch.equal(b1, b2)


@dataclass
class ToyConfig(Config):
    pairing: str = "unpaired"


class TwoDomainRecorder(GANModel):
    name = "two-domain-recorder"
    config_class = ToyConfig

    def __init__(self, config: ToyConfig) -> None:
        super().__init__(config)
        self.generator = torch.nn.Conv2d(1, 3, 1)
        self.optimizers = {"generator": torch.optim.SGD(self.generator.parameters(), 0.1)}

    def data_spec(self) -> DataSpec:
        return DataSpec(1, 4, pairing=self.config.pairing, channels_b=3)

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        assert batch.images.shape[1:] == (1, 4, 4) and batch.b.shape[1:] == (3, 4, 4) and batch.labels is None
        loss = (self.generator(batch.images) - batch.b).abs().mean()
        self.optimize(loss, "generator")
        return {"loss/l1": loss.detach()}

    def sample(self, n, labels=None, generator=None):
        return torch.zeros(n, 3, 4, 4)


def test_engine_feeds_domain_b_and_resumes_exactly(tmp_path):
    config = dict(batch_size=4, seed=0, sample_every=100, checkpoint_every=3, log_every=1, grid_size=4)
    torch.manual_seed(0)
    straight = TwoDomainRecorder(ToyConfig())
    Trainer(straight, _toy(False), TrainConfig(steps=6, **config), tmp_path / "a").fit()
    torch.manual_seed(0)
    Trainer(TwoDomainRecorder(ToyConfig()), _toy(False), TrainConfig(steps=3, **config), tmp_path / "b").fit()
    resumed = TwoDomainRecorder(ToyConfig())
    Trainer(resumed, _toy(False), TrainConfig(steps=6, **config), tmp_path / "b", resume=True).fit()
    for p, q in zip(straight.parameters(), resumed.parameters()):
        assert torch.equal(p, q)


def test_engine_rejects_mismatched_pairing(tmp_path):
    with pytest.raises(GankitError, match="learns from aligned pairs but toy has unaligned domains"):
        Trainer(TwoDomainRecorder(ToyConfig("paired")), _toy(False), TrainConfig(steps=1), tmp_path / "r")
    one_domain = ImageDataset(torch.zeros(8, 1, 4, 4, dtype=torch.uint8))
    with pytest.raises(GankitError, match="translates between two domains"):
        Trainer(TwoDomainRecorder(ToyConfig()), one_domain, TrainConfig(steps=1), tmp_path / "r")
