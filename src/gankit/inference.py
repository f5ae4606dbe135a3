"""What a trained variant does to images besides sampling: classify, encode, translate, inpaint, upscale, and
the single-image edits (paint to image, editing, harmonisation) and label edits (relabel).

Each function takes a loaded model or a run folder and uint8 images (C, H, W) at their own
sizes, and returns uint8 images (or logits and codes); the padding, hole windows and tiling the
networks need live here, so the CLI only reads files, calls these and writes files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from gankit.data import to_uint8
from gankit.data.core import to_unit_range
from gankit.data.masks import Box, box_masks, check_box, hole_bbox, window_around
from gankit.errors import GankitError
from gankit.metrics.probes import predict
from gankit.models.base import GANModel
from gankit.models.verbs import has_verb, models_with

_MISSING = {
    "size": "does not sample at other sizes or start scales", "inject": "does not take images into its pyramid",
    "classify": "has no `classify`", "encode": "has no `encode`", "translate": "does not translate images",
    "inpaint": "does not inpaint images", "upscale": "does not upscale images",
    "traverse": "has no latent codes to traverse", "attention": "has no attention maps to show",
    "truncate": "has no truncated sampler", "dmap": "has no per-pixel discriminator maps",
    "mix": "has no styles to mix", "interpolate": "has no latent to interpolate",
    "relabel": "does not re-render images as another class",
}


def require(model: GANModel, verb: str) -> None:
    """One clear line when `model` lacks `verb`, naming the variants that have it."""
    if not has_verb(model, verb):
        raise GankitError(f"{model.name} {_MISSING[verb]}; variants that do: {models_with(verb)}")


def _model_for(model_or_run: GANModel | str | os.PathLike, verb: str, device: str | torch.device) -> GANModel:
    if isinstance(model_or_run, GANModel):
        model = model_or_run
    else:
        from gankit.api import load

        model = load(model_or_run, device=device)
    require(model, verb)
    return model


def _check_uint8(image: torch.Tensor, channels: int, what: str) -> None:
    if image.dtype != torch.uint8 or image.ndim != 3:
        raise GankitError(f"{what}: give uint8 images shaped (C, H, W), got {image.dtype} {tuple(image.shape)}")
    if image.shape[0] != channels:
        raise GankitError(f"{what} has {image.shape[0]} channel(s) but the model takes {channels}")


def classify(model_or_run, images: torch.Tensor, batch_size: int = 256, device: str = "cpu") -> torch.Tensor:
    """Class logits (N, K) of uint8 images (N, C, S, S) at the model's size."""
    model = _model_for(model_or_run, "classify", device)
    return predict(model.classify, images, model.device, batch_size)


def encode(model_or_run, images: torch.Tensor, batch_size: int = 256, device: str = "cpu") -> torch.Tensor:
    """Codes (N, D) of uint8 images (N, C, S, S) at the model's size."""
    model = _model_for(model_or_run, "encode", device)
    return predict(model.encode, images, model.device, batch_size)


@torch.no_grad()
def translate(model_or_run, images: Sequence[torch.Tensor], direction: str = "AtoB", batch_size: int = 16,
              device: str = "cpu") -> list[torch.Tensor]:
    """Each uint8 image (C, H, W), any size, in the other domain: uint8 (C', H, W). Sides are padded
    (replicating the border) to the multiple the network accepts and cropped back; images of one
    size go through in batches."""
    if direction not in ("AtoB", "BtoA"):
        raise GankitError(f"direction must be AtoB or BtoA, got {direction!r}")
    model = _model_for(model_or_run, "translate", device)
    spec = model.data_spec()
    channels = spec.channels if direction == "AtoB" else spec.channels_b
    multiple = model.size_multiple()
    by_size: dict[tuple[int, int], list[int]] = {}
    for i, image in enumerate(images):
        _check_uint8(image, channels, f"image {i}")
        by_size.setdefault(tuple(image.shape[-2:]), []).append(i)
    results: list[torch.Tensor | None] = [None] * len(images)
    for (h, w), members in by_size.items():
        pad_h, pad_w = -h % multiple, -w % multiple
        for start in range(0, len(members), batch_size):
            chunk = members[start : start + batch_size]
            x = to_unit_range(torch.stack([images[i] for i in chunk])).to(model.device)  # (B, C, h, w)
            if pad_h or pad_w:
                x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
            y = model.translate(x, direction)[..., :h, :w]  # (B, C', h, w)
            for i, out in zip(chunk, to_uint8(y)):
                results[i] = out
    return results  # type: ignore[return-value]


