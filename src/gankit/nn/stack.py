"""StackGAN++ blocks: a tree of generators sharing one trunk (an image head per scale) and a
discriminator per scale with an unconditional and, optionally, a conditional logit."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def downsample(images: torch.Tensor, size: int) -> torch.Tensor:
    """Area (box) downsampling to `size` x `size`: how the coarser reals are made from the batch, and
    what "down(32 px)" means in the consistency check."""
    if images.shape[-1] == size:
        return images
    return F.interpolate(images, size=(size, size), mode="area")  # (B, C, size, size)


class GLU(nn.Module):
    """Gated linear unit over channels: the first half times the sigmoid of the second."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return a * torch.sigmoid(b)  # (B, C/2, ...)


def glu_conv(c_in: int, c_out: int, up: bool = False) -> nn.Sequential:
    """(nearest x2) conv3x3 -> BN -> GLU: `c_in` -> `c_out` channels."""
    layers: list[nn.Module] = [nn.Upsample(scale_factor=2, mode="nearest")] if up else []
    return nn.Sequential(*layers, nn.Conv2d(c_in, 2 * c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(2 * c_out), GLU())


class GLUResBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(glu_conv(c, c), nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ConditioningAugmentation(nn.Module):
    """Class embedding -> (mu, logvar) of a Gaussian; the code c = mu + sigma * eps (StackGAN's CA)."""

    def __init__(self, num_classes: int, dim: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_classes, dim)
        self.fc = nn.Sequential(nn.Linear(dim, 4 * dim), GLU())  # (B, 2 * dim): mu and logvar
        self.dim = dim

    def forward(self, y: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.fc(self.embed(y)).chunk(2, dim=1)  # (B, dim) each
        return mu + eps * torch.exp(0.5 * logvar), mu, logvar


class StackGenerator(nn.Module):
    """z (and a class code c) -> one image per scale, coarse to fine. The trunk: a dense layer to
    4x4, GLU up-blocks to the coarsest scale; each further branch joins the code again (c, or z in
    the unconditional form as in the reference code), runs residual blocks and upsamples x2,
    halving the width. Every scale has its own conv3x3 + tanh image head."""

    def __init__(self, latent_dim: int, channels: int, sizes: tuple[int, ...], width: int, residual: int,
                 num_classes: int = 0, code_dim: int = 0) -> None:
        super().__init__()
        self.ca = ConditioningAugmentation(num_classes, code_dim) if num_classes else None
        code_dim = code_dim if num_classes else 0
        join = code_dim or latent_dim  # what each branch re-joins: c, or z in the unconditional form
        ups = (sizes[0] // 4).bit_length() - 1  # 4 px -> the coarsest scale
        w0 = width * 2 ** ups
        self.fc = nn.Sequential(nn.Linear(latent_dim + code_dim, 2 * w0 * 16, bias=False),
                                nn.BatchNorm1d(2 * w0 * 16), GLU())
        self.init = nn.Sequential(*[glu_conv(w0 // 2 ** i, w0 // 2 ** (i + 1), up=True) for i in range(ups)])
        widths = [width // 2 ** i for i in range(len(sizes))]
        self.branches = nn.ModuleList([
            nn.Sequential(glu_conv(w_in + join, w_in), *[GLUResBlock(w_in) for _ in range(residual)],
                          glu_conv(w_in, w_out, up=True))
            for w_in, w_out in zip(widths, widths[1:])])
        self.heads = nn.ModuleList([nn.Sequential(nn.Conv2d(w, channels, 3, 1, 1, bias=False), nn.Tanh())
                                    for w in widths])

    def class_code(self, y: torch.Tensor) -> torch.Tensor:
        """The mean code mu(y) `(B, code_dim)`: what D is conditioned on."""
        return self.ca(y, torch.zeros(len(y), self.ca.dim, device=y.device))[1]

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None, eps: torch.Tensor | None = None
                ) -> tuple[list[torch.Tensor], torch.Tensor | None, torch.Tensor | None]:
        """`z` (B, latent_dim); in the conditional form labels `y` (B,) and CA noise `eps` (B, code_dim).
        Returns the images coarse to fine, each (B, C, S_i, S_i), and CA's (mu, logvar) or Nones."""
        mu = logvar = None
        if self.ca is None:
            join, x = z, z
        else:
            join, mu, logvar = self.ca(y, eps)  # (B, code_dim) each
            x = torch.cat([join, z], 1)
        h = self.init(self.fc(x).view(len(z), -1, 4, 4))  # (B, width, S0, S0)
        images = [self.heads[0](h)]
        for branch, head in zip(self.branches, self.heads[1:]):
            c = join[:, :, None, None].expand(-1, -1, *h.shape[-2:])  # (B, join, S, S)
            h = branch(torch.cat([c, h], 1))  # (B, width / 2^i, 2S, 2S)
            images.append(head(h))
        return images, mu, logvar


class ScaleDiscriminator(nn.Module):
    """One scale's D: stride-2 convs to a 4x4 map (width doubling from `width`, at most 8x), then a
    4x4 logit. With `code_dim` > 0 it also has the conditional logit of (x, c) from a 3x3 joint conv
    on the map and the code: `forward` returns (unconditional, conditional or None) logits (B,)."""

    def __init__(self, channels: int, size: int, width: int, code_dim: int = 0) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        w = width
        for _ in range((size // 8).bit_length() - 1):  # size/2 -> 4 px
            w_next = min(2 * w, 8 * width)
            layers += [nn.Conv2d(w, w_next, 4, 2, 1, bias=False), nn.BatchNorm2d(w_next), nn.LeakyReLU(0.2, True)]
            w = w_next
        self.encode = nn.Sequential(*layers)  # (B, w, 4, 4)
        self.uncond = nn.Conv2d(w, 1, 4, 4)
        self.code_dim = code_dim
        if code_dim:
            self.joint = nn.Sequential(nn.Conv2d(w + code_dim, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w),
                                       nn.LeakyReLU(0.2, True))
            self.cond = nn.Conv2d(w, 1, 4, 4)

    def forward(self, x: torch.Tensor, code: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.encode(x)  # (B, w, 4, 4)
        uncond = self.uncond(h).flatten()  # (B,)
        if code is None:
            return uncond, None
        c = code[:, :, None, None].expand(-1, -1, *h.shape[-2:])  # (B, code_dim, 4, 4)
        return uncond, self.cond(self.joint(torch.cat([c, h], 1))).flatten()
