"""Learning tests for the loss family on the classic 28x28 MLPs (`mlp` preset).

Each trains on the embedded MNIST for a fixed number of steps (one D update each; WGAN and
WGAN-GP update G every 5th step) and must beat its untrained fid[lenet-mnist] (n = 5000 vs
the test split) by a wide margin. Measured when the thresholds were set (seed 0, 2000
steps unless noted; untrained models score about 5800):
  lsgan 1927, mmgan 1474, nsgan 1884, dragan 2683, wgan_gp 1888, wgan 3534.
WGAN's critic estimate of W1 fell 0.44 -> 0.03 over the run while FID fell 4355 -> 3534;
WGAN-GP's fell 9.4 -> 0.04 by step 850, then rose to 3.8 as the critic sharpened.
"""

import json

import pytest
import torch

import gankit
from gankit.api import train
from gankit.evaluation import evaluate_model

INFO = {"data": {"source": "mnist"}}


def fid(model):
    return evaluate_model(model, INFO, ("fid",), n=5000)["metrics"]["fid[lenet-mnist]"]


def mean(values):
    return sum(values) / len(values)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "steps", "threshold", "max_ratio"),
    [
        ("lsgan", 2000, 2900.0, 0.5),
        ("mmgan", 2000, 2500.0, 0.5),
        ("nsgan", 2000, 2800.0, 0.5),
        ("dragan", 2000, 3600.0, 0.65),
        ("wgan_gp", 2000, 2900.0, 0.5),
        ("wgan", 2000, 4300.0, 0.75),
    ],
)
def test_loss_variant_learns(tmp_path, name, steps, threshold, max_ratio):
    torch.manual_seed(0)
    untrained = fid(gankit.create_model(name, preset="mlp"))
    run = train(name, "mnist", out=tmp_path, name="r", preset="mlp", steps=steps, seed=0, log_every=20,
                sample_every=10**6, checkpoint_every=10**6)
    trained = fid(gankit.load(run))
    print(f"{name}: fid[lenet-mnist] untrained {untrained:.0f} -> {trained:.0f} after {steps} steps")
    assert trained < threshold and trained < max_ratio * untrained, (name, untrained, trained)
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    estimate = [r["wasserstein/estimate"] for r in rows if "wasserstein/estimate" in r]
    if name in ("wgan", "wgan_gp"):
        tenth = max(1, len(estimate) // 10)
        first, last = mean(estimate[:tenth]), mean(estimate[-tenth:])
        print(f"{name}: critic W1 estimate, first tenth {first:.3f} -> last tenth {last:.3f}")
        assert last < 0.8 * first, "the critic's Wasserstein estimate falls as samples improve"
