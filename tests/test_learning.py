"""Learning tests: train for real, measure fid[lenet-mnist] against held-out MNIST.

Measured when these thresholds were set (seed 0, 2-core CPU, n = 5000 vs the test split):
- gan (paper MLPs), 2000 steps, ~35 s: untrained 5878 -> 1884 (seed 1: 5832 -> 1897).
- dcgan (cpu preset), 600 steps, ~55 s: untrained 4725 -> 884 (800 steps: 566).
Real-vs-real (test vs valid) is about 12 on this scale. Thresholds leave a wide margin.
"""

import pytest
import torch

import gankit
from gankit.api import train
from gankit.evaluation import evaluate_model

INFO = {"data": {"source": "mnist"}}
N = 5000


def fid(model):
    return evaluate_model(model, INFO, ("fid",), n=N)["metrics"]["fid[lenet-mnist]"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "preset", "steps", "threshold", "max_ratio"),
    [("gan", None, 2000, 2600.0, 0.5), ("dcgan", "cpu", 600, 1500.0, 0.4)],
)
def test_training_lowers_fid_far_below_untrained(tmp_path, name, preset, steps, threshold, max_ratio):
    torch.manual_seed(0)
    untrained = fid(gankit.create_model(name, preset=preset))
    run = train(name, "mnist", out=tmp_path, name="r", preset=preset, steps=steps, seed=0,
                sample_every=10**6, checkpoint_every=10**6, log_every=100)
    trained = fid(gankit.load(run))
    print(f"{name}: fid[lenet-mnist] untrained {untrained:.1f} -> trained {trained:.1f} after {steps} steps")
    assert trained < threshold, f"{name} reached {trained:.1f}, threshold {threshold}"
    assert trained < max_ratio * untrained, f"{name}: {trained:.1f} is not far below untrained {untrained:.1f}"
