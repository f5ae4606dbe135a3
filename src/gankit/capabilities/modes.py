"""Mode coverage on Stacked MNIST (`--data stacked-mnist`): how many of the 1,000 digit triples a model draws.

The protocol of Unrolled GANs (arXiv 1611.02163), VEEGAN (1705.07761) and PacGAN (1712.04086): sample
26,000 images, read each RGB channel's digit with a pretrained MNIST classifier (here the shipped
lenet-mnist), and report the number of distinct triples seen and KL(p_samples || uniform over 1,000)
in nats. A collapsed generator covers few modes with a large KL (log 1000 = 6.91 for a single mode).
"""

from __future__ import annotations

from typing import Any

import torch

from gankit.capabilities import register_capability
from gankit.data.batches import HeldOut
from gankit.data.core import fit_images, to_signed_unit
from gankit.errors import GankitError

MODES = 1000  # digit triples (gankit.data.stacked_mnist)
_reader = None


def _lenet() -> Any:
    global _reader
    if _reader is None:
        from gankit.metrics.extractors import get_extractor

        _reader = get_extractor("lenet-mnist")
    return _reader


def read_triples(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """RGB images (N, 3, H, W) (uint8 or [-1, 1]) -> mode ids (N,) 100*R + 10*G + B and the lowest of the
    three channels' top softmax probabilities (N,), both on the CPU; runs on the images' device."""
    if images.dim() != 4 or images.shape[1] != 3:
        raise GankitError(f"stacked-MNIST modes are read from RGB images (N, 3, H, W), got {tuple(images.shape)}")
    reader = _lenet().to(images.device)
    n = images.shape[0]
    gray = to_signed_unit(images).reshape(n * 3, 1, *images.shape[-2:])  # (3N, 1, H, W): one digit per channel
    probs = reader.logits(gray).softmax(1).view(n, 3, 10)  # (N, 3, 10)
    conf, digits = probs.max(2)  # (N, 3) each
    return digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2], conf.min(1).values


def coverage(modes: torch.Tensor, confidence: torch.Tensor, threshold: float = 0.9) -> dict[str, float]:
    """Distinct modes among ids (N,), KL(empirical || uniform over 1,000) in nats, and the share of images
    whose three digits are all read with top probability above `threshold`."""
    p = torch.bincount(modes.long(), minlength=MODES).double() / len(modes)  # (1000,)
    seen = p > 0
    kl = (p[seen] * (p[seen] * MODES).log()).sum()  # 0 log 0 = 0
    return {"covered": float(seen.sum()), "kl": float(kl), "confident": float((confidence > threshold).double().mean())}


def _real_images(data: HeldOut, n: int, hw: tuple[int, int]) -> torch.Tensor:
    """`n` real held-out stacked-MNIST images (uint8, RGB, `hw`): the run's test split when it is stacked-mnist
    and holds enough, else made from the MNIST test digits (gankit.data.stacked_mnist)."""
    test = data.test
    if getattr(test, "name", "").startswith("stacked-mnist") and len(test) >= n and test.images.shape[1] == 3:
        return test.images[:n]
    from gankit.data.stacked_mnist import stacked_mnist

    return fit_images(stacked_mnist("test", n=n).images, hw, 3)


@register_capability("stacked_modes")
def stacked_modes(model: Any, data: HeldOut, baselines: bool = False, mode_samples: int = 26_000,
                  mode_confidence: float = 0.9, batch_size: int = 500) -> dict[str, float]:
    """`modes/covered` (of 1,000), `modes/kl` (nats) and `modes/confident` (share of samples whose three digits are all read with
    probability > `mode_confidence`) over `mode_samples` samples drawn without labels from a fixed seed (a
    class-conditional model thus draws its classes in turn); with `baselines`, the same figures for as many
    real held-out stacked-MNIST images (`baseline/modes/...`: the ceiling). Option names are this capability's own,
    so that a recipe setting them leaves other capabilities' `n` alone."""
    if mode_samples < 1:
        raise GankitError(f"stacked_modes needs at least 1 sample, got mode_samples={mode_samples}")
    n = mode_samples
    name = getattr(model, "name", type(model).__name__)
    gen = torch.Generator(model.device).manual_seed(0)
    modes, conf, hw = [], [], None
    for start in range(0, n, batch_size):
        images = model.sample(min(batch_size, n - start), generator=gen)  # (b, C, H, W) in [-1, 1]
        if images.dim() != 4 or images.shape[1] != 3:
            raise GankitError(f"stacked_modes reads RGB samples (one digit per channel); {name} draws "
                              f"{tuple(images.shape[1:])} images: train it with 3 channels on --data stacked-mnist")
        hw = tuple(images.shape[-2:])
        m, c = read_triples(images)  # read batch by batch: only the ids are kept, not 26,000 images
        modes.append(m)
        conf.append(c)
    result = {f"modes/{k}": v for k, v in coverage(torch.cat(modes), torch.cat(conf), mode_confidence).items()}
    if baselines:
        real = _real_images(data, n, hw)
        ids, c = zip(*(read_triples(part.to(model.device)) for part in real.split(5 * batch_size)))
        result |= {f"baseline/modes/{k}": v for k, v in coverage(torch.cat(ids), torch.cat(c), mode_confidence).items()}
    return result
