"""The self-attention block of SAGAN (Zhang et al., arXiv 1805.08318), also used by BigGAN.

Every position of a feature map attends to every other: queries and keys at C/8 channels, values at
C/2 mapped back to C by a 1x1 conv (as the authors' TF code), added to the input scaled by a learnable
gamma that starts at 0, so the block begins as the identity and the net decides how much to use it.
"""

from __future__ import annotations

import torch
from torch import nn


class SelfAttention(nn.Module):
    """(B, C, H, W) -> (B, C, H, W): x + gamma * attention output. With `keep_map` set, the last
    forward's attention weights are kept in `last_map` (B, HW queries, HW keys), rows summing to 1."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        if channels < 8:
            raise ValueError(f"self-attention needs at least 8 channels, got {channels}")
        self.query = nn.Conv2d(channels, channels // 8, 1, bias=False)
        self.key = nn.Conv2d(channels, channels // 8, 1, bias=False)
        self.value = nn.Conv2d(channels, channels // 2, 1, bias=False)
        self.out = nn.Conv2d(channels // 2, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))
        for conv in (self.query, self.key, self.value, self.out):
            nn.init.xavier_uniform_(conv.weight)
        self.keep_map = False
        self.last_map: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = self.query(x).flatten(2)  # (B, C/8, HW)
        k = self.key(x).flatten(2)  # (B, C/8, HW)
        v = self.value(x).flatten(2)  # (B, C/2, HW)
        attn = torch.softmax(q.transpose(1, 2) @ k, dim=-1)  # (B, HW queries, HW keys)
        if self.keep_map:
            self.last_map = attn.detach()
        o = (v @ attn.transpose(1, 2)).view(b, c // 2, h, w)  # each query's weighted sum of values
        return x + self.gamma * self.out(o)
