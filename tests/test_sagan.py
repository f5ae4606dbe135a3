"""SAGAN: the self-attention block starts as the identity and attends by content, SN sits in G and D,
the ablation drops the block, `sample --attention` writes maps, and a small SAGAN learns MNIST.

The learning test checks FID only: at its 600 steps of 16 px the blocks' gammas have moved just
~0.006 (0.015 at 1,300 steps); their drift from 0 is measured by the proof (32 px, 3,000 steps: 0.12 / -0.16).
"""

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit.capabilities.attention import ink_ratio
from gankit.cli import main
from gankit.nn.attention import SelfAttention
from gankit.nn.spectral import is_spectrally_normalized

SMALL = {"channels": 1, "image_size": 16, "attention_size": 8, "g_width": 32, "d_width": 32, "latent_dim": 64}


def test_attention_starts_as_the_identity_and_its_rows_are_distributions():
    torch.manual_seed(0)
    block = SelfAttention(16)
    block.keep_map = True
    x = torch.randn(2, 16, 5, 6)
    assert torch.equal(block(x), x)  # gamma = 0 at init
    assert block.last_map.shape == (2, 30, 30)
    assert torch.allclose(block.last_map.sum(-1), torch.ones(2, 30))
    with torch.no_grad():
        block.gamma.fill_(1.0)
    assert not torch.allclose(block(x), x)


def test_sagan_has_attention_and_spectral_norm_in_both_nets_and_the_ablation_drops_the_block():
    torch.manual_seed(0)
    model = gankit.create_model("sagan", preset="tiny")
    assert is_spectrally_normalized(model.generator) and is_spectrally_normalized(model.discriminator)
    assert set(model.attention_gammas()) == {"g", "d"}
    x = torch.rand(3, 3, 8, 8) * 2 - 1
    assert model.attention_of("discriminator", x).shape == (3, 16, 16)  # 4x4 maps: 16 queries x 16 keys
    assert model.attention_of("generator", torch.randn(3, 8)).shape == (3, 16, 16)
    plain = gankit.create_model("sagan", preset="tiny", attention=False)
    assert plain.attention_gammas() == {} and plain.sample(2).shape == (2, 3, 8, 8)
    with pytest.raises(gankit.GankitError, match="attention=false"):
        plain.attention_of("discriminator", x)
    with pytest.raises(gankit.GankitError, match="attention_size must be"):
        gankit.create_model("sagan", preset="tiny", attention_size=8)


def test_ink_ratio_reads_one_for_blind_attention_and_more_for_attention_on_ink():
    images = -torch.ones(2, 1, 4, 4)
    images[:, :, :2, :2] = 1  # ink on a quarter of the positions
    uniform = torch.full((2, 16, 16), 1 / 16)
    assert torch.allclose(ink_ratio(uniform, images), torch.ones(2))
    ink = (images.flatten(1) > 0).float()  # (2, 16)
    on_ink = (ink / ink.sum(1, keepdim=True))[:, None, :].expand(2, 16, 16)
    assert torch.allclose(ink_ratio(on_ink, images), torch.full((2,), 4.0))  # all mass on a 1/4 share
    assert len(ink_ratio(uniform, -torch.ones(2, 1, 4, 4))) == 0  # no ink: left out


def test_cli_sample_attention_writes_maps_and_other_variants_say_which_can(tmp_path, capsys):
    for name in ("sagan", "gan"):
        assert main(["train", name, "--preset", "tiny", "--max-images", "64", "--steps", "2", "--batch-size", "16",
                     "--out", str(tmp_path), "--name", name]) == 0
    assert main(["sample", str(tmp_path / "sagan"), "--attention", "--out", str(tmp_path / "maps")]) == 0
    grid = np.asarray(Image.open(tmp_path / "maps" / "attention-generator.png"))
    assert grid.shape[0] > 8 and grid.shape[1] > 8
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "gan"), "--attention", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "gan has no attention maps to show; variants that do: sagan" in err


@pytest.mark.slow
def test_small_sagan_learns_mnist(fid_before_and_after):
    untrained, trained, run = fid_before_and_after("sagan", SMALL, steps=600)
    print("sagan gammas", {k: float(v.detach()) for k, v in gankit.load(run).attention_gammas().items()})
    assert trained < 0.5 * untrained
