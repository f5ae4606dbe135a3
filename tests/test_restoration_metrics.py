"""PSNR and SSIM against hand-computed values and scikit-image's reference implementation."""

import numpy as np
import pytest
import torch

from gankit.metrics.restoration import psnr, ssim


def test_psnr_by_hand_and_with_a_mask():
    x = torch.zeros(2, 1, 4, 4)  # 0.5 in [0, 1] units
    y = x + 0.2  # 0.1 off in [0, 1] units: MSE 0.01 -> 20 dB
    assert psnr(x, y) == pytest.approx(20.0)
    mask = torch.zeros(2, 1, 4, 4)
    mask[..., :2, :2] = 1
    z = x.clone()
    z[..., :2, :2] += 0.2
    assert psnr(x, z, mask) == pytest.approx(20.0)  # only the masked error counts


def test_ssim_matches_scikit_image():
    from skimage.metrics import structural_similarity

    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 1, 32, 32, generator=g) * 2 - 1
    y = (x + 0.3 * torch.randn(1, 1, 32, 32, generator=g)).clamp(-1, 1)
    a, b = ((x[0, 0] + 1) / 2).double().numpy(), ((y[0, 0] + 1) / 2).double().numpy()
    ref = structural_similarity(a, b, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    ours = ssim(x, y)
    # scikit-image averages over the image cropped by the window radius; ours over the valid region: the same set.
    assert ours == pytest.approx(ref, abs=2e-3)
    assert ssim(x, x) == pytest.approx(1.0)
    assert np.isfinite(ssim(torch.zeros(1, 3, 8, 8), torch.ones(1, 3, 8, 8)))
