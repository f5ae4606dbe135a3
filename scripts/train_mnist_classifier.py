"""Train the `lenet-mnist` feature extractor and ship its weights.

Trains on the MNIST train split (50k) with light affine augmentation, reports accuracy on
`valid` each epoch and on `test` at the end, and writes
`src/gankit/metrics/weights/lenet_mnist.safetensors` only if test accuracy reaches 99%.
About 2-3 minutes on 2 CPU cores:

    PYTHONPATH=src python scripts/train_mnist_classifier.py
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

from gankit.data.mnist import load_mnist
from gankit.metrics.extractors import to_signed_unit, weights_dir
from gankit.metrics.lenet import LeNet, prepare_mnist


def augment(x: Tensor, gen: torch.Generator) -> Tensor:
    """Random rotation (±10°), scale (±10%) and shift (±2 px) of images in [-1, 1]."""
    b = len(x)
    u = torch.rand(b, 4, generator=gen) * 2 - 1
    angle, scale, shift = u[:, 0] * math.radians(10), 1 + 0.1 * u[:, 1], u[:, 2:] * (2 / 14)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x + 1, grid, align_corners=False) - 1  # zero padding in [0, 2] = background -1


@torch.inference_mode()
def accuracy(net: LeNet, images: Tensor, labels: Tensor) -> float:
    net.eval()
    hits = sum(
        int((net(prepare_mnist(to_signed_unit(x)))[1].argmax(1) == y).sum())
        for x, y in zip(images.split(1000), labels.split(1000))
    )
    return hits / len(labels)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak of the one-cycle schedule")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=weights_dir() / "lenet_mnist.safetensors")
    args = parser.parse_args()

    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = (
        load_mnist(s) for s in ("train", "valid", "test")
    )

    net = LeNet().to(memory_format=torch.channels_last)  # faster convolutions on CPU
    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, args.lr, total_steps=args.epochs * steps_per_epoch, pct_start=0.2
    )
    t0 = time.time()
    for epoch in range(args.epochs):
        net.train()
        order = torch.randperm(len(x_train), generator=gen)
        total = 0.0
        for idx in order.split(args.batch_size):
            x = prepare_mnist(augment(to_signed_unit(x_train[idx]), gen))
            loss = F.cross_entropy(net(x)[1], y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        valid_acc = accuracy(net, x_valid, y_valid)
        print(
            f"epoch {epoch + 1}/{args.epochs}  loss {total / len(x_train):.4f}  valid acc {valid_acc:.4f}  {time.time() - t0:.0f}s"
        )

    test_acc = accuracy(net, x_test, y_test)
    print(f"test accuracy {test_acc:.4f}")
    if test_acc < 0.99:
        print("test accuracy below 0.99: weights not written", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.{os.getpid()}.tmp")
    state = {k: v.contiguous() for k, v in net.state_dict().items()}  # channels_last -> plain layout
    meta = {
        "arch": "lenet-mnist",
        "seed": str(args.seed),
        "epochs": str(args.epochs),
        "test_acc": f"{test_acc:.4f}",
    }
    save_file(state, str(tmp), metadata=meta)
    os.chmod(tmp, 0o644)  # safetensors creates files readable by the owner only; this one ships
    os.replace(tmp, args.out)  # atomic: a crash never leaves a truncated weights file
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
