"""Networks shared by the image-to-image variants: U-Net and ResNet generators, PatchGAN, image pool.

Facts from pix2pix (Isola et al., arXiv 1611.07004) and CycleGAN (Zhu et al., arXiv 1703.10593):
- U-Net: stride-2 4x4 convs down to 1x1 (C64-C128-C256-C512-C512...), mirrored by transposed
  convs with skip connections; dropout 0.5 in the three innermost decoder layers is G's noise.
- PatchGAN: C64-C128-C256-C512 then a 1-channel conv; three stride-2 layers see 70x70 patches.
  Fewer layers suit small images (2 layers: 34x34, 1 layer: 16x16 receptive fields).
- ResNet G: 7x7 conv, two stride-2 downsamplings, 6 or 9 residual blocks, two upsamplings,
  reflection padding and instance norm.
- Image pool: D sees a mix of the newest fakes and up to 50 older ones (Shrivastava et al.).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gankit.errors import GankitError


def norm_layer(kind: str, channels: int) -> nn.Module:
    """batch (pix2pix with batch > 1), instance (batch 1, CycleGAN) or none."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False)
    if kind == "none":
        return nn.Identity()
    raise GankitError(f"unknown norm {kind!r}: choose batch, instance or none")


class UNetGenerator(nn.Module):
    """U-Net with `depth` stride-2 levels: an `image_size` input reaches 1x1 when depth = log2(size).

    Any input whose sides are multiples of 2**depth works (fully convolutional).
    """

    def __init__(self, in_channels: int, out_channels: int, depth: int, width: int = 64, max_width: int = 512,
                 norm: str = "batch", dropout: float = 0.5) -> None:
        super().__init__()
        if depth < 2:
            raise GankitError(f"U-Net depth must be at least 2, got {depth}")
        self.depth = depth
        widths = [min(width * 2**i, max_width) for i in range(depth)]
        self.down = nn.ModuleList()
        c_prev = in_channels
        for i, c in enumerate(widths):
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2, True)]
            layers.append(nn.Conv2d(c_prev, c, 4, 2, 1, bias=norm != "batch" or i == 0 or i == depth - 1))
            if 0 < i < depth - 1:  # no norm on the input layer or on the 1x1 bottleneck
                layers.append(norm_layer(norm, c))
            self.down.append(nn.Sequential(*layers))
            c_prev = c
        self.up = nn.ModuleList()
        for i in reversed(range(depth)):
            c_in = widths[i] if i == depth - 1 else widths[i] * 2  # skip concatenation doubles inputs
            c_out = out_channels if i == 0 else widths[i - 1]
            layers = [nn.ReLU(True), nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=i == 0 or norm != "batch")]
            if i == 0:
                layers.append(nn.Tanh())
            else:
                layers.append(norm_layer(norm, c_out))
                if i >= depth - 3 and dropout > 0:  # the three innermost decoder layers
                    layers.append(nn.Dropout(dropout))
            self.up.append(nn.Sequential(*layers))

    @property
    def size_multiple(self) -> int:
        return 2**self.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % self.size_multiple or x.shape[-2] % self.size_multiple:
            raise GankitError(f"U-Net input sides must be multiples of {self.size_multiple}, got {tuple(x.shape[-2:])}")
        skips = []
        for layer in self.down:
            x = layer(x)
            skips.append(x)  # (B, c_i, H / 2^(i+1), W / 2^(i+1))
        x = skips.pop()
        for i, layer in enumerate(self.up):
            x = layer(x if i == 0 else torch.cat([x, skips.pop()], 1))
        return x  # (B, out_channels, H, W)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, norm: str) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), norm_layer(norm, channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), norm_layer(norm, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """CycleGAN's generator: c7s1-w, d2w, d4w, `blocks` x R4w, u2w, uw, c7s1-out."""

    def __init__(self, in_channels: int, out_channels: int, width: int = 64, blocks: int = 9, norm: str = "instance",
                 downsamplings: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, width, 7), norm_layer(norm, width),
                                   nn.ReLU(True)]
        c = width
        for _ in range(downsamplings):
            layers += [nn.Conv2d(c, c * 2, 3, 2, 1), norm_layer(norm, c * 2), nn.ReLU(True)]
            c *= 2
        layers += [ResidualBlock(c, norm) for _ in range(blocks)]
        for _ in range(downsamplings):
            layers += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1), norm_layer(norm, c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(c, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.size_multiple = 2**downsamplings

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, out_channels, H, W)


class PatchDiscriminator(nn.Module):
    """PatchGAN: one logit per overlapping patch, `(B, 1, H', W')`; `layers` stride-2 convs."""

    def __init__(self, in_channels: int, width: int = 64, layers: int = 3, norm: str = "batch") -> None:
        super().__init__()
        seq: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        c = width
        for i in range(1, layers + 1):
            c_out = width * min(2**i, 8)
            stride = 2 if i < layers else 1  # the last hidden layer keeps the resolution, as in the paper
            seq += [nn.Conv2d(c, c_out, 4, stride, 1, bias=norm == "none"), norm_layer(norm, c_out), nn.LeakyReLU(0.2, True)]
            c = c_out
        seq.append(nn.Conv2d(c, 1, 4, 1, 1))
        self.net = nn.Sequential(*seq)

    @staticmethod
    def receptive_field(layers: int) -> int:
        """70 for 3 layers, 34 for 2, 16 for 1."""
        rf = 1
        strides = [2] + [2 if i < layers else 1 for i in range(1, layers + 1)] + [1]
        for s in reversed(strides):
            rf = rf * s + (4 - s)
        return rf

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, 1, H', W') patch logits


