"""BigGAN: hierarchical z and a shared class embedding condition G's BNs, D projects the class,
truncation narrows z, orthogonal regularisation is what the paper writes, and a small BigGAN draws
the digit it is asked for (measured when the threshold was set: 0.824 by lenet-mnist after 2,000
steps at 16 px, 94 s on one thread; 800 steps gave 0.276)."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import gankit
from gankit.api import train
from gankit.capabilities.conditional import label_accuracy
from gankit.cli import main
from gankit.losses import orthogonal_penalty
from gankit.models.biggan import truncated_normal
from gankit.nn.spectral import is_spectrally_normalized


def test_truncated_normal_stays_inside_the_threshold_and_is_seeded():
    gen = torch.Generator().manual_seed(0)
    z = truncated_normal(2000, 16, 0.5, torch.device("cpu"), gen)
    assert z.abs().max() <= 0.5 and z.std() > 0.2  # uniform-ish on [-0.5, 0.5]: std ~ 0.29
    again = truncated_normal(2000, 16, 0.5, torch.device("cpu"), torch.Generator().manual_seed(0))
    assert torch.equal(z, again)
    with pytest.raises(gankit.GankitError, match="positive"):
        truncated_normal(2, 2, 0.0, torch.device("cpu"))


def test_orthogonal_penalty_is_zero_for_orthogonal_rows_and_reads_the_raw_weight_under_sn():
    layer = nn.Linear(4, 3, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.eye(4)[:3] * 2.0)  # orthogonal rows, any norm
    assert orthogonal_penalty(layer).item() == 0.0
    with torch.no_grad():
        layer.weight[1] = layer.weight[0]
    assert orthogonal_penalty(layer).item() == pytest.approx(2 * 16.0)  # the two off-diagonal entries 4^2
    sn = nn.utils.parametrizations.spectral_norm(nn.Linear(5, 5))
    u = sn.parametrizations.weight[0]._u.clone()
    orthogonal_penalty(sn)
    assert torch.equal(sn.parametrizations.weight[0]._u, u)  # no power iteration spent


def test_biggan_conditions_every_g_block_on_class_and_z_chunk():
    torch.manual_seed(0)
    model = gankit.create_model("biggan", preset="tiny")
    g = model.generator
    assert is_spectrally_normalized(model.discriminator.body) and g.chunk * (len(g.blocks) + 1) == 8
    z = torch.randn(1, 8).repeat(2, 1)
    with torch.no_grad():
        g.eval()
        two_classes = g(z, torch.tensor([0, 1]))
        z2 = z.clone()
        z2[1, g.chunk:] += 1  # only the blocks' chunks change, not the input chunk
        two_chunks = g(z2, torch.tensor([0, 0]))
    assert not torch.allclose(two_classes[0], two_classes[1]) and not torch.allclose(two_chunks[0], two_chunks[1])
    d = model.discriminator
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    with torch.no_grad():
        d.eval()
        assert not torch.allclose(d(x, torch.tensor([0, 0])), d(x, torch.tensor([1, 1])))  # the class is projected
    with pytest.raises(gankit.GankitError, match="equal chunks"):
        gankit.create_model("biggan", preset="tiny", latent_dim=9)


def test_cli_sample_truncation(tmp_path, capsys):
    for name in ("biggan", "gan"):
        assert main(["train", name, "--preset", "tiny", "--max-images", "64", "--steps", "2", "--batch-size", "16",
                     "--out", str(tmp_path), "--name", name]) == 0
    out = tmp_path / "t.png"
    assert main(["sample", str(tmp_path / "biggan"), "-n", "20", "--truncation", "0.5", "--out", str(out)]) == 0
    assert np.asarray(Image.open(out)).shape[0] > 8
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "gan"), "--truncation", "0.5", "--out", str(out)]) == 2
    assert "gan has no truncated sampler; variants that do: biggan" in capsys.readouterr().err
    assert main(["sample", str(tmp_path / "biggan"), "--truncation", "-1", "--out", str(out)]) == 2


@pytest.mark.slow
def test_small_biggan_draws_the_asked_digit(tmp_path):
    config = {"channels": 1, "image_size": 16, "g_width": 32, "d_width": 32, "latent_dim": 48, "embed_dim": 32,
              "n_dis": 1}
    torch.manual_seed(0)
    untrained = label_accuracy(gankit.create_model("biggan", **config), per_class=100)
    run = train("biggan", "mnist", out=tmp_path, name="r", model_config=config, steps=2000, seed=0, batch_size=32,
                sample_every=10**6, checkpoint_every=10**6, log_every=100)
    trained = label_accuracy(gankit.load(run), per_class=100)
    print(f"biggan: label_acc untrained {untrained:.3f} -> trained {trained:.3f}")
    assert trained > 0.5 and trained > untrained + 0.3
