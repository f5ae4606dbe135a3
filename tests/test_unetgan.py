"""U-Net GAN: CutMix masks, the U-Net D's two outputs, the encoder-only ablation, the IoU measure,
`sample --dmap`, and a small U-Net GAN that learns MNIST (measured when its threshold was set: see
test_small_unetgan_learns_mnist)."""

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit.capabilities.discriminator import region_ious
from gankit.cli import main
from gankit.data.masks import cutmix_masks
from gankit.nn.spectral import is_spectrally_normalized

SMALL = {"channels": 1, "image_size": 16, "g_width": 32, "d_width": 32, "latent_dim": 64, "mix_warmup": 200}


def test_cutmix_masks_are_seeded_boxes_of_every_size():
    masks = cutmix_masks(2000, 16, torch.Generator().manual_seed(0))
    assert masks.shape == (2000, 1, 16, 16) and set(masks.unique().tolist()) <= {0.0, 1.0}
    share = masks.mean((1, 2, 3))
    assert 0.4 < share.mean() < 0.75 and share.min() < 0.2 and share.max() == 1.0  # lambda ~ U(0, 1), clipped
    assert torch.equal(masks, cutmix_masks(2000, 16, torch.Generator().manual_seed(0)))


def test_unet_d_scores_images_and_pixels_and_the_ablation_only_images():
    torch.manual_seed(0)
    model = gankit.create_model("unetgan", preset="tiny")
    assert is_spectrally_normalized(model.discriminator) and is_spectrally_normalized(model.generator)
    score, pixels = model.discriminator(torch.rand(3, 3, 8, 8) * 2 - 1)
    assert score.shape == (3,) and pixels.shape == (3, 1, 8, 8)
    plain = gankit.create_model("unetgan", preset="tiny", unet=False)
    assert plain.discriminator(torch.rand(3, 3, 8, 8))[1] is None
    with pytest.raises(gankit.GankitError, match="unet=false"):
        plain.pixel_logits(torch.zeros(1, 3, 8, 8))
    with pytest.raises(gankit.GankitError, match="mix_prob"):
        gankit.create_model("unetgan", preset="tiny", mix_prob=1.5)


def test_region_ious_score_a_perfect_and_an_inverted_map():
    mask = cutmix_masks(50, 8, torch.Generator().manual_seed(1))
    assert region_ious(mask * 2 - 1, mask) == {"real": 1.0, "fake": 1.0, "mean": 1.0}
    inverted = region_ious(1 - mask * 2, mask)
    assert inverted["real"] == 0.0 and inverted["fake"] == 0.0


def test_cli_sample_dmap_writes_the_maps(tmp_path, capsys):
    assert main(["train", "unetgan", "--preset", "tiny", "--max-images", "64", "--steps", "3", "--batch-size", "16",
                 "--out", str(tmp_path), "--name", "u"]) == 0
    assert main(["sample", str(tmp_path / "u"), "--dmap", "--out", str(tmp_path / "maps")]) == 0
    assert np.asarray(Image.open(tmp_path / "maps" / "dmap-cutmix.png")).shape[0] > 8
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "u"), "--dmap", "--attention", "--out", str(tmp_path / "x")]) == 2
    assert "not 2" in capsys.readouterr().err


@pytest.mark.slow
def test_small_unetgan_learns_mnist(fid_before_and_after):
    untrained, trained, _ = fid_before_and_after("unetgan", SMALL, steps=600)
    assert trained < 0.5 * untrained
