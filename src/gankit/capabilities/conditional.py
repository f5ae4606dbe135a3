"""Class-conditional generators and the classifiers they train (CGAN, ACGAN)."""

from __future__ import annotations

from typing import Any

import torch

from gankit.capabilities import register_capability
from gankit.data.batches import HeldOut
from gankit.errors import GankitError
from gankit.metrics.probes import accuracy, digit_classes, predict


@torch.no_grad()
def label_accuracy(model: Any, per_class: int = 1000, seed: int = 0, batch_size: int = 500) -> float:
    """Share of `per_class` samples of every class that lenet-mnist assigns to the class asked for."""
    k = model.config.num_classes
    labels = torch.arange(k, device=model.device).repeat_interleave(per_class)  # (K*per_class,)
    gen = torch.Generator(model.device).manual_seed(seed)
    images = torch.cat([model.sample(len(part), part, gen) for part in labels.split(batch_size)])
    return (digit_classes(images) == labels).float().mean().item()


@register_capability("label_acc")
def label_acc(model: Any, data: HeldOut, baselines: bool = False) -> dict[str, float]:
    """Does G draw the digit it is asked for? lenet-mnist on 1,000 samples of each class."""
    if data.test.images.shape[1] != 1 or model.config.num_classes != 10:
        raise GankitError(f"{model.name}'s capability is judged by the MNIST digit classifier: train on mnist")
    result = {"label_acc": label_accuracy(model, seed=data.seed)}
    if baselines:  # the judge on real test digits: the most a perfect generator could score
        result["baseline/label_acc_real"] = (digit_classes(data.test.images) == data.test.labels).float().mean().item()
    return result


@register_capability("judged_label_acc")
@torch.no_grad()
def judged_label_acc(model: Any, data: HeldOut, baselines: bool = False, per_class: int = 1000,
                     judge_steps: int = 3000) -> dict[str, float]:
    """Does G draw the digit it is asked for, on any digit data (MNIST-M too)? `per_class` samples of
    every class, read by lenet-mnist where it reads the real held-out images at >= 95%, else by a
    digit classifier trained on the run's real labelled training images (`judge_steps` steps).
    `judge_acc/real_test`: that reader on the real held-out images, the ceiling of the figure."""
    from gankit.capabilities.pairs import digit_judge

    with torch.enable_grad():
        judge, real_pred, kind = digit_judge(model, data.train, data.test, data.seed, steps=judge_steps)
    k = model.config.num_classes
    labels = torch.arange(k, device=model.device).repeat_interleave(per_class)  # (K*per_class,)
    gen = torch.Generator(model.device).manual_seed(data.seed)
    images = torch.cat([model.sample(len(part), part, gen) for part in labels.split(500)])
    pred = predict(judge, images, model.device).argmax(1)
    return {"label_acc/judged": accuracy(pred, labels), "judge_acc/real_test": accuracy(real_pred, data.test.labels),
            "judge_is_lenet": float(kind == "lenet-mnist")}


@register_capability("class_acc")
def class_acc(model: Any, data: HeldOut, baselines: bool = False) -> dict[str, float]:
    """Test accuracy of the model's own classifier (`model.classify`) on the held-out labels."""
    return {"acc/test": accuracy(predict(model.classify, data.test.images, model.device), data.test.labels)}


@register_capability("judged_fid")
@torch.no_grad()
def judged_fid(model: Any, data: HeldOut, baselines: bool = False, n: int = 10000,
               judge_steps: int = 3000) -> dict[str, float]:
    """FID of `n` samples (classes cycled evenly for a class-conditional G) against the held-out split,
    on any digit data: in lenet-mnist's features where it reads the real held-out images at >= 95%,
    else in the 128-d hidden layer of a digit classifier trained on the run's real training images
    (`judge_steps` steps; the same reader as `judged_label_acc`'s, and as stackgan2's `fid[judge]`).
    Baseline: the training split against the held-out one (the figure's floor at this n)."""
    from gankit.capabilities.scales import scale_reader
    from gankit.metrics.functional import fid

    features, _, reader, real_acc = scale_reader(model, data, judge_steps)
    k = getattr(model.config, "num_classes", 0)
    gen = torch.Generator(model.device).manual_seed(data.seed)
    parts = torch.arange(n, device=model.device).split(500)
    fake = torch.cat([model.sample(len(p), p % k if k else None, gen).cpu() for p in parts])  # (n, C, S, S)
    feats = lambda x: predict(features, x, model.device)  # noqa: E731 (uint8 or [-1, 1] in, (N, D) out)
    real = feats(data.test.images[:n])
    result = {f"fid[{reader}]": fid(real, feats(fake))}
    if real_acc is not None:
        result[f"{reader}_acc/real_test"] = real_acc
    if baselines:
        result[f"baseline/fid_train_vs_test[{reader}]"] = fid(real, feats(data.train.images[:n]))
    return result
