"""What a run writes for people: sample grids, loss curves, a JSONL log (and TensorBoard)."""

from __future__ import annotations

import io
import json
import math
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch

from gankit.fileio import atomic_write_bytes


def save_grid(images: torch.Tensor, path: str | os.PathLike, nrow: int | None = None) -> None:
    """Write images in [-1, 1] `(N, C, H, W)` as one PNG grid, atomically."""
    from PIL import Image

    from gankit.data.core import to_uint8

    n, c, h, w = images.shape
    nrow = nrow or max(1, int(math.ceil(math.sqrt(n))))
    rows, pad = int(math.ceil(n / nrow)), 2
    canvas = torch.zeros(c, rows * (h + pad) + pad, nrow * (w + pad) + pad, dtype=torch.uint8)
    for i, img in enumerate(to_uint8(images)):
        r, col = divmod(i, nrow)
        canvas[:, pad + r * (h + pad) : pad + r * (h + pad) + h, pad + col * (w + pad) : pad + col * (w + pad) + w] = img
    pixels = canvas.permute(1, 2, 0).numpy()
    buf = io.BytesIO()
    Image.fromarray(pixels[..., 0] if c == 1 else pixels).save(buf, format="png")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(Path(path), buf.getvalue())


class RunLog:
    """Scalars per logging interval in `log.jsonl`; TensorBoard too when it is installed."""

    def __init__(self, run_dir: Path, resume_step: int | None = None) -> None:
        self.path = run_dir / "log.jsonl"
        self.history: list[dict[str, Any]] = []
        if self.path.is_file() and resume_step is not None:
            # Lines written after the checkpoint we resume from are dropped: they will be redone.
            for line in self.path.read_text().splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a kill
                # Events at the resume step (a stage's start) are written again when it is redone.
                if row.get("step", 0) < resume_step or (row.get("step", 0) == resume_step and "event" not in row):
                    self.history.append(row)
            atomic_write_bytes(self.path, "".join(json.dumps(r) + "\n" for r in self.history).encode())
        self._tb = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(run_dir / "tensorboard"))
        except Exception:  # tensorboard is optional
            self._tb = None

    def write(self, row: dict[str, Any]) -> None:
        self.history.append(row)
        with open(self.path, "a") as fh:
            fh.write(json.dumps(row) + "\n")
        if self._tb is not None and "step" in row:
            for k, v in row.items():
                if k != "step" and isinstance(v, (int, float)):
                    self._tb.add_scalar(k, v, row["step"])

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()

    def plot(self, path: Path) -> None:
        """One panel per scalar group (`loss/*`, `d/*`, ...) against step."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        groups: dict[str, list[str]] = defaultdict(list)
        keys = sorted({k for row in self.history for k in row if "/" in k})
        for k in keys:
            groups[k.split("/")[0]].append(k)
        if not groups:
            return
        fig, axes = plt.subplots(len(groups), 1, figsize=(7, 2.6 * len(groups)), squeeze=False, sharex=True)
        for ax, (group, names) in zip(axes[:, 0], groups.items()):
            for name in names:
                pts = [(r["step"], r[name]) for r in self.history if name in r and "step" in r]
                if pts:
                    ax.plot(*zip(*pts), label=name, linewidth=1.2)
            for row in self.history:  # stage boundaries
                if row.get("event") == "stage" and row.get("index", 0) > 0:
                    ax.axvline(row["step"], color="0.6", linewidth=0.8, linestyle="--")
            ax.set_ylabel(group)
            ax.grid(alpha=0.3)
            ax.legend(loc="upper right", fontsize=8)
        axes[-1, 0].set_xlabel("step")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100)
        plt.close(fig)
        atomic_write_bytes(path, buf.getvalue())
