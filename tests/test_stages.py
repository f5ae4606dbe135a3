"""Training stages through the engine: a tiny model that grows 4 -> 8 -> 16 px (ProGAN-style, with a
fade-in), killed anywhere and resumed, gives the same losses step for step as an uninterrupted run."""

import json
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gankit.config import Config
from gankit.data import ImageDataset
from gankit.engine import TrainConfig, Trainer
from gankit.engine.trainer import plan_stages
from gankit.errors import GankitError
from gankit.losses import d_bce, g_nonsaturating
from gankit.models.base import Batch, DataSpec, GANModel, Stage
from gankit.optim import adam


@dataclass
class GrowConfig(Config):
    latent_dim: int = 8
    width: int = 8


class GrowingGenerator(nn.Module):
    def __init__(self, latent_dim: int, width: int) -> None:
        super().__init__()
        self.width = width
        self.stem = nn.Linear(latent_dim, width * 16)  # z -> (width, 4, 4)
        self.blocks = nn.ModuleList()  # each doubles the side
        self.to_gray = nn.ModuleList([nn.Conv2d(width, 1, 1)])

    def grow(self) -> None:
        self.blocks.append(nn.Conv2d(self.width, self.width, 3, padding=1))
        self.to_gray.append(nn.Conv2d(self.width, 1, 1))

    def forward(self, z: torch.Tensor, alpha: float) -> torch.Tensor:
        h = F.leaky_relu(self.stem(z).view(len(z), self.width, 4, 4), 0.2)
        prev = h
        for block in self.blocks:
            prev = h
            h = F.leaky_relu(block(F.interpolate(h, scale_factor=2.0)), 0.2)
        out = self.to_gray[-1](h)
        if self.blocks and alpha < 1:  # fade the new resolution in over the old one, upsampled
            out = alpha * out + (1 - alpha) * F.interpolate(self.to_gray[-2](prev), scale_factor=2.0)
        return torch.tanh(out)  # (B, 1, 4 * 2^k, 4 * 2^k)


