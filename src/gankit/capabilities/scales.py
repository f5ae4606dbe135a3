"""Multi-scale generators (StackGAN++): quality at every scale and consistency across scales."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from gankit.capabilities import register_capability
from gankit.data.batches import HeldOut
from gankit.data.core import to_signed_unit
from gankit.losses import color_mean_covariance
from gankit.metrics.extractors import get_extractor
from gankit.metrics.functional import fid
from gankit.metrics.probes import accuracy, predict
from gankit.nn.stack import downsample


def consistency(fine: torch.Tensor, coarse: torch.Tensor) -> dict[str, float]:
    """How well `fine` (N, C, H, W) agrees with `coarse` (N, C, h, w) image by image: the pixel MSE of
    down(fine) against coarse, and the squared distances ||mu_f - mu_c||^2 and ||Sigma_f - Sigma_c||_F^2
    of their colour means and covariances (the regulariser's two terms, unweighted), averaged over N."""
    mu_f, cov_f = color_mean_covariance(fine)
    mu_c, cov_c = color_mean_covariance(coarse)
    return {"mse": (downsample(fine, coarse.shape[-1]) - coarse).square().mean().item(),
            "mean": (mu_f - mu_c).square().sum(1).mean().item(),
            "cov": (cov_f - cov_c).square().sum((1, 2)).mean().item()}


def scale_reader(model: Any, data: HeldOut, judge_steps: int) -> tuple[Callable, Callable | None, str, float | None]:
    """`(features fn, logits fn or None, reader name, its accuracy on the real held-out images or None)`.
    Labelled digits: lenet-mnist where it reads the held-out split at >= 95% (MNIST), else a digit
    classifier trained on the run's real training images (MNIST-M), whose 128-d hidden layer gives the
    features, as lenet's does; unlabelled data: lenet-mnist's features alone."""
    from gankit.capabilities.pairs import DigitJudge, digit_judge

    if data.test.labels is None or data.train.labels is None:
        lenet = get_extractor("lenet-mnist").to(model.device)
        return lenet.features, None, "lenet-mnist", None
    with torch.enable_grad():
        judge, real_pred, kind = digit_judge(model, data.train, data.test, data.seed, steps=judge_steps)
    real_acc = accuracy(real_pred, data.test.labels)
    if kind == "lenet-mnist":
        lenet = get_extractor("lenet-mnist").to(model.device)
        return lenet.features, lenet.logits, kind, real_acc
    assert isinstance(judge, DigitJudge)
    return judge.net[:6], judge, "judge", real_acc  # net[:6] ends at the 128-d linear layer, before its ReLU


@register_capability("scale_consistency")
@torch.no_grad()
def scale_consistency(model: Any, data: HeldOut, baselines: bool = False, per_class: int = 500, n: int = 5000,
                      judge_steps: int = 3000) -> dict[str, float]:
    """Each scale S of `model.sample_scales`: FID against the held-out split area-downsampled to S (both
    upsampled back to the finest size for the reader), the down(fine)-vs-coarse error and colour distances
    of adjacent scales of the same draw, and, for class-conditional models, the share of `per_class`
    samples per class read as the class asked for at each scale. Baselines: the training split against
    the held-out one at each scale (the FID floor), and the same consistency figures between different
    draws (a fine image against another draw's coarse one), which says how much of the agreement is
    the shared z rather than the shared data."""
    sizes, top = model.config.sizes, model.config.sizes[-1]
    features, logits, reader, real_acc = scale_reader(model, data, judge_steps)
    k = model.config.num_classes
    labels = torch.arange(k, device=model.device).repeat_interleave(per_class) if k else None  # (K*per_class,)
    count = len(labels) if k else n
    gen = torch.Generator(model.device).manual_seed(data.seed)
    parts = [model.sample_scales(len(p), p, gen) if k else model.sample_scales(len(p), None, gen)
             for p in (labels if k else torch.arange(count)).split(500)]
    scales = [torch.cat([part[i] for part in parts]).cpu() for i in range(len(sizes))]  # (N, C, S_i, S_i) each

    up = lambda x: x if x.shape[-1] == top else F.interpolate(x, size=(top, top), mode="bilinear",  # noqa: E731
                                                              align_corners=False)
    feats = lambda x: predict(lambda b: features(up(b)), x, model.device)  # noqa: E731
    test = to_signed_unit(data.test.images[:count])  # (N', C, S, S)
    result: dict[str, float] = {}
    for size, fake in zip(sizes, scales):
        result[f"fid/{size}px[{reader}]"] = fid(feats(downsample(test, size)), feats(fake))
        if baselines:
            train = to_signed_unit(data.train.images[:count])
            result[f"baseline/fid/{size}px_train_vs_test[{reader}]"] = fid(feats(downsample(test, size)),
                                                                           feats(downsample(train, size)))
    for (a, coarse), (b, fine) in zip(zip(sizes, scales), zip(sizes[1:], scales[1:])):
        for key, value in consistency(fine, coarse).items():
            result[f"consistency/{key}_{b}_{a}"] = value
        if baselines:
            for key, value in consistency(fine, coarse.roll(1, 0)).items():
                result[f"baseline/consistency/{key}_{b}_{a}_other_draw"] = value
    if k and logits is not None:
        for size, fake in zip(sizes, scales):
            result[f"label_acc/{size}px[{reader}]"] = accuracy(predict(lambda b: logits(up(b)), fake, model.device),
                                                               labels)
        result[f"{reader}_acc/real_test"] = real_acc
    return result
