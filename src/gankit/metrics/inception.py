"""`inception-v3`: the FID Inception network (TF `inception-2015-12-05`, as ported by pytorch-fid).

torchvision's Inception3 with 1008 classes and these block changes, which the ported
weights need: average pools in Mixed_5b-d, Mixed_6b-e and Mixed_7b exclude the zero
padding (TensorFlow's behaviour), and Mixed_7c pools with max instead of average.
Features are the 2048-d global average pool; logits the 1008-way fc (with bias).
Input: RGB 299 x 299 in [-1, 1], resized bilinearly without antialiasing like pytorch-fid.
"""

from __future__ import annotations

import http.client
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.models import inception_v3
from torchvision.models.inception import InceptionA, InceptionC, InceptionE

from gankit.errors import GankitError
from gankit.metrics.extractors import Extractor, file_hash, register_extractor

FID_WEIGHTS = "pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_URL = f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{FID_WEIGHTS}"


def _tf_avg_pool(x: Tensor) -> Tensor:
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class _FIDInceptionA(InceptionA):
    def _forward(self, x: Tensor) -> list[Tensor]:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return [self.branch1x1(x), b5, b3, self.branch_pool(_tf_avg_pool(x))]


class _FIDInceptionC(InceptionC):
    def _forward(self, x: Tensor) -> list[Tensor]:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for conv in (
            self.branch7x7dbl_1,
            self.branch7x7dbl_2,
            self.branch7x7dbl_3,
            self.branch7x7dbl_4,
            self.branch7x7dbl_5,
        ):
            d = conv(d)
        return [self.branch1x1(x), b7, d, self.branch_pool(_tf_avg_pool(x))]


class _FIDInceptionE(InceptionE):
    def __init__(self, in_channels: int, max_pool: bool) -> None:
        super().__init__(in_channels)
        self.max_pool = max_pool

    def _forward(self, x: Tensor) -> list[Tensor]:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        # The ported graph max-pools in its last block (most likely a bug in the original, kept for comparability).
        pool = F.max_pool2d(x, kernel_size=3, stride=1, padding=1) if self.max_pool else _tf_avg_pool(x)
        return [self.branch1x1(x), b3, d, self.branch_pool(pool)]


def _resolve_weights(weights: str | os.PathLike | None) -> Path:
    """Explicit file, else the torch hub cache, else download (unless GANKIT_OFFLINE=1)."""
    if weights is not None:
        if not os.path.isfile(weights):
            raise GankitError(
                f"Inception weights file {weights} does not exist: pass the path of {FID_WEIGHTS}"
            )
        return Path(weights)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / FID_WEIGHTS
    if cached.is_file():
        return cached
    hint = f"Inception weights not available offline: put {FID_WEIGHTS} at {cached} or pass --inception-weights FILE"
    if os.environ.get("GANKIT_OFFLINE") == "1":
        raise GankitError(hint)
    try:
        torch.hub.load_state_dict_from_url(
            FID_WEIGHTS_URL,
            model_dir=str(cached.parent),
            map_location="cpu",
            check_hash=True,
            weights_only=True,
        )
    # URLError, timeouts and refused sockets are OSErrors; a corrupt download fails the hash check (RuntimeError).
    except (OSError, http.client.HTTPException, RuntimeError) as err:
        raise GankitError(f"{hint} (download failed: {err})") from None
    return cached


@register_extractor("inception-v3")
class InceptionV3FID(Extractor):
    """FID Inception; `weights=FILE` names the `pt_inception-2015-12-05-6726825d.pth` file."""

    num_classes = 1008
    feature_dim = 2048

    def __init__(self, weights: str | os.PathLike | None = None) -> None:
        super().__init__()
        path = _resolve_weights(weights)
        with torch.device("meta"):  # no random init: faster, and leaves the global RNG alone
            net = inception_v3(weights=None, aux_logits=False, init_weights=False, num_classes=1008)
            net.Mixed_5b = _FIDInceptionA(192, pool_features=32)
            net.Mixed_5c = _FIDInceptionA(256, pool_features=64)
            net.Mixed_5d = _FIDInceptionA(288, pool_features=64)
            net.Mixed_6b = _FIDInceptionC(768, channels_7x7=128)
            net.Mixed_6c = _FIDInceptionC(768, channels_7x7=160)
            net.Mixed_6d = _FIDInceptionC(768, channels_7x7=160)
            net.Mixed_6e = _FIDInceptionC(768, channels_7x7=192)
            net.Mixed_7b = _FIDInceptionE(1280, max_pool=False)
            net.Mixed_7c = _FIDInceptionE(2048, max_pool=True)
        try:
            net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), assign=True)
        except (RuntimeError, KeyError, OSError) as err:
            raise GankitError(
                f"{path} is not the FID Inception state dict {FID_WEIGHTS}: {str(err).splitlines()[0]}"
            ) from None
        self.net = net
        self.weights_hash = file_hash(path)
        self.requires_grad_(False).eval()

    def prepare(self, images: Tensor) -> Tensor:
        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise GankitError(
                f"inception-v3 needs NCHW images with 1 or 3 channels, got shape {tuple(images.shape)}"
            )
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        return F.interpolate(images, size=(299, 299), mode="bilinear", align_corners=False)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:  # x: (B, 3, 299, 299) in [-1, 1]
        n = self.net
        for layer in (
            n.Conv2d_1a_3x3,
            n.Conv2d_2a_3x3,
            n.Conv2d_2b_3x3,
            n.maxpool1,
            n.Conv2d_3b_1x1,
            n.Conv2d_4a_3x3,
            n.maxpool2,
        ):
            x = layer(x)  # -> (B, 192, 35, 35)
        for block in (
            n.Mixed_5b,
            n.Mixed_5c,
            n.Mixed_5d,
            n.Mixed_6a,
            n.Mixed_6b,
            n.Mixed_6c,
            n.Mixed_6d,
            n.Mixed_6e,
        ):
            x = block(x)  # -> (B, 768, 17, 17)
        x = n.Mixed_7c(n.Mixed_7b(n.Mixed_7a(x)))  # (B, 2048, 8, 8)
        features = x.mean((2, 3))  # (B, 2048)
        return features, n.fc(features)  # (B, 2048), (B, 1008)
