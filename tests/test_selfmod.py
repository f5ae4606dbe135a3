"""SELF-MOD: G's batch norms take scale and shift from z, the ablation is plain BN, and a small
self-modulated G learns MNIST.

Learning test measured when its threshold was set: see test_small_selfmod_learns_mnist's print.
"""

import pytest
import torch

import gankit
from gankit.nn.modulated_norm import ModulatedBatchNorm2d

SMALL = {"channels": 1, "image_size": 16, "g_width": 32, "d_width": 32, "latent_dim": 64}


def test_modulated_norm_starts_near_plain_bn_and_follows_its_condition():
    torch.manual_seed(0)
    block = ModulatedBatchNorm2d(6, cond_dim=4, hidden=8)
    x = torch.randn(5, 6, 3, 3)
    plain = torch.nn.functional.batch_norm(x, None, None, training=True)
    cond = torch.randn(5, 4)
    for head in (block.gamma, block.beta):
        torch.nn.init.zeros_(head[-1].weight)
        torch.nn.init.zeros_(head[-1].bias)
    assert torch.allclose(block(x, cond), plain, atol=1e-5)  # zero heads: exactly BN
    torch.nn.init.normal_(block.gamma[-1].weight)
    assert not torch.allclose(block(x, cond), block(x, torch.randn(5, 4)))  # another z, another scale


def test_selfmod_modulates_every_batch_norm_of_g_and_the_ablation_has_none():
    torch.manual_seed(0)
    model = gankit.create_model("selfmod", preset="tiny")
    g = model.generator
    modulated = [m for m in g.modules() if isinstance(m, ModulatedBatchNorm2d)]
    assert len(modulated) == 2 * len(g.blocks) + 1  # two per up block and the one before the output conv
    assert not any(isinstance(m, torch.nn.BatchNorm2d) and m.affine for m in g.modules())
    plain = gankit.create_model("selfmod", preset="tiny", modulation=False)
    assert not any(isinstance(m, ModulatedBatchNorm2d) for m in plain.generator.modules())
    assert plain.sample(3).shape == model.sample(3).shape == (3, 3, 8, 8)
    with pytest.raises(gankit.GankitError, match="modulation_hidden"):
        gankit.create_model("selfmod", preset="tiny", modulation_hidden=0)


@pytest.mark.slow
def test_small_selfmod_learns_mnist(fid_before_and_after):
    untrained, trained, _ = fid_before_and_after("selfmod", SMALL, steps=600)
    assert trained < 0.5 * untrained
