"""Video generation (TGAN): does a generated clip keep its digit over time, and does it really move?

Both read clips (N, T*C, H, W) in the layout of `DataSpec.frames` (gankit.data.clips) and judge one-digit
Moving MNIST clips (`--data moving-mnist-1`): the MNIST reader (lenet-mnist) reads a 28x28 crop around
each frame's centre of ink, the size a digit has on the 64 px canvas scaled to the frame.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from gankit.capabilities import register_capability
from gankit.data.batches import HeldOut
from gankit.data.clips import unstack_frames
from gankit.data.core import to_signed_unit
from gankit.errors import GankitError

CANVAS, DIGIT = 64, 28  # gankit.data.moving_mnist's canvas and digit sizes


def _clips(model: Any, n: int) -> torch.Tensor:
    """`n` generated clips (n, T, 1, S, S) in [-1, 1] on the CPU, from a fixed seed."""
    spec = model.data_spec()
    if not spec.frames:
        raise GankitError(f"{model.name} does not generate clips (its data has no frames)")
    gen = torch.Generator(model.device).manual_seed(0)
    clips = torch.cat([model.sample(min(250, n - i), generator=gen).cpu() for i in range(0, n, 250)])
    return unstack_frames(clips, spec.frames)[:, :, :1]  # one channel: the digits are gray


def _real(data: HeldOut, frames: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `n` held-out one-digit clips (n, T, 1, S, S) in [-1, 1] and their digits (n,)."""
    test = data.test
    if test.labels is None or int(test.labels.max()) > 9:
        raise GankitError("clip identity and motion are judged on one-digit clips: train on --data moving-mnist-1")
    return unstack_frames(to_signed_unit(test.images[:n]), frames)[:, :, :1], test.labels[:n]


def ink_centres(frames: torch.Tensor) -> torch.Tensor:
    """Centre of ink (row, col) in pixels of frames (..., 1, S, S) in [-1, 1]: (..., 2); the frame's centre
    where a frame is blank."""
    s = frames.shape[-1]
    ink = ((frames[..., 0, :, :] + 1) / 2).clamp_min(0)  # (..., S, S) in [0, 1]
    total = ink.sum((-2, -1))
    pos = torch.arange(s, dtype=ink.dtype)
    rows, cols = (ink.sum(-1) * pos).sum(-1), (ink.sum(-2) * pos).sum(-1)
    centre = torch.full_like(total, (s - 1) / 2)
    safe = total.clamp_min(1e-6)
    return torch.stack([torch.where(total > 0, rows / safe, centre), torch.where(total > 0, cols / safe, centre)], -1)


def digit_crops(frames: torch.Tensor) -> torch.Tensor:
    """Frames (N, 1, S, S) in [-1, 1] -> 28x28 crops (N, 1, 28, 28) of side 28 * S / 64 around each
    centre of ink (bilinear sampling; outside the frame reads as background)."""
    n, _, s, _ = frames.shape
    centre = ink_centres(frames)  # (N, 2) in pixels
    half = DIGIT * s / CANVAS / 2
    offs = (torch.arange(DIGIT, dtype=frames.dtype) + 0.5) / DIGIT * 2 * half - half  # (28,) pixel offsets
    rows, cols = centre[:, 0, None] + offs, centre[:, 1, None] + offs  # (N, 28) each
    to_grid = lambda p: (p + 0.5) / s * 2 - 1  # noqa: E731 (pixel centres -> [-1, 1], align_corners=False)
    grid = torch.stack([to_grid(cols)[:, None, :].expand(-1, DIGIT, -1), to_grid(rows)[:, :, None].expand(-1, -1, DIGIT)], -1)
    return F.grid_sample(frames + 1, grid, align_corners=False) - 1  # zero padding = background -1


def frame_digits(clips: torch.Tensor) -> torch.Tensor:
    """The digit lenet-mnist reads in every frame of clips (N, T, 1, S, S): (N, T)."""
    from gankit.metrics.probes import digit_classes

    n, t = clips.shape[:2]
    return digit_classes(digit_crops(clips.flatten(0, 1))).view(n, t)


def agreement(digits: torch.Tensor) -> float:
    """Mean over clips of the share of frames that read as the clip's most frequent digit."""
    majority = digits.mode(1).values  # (N,)
    return (digits == majority[:, None]).float().mean().item()


