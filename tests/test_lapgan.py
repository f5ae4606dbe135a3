"""LAPGAN: the Laplacian pyramid collapses back exactly, each finer level adds its G's band to the
upsampled coarser image, every level trains on the real pyramid independently of the others, one
level is a plain single-scale GAN, the proof's baseline matches the pyramid's parameter count, the
per-level FID reads real and generated images the same way, and a small LAPGAN learns MNIST.

Learning test measured when its thresholds were set (seed 0, 1 thread, n = 2000 vs the test split,
32 px, 3 levels, z 32, coarsest G (256, 256) / D (256,), band nets 16 channels, 1,200 steps of 32):
fid[lenet-mnist] untrained 4048 -> 1412 (95-100 s wall, about 75 s CPU, beside other work). Per level on the same run
(pyramid_levels, n = 2000): 8 px 164, 16 px 926, 32 px 1412; with the band Gs zeroed (the coarse image
only upsampled) 16 px 1303, 32 px 2538, so the bands, not only the 8 px GAN, carry the improvement.
Thresholds (2200, 0.6 x untrained) leave a wide margin.
"""

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import gankit
from gankit.capabilities import get_capability
from gankit.data import ImageDataset, load_data
from gankit.data.batches import HeldOut
from gankit.data.core import to_signed_unit
from gankit.errors import GankitError
from gankit.models.base import Batch
from gankit.nn.pyramid import build_laplacian, collapse, gaussian_pyramid, up

SMALL3 = {"latent_dim": 8, "image_size": 16, "levels": 3, "g_hidden": (16,), "d_hidden": (16,), "g_width": 4,
          "d_width": 4}


def model(**overrides):
    torch.manual_seed(0)
    return gankit.create_model("lapgan", **{**SMALL3, **overrides})


