"""Label editing (IcGAN): re-render a real image as another class, keeping its style."""

from __future__ import annotations

from typing import Any

import torch

from gankit.capabilities import register_capability
from gankit.capabilities.style import stroke_thickness
from gankit.data.batches import HeldOut
from gankit.data.core import to_signed_unit
from gankit.errors import GankitError
from gankit.metrics.probes import accuracy, digit_classes, predict


def slant(images: torch.Tensor) -> torch.Tensor:
    """Shear of gray digits (B, 1, S, S) in [-1, 1] from second image moments of the ink: mu_xy / mu_yy,
    how far x moves per row (positive: leaning right, as y grows downwards). (B,) float64."""
    ink = ((images[:, 0].double() + 1) / 2).clamp(0, 1)  # (B, S, S), 1 = full ink
    s = ink.shape[-1]
    ys, xs = torch.meshgrid(torch.arange(s, dtype=torch.float64), torch.arange(s, dtype=torch.float64), indexing="ij")
    mass = ink.sum((1, 2)).clamp_min(1e-6)  # (B,)
    cy, cx = (ink * ys).sum((1, 2)) / mass, (ink * xs).sum((1, 2)) / mass
    dy, dx = ys - cy[:, None, None], xs - cx[:, None, None]  # (B, S, S)
    return -(ink * dx * dy).sum((1, 2)) / (ink * dy * dy).sum((1, 2)).clamp_min(1e-6)


def pixel_style(images: torch.Tensor) -> torch.Tensor:
    """(B, 2) stroke thickness (ink area over skeleton length, px) and slant of gray digits in [-1, 1]."""
    return torch.stack([stroke_thickness(images).nan_to_num(0.0), slant(images)], 1)


def closer_to_source(edit: torch.Tensor, source: torch.Tensor, other: torch.Tensor, scale: torch.Tensor) -> float:
    """Share of rows (B, D) of `edit` nearer to `source` than to `other`, each feature divided by `scale` (D,)."""
    d_source = ((edit - source) / scale).norm(dim=1)
    d_other = ((edit - other) / scale).norm(dim=1)
    return (d_source < d_other).double().mean().item()


@torch.no_grad()
def edit_scores(model: Any, images: torch.Tensor, targets: torch.Tensor, others: torch.Tensor,
                style_scale: torch.Tensor) -> dict[str, float]:
    """Edits of `images` (N, 1, S, S) uint8 to classes `targets` (N,): lenet-mnist reading the asked class,
    and how often the edit's style (pixels; E_z codes) is nearer to its source than to `others` (N, 1, S, S),
    random real images of the target classes."""
    device = model.device
    x = to_signed_unit(images)
    edits = torch.cat([model.relabel(chunk.to(device), t.to(device)).cpu()
                       for chunk, t in zip(x.split(500), targets.split(500))])  # (N, 1, S, S)
    other = to_signed_unit(others)
    codes = [predict(model.encode, batch, device) for batch in (edits, x, other)]
    code_scale = codes[1].std(0).clamp_min(1e-6)
    return {"edit_acc": accuracy(digit_classes(edits.to(device)), targets),
            "style_keep/pixels": closer_to_source(pixel_style(edits), pixel_style(x), pixel_style(other), style_scale),
            "style_keep/ez": closer_to_source(*codes, code_scale)}


@register_capability("label_edits")
def label_edits(model: Any, data: HeldOut, baselines: bool = False, n_edits: int = 2000) -> dict[str, float]:
    """`ey_acc/test`: E_y (`classify`) on the held-out digits (paper's claim: reads them, here >= 98%).
    `edit_acc`: `n_edits` held-out digits, each edited to a random other class, read as that class by
    lenet-mnist. `style_keep/pixels` / `style_keep/ez`: the share of edits whose style (stroke thickness
    and slant, each over its spread on real digits; or E_z codes) is nearer to the source than to a random
    real digit of the target class (0.5: no style kept). Baselines: that random real digit as the "edit"
    (lenet's reading of it, the figure's ceiling; and its style share), the unedited source, and an untrained model."""
    test = data.test
    if test.images.shape[1] != 1 or test.labels is None or model.config.num_classes != 10:
        raise GankitError(f"{model.name}'s label edits are judged by the MNIST digit classifier: train on mnist")
    k = model.config.num_classes
    gen = torch.Generator().manual_seed(data.seed)
    idx = torch.randperm(len(test), generator=gen)[:n_edits]
    images, labels = test.images[idx], test.labels[idx]  # (N, 1, S, S) uint8, (N,)
    targets = (labels + torch.randint(1, k, labels.shape, generator=gen)) % k  # (N,), never the source's class
    pools = [torch.nonzero(test.labels == c).flatten() for c in range(k)]

    def random_of(classes: torch.Tensor) -> torch.Tensor:  # a random real test digit of each class (N, 1, S, S)
        picks = [pools[int(c)][torch.randint(0, len(pools[int(c)]), (1,), generator=gen)][0] for c in classes]
        return test.images[torch.stack(picks)]

    others = random_of(targets)  # never the source itself: another class
    real = to_signed_unit(test.images[:5000])
    style_scale = pixel_style(real).std(0).clamp_min(1e-6)  # (2,)

    out = {"ey_acc/test": accuracy(predict(model.classify, test.images, model.device), test.labels)}
    out |= edit_scores(model, images, targets, others, style_scale)
    if baselines:
        x, other = to_signed_unit(images), to_signed_unit(others)
        more = random_of(targets)  # a second random digit of the target class
        out["baseline/edit_acc/random_real"] = accuracy(digit_classes(other.to(model.device)), targets)
        out["baseline/style_keep/pixels/random_real"] = closer_to_source(
            pixel_style(other), pixel_style(x), pixel_style(to_signed_unit(more)), style_scale)
        out["baseline/edit_acc/source"] = accuracy(digit_classes(x.to(model.device)), targets)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(data.seed)
            fresh = type(model)(model.config).to(model.device).eval()
        out["baseline/ey_acc/untrained"] = accuracy(predict(fresh.classify, test.images, model.device), test.labels)
        out |= {f"baseline/{key}/untrained": v for key, v in edit_scores(fresh, images, targets, others,
                                                                         style_scale).items()}
    return out
