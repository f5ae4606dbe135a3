"""Train `gankit-sr-features`, SRGAN's content network when VGG19's ImageNet weights are not at hand.

Self-supervised on 32x32 crops of the *training* photos only (`--data photos` train split:
astronaut, hubble, rocket; the held-out chelsea and coffee are never seen): each crop is randomly
flipped/rotated and degraded in one of five ways (clean, bicubic x2 or x4 down-and-up, Gaussian blur,
Gaussian noise), and the network names which one it got. Telling clean from bicubic or blur needs
features that see fine detail and edges: what a content loss for super-resolution should compare. Writes `src/gankit/nn/weights/sr_features.safetensors`
(~0.3 MB) only if validation-crop accuracy reaches 50% (chance 20%; flat crops are ambiguous), with `content_scale` in its metadata: the
factor that makes the feature MSE of bicubic x4 upscales equal to their pixel MSE (the role of the
paper's 1/12.75 for VGG19). About 3 minutes on one CPU thread:

    OMP_NUM_THREADS=1 PYTHONPATH=src python scripts/train_sr_features.py
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import Tensor

from gankit.data.sources import photo_crops
from gankit.nn.content import SR_FEATURE_CLASSES, SR_FEATURES_FILE, WEIGHTS_DIR, SRFeatureNet, bicubic


def gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    r = math.ceil(2 * sigma)
    t = torch.arange(-r, r + 1, dtype=x.dtype)
    k = torch.exp(-t.pow(2) / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.pad(x, (r, r, r, r), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def degrade(x: Tensor, kind: Tensor, gen: torch.Generator) -> Tensor:
    """x (B, 3, S, S) in [-1, 1]; kind (B,) in 0..4: clean, bicubic x2, bicubic x4, blur sigma 1-2,
    noise sigma 0.06-0.2."""
    out = x.clone()
    if (m := kind == 1).any():
        out[m] = bicubic(bicubic(x[m], 0.5), 2.0).clamp(-1, 1)
    if (m := kind == 2).any():
        out[m] = bicubic(bicubic(x[m], 0.25), 4.0).clamp(-1, 1)
    if (m := kind == 3).any():
        out[m] = gaussian_blur(x[m], 1.0 + float(torch.rand((), generator=gen)))
    if (m := kind == 4).any():
        sigma = 0.06 + 0.14 * torch.rand(int(m.sum()), 1, 1, 1, generator=gen)
        out[m] = (x[m] + sigma * torch.randn(x[m].shape, generator=gen)).clamp(-1, 1)
    return out


def make_batch(x: Tensor, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    kind = torch.randint(0, SR_FEATURE_CLASSES, (len(x),), generator=gen)
    x = degrade(x, kind, gen)
    if torch.rand((), generator=gen) < 0.5:  # flips and quarter turns: more views of three photos
        x = x.flip(3)
    x = torch.rot90(x, int(torch.randint(0, 4, (), generator=gen)), (2, 3))
    return x, kind


@torch.no_grad()
def accuracy(net: SRFeatureNet, images: Tensor, seed: int) -> float:
    net.eval()
    gen = torch.Generator().manual_seed(seed)
    hits = 0
    for chunk in images.split(500):
        x, y = make_batch(chunk.float() / 127.5 - 1, gen)
        hits += int((net(x).argmax(1) == y).sum())
    net.train()
    return hits / len(images)


@torch.no_grad()
def content_scale(net: SRFeatureNet, images: Tensor) -> float:
    """sqrt(pixel MSE / feature MSE) of bicubic x4 upscales against the originals."""
    net.eval()
    hr = images.float() / 127.5 - 1
    up = bicubic(bicubic(hr, 0.25), 4.0)
    pix = (up - hr).pow(2).mean()
    feat = (net.features(up) - net.features(hr)).pow(2).mean()
    return math.sqrt(float(pix / feat))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3, help="peak of the one-cycle schedule")
    parser.add_argument("--crops", type=int, default=18_000, help="training crops (the last 2,000 of 20,000 are validation)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR / SR_FEATURES_FILE)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    crops = photo_crops("train", 32).images  # (20000, 3, 32, 32) uint8, training photos only
    train, valid = crops[: min(args.crops, 18_000)], crops[18_000:]
    net = SRFeatureNet()
    steps_per_epoch = math.ceil(len(train) / args.batch_size)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=args.epochs * steps_per_epoch, pct_start=0.2)
    t0 = time.time()
    for epoch in range(args.epochs):
        total = 0.0
        for idx in torch.randperm(len(train), generator=gen).split(args.batch_size):
            x, y = make_batch(train[idx].float() / 127.5 - 1, gen)
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch + 1}/{args.epochs}  loss {total / len(train):.4f}  "
              f"valid acc {accuracy(net, valid, args.seed + 1):.4f}  {time.time() - t0:.0f}s", flush=True)
    acc = accuracy(net, valid, args.seed + 1)
    scale = content_scale(net, train[:2000])
    print(f"valid accuracy {acc:.4f} (chance 1/5), content_scale {scale:.4f}")
    if acc < 0.5:
        print("accuracy below 0.5: weights not written", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.{os.getpid()}.tmp")
    meta = {"arch": "gankit-sr-features", "seed": str(args.seed), "epochs": str(args.epochs),
            "valid_acc": f"{acc:.4f}", "content_scale": f"{scale:.6f}"}
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp), metadata=meta)
    os.chmod(tmp, 0o644)  # safetensors creates files readable by the owner only; this one ships
    os.replace(tmp, args.out)  # atomic: a crash never leaves a truncated weights file
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
