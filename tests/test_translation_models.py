"""Two-way translators on MNIST <-> MNIST-M at a reduced budget: the cycle closes and the digit
survives the round trip, far better than before training.

Measured when the thresholds were set (seed 0, `digits` preset, batch 16, 1,000 held-out images
per domain); the full-budget label preservation A<-B is in benchmarks/results/proofs.md.
"""

import pytest
import torch

import gankit
from gankit.api import read_run_config, train
from gankit.evaluation import held_out
from gankit.models.base import HeldOut

STEPS = {"cyclegan": 120, "discogan": 120, "dualgan": 120}


def scores(model, info):
    data = held_out(info, model)
    small = HeldOut(data.train, data.test.subset(1000), seed=0)
    with torch.no_grad():
        return model.capability(small)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(STEPS))
def test_two_way_translation_closes_the_cycle(tmp_path, name):
    torch.manual_seed(0)
    untrained = gankit.create_model(name, preset="digits").eval()
    run = train(name, "mnist-m", out=tmp_path, name="r", preset="digits", steps=STEPS[name], batch_size=16,
                seed=0, sample_every=10**6, checkpoint_every=10**6, log_every=50)
    info = read_run_config(run)
    before, after = scores(untrained, info), scores(gankit.load(run), info)
    print(name, "before", before, "after", after)
    assert after["cycle_l1/a"] < 0.5 * before["cycle_l1/a"], (before, after)
    assert after["label_keep/cycle_a"] >= THRESHOLDS[name], (before, after)
    assert after["label_keep/cycle_a"] > before["label_keep/cycle_a"] + 0.3, (before, after)


THRESHOLDS = {"cyclegan": 0.5, "discogan": 0.5, "dualgan": 0.5}
