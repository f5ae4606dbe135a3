"""ProGAN's discriminator (Karras et al., arXiv 1710.10196, table 2), shared by the style-based
generators, which keep it unchanged (StyleGAN, arXiv 1812.04948, section 2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gankit.nn.equalized import EqualizedConv2d, EqualizedLinear, MinibatchStdDev


def lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


class ProgressiveDiscriminator(nn.Module):
    """A 1x1 fromRGB per level, one (conv3, conv3, avgpool) block per resolution above 4 px, then
    minibatch stddev, conv3 and two dense layers at 4x4. `grows=False` keeps only the top level's
    fromRGB (a D that never sees lower resolutions has no use for the others)."""

    def __init__(self, widths: tuple[int, ...], channels: int, mbstd_group: int, grows: bool = True) -> None:
        super().__init__()
        levels = range(len(widths)) if grows else (len(widths) - 1,)
        # A dict keyed by level: the same state-dict names as a list of every level.
        self.from_rgb = nn.ModuleDict({str(i): EqualizedConv2d(channels, widths[i], 1) for i in levels})
        self.blocks = nn.ModuleList([nn.ModuleList()])  # level 0 has the final block instead
        for i in range(1, len(widths)):
            self.blocks.append(nn.ModuleList([EqualizedConv2d(widths[i], widths[i], 3),
                                              EqualizedConv2d(widths[i], widths[i - 1], 3)]))
        self.mbstd = MinibatchStdDev(mbstd_group) if mbstd_group > 0 else None
        extra = 1 if self.mbstd is not None else 0
        self.final_conv = EqualizedConv2d(widths[0] + extra, widths[0], 3)
        self.final_dense = EqualizedLinear(widths[0] * 16, widths[0])
        self.out = EqualizedLinear(widths[0], 1, gain=1.0)

    def _block(self, i: int, h: torch.Tensor) -> torch.Tensor:
        for conv in self.blocks[i]:
            h = lrelu(conv(h))
        return F.avg_pool2d(h, 2)

    def forward(self, x: torch.Tensor, level: int | None = None, alpha: float = 1.0) -> torch.Tensor:
        level = len(self.blocks) - 1 if level is None else level
        h = lrelu(self.from_rgb[str(level)](x))  # (B, W_level, S, S)
        if level > 0:
            h = self._block(level, h)
            if alpha < 1:  # fade-in: the previous level's path on the downsampled image
                old = lrelu(self.from_rgb[str(level - 1)](F.avg_pool2d(x, 2)))
                h = old + alpha * (h - old)
        for i in range(level - 1, 0, -1):
            h = self._block(i, h)
        if self.mbstd is not None:
            h = self.mbstd(h)  # (B, W0 + 1, 4, 4)
        h = lrelu(self.final_conv(h))
        return self.out(lrelu(self.final_dense(h.flatten(1)))).squeeze(1)  # (B,)
