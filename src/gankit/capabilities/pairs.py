"""Coupled pairs (CoGAN): for one z, do the two domains' images show the same digit?"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gankit.capabilities import register_capability
from gankit.data.batches import HeldOut
from gankit.errors import GankitError
from gankit.metrics.extractors import get_extractor, to_signed_unit
from gankit.metrics.probes import accuracy, predict, train_supervised


class DigitJudge(nn.Module):
    """A small classifier (lenet-mnist's shape, any channel count) trained by `pair_agreement` for a
    side the shipped lenet-mnist cannot read (MNIST-M, edge maps)."""

    def __init__(self, channels: int, num_classes: int = 10, image_size: int = 28) -> None:
        super().__init__()
        side = (image_size + 3) // 4  # two stride-2 convs
        self.net = nn.Sequential(
            nn.Conv2d(channels, 32, 5, 2, 2), nn.ReLU(True),  # (B, 32, 14, 14) at 28 px
            nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(True),  # (B, 64, 7, 7)
            nn.Flatten(), nn.Linear(64 * side * side, 128), nn.ReLU(True), nn.Linear(128, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, K)


class SideTranslator(nn.Module):
    """Maps one side's images to the plain-digit side's (e.g. edge map -> filled digit) so lenet-mnist
    can read both sides of a pair: 3x3 convs at full resolution, dilated in the middle for a 13-pixel
    receptive field (a stroke's two edges and the inside between them), tanh to [-1, 1]."""

    def __init__(self, in_channels: int, out_channels: int, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = in_channels
        for dilation in (1, 1, 2, 2, 1, 1):
            layers += [nn.Conv2d(c, width, 3, 1, dilation, dilation=dilation), nn.BatchNorm2d(width), nn.ReLU(True)]
            c = width
        self.net = nn.Sequential(*layers, nn.Conv2d(c, out_channels, 3, 1, 1), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, out_channels, H, W)


def digit_judge(model: Any, train: Any, test: Any, seed: int, steps: int | None = None) -> tuple[Any, torch.Tensor, str]:
    """A digit classifier for one side: lenet-mnist when it reads that side's real held-out
    images at >= 95% (plain digits), else a `DigitJudge` trained on its labelled training images.
    Returns `(logits fn on [-1, 1] images, its classes for the real held-out images (N,), kind)`."""
    lenet = get_extractor("lenet-mnist").to(model.device)
    pred = predict(lenet.logits, test.images, model.device).argmax(1)
    if accuracy(pred, test.labels) >= 0.95:
        return lenet.logits, pred, "lenet-mnist"
    torch.manual_seed(seed)
    judge = DigitJudge(train.images.shape[1], image_size=train.images.shape[-1]).to(model.device)
    steps = model.config.judge_steps if steps is None else steps
    train_supervised(judge, train.images, train.labels, steps=steps, batch_size=64, seed=seed)
    return judge, predict(judge, test.images, model.device).argmax(1), "trained"


def lenet_via_translation(model: Any, source: Any, target: Any, source_test: Any, seed: int) -> tuple[Any, torch.Tensor]:
    """lenet-mnist reading one side through a `SideTranslator` to the plain-digit side, fitted on
    the aligned training pairs `source[i] -> target[i]`: the issue's "lenet-mnist on ... an
    inverse-translated image". Returns `(logits fn on [-1, 1] source-side images, its classes for
    the real held-out source-side images (N,))`."""
    lenet = get_extractor("lenet-mnist").to(model.device)
    torch.manual_seed(seed)
    translator = SideTranslator(source.images.shape[1], target.images.shape[1]).to(model.device)
    train_supervised(translator, source.images, to_signed_unit(target.images), steps=model.config.translator_steps,
                     seed=seed, augment=lambda batch, gen: batch, loss_fn=F.l1_loss)

    def read(x: torch.Tensor) -> torch.Tensor:
        return lenet.logits(translator(x))

    return read, predict(read, source_test.images, model.device).argmax(1)


@torch.no_grad()
def _classes(judge: Any, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    probs = torch.cat([F.softmax(judge(x).float(), 1) for x in images.split(500)])  # (N, K)
    conf, cls = probs.max(1)
    return cls.cpu(), conf.cpu()


@register_capability("pair_agreement")
def pair_agreement(model: Any, data: HeldOut, baselines: bool = False) -> dict[str, float]:
    """For the same z, do the two images show the same digit? Each side's digit is read by a judge
    (see `_judge`) whose accuracy on that side's real held-out images is reported beside it.
    Aligned data with one plain-digit side (edges2digits) is read as the issue words the proof:
    lenet-mnist on both sides, the other side translated to plain digits first
    (`lenet_via_translation`); the side judge's reading stays beside it as `pair_agree/side_judge`.
    `pair_agree`: the fraction of z whose two images get the same class; `conf_*`: the judges'
    mean top probability on generated images; `top_class_share_*`: how often the commonest digit
    is drawn (a G collapsed to one digit would agree trivially). Baseline: the same images with the
    B side shuffled across z, i.e. chance given the drawn digits' frequencies (an untrained G is no
    fair chance level: the judges read its noise as one fixed digit per side)."""
    train, test = data.train, data.test
    if any(ds.labels is None for ds in (train.a, train.b, test.a, test.b)):
        raise GankitError("cogan's capability needs digit labels on both domains (--data mnist-m or edges2digits)")
    judge_a, real_a, kind_a = digit_judge(model, train.a, test.a, data.seed)
    judge_b, real_b, kind_b = digit_judge(model, train.b, test.b, data.seed + 1)
    n = model.config.eval_pairs
    gen = torch.Generator(model.device).manual_seed(data.seed)
    a, b = model.pairs(n, gen)
    cls_a, conf_a = _classes(judge_a, a)
    cls_b, conf_b = _classes(judge_b, b)
    result: dict[str, float] = {}
    aligned = getattr(train, "aligned", False) and getattr(test, "aligned", False)
    if aligned and {kind_a, kind_b} == {"trained", "lenet-mnist"}:
        result["pair_agree/side_judge"] = (cls_a == cls_b).float().mean().item()
        result["real_pair_agree/side_judge"] = (real_a == real_b).float().mean().item()
        if kind_a == "trained":
            read, real_a = lenet_via_translation(model, train.a, train.b, test.a, data.seed + 2)
            (cls_a, conf_a), kind_a = _classes(read, a), "translated"
        else:
            read, real_b = lenet_via_translation(model, train.b, train.a, test.b, data.seed + 2)
            (cls_b, conf_b), kind_b = _classes(read, b), "translated"
    agree = cls_a == cls_b
    confident = (conf_a > 0.9) & (conf_b > 0.9)
    result |= {
        "pair_agree": agree.float().mean().item(),
        "pair_agree/confident": agree[confident].float().mean().item() if confident.any() else 0.0,
        "confident_share": confident.float().mean().item(),
        "judge_a_acc/test": accuracy(real_a, test.a.labels), "judge_b_acc/test": accuracy(real_b, test.b.labels),
        "judge_a_is_lenet": float(kind_a == "lenet-mnist"), "judge_b_is_lenet": float(kind_b == "lenet-mnist"),
        "judge_a_is_lenet_via_translation": float(kind_a == "translated"),
        "judge_b_is_lenet_via_translation": float(kind_b == "translated"),
        "conf_a": conf_a.mean().item(), "conf_b": conf_b.mean().item(),
        "top_class_share_a": cls_a.bincount(minlength=10).max().item() / n,
        "top_class_share_b": cls_b.bincount(minlength=10).max().item() / n,
    }
    if aligned:
        # Held-out pairs of one digit: how often the readings agree on real pairs, the ceiling for
        # pair_agree that readers short of 100% set.
        result["real_pair_agree"] = (real_a == real_b).float().mean().item()
    if baselines:
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(data.seed))
        result["baseline/pair_agree"] = (cls_a == cls_b[perm]).float().mean().item()
    return result