@register_capability("clip_identity")
@torch.no_grad()
def clip_identity(model: Any, data: HeldOut, baselines: bool = False, n: int = 500) -> dict[str, float]:
    """`identity/agreement`: over `n` generated clips, the share of frames lenet-mnist reads as the clip's
    majority digit (the issue's target: at least 90%). `identity/frame_fid[lenet-mnist]`: FID of the
    generated frames' crops against held-out frames' crops (frame quality). Baselines: the same agreement
    of held-out real clips (`_real`) and of generated clips whose frames are shuffled across clips
    (`_shuffled`: what losing the identity gives), and `identity/reader_accuracy_real`, the share of real
    clips whose majority digit is their label (that the crop reader works)."""
    from gankit.metrics.extractors import get_extractor
    from gankit.metrics.functional import fid

    fake = _clips(model, n)
    real, labels = _real(data, fake.shape[1], n)
    fake_digits = frame_digits(fake)
    lenet = get_extractor("lenet-mnist")
    crops = lambda c: digit_crops(c.flatten(0, 1))  # noqa: E731
    out = {"identity/agreement": agreement(fake_digits),
           "identity/frame_fid[lenet-mnist]": fid(lenet.features(crops(real)).double(), lenet.features(crops(fake)).double())}
    if baselines:
        real_digits = frame_digits(real)
        shuffled = fake_digits.flatten()[torch.randperm(fake_digits.numel())].view_as(fake_digits)
        out |= {"identity/agreement_real": agreement(real_digits), "identity/agreement_shuffled": agreement(shuffled),
                "identity/reader_accuracy_real": (real_digits.mode(1).values == labels).float().mean().item()}
    return out


def motion_stats(clips: torch.Tensor) -> dict[str, float]:
    """Of clips (N, T, 1, S, S) in [-1, 1]: `frame_diff`, the mean absolute change between consecutive frames
    (pixels in [0, 1]); `smoothness`, that over the same with the frames of each clip in a random order
    (1: no more continuity than shuffled frames, as flicker; real one-digit clips: about 0.7);
    `centre_speed`, the mean step of the centre of ink in px per frame on the 64 px canvas, and
    `centre_smoothness`, that over the same with shuffled frames (real clips: about 0.25)."""
    x = (clips + 1) / 2
    t = x.shape[1]
    diff = (x[:, 1:] - x[:, :-1]).abs().mean().item()
    order = torch.stack([torch.randperm(t) for _ in range(x.shape[0])])  # (N, T)
    shuffled = x[torch.arange(x.shape[0])[:, None], order]
    diff_shuffled = (shuffled[:, 1:] - shuffled[:, :-1]).abs().mean().item()
    centres = ink_centres(clips) * CANVAS / clips.shape[-1]  # (N, T, 2) in canvas pixels
    speed = (centres[:, 1:] - centres[:, :-1]).norm(dim=-1).mean().item()
    moved = centres[torch.arange(x.shape[0])[:, None], order]
    speed_shuffled = (moved[:, 1:] - moved[:, :-1]).norm(dim=-1).mean().item()
    ratio = lambda a, b: a / b if b > 1e-6 else 1.0  # noqa: E731 (still clips: no evidence of continuity)
    return {"frame_diff": diff, "smoothness": ratio(diff, diff_shuffled), "centre_speed": speed,
            "centre_smoothness": ratio(speed, speed_shuffled)}


@register_capability("motion")
@torch.no_grad()
def motion(model: Any, data: HeldOut, baselines: bool = False, n: int = 500) -> dict[str, float]:
    """`motion/frame_diff` (far above 0: the frames change), `motion/smoothness` and
    `motion/centre_smoothness` (below 1: they change continuously, not as flicker) and
    `motion/centre_speed` (the digit travels) of `n` generated clips (see `motion_stats`); baselines:
    the same of held-out real clips (`_real`; a still clip has frame_diff 0)."""
    fake = _clips(model, n)
    out = {f"motion/{k}": v for k, v in motion_stats(fake).items()}
    if baselines:
        real, _ = _real(data, fake.shape[1], n)
        out |= {f"motion/{k}_real": v for k, v in motion_stats(real).items()}
    return out
