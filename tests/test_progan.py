"""ProGAN: a new block fades in without a jump, each resolution is an engine stage that resumes
exactly, minibatch stddev sees a batch without variety, and a small ProGAN learns MNIST.

Learning test measured when its thresholds were set (seed 0, 2 threads, n = 2000 vs the test split,
widths (64, 64, 32) for 4-8-16 px, z 64, stages 200 + 300 + 400 steps, batch 32, EMA 0.99, 44 s):
fid[lenet-mnist] untrained 3779 -> 876. Thresholds leave a wide margin.
"""

import json

import pytest
import torch
import torch.nn.functional as F

import gankit
from gankit.data import ImageDataset
from gankit.engine import TrainConfig, Trainer
from gankit.errors import GankitError
from gankit.nn.equalized import EqualizedConv2d, MinibatchStdDev

GROW = {"latent_dim": 8, "widths": (8, 8, 4), "stage_steps": (3, 4), "stage_batch_sizes": (6, 5, 4)}


def test_a_new_block_fades_in_from_exactly_the_previous_output():
    torch.manual_seed(0)
    model = gankit.create_model("progan", **GROW)
    g, d = model.generator, model.discriminator
    z = torch.randn(4, 8)
    with torch.no_grad():
        for level in (1, 2):
            old = F.interpolate(g(z, level - 1), scale_factor=2, mode="nearest")
            assert torch.allclose(g(z, level, alpha=0.0), old, atol=1e-6)  # alpha 0: no jump at the switch
            assert not torch.allclose(g(z, level, alpha=1.0), old, atol=1e-3)
            x = torch.randn(4, 1, 4 * 2 ** level, 4 * 2 ** level)
            assert torch.allclose(d(x, level, alpha=0.0), d(F.avg_pool2d(x, 2), level - 1), atol=1e-5)
            half = g(z, level, alpha=0.5)
            assert torch.allclose(half, 0.5 * (old + g(z, level, alpha=1.0)), atol=1e-5)  # linear in alpha


def test_equalised_conv_keeps_unit_scale_and_mbstd_sees_identical_samples():
    torch.manual_seed(0)
    conv = EqualizedConv2d(64, 64, 3, gain=1.0)
    assert 0.8 < conv(torch.randn(16, 64, 8, 8)).std().item() < 1.2  # He's constant at run time
    same = torch.randn(1, 3, 4, 4).expand(8, -1, -1, -1)
    stats = MinibatchStdDev(4)(same)
    assert stats.shape == (8, 4, 4, 4) and stats[:, 3].abs().max() < 1e-3
    assert MinibatchStdDev(4)(torch.randn(8, 3, 4, 4))[:, 3].min() > 0.3


def test_config_errors_name_the_valid_shape():
    with pytest.raises(GankitError, match="stage_steps gives the steps of every stage but the last: 2"):
        gankit.create_model("progan", widths=(8, 8, 4), stage_steps=(3,))
    with pytest.raises(GankitError, match="stage_batch_sizes needs 3"):
        gankit.create_model("progan", widths=(8, 8, 4), stage_steps=(3, 4), stage_batch_sizes=(2,))


def grow(run_dir, resume=False, kill_after=None, evaluator=None):
    torch.manual_seed(0)
    model = gankit.create_model("progan", **GROW)
    if kill_after is not None:
        step, calls = model.train_step, []

        def dies(batch):
            if len(calls) == kill_after:
                raise KeyboardInterrupt
            calls.append(1)
            return step(batch)

        model.train_step = dies
    g = torch.Generator().manual_seed(3)
    data = ImageDataset(torch.randint(0, 256, (24, 1, 16, 16), dtype=torch.uint8, generator=g), name="noise")
    config = TrainConfig(batch_size=4, steps=10, seed=0, ema=0.9, log_every=1, checkpoint_every=2,
                         sample_every=100, progress="off", threads=1, eval_every=100 if evaluator else 0)
    Trainer(model, data, config, run_dir, resume=resume, evaluator=evaluator).fit()
    return model


def test_each_resolution_is_a_stage_with_its_batch_and_fade(tmp_path):
    model = grow(tmp_path / "run")
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [(r["step"], r["stage"]) for r in rows if r.get("event") == "stage"] == [(0, "4px"), (3, "8px"), (7, "16px")]
    alpha = {r["step"]: r["grow/alpha"] for r in rows if "grow/alpha" in r}
    assert alpha[1] == 1 and alpha[4] == 0 and 0 < alpha[5] < 1 and alpha[6] == 1  # fade over half of the 8px stage
    assert int(model.level) == 2 and model.sample(3).shape == (3, 1, 16, 16)
    loaded = gankit.load(tmp_path / "run")
    assert int(loaded.level) == 2 and torch.equal(loaded.sample(2, generator=torch.Generator().manual_seed(1)),
                                                  model.eval().sample(2, generator=torch.Generator().manual_seed(1)))


@pytest.mark.parametrize("kill_after", [4, 8])  # mid fade of the 8px stage; in the 16px stage
def test_killed_while_growing_resumes_with_the_same_weights(tmp_path, kill_after):
    reference = grow(tmp_path / "reference")
    with pytest.raises(KeyboardInterrupt):
        grow(tmp_path / "killed", kill_after=kill_after)
    resumed = grow(tmp_path / "killed", resume=True)
    for (k, a), b in zip(reference.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k


def test_the_run_log_measures_the_end_of_every_stage(tmp_path):
    grow(tmp_path / "run", evaluator=lambda m: {"level": float(m.level), "alpha": float(m.alpha)})
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    ends = [(r["step"], r["stage_end"], r["eval/level"], r["eval/alpha"]) for r in rows if "stage_end" in r]
    assert ends == [(3, "4px", 0, 1), (7, "8px", 1, 1), (10, "16px", 2, 1)]


SMALL = {"latent_dim": 64, "widths": (64, 64, 32), "stage_steps": (200, 300)}


@pytest.mark.slow
def test_small_progan_learns_mnist_while_growing(fid_before_and_after):
    untrained, score, run = fid_before_and_after("progan", SMALL, steps=900, ema=0.99)
    assert int(gankit.load(run).level) == 2
    assert score < 1500 and score < 0.4 * untrained
