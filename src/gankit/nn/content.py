"""Content networks for super-resolution: deep features whose distance is SRGAN's content loss.

The paper (Ledig et al., arXiv 1609.04802) compares VGG19's relu5_4 activations (ImageNet weights),
rescaled by 1/12.75. That network is used when its weights are at hand: a file passed as
`vgg19_weights`, or torchvision's cache (`vgg19-dcbb9e9d.pth` under `torch.hub.get_dir()/checkpoints`);
asked for by name it is downloaded unless `GANKIT_OFFLINE=1`. Otherwise `gankit-sr-features` is used:
a small VGG-style net (6 convs with BN, 16-32-64 channels, ~70k parameters) trained by
`scripts/train_sr_features.py` on the *training* photos only (no held-out photo is seen) to tell how a
32 px crop was degraded (clean / bicubic x2 / bicubic x4 / blur / noise), so its deep features must
see the edges and fine detail that upscaling loses, which is what a content loss should compare.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.errors import GankitError
from gankit.fileio import offline

VGG19_FILE = "vgg19-dcbb9e9d.pth"  # torchvision's VGG19_Weights.IMAGENET1K_V1
VGG19_URL = f"https://download.pytorch.org/models/{VGG19_FILE}"
VGG19_RELU5_4 = 36  # features[:36] ends with relu5_4
VGG19_SCALE = 1 / 12.75  # the paper's rescaling of the feature maps
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
SR_FEATURES_FILE = "sr_features.safetensors"
WEIGHTS_DIR = Path(__file__).parent / "weights"  # shipped with the package
SR_FEATURE_CLASSES = 5  # clean, bicubic x2, bicubic x4, blur, noise


class SRFeatureNet(nn.Module):
    """(conv3x3-BN-ReLU) x2 per stage at 16, 32, 64 channels, 2x2 max-pool between stages; `features`
    end at the last ReLU (the analogue of relu5_4), `forward` adds global pooling and a linear classifier."""

    widths = (16, 32, 64)

    def __init__(self, num_classes: int = SR_FEATURE_CLASSES) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_prev = 3
        for i, c in enumerate(self.widths):
            if i:
                layers.append(nn.MaxPool2d(2))
            layers += [nn.Conv2d(c_prev, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(),
                       nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU()]
            c_prev = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c_prev, num_classes)

    def forward(self, x: Tensor) -> Tensor:  # x: (B, 3, H, W) in [-1, 1]
        h = self.features(x)  # (B, 64, H / 4, W / 4)
        return self.head(h.mean((2, 3)))  # (B, classes)


class ContentNetwork(nn.Module):
    """Frozen features of images in [-1, 1] (1 or 3 channels), already multiplied by `scale`."""

    def __init__(self, name: str, features: nn.Module, scale: float, imagenet_norm: bool) -> None:
        super().__init__()
        self.name, self.features, self.scale, self.imagenet_norm = name, features, scale, imagenet_norm
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False).eval()

    def train(self, mode: bool = True) -> ContentNetwork:
        return super().train(False)  # always in eval mode

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] == 1:  # gray images: the networks take RGB
            x = x.expand(-1, 3, -1, -1)
        if self.imagenet_norm:
            x = ((x + 1) / 2 - self.mean) / self.std
        return self.features(x) * self.scale


def vgg19_cached(weights: str | os.PathLike | None = None) -> Path | None:
    """The VGG19 weights file that would be used: `weights` if given, else torchvision's cache copy."""
    if weights:
        return Path(weights)
    path = Path(torch.hub.get_dir()) / "checkpoints" / VGG19_FILE
    return path if path.is_file() else None


def load_vgg19(weights: str | os.PathLike | None = None) -> ContentNetwork:
    """VGG19 up to relu5_4 with ImageNet weights: from `weights`, the cache, or (online) a download."""
    from torchvision.models import vgg19

    path = vgg19_cached(weights)
    how = (f"download {VGG19_URL} elsewhere and pass its path with --set vgg19_weights=FILE (or copy it to "
           f"{Path(torch.hub.get_dir()) / 'checkpoints'}), or use --set content_network=gankit-sr-features")
    if path is None:
        if offline():
            raise GankitError(f"VGG19 weights are not in torchvision's cache and GANKIT_OFFLINE=1 forbids downloading: {how}")
        try:
            state = torch.hub.load_state_dict_from_url(VGG19_URL, progress=False, weights_only=True)
        except Exception as exc:  # any network failure: one line, how to supply the file
            raise GankitError(f"could not download the VGG19 weights ({type(exc).__name__}): {how}") from None
    else:
        if not path.is_file():
            raise GankitError(f"VGG19 weights file {path} does not exist: {how}")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise GankitError(f"{path} is not a VGG19 weights file ({type(exc).__name__}): {how}") from None
    with torch.device("meta"):  # no random init of 140M parameters
        net = vgg19()
    try:
        net.load_state_dict(state, assign=True)
    except RuntimeError:
        raise GankitError(f"{path or VGG19_URL} does not hold torchvision's VGG19 weights: {how}") from None
    return ContentNetwork("vgg19", net.features[:VGG19_RELU5_4], VGG19_SCALE, imagenet_norm=True)


def load_sr_features(weights: str | os.PathLike | None = None) -> ContentNetwork:
    """The shipped `gankit-sr-features` network (or another file of the same network)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(weights or WEIGHTS_DIR / SR_FEATURES_FILE)
    if not path.is_file():
        raise GankitError(f"gankit-sr-features weights not found at {path}: run `python scripts/train_sr_features.py`")
    with safe_open(str(path), "pt") as fh:
        # Calibrated by the training script so that the content loss of bicubic upscales is about their
        # pixel MSE, as the paper's 1/12.75 does for VGG19.
        scale = float((fh.metadata() or {}).get("content_scale", "1.0"))
    with torch.device("meta"):
        net = SRFeatureNet()
    net.load_state_dict(load_file(str(path)), assign=True)
    return ContentNetwork("gankit-sr-features", net.features, scale, imagenet_norm=False)


def resolve_content_network(name: str, vgg19_weights: str | None) -> str:
    """`auto` -> vgg19 when its weights are at hand (never downloads), else gankit-sr-features."""
    if name == "auto":
        return "vgg19" if vgg19_cached(vgg19_weights) is not None else "gankit-sr-features"
    return name


def load_content_network(name: str, vgg19_weights: str | None = None) -> ContentNetwork:
    if name == "vgg19":
        return load_vgg19(vgg19_weights)
    if name == "gankit-sr-features":
        return load_sr_features()
    raise GankitError(f"unknown content network {name!r}: choose auto, vgg19 or gankit-sr-features")


def bicubic(x: Tensor, factor: float) -> Tensor:
    """Bicubic resize by `factor` (antialiased when shrinking, like MATLAB's imresize)."""
    return F.interpolate(x, scale_factor=factor, mode="bicubic", align_corners=False, antialias=factor < 1)
