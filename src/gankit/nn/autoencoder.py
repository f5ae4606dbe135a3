"""Auto-encoders used as discriminators (BEGAN, Berthelot et al., arXiv 1703.10717).

Both map an image to a code of size `code_dim` (the paper's embedding h) and back to an
image of the same shape. ELU throughout as in the paper; the reconstruction has no output
nonlinearity (the paper's decoder ends in a plain 3x3 conv), so it is not confined to [-1, 1].
`norm="batch"` adds BatchNorm to the hidden layers and the code (the paper has none): batch
statistics make a batch of near-identical fakes reconstruct badly, which BEGAN on MNIST
needs to escape an early collapse of G (see `gankit.models.began`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gankit.errors import GankitError
from gankit.nn.dcgan import check_dcgan_size


def _use_batchnorm(norm: str) -> bool:
    if norm not in ("batch", "none"):
        raise GankitError(f"unknown auto-encoder norm {norm!r}: choose batch or none")
    return norm == "batch"


class MLPAutoEncoder(nn.Module):
    """image -> hidden (ELU) -> linear code -> mirrored hidden (ELU) -> image; for 28x28 MNIST."""

    def __init__(self, image_shape: tuple[int, int, int], hidden: tuple[int, ...], code_dim: int, norm: str = "none") -> None:
        super().__init__()
        self.image_shape = image_shape
        bn = _use_batchnorm(norm)
        widths = [math.prod(image_shape), *hidden, code_dim]
        enc: list[nn.Module] = [nn.Flatten()]
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            enc.append(nn.Linear(a, b))
            enc += [nn.BatchNorm1d(b)] if bn else []
            enc += [nn.ELU()] if i < len(widths) - 2 else []  # the code is linear
        back = widths[::-1]
        dec: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(back[:-1], back[1:])):
            dec.append(nn.Linear(a, b))
            if i < len(back) - 2:  # no normalisation or nonlinearity on the reconstruction
                dec += [nn.BatchNorm1d(b), nn.ELU()] if bn else [nn.ELU()]
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)  # (B, code_dim)

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        return self.decoder(h).view(h.shape[0], *self.image_shape)  # (B, C, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class ConvAutoEncoder(nn.Module):
    """A CPU-sized version of the paper's conv AE, for 2^k sizes >= 8.

    Encoder: stride-2 3x3 convs from the image down to 4x4, channels growing linearly
    (w, 2w, 3w, ...) as in the paper, then a linear map to the code. Decoder: the mirror
    image: linear to (c, 4, 4), then one 4x4 stride-2 transposed conv per scale, the last
    one to the image channels. The paper has two 3x3 convs per scale, full-resolution convs
    and nearest-neighbour upsampling; transposed convs measured 2.5x faster than
    upsampling + 3x3 conv on a CPU, and one conv per scale keeps the AE near the DCGAN
    discriminator's cost.
    """

    def __init__(self, channels: int, image_size: int, width: int, code_dim: int, norm: str = "none") -> None:
        super().__init__()
        steps = check_dcgan_size(image_size)
        widths = [width * (i + 1) for i in range(steps)]  # channels at S/2, S/4, ..., 4
        bn = _use_batchnorm(norm)
        enc: list[nn.Module] = []
        c = channels
        for i, w in enumerate(widths):
            enc += [nn.Conv2d(c, w, 3, 2, 1)]  # halves the size
            enc += [nn.BatchNorm2d(w)] if bn and i > 0 else []
            enc += [nn.ELU()]
            c = w
        enc += [nn.Flatten(), nn.Linear(c * 16, code_dim)]  # (B, c, 4, 4) -> (B, code_dim)
        enc += [nn.BatchNorm1d(code_dim)] if bn else []
        self.encoder = nn.Sequential(*enc)
        self.bottom = c
        self.project = nn.Linear(code_dim, c * 16)  # -> (B, c, 4, 4)
        dec: list[nn.Module] = []
        outs = [*reversed(widths[:-1]), channels]
        for i, w in enumerate(outs):
            dec.append(nn.ConvTranspose2d(c, w, 4, 2, 1))  # doubles the size
            if i < len(outs) - 1:  # no normalisation or nonlinearity on the reconstruction
                dec += [nn.BatchNorm2d(w), nn.ELU()] if bn else [nn.ELU()]
            c = w
        self.decoder = nn.Sequential(*dec)  # (B, C, S, S)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)  # (B, code_dim)

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        x = self.project(h).view(h.shape[0], self.bottom, 4, 4)  # (B, c, 4, 4)
        return self.decoder(x)  # (B, C, S, S)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))
