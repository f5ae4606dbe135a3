"""StyleGAN2 + ADA: demodulation keeps activations at unit variance (the paper's claim for it), the
skip G sums one toRGB per resolution, the lazy regularisers run on their intervals with Adam adjusted,
the augmentations are differentiable and the identity at p = 0, p follows the overfitting heuristic,
and a small StyleGAN2 learns MNIST.

Learning test measured when its thresholds were set (seed 0, 2 threads, n = 2000 vs the test split,
16 px, widths (32, 32, 16), z = w = 32, 1,500 steps of 32, EMA 0.99, 161 s with the FIDs):
fid[lenet-mnist] untrained 1137 -> 595 (with ADA's cifar R1 gamma 0.01 instead of 10, 900 steps went
1137 -> 2263, a collapse; hence the default).
"""

import math

import pytest
import torch

import gankit
from gankit.models.base import Batch
from gankit.models.stylegan2 import ModulatedConv2d, lazy_adam
from gankit.nn.augment import AdaptiveAugment, augment


def test_demodulation_keeps_unit_variance_whatever_the_style():
    torch.manual_seed(0)
    conv = ModulatedConv2d(64, 64, 3, 16)
    plain = ModulatedConv2d(64, 64, 3, 16, demodulate=False)
    plain.load_state_dict(conv.state_dict())
    x = torch.randn(8, 64, 16, 16)  # unit-variance input, as the paper assumes
    for style_scale in (0.1, 1.0, 10.0):
        w = torch.randn(8, 16) * style_scale
        with torch.no_grad():
            out, raw = conv(x, w), plain(x, w)
        per_sample = out[:, :, 1:-1, 1:-1].std(dim=(1, 2, 3))  # away from the zero padding
        assert ((per_sample - 1).abs() < 0.1).all(), (style_scale, per_sample)
        if style_scale == 10.0:  # without demodulation the style's scale goes straight through
            assert raw[:, :, 1:-1, 1:-1].std() > 3


def test_the_skip_generator_sums_one_rgb_per_resolution_and_takes_two_styles_each():
    model = gankit.create_model("stylegan2", preset="tiny")
    g = model.generator
    assert g.num_ws == 4 and g.w_resolutions == [4, 8, 8, 8] and g.noise_resolutions == [4, 8, 8]
    ws = g.broadcast(g.mapping(torch.randn(2, 8)))
    base = g.synthesis(ws, g.fixed())
    with torch.no_grad():
        g.rgb_bias[0].add_(0.5)  # the 4 px toRGB's bias reaches the 8 px image, upsampled
    assert torch.allclose(g.synthesis(ws, g.fixed()), base + 0.5, atol=1e-5)
    assert model.mixing_splits() == {"4px": 1}


def test_lazy_regularisers_run_on_their_intervals_with_adam_adjusted():
    model = gankit.create_model("stylegan2", preset="tiny", r1_interval=3, pl_interval=2)
    batch = Batch(torch.rand(4, 1, 8, 8) * 2 - 1, None)
    seen = [set(model.train_step(batch)) for _ in range(4)]
    assert ["penalty/r1" in s for s in seen] == [True, False, False, True]
    assert ["penalty/pl" in s for s in seen] == [True, False, True, False]
    assert float(model.pl_mean) > 0
    opt = lazy_adam([torch.nn.Parameter(torch.zeros(1))], 0.0025, (0.0, 0.99), 16)
    group = opt.param_groups[0]
    assert group["lr"] == pytest.approx(0.0025 * 16 / 17) and group["betas"][1] == pytest.approx(0.99 ** (16 / 17))


def test_augment_is_the_identity_at_zero_and_differentiable_and_seeded_above():
    x = torch.rand(16, 3, 16, 16) * 2 - 1
    assert augment(x, 0.0) is x
    x.requires_grad_(True)
    torch.manual_seed(0)
    y = augment(x, 0.8)
    assert y.shape == x.shape and not torch.allclose(y, x)
    (grad,) = torch.autograd.grad(y.sum(), x)
    assert grad.abs().sum() > 0
    torch.manual_seed(0)
    assert torch.equal(augment(x, 0.8), y)
    gray = augment(torch.rand(8, 1, 16, 16) * 2 - 1, 0.5)
    assert gray.shape == (8, 1, 16, 16) and torch.isfinite(gray).all()


def test_p_rises_while_d_is_sure_of_the_reals_and_falls_when_it_is_not():
    ada = AdaptiveAugment(target=0.6, interval=4, speed_images=400)
    for _ in range(8):
        ada.observe(torch.ones(10))  # r_t = 1 > 0.6: D overfits
    assert float(ada.rt) == 1 and float(ada.p) == pytest.approx(2 * 40 / 400)
    for _ in range(4):
        ada.observe(-torch.ones(10))
    assert float(ada.p) == pytest.approx(40 / 400)
    for _ in range(40):
        ada.observe(-torch.ones(10))
    assert float(ada.p) == 0  # never below zero
    fixed = AdaptiveAugment(p=0.3, adaptive=False)
    for _ in range(8):
        fixed.observe(torch.ones(10))
    assert float(fixed.p) == pytest.approx(0.3) and float(fixed.rt) == 1


def test_ada_augments_what_d_sees_in_training():
    model = gankit.create_model("stylegan2", preset="tiny", ada=True, ada_p=0.5)
    seen = []
    model.discriminator.register_forward_hook(lambda m, inp, out: seen.append(inp[0].detach()))
    real = torch.rand(4, 1, 8, 8) * 2 - 1
    torch.manual_seed(0)
    model.train_step(Batch(real, None))
    assert not any(torch.allclose(s, real) for s in seen if s.shape == real.shape)
    assert math.isfinite(float(model.augment.p))


SMALL = {"latent_dim": 32, "widths": (32, 32, 16)}


@pytest.mark.slow
def test_small_stylegan2_learns_mnist(fid_before_and_after):
    untrained, score, _ = fid_before_and_after("stylegan2", SMALL, steps=1500, ema=0.99)
    assert score < 1500 and score < 0.65 * untrained