@pytest.mark.parametrize("levels", [1, 2, 3, 4])
def test_collapse_inverts_build_to_float_precision(levels):
    x = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(levels)) * 2 - 1
    pyramid = build_laplacian(x, levels)
    assert [p.shape[-1] for p in pyramid] == [32 // 2 ** k for k in range(levels)]
    assert torch.allclose(collapse(pyramid), x, atol=1e-6, rtol=0)
    assert torch.allclose(pyramid[-1], F.avg_pool2d(x, 2 ** (levels - 1)), atol=1e-6)  # the coarsest low-pass
    flat = build_laplacian(torch.full((1, 1, 16, 16), 0.3), 3)
    assert all(band.abs().max() < 1e-6 for band in flat[:-1])  # a constant image has no band-pass content
    assert [g.shape[-1] for g in gaussian_pyramid(x, levels)] == [32 // 2 ** k for k in reversed(range(levels))]


def test_bad_pyramids_and_configs_are_one_line_errors():
    with pytest.raises(GankitError, match="divisible by 8"):
        build_laplacian(torch.zeros(1, 1, 12, 12), 4)
    with pytest.raises(GankitError, match="at least 1 level"):
        build_laplacian(torch.zeros(1, 1, 8, 8), 0)
    for bad, match in (({"image_size": 30}, "divisible by 4"), ({"image_size": 8}, "at least 4 px"),
                       ({"image_size": 36}, "even side"), ({"g_layers": 0}, "g_layers"), ({"levels": 0}, "level")):
        with pytest.raises(GankitError, match=match):
            model(**bad)


def test_each_finer_level_adds_its_band_to_the_upsampled_coarser_image():
    m = model().eval()
    with torch.no_grad():
        for g in m.generator[1:]:  # bands that are one constant per level
            g.net[-1].weight.zero_()
            g.net[-1].bias.fill_(0.125)
    levels = m.sample_levels(4, generator=torch.Generator().manual_seed(1))
    assert [x.shape for x in levels] == [(4, 1, s, s) for s in (4, 8, 16)]
    for coarse, fine in zip(levels, levels[1:]):
        assert torch.allclose(fine, (up(coarse) + 0.125).clamp(-1, 1), atol=1e-6)
    m.train()
    again = m.sample_levels(4, generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(a, b) for a, b in zip(levels, again)) and m.training
    assert torch.equal(m.sample(4, generator=torch.Generator().manual_seed(1)), levels[-1])


def test_every_level_trains_on_the_real_pyramid_of_the_batch():
    m = model().train()
    x = torch.rand(6, 1, 16, 16, generator=torch.Generator().manual_seed(2)) * 2 - 1
    d_in: dict[int, list] = {k: [] for k in range(3)}
    g_io: dict[int, list] = {k: [] for k in range(1, 3)}
    hooks = [d.register_forward_pre_hook(lambda mod, args, k=k: d_in[k].append(args[0].detach().clone()))
             for k, d in enumerate(m.discriminator)]
    hooks += [g.register_forward_hook(lambda mod, args, out, k=k: g_io[k].append((args[1].clone(), out.detach().clone())))
              for k, g in enumerate(m.generator) if k]
    m.train_step(Batch(x))
    for h in hooks:
        h.remove()
    real = gaussian_pyramid(x, 3)  # 4, 8, 16 px
    for k in range(3):
        real_in, fake_in, g_step_in = d_in[k]  # D's step: real, fake; G's step: the same fake
        assert torch.equal(real_in, real[k]) and torch.equal(fake_in, g_step_in)
        if k:
            ((cond, band),) = g_io[k]
            assert torch.equal(cond, up(real[k - 1]))  # conditioned on the real coarser image, not a sample
            assert torch.allclose(fake_in, cond + band, atol=1e-6)  # D reads the condition plus the band


def test_levels_learn_independently_of_each_other():
    # Changing the coarsest G leaves every finer level's update exactly as it was: the levels share no input.
    x = torch.rand(6, 1, 16, 16, generator=torch.Generator().manual_seed(3)) * 2 - 1
    a, b = model(), model()
    with torch.no_grad():
        for p in b.generator[0].parameters():
            p.add_(0.5)
    for m in (a, b):
        torch.manual_seed(4)
        m.train_step(Batch(x))
    same = lambda net: all(torch.equal(p, q) for p, q in zip(net(a).parameters(), net(b).parameters()))  # noqa: E731
    assert same(lambda m: m.generator[1:]) and same(lambda m: m.discriminator[1:])
    assert not same(lambda m: m.discriminator[0])


def test_one_level_is_a_single_scale_gan():
    m = model(image_size=16, levels=1)
    assert len(m.generator) == len(m.discriminator) == 1 and m.config.sizes == (16,)
    logs = m.train_step(Batch(torch.rand(4, 1, 16, 16) * 2 - 1))
    assert {k for k in logs if k.startswith("loss/")} == {"loss/d", "loss/g", "loss/d_16px", "loss/g_16px"}
    assert m.sample(3).shape == (3, 1, 16, 16)


def test_the_proofs_single_scale_baseline_matches_the_pyramids_parameter_count():
    recipe = json.loads((Path(__file__).resolve().parents[1] / "benchmarks/recipes/lapgan.json").read_text())
    counts = []
    for run in recipe["runs"]:
        assert "minutes" not in run and "steps" not in run  # one training time for both runs
        m = gankit.create_model("lapgan", preset=recipe["preset"], **run.get("model_config", {}))
        counts.append([sum(p.numel() for p in net.parameters()) for net in (m.generator, m.discriminator)])
        assert m.config.image_size == 32
    (g_pyr, d_pyr), (g_one, d_one) = counts
    assert abs(g_one / g_pyr - 1) < 0.01 and abs(d_one / d_pyr - 1) < 0.01


def test_pyramid_levels_reads_generated_levels_exactly_as_the_held_out_ones():
    m = model()
    test = load_data("mnist", 16, 1, split="test").subset(400)
    train = ImageDataset(load_data("mnist", 16, 1, split="train").images[:400].clone())
    data = HeldOut(train=train, test=test)
    measure = lambda mm: get_capability("pyramid_levels")(mm, data, baselines=True, n=400)  # noqa: E731
    untrained = measure(m)
    pyramid = gaussian_pyramid(to_signed_unit(train.images), 3)  # a "model" whose draws are real training digits
    m.sample_levels = lambda n, generator=None: [p[:n] for p in pyramid]  # one call: n = 400 < 500
    perfect = measure(m)
    for s in (4, 8, 16):
        floor = perfect[f"baseline/fid/{s}px_train_vs_test[lenet-mnist]"]
        assert perfect[f"fid/{s}px[lenet-mnist]"] == pytest.approx(floor, rel=1e-6)
        assert untrained[f"fid/{s}px[lenet-mnist]"] > 3 * floor
    assert perfect["fid/final_at_8px[lenet-mnist]"] == pytest.approx(perfect["fid/8px[lenet-mnist]"], rel=1e-6)
    assert untrained["params/generator"] == sum(p.numel() for p in m.generator.parameters())


@pytest.mark.slow
def test_small_lapgan_learns_mnist(fid_before_and_after):
    config = {"latent_dim": 32, "g_hidden": (256, 256), "d_hidden": (256,), "g_width": 16, "d_width": 16}
    untrained, score, _ = fid_before_and_after("lapgan", config, steps=1200)
    assert score < 2200 and score < 0.6 * untrained
