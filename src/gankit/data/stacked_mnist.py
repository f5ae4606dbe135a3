"""Stacked MNIST, made offline from the embedded MNIST: the 1,000-mode benchmark of mode collapse.

An image is three MNIST digits drawn independently and uniformly at random, one per RGB channel
(the construction of Metz et al., Unrolled GANs, arXiv 1611.02163, also used by VEEGAN, arXiv
1705.07761, and PacGAN, arXiv 1712.04086): 10^3 digit triples, so 1,000 modes. Its label is the mode
id 100 * d_R + 10 * d_G + d_B (int64; class names "000".."999").

Deterministic: split `train` draws 60,000 images from the MNIST train digits (the embedded 50k) with
seed 0, `test` 26,000 images from the test digits (10k) with seed 1; the same call gives the same
images. The literature trains on 128,000 images; 60,000 (141 MB as uint8 3x28x28) keeps memory
modest while every mode still has about 60 training images. The test split holds 26,000 images, the
number of samples the literature counts modes over, so that the real-data ceiling of the
`stacked_modes` capability (gankit.capabilities.modes) is measured on as many images as a model's.
Images are 28x28 and resize like any source (`fit`); only 3 channels make sense: asking for 1 channel
(gray) is an error rather than a luma mix of three digits.
"""

from __future__ import annotations

import numpy as np
import torch

from gankit.data.core import ImageDataset
from gankit.data.mnist import load_mnist
from gankit.errors import GankitError

SPLITS = {"train": ("train", 60_000, 0), "test": ("test", 26_000, 1)}  # MNIST split, images, seed
MODES = 1000
CLASS_NAMES = tuple(f"{m:03d}" for m in range(MODES))


def mode_ids(digits: torch.Tensor) -> torch.Tensor:
    """Digit triples (N, 3) (R, G, B) -> mode ids (N,) int64 in 0..999."""
    digits = digits.long()
    return digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]


def stacked_mnist(split: str = "train", n: int | None = None, seed: int | None = None) -> ImageDataset:
    """uint8 (N, 3, 28, 28) images with their mode ids (N,); see the module docstring. `n` and `seed`
    override the split's count and seed (tests, or more real images than the split holds)."""
    if split not in SPLITS:
        raise GankitError(f"stacked-mnist has splits {', '.join(SPLITS)}, not {split!r}")
    mnist_split, default_n, default_seed = SPLITS[split]
    n = default_n if n is None else n
    if n < 1:
        raise GankitError(f"stacked-mnist needs at least 1 image, got {n}")
    images, labels = load_mnist(mnist_split)  # (M, 1, 28, 28) uint8, (M,)
    rng = np.random.default_rng(default_seed if seed is None else seed)
    pick = torch.from_numpy(rng.integers(0, len(images), (n, 3)))  # (n, 3) digit indices, one per channel
    stacked = images[:, 0][pick]  # (n, 3, 28, 28): one vectorised gather, no loop over images
    return ImageDataset(stacked.contiguous(), mode_ids(labels[pick]), f"stacked-mnist-{split}", CLASS_NAMES)


def load_stacked_mnist(split: str, image_size: int | tuple[int, int], channels: int) -> ImageDataset:
    """`--data stacked-mnist` at the model's size; the model must generate RGB images."""
    if channels != 3:
        raise GankitError(f"stacked-mnist is RGB by construction (one digit per channel): the model has {channels} "
                          "channel(s); give it 3 (e.g. --set channels=3)")
    return stacked_mnist(split).fit(image_size, channels)