class GrowingDiscriminator(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.width = width
        self.from_gray = nn.ModuleList([nn.Conv2d(1, width, 1)])
        self.blocks = nn.ModuleList()  # each halves the side; the newest one comes first
        self.head = nn.Linear(width * 16, 1)

    def grow(self) -> None:
        self.blocks.insert(0, nn.Conv2d(self.width, self.width, 3, padding=1))
        self.from_gray.append(nn.Conv2d(1, self.width, 1))

    def forward(self, x: torch.Tensor, alpha: float) -> torch.Tensor:
        h = F.leaky_relu(self.from_gray[-1](x), 0.2)
        for i, block in enumerate(self.blocks):
            h = F.avg_pool2d(F.leaky_relu(block(h), 0.2), 2)
            if i == 0 and alpha < 1:
                h = alpha * h + (1 - alpha) * F.leaky_relu(self.from_gray[-2](F.avg_pool2d(x, 2)), 0.2)
        return self.head(h.flatten(1))  # (B, 1)


class GrowingGAN(GANModel):
    """Not registered: the engine needs only the contract."""

    name = "growing-test"
    config_class = GrowConfig
    paper = arxiv = task = data_needs = "test"

    def __init__(self, config: GrowConfig) -> None:
        super().__init__(config)
        self.generator = GrowingGenerator(config.latent_dim, config.width)
        self.discriminator = GrowingDiscriminator(config.width)
        self.seen_sizes: list[tuple[str, int, int]] = []  # (stage, image side, batch size) per step

    def data_spec(self) -> DataSpec:
        return DataSpec(channels=1, image_size=16)

    def stages(self, train):
        return [Stage("4px", steps=4, image_size=4), Stage("8px", images=24, image_size=8, batch_size=6),
                Stage("16px", image_size=16)]

    def begin_stage(self, progress) -> None:
        while len(self.generator.blocks) < progress.index:
            self.generator.grow()
            self.discriminator.grow()
        # ProGAN-style: fresh optimizers over the grown networks.
        self.optimizers = {"generator": adam(self.generator.parameters(), 2e-3, (0.0, 0.99)),
                           "discriminator": adam(self.discriminator.parameters(), 2e-3, (0.0, 0.99))}

    def alpha(self) -> float:
        return 1.0 if self.progress is None or self.progress.index == 0 else self.progress.fraction

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        x = batch.images  # (B, 1, S, S), S of the stage
        self.seen_sizes.append((self.progress.stage.name, x.shape[-1], x.shape[0]))
        a = self.alpha()
        fake = self.generator(self.latent(len(x), self.config.latent_dim), a)
        assert fake.shape == x.shape
        loss_d = d_bce(self.discriminator(x, a), self.discriminator(fake.detach(), a))
        self.optimize(loss_d, "discriminator")
        with self.frozen(self.discriminator):
            loss_g = g_nonsaturating(self.discriminator(fake, a))
        self.optimize(loss_g, "generator")
        return {"loss/d": loss_d.detach(), "loss/g": loss_g.detach()}

    @torch.no_grad()
    def sample(self, n, labels=None, generator=None):
        return self.net("generator")(self.latent(n, self.config.latent_dim, generator), self.alpha())


class Killed(Exception):
    pass


def dataset() -> ImageDataset:
    g = torch.Generator().manual_seed(3)
    return ImageDataset(torch.randint(0, 256, (30, 1, 16, 16), dtype=torch.uint8, generator=g), name="noise")


def train(run_dir, resume=False, kill_at=None, steps=14):
    torch.manual_seed(0)
    model = GrowingGAN(GrowConfig())
    if kill_at is not None:
        step = model.train_step

        def dies(batch):
            if len(model.seen_sizes) == kill_at - 1:
                raise Killed  # the process dies here: nothing after the last checkpoint survives
            return step(batch)

        model.train_step = dies
    config = TrainConfig(batch_size=5, steps=steps, seed=0, ema=0.9, log_every=1, checkpoint_every=3,
                         sample_every=100, progress="off", threads=1)
    Trainer(model, dataset(), config, run_dir, resume=resume).fit()
    return model


def losses(run_dir):
    rows = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    return ({r["step"]: (r["loss/d"], r["loss/g"]) for r in rows if "loss/d" in r},
            [(r["step"], r["stage"]) for r in rows if r.get("event") == "stage"])


def test_plan_places_stages_on_the_step_axis():
    model = GrowingGAN(GrowConfig())
    plan, total = plan_stages(model, TrainConfig(batch_size=5, steps=14), 30)
    assert total == 14
    assert [(p.stage.name, p.start, p.end, p.batch_size, p.image_size) for p in plan] == [
        ("4px", 0, 4, 5, 4), ("8px", 4, 8, 6, 8), ("16px", 8, 14, 5, 16)]  # 24 images of 6 = 4 steps
    plan, total = plan_stages(model, TrainConfig(batch_size=5, steps=6), 30)  # a budget that ends in stage 2
    assert total == 6 and [(p.start, p.end) for p in plan] == [(0, 4), (4, 6), (6, 6)]
    with pytest.raises(GankitError, match="budget in steps or in images, not both"):
        Stage("x", steps=1, images=5)


def test_stages_grow_and_checkpoint_at_each_boundary(tmp_path):
    model = train(tmp_path / "run")
    sizes = model.seen_sizes
    assert sizes[:4] == [("4px", 4, 5)] * 4 and sizes[4:8] == [("8px", 8, 6)] * 4 and sizes[8:] == [("16px", 16, 5)] * 6
    assert len(model.generator.blocks) == 2 and model.ema["generator"].to_gray[-1].weight.shape == (1, 8, 1, 1)
    assert model.sample(3).shape == (3, 1, 16, 16)
    _, events = losses(tmp_path / "run")
    assert events == [(0, "4px"), (4, "8px"), (8, "16px")]
    kept = sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("step-*"))
    assert kept == ["step-00000012", "step-00000014"]


@pytest.mark.parametrize("kill_at", [5, 7, 10])  # first step of stage 2 (after its boundary checkpoint), mid stage 2, stage 3
def test_killed_in_any_stage_resumes_with_the_same_losses(tmp_path, kill_at):
    reference = tmp_path / "reference"
    train(reference)
    run = tmp_path / "killed"
    with pytest.raises(Killed):
        train(run, kill_at=kill_at)
    resumed = train(run, resume=True)
    want, want_events = losses(reference)
    got, got_events = losses(run)
    assert sorted(got) == list(range(1, 15))
    assert got == want  # bit for bit, step for step
    assert got_events == want_events  # each stage's start logged once
    assert resumed.seen_sizes[-1] == ("16px", 16, 5)
    ref_model = train(tmp_path / "again")
    for (k, a), b in zip(ref_model.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k
