"""Image-to-image translation (Pix2Pix; CycleGAN, DiscoGAN, DualGAN; PixelDA) on held-out images."""

from __future__ import annotations

from typing import Any

import torch

from gankit.capabilities import register_capability
from gankit.data.batches import HeldOut
from gankit.errors import GankitError
from gankit.metrics import functional as M
from gankit.metrics.extractors import get_extractor
from gankit.metrics.probes import accuracy, digit_classes, predict, train_supervised
from gankit.metrics.restoration import psnr, ssim


def _unit(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 127.5 - 1


@register_capability("paired_translation")
def paired_translation(model: Any, data: HeldOut, baselines: bool = False) -> dict[str, float]:
    """Held-out PSNR and SSIM of outputs vs targets; for digit tasks (edges2digits) also the label
    accuracy of outputs and their fid[lenet-mnist] against the real target digits."""
    test = data.test
    n = min(len(test.a), 5000)
    a, b = test.a.images[:n], test.b.images[:n]
    out = predict(model.translate, a, model.device)  # (n, Cb, S, S) in [-1, 1]
    target = _unit(b)
    result = {"psnr/test": psnr(out, target), "ssim/test": ssim(out, target)}
    if test.a.labels is not None and b.shape[1] == 1:
        result["label_acc/test"] = (digit_classes(out) == test.a.labels[:n]).float().mean().item()
        # Realism of the outputs among real digits: what the adversarial term adds over L1's blur.
        lenet = get_extractor("lenet-mnist").to(model.device)
        result["fid_lenet/test"] = M.fid(lenet.features(b), lenet.features(out))
    return result


@register_capability("two_way_translation")
def two_way_translation(model: Any, data: HeldOut, baselines: bool = False) -> dict[str, float]:
    """On held-out domains with digit labels (MNIST <-> MNIST-M): does the digit survive translation
    into MNIST (lenet-mnist on G_ba(b))? Also cycle L1 errors, and realism of G_ba(b) as
    fid[lenet-mnist] against real held-out MNIST digits."""
    test, dev = data.test, model.device
    a, b = test.a.images[:5000], test.b.images[:5000]
    ba = predict(lambda x: model.translate(x, "BtoA"), b, dev)  # (N, Ca, S, S)
    ab = predict(lambda x: model.translate(x, "AtoB"), a, dev)  # (N, Cb, S, S)
    rec_a = predict(lambda x: model.translate(x, "BtoA"), ab, dev)
    rec_b = predict(lambda x: model.translate(x, "AtoB"), ba, dev)
    result = {"cycle_l1/a": (rec_a - _unit(a)).abs().mean().item(), "cycle_l1/b": (rec_b - _unit(b)).abs().mean().item()}
    if test.b.labels is not None and a.shape[1] == 1:
        result["label_keep/BtoA"] = (digit_classes(ba) == test.b.labels[:5000]).float().mean().item()
        result["label_keep/cycle_a"] = (digit_classes(rec_a) == test.a.labels[:5000]).float().mean().item()
        lenet = get_extractor("lenet-mnist").to(dev)
        result["fid_lenet/BtoA"] = M.fid(lenet.features(a), lenet.features(ba))
        if baselines:  # no translation at all: the MNIST judge on the target-domain images as they are
            result["baseline/label_keep/identity"] = (digit_classes(b) == test.b.labels[:5000]).float().mean().item()
            result["baseline/fid_lenet/identity"] = M.fid(lenet.features(a), lenet.features(b))
    return result


@register_capability("domain_adaptation")
def domain_adaptation(model: Any, data: HeldOut, baselines: bool = False) -> dict[str, float]:
    """The task classifier's accuracy on held-out target (MNIST-M) and source (MNIST) images; the
    baseline is the same architecture (`model.fresh_classifier()`) trained on the source images
    alone, scored on the target images."""
    test, dev = data.test, model.device
    if test.a.labels is None or test.b.labels is None:
        raise GankitError(f"{model.name}'s capability needs labelled held-out images in both domains (--data mnist-m)")
    result = {"acc/test_target": accuracy(predict(model.classify, test.b.images, dev), test.b.labels),
              "acc/test_source": accuracy(predict(model.classify, test.a.images, dev), test.a.labels)}
    if baselines:
        torch.manual_seed(data.seed)
        net = model.fresh_classifier()
        train = data.train.a
        train_supervised(net, train.images, train.labels, steps=model.config.baseline_steps, batch_size=32,
                         lr=model.config.lr, seed=data.seed)
        result["baseline/acc/source_only"] = accuracy(predict(net, test.b.images, dev), test.b.labels)
        result["baseline/acc/source_only_on_source"] = accuracy(predict(net, test.a.images, dev), test.a.labels)
    return result