class ImagePool(nn.Module):
    """A history of generated images for D (CycleGAN: 50). Stored in buffers, so it is checkpointed
    with the model and a resumed run draws exactly what an uninterrupted one would."""

    def __init__(self, size: int, image_shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros(size, *image_shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def query(self, fakes: torch.Tensor) -> torch.Tensor:
        """Per image: while filling, store and return it; then with p = 0.5 return a stored image
        and store the new one in its place, else return the new one."""
        if self.size == 0:
            return fakes
        if fakes.shape[1:] != self.images.shape[1:]:
            raise GankitError(f"image pool holds {tuple(self.images.shape[1:])} images, got {tuple(fakes.shape[1:])}")
        out = fakes.detach().clone()
        for i in range(len(fakes)):
            n = int(self.count)
            if n < self.size:
                self.images[n] = fakes[i].detach()
                self.count += 1
            elif torch.rand((), device=self.images.device) < 0.5:
                j = int(torch.randint(0, self.size, (), device=self.images.device))
                out[i] = self.images[j].clone()
                self.images[j] = fakes[i].detach()
        return out


def unet_depth(image_size: int) -> int:
    """Levels that take `image_size` down to 1x1 (8 at 256px, 5 at 32px)."""
    depth = math.log2(image_size)
    if depth != int(depth) or depth < 2:
        raise GankitError(f"image_size {image_size} must be a power of two >= 4 for the U-Net")
    return int(depth)


class ConvEncoderDecoder(nn.Module):
    """DiscoGAN's generator: 4x4 stride-2 convs (BN, LeakyReLU 0.2) down `depth` times, then
    transposed convs (BN, ReLU) back up, tanh; no skip connections (unlike the U-Net)."""

    def __init__(self, in_channels: int, out_channels: int, depth: int = 4, width: int = 64, max_width: int = 512) -> None:
        super().__init__()
        widths = [min(width * 2**i, max_width) for i in range(depth)]
        layers: list[nn.Module] = []
        c = in_channels
        for i, w in enumerate(widths):
            layers += [nn.Conv2d(c, w, 4, 2, 1, bias=i == 0)] + ([nn.BatchNorm2d(w)] if i else []) + [nn.LeakyReLU(0.2, True)]
            c = w
        for w in reversed(widths[:-1]):
            layers += [nn.ConvTranspose2d(c, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(True)]
            c = w
        layers += [nn.ConvTranspose2d(c, out_channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.size_multiple = 2**depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, out_channels, H, W)


class ExamplePairs(nn.Module):
    """A few inputs (domain A) and targets (domain B) kept from the first training batch, so the
    sample grids follow the same images through training. Buffers: checkpointed with the model."""

    def __init__(self, n: int, channels_a: int, channels_b: int, size: int) -> None:
        super().__init__()
        self.register_buffer("a", torch.zeros(n, channels_a, size, size))
        self.register_buffer("b", torch.zeros(n, channels_b, size, size))
        self.register_buffer("kept", torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def keep(self, a: torch.Tensor, b: torch.Tensor) -> None:
        """Store the first images of `a` and `b` once; later calls do nothing."""
        if not bool(self.kept):
            k = min(len(a), len(b), len(self.a))
            self.a[:k], self.b[:k] = a[:k], b[:k]
            self.kept.fill_(True)

    def cycled(self, n: int) -> torch.Tensor:
        """`n` inputs, repeating the kept ones: (n, Ca, S, S)."""
        return self.a[torch.arange(n, device=self.a.device) % len(self.a)]