@torch.no_grad()
def inpaint(model_or_run, image: torch.Tensor, box: Box | None = None, mask: torch.Tensor | None = None,
            device: str = "cpu") -> torch.Tensor:
    """uint8 `image` (C, H, W), at least the model's window, with a hole filled: `mask` (H, W) or
    (1, H, W), 1 = hole, or the rectangle `box`; by default the hole the model was trained on, centred.
    The model sees an `image_size` window of context around the hole; every pixel outside the hole
    is returned bit-exact."""
    if box is not None and mask is not None:
        raise GankitError("give the hole either as a box or as a mask, not both")
    model = _model_for(model_or_run, "inpaint", device)
    spec = model.data_spec()
    size = spec.image_size
    _check_uint8(image, spec.channels, "the image")
    h, w = image.shape[-2:]
    if h < size or w < size:
        raise GankitError(f"the image is {w}x{h}, smaller than the model's {size}x{size} window: use images of at "
                          f"least {size}x{size}")
    if mask is not None:
        mask = (mask.reshape(1, *mask.shape[-2:]) > 0.5).float()  # (1, H, W)
        if tuple(mask.shape[-2:]) != (h, w):
            raise GankitError(f"the mask is {mask.shape[-1]}x{mask.shape[-2]} but the image is {w}x{h}")
        if not mask.any():
            raise GankitError("the mask marks no hole (white = hole)")
    else:
        hole = box
        if hole is None:
            trained = model.hole_box()
            hole = Box((w - trained.w) // 2, (h - trained.h) // 2, trained.w, trained.h)
        check_box(hole, h, w, "the box" if box else "the default hole")
        mask = box_masks(hole, h, w)[0]  # (1, H, W)
    win = window_around(hole_bbox(mask), h, w, size)
    crop = (slice(None), slice(win.y, win.y + size), slice(win.x, win.x + size))
    x = to_unit_range(image[crop][None]).to(model.device)  # (1, C, size, size)
    filled = to_uint8(model.inpaint(x, mask[crop][None].to(model.device)))[0]  # (C, size, size)
    result = image.clone()
    result[crop] = torch.where(mask[crop] > 0.5, filled, image[crop])
    return result


@torch.no_grad()
def upscale(model_or_run, image: torch.Tensor, tile: int | None = None, device: str = "cpu") -> torch.Tensor:
    """uint8 `image` (C, h, w), any size, super-resolved: uint8 (C, h * scale, w * scale). Large images
    go through in overlapping tiles of `tile` low-resolution pixels (default: the model's)."""
    if tile is not None and tile < 4:
        raise GankitError(f"tile must be at least 4 pixels, got {tile}")
    model = _model_for(model_or_run, "upscale", device)
    _check_uint8(image, model.input_channels("upscale"), "the image")
    y = model.upscale(to_unit_range(image[None]).to(model.device), tile=tile)  # (1, C, h * s, w * s)
    return to_uint8(y)[0]


def paste(background: torch.Tensor, obj: torch.Tensor, at: tuple[int, int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """`obj` uint8 (C or C+1, h, w) pasted onto `background` uint8 (C, H, W) with its top-left corner at
    `at` = (x, y) (default: centred); its alpha channel, if any, is the cut-out. Returns the composite
    (C, H, W) uint8 and the mask (1, H, W) float in [0, 1] of where the object went."""
    c, height, width = background.shape
    h, w = obj.shape[-2:]
    if h > height or w > width:
        raise GankitError(f"the pasted image is {h}x{w} px but the background is {height}x{width}: scale it down first")
    x, y = at if at is not None else ((width - w) // 2, (height - h) // 2)
    if not (0 <= x <= width - w and 0 <= y <= height - h):
        raise GankitError(f"--at {x},{y} puts the {h}x{w} px object outside the {height}x{width} px image "
                          f"(x in 0..{width - w}, y in 0..{height - h})")
    alpha = obj[c:c + 1].float() / 255 if obj.shape[0] > c else torch.ones(1, h, w)
    mask = torch.zeros(1, height, width)
    mask[:, y:y + h, x:x + w] = alpha
    composite = background.float()
    region = composite[:, y:y + h, x:x + w]
    composite[:, y:y + h, x:x + w] = alpha * obj[:c].float() + (1 - alpha) * region
    return composite.round().to(torch.uint8), mask


@torch.no_grad()
def inject(model_or_run, image: torch.Tensor, scale: int | None = None, mask: torch.Tensor | None = None,
           n: int = 1, seed: int = 0, device: str = "cpu") -> torch.Tensor:
    """uint8 `image` (C, H, W) entered into the pyramid at `scale` (default: the middle one) and refined by the
    scales above it: `n` results uint8 (n, C, H', W') at the training shape. With `mask` (1, H, W) in [0, 1],
    the result is kept only there (softened by a 5 px blur) and the input elsewhere (editing, harmonisation)."""
    model = _model_for(model_or_run, "inject", device)
    _check_uint8(image, model.data_spec().channels, "the image")
    x = to_unit_range(image[None]).to(model.device)  # (1, C, H, W)
    gen = torch.Generator(model.device).manual_seed(seed)
    out = model.inject(x, scale, n=n, generator=gen)  # (n, C, H', W')
    if mask is not None:
        hw = out.shape[-2:]
        soft = F.avg_pool2d(F.interpolate(mask[None].float().to(model.device), size=hw, mode="bilinear",
                                          align_corners=False), 5, stride=1, padding=2, count_include_pad=False)
        base = F.interpolate(x, size=hw, mode="bilinear", align_corners=False, antialias=True)
        out = soft * out + (1 - soft) * base
    return to_uint8(out)


@torch.no_grad()
def relabel(model_or_run, image: torch.Tensor, labels: Sequence[int], device: str = "cpu") -> torch.Tensor:
    """uint8 `image` (C, H, W), resized to the model's size, re-rendered as each class in `labels`
    keeping its style: uint8 (len(labels), C, S, S)."""
    from gankit.data.core import fit_images

    model = _model_for(model_or_run, "relabel", device)
    spec = model.data_spec()
    _check_uint8(image, spec.channels, "the image")
    bad = [k for k in labels if not 0 <= k < spec.num_classes]
    if not labels or bad:
        raise GankitError(f"labels must lie in 0..{spec.num_classes - 1}, got {list(labels)}")
    x = to_unit_range(fit_images(image[None], spec.image_size, spec.channels)).to(model.device)  # (1, C, S, S)
    y = torch.tensor(list(labels), dtype=torch.long, device=model.device)  # (L,)
    return to_uint8(model.relabel(x.expand(len(y), -1, -1, -1), y))
