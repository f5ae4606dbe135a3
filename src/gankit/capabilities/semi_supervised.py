"""Semi-supervised classifiers (SGAN, CC-GAN): D's test accuracy from a few labels, against the same D
architecture trained on those labels alone."""

from __future__ import annotations

from typing import Any

import torch

from gankit.capabilities import register_capability
from gankit.data.batches import HeldOut
from gankit.errors import GankitError
from gankit.metrics.probes import accuracy, predict, train_supervised


@register_capability("semi_supervised_acc")
def semi_supervised_acc(model: Any, data: HeldOut, baselines: bool = False) -> dict[str, float]:
    """Test accuracy of `model.classify`; with `baselines`, `model.fresh_classifier(images)` (D's
    architecture, freshly initialised) trained on the labelled images alone (random shifts of up to
    2 pixels, `train_supervised`, `model.config.baseline_steps` steps of batch 100)."""
    if data.labeled_indices is None:
        raise GankitError(f"{model.name}'s capability needs the run's labelled indices (a semi-supervised run)")
    dev = model.device
    result = {"acc/test": accuracy(predict(model.classify, data.test.images, dev), data.test.labels),
              "labels_used": float(len(data.labeled_indices))}
    if baselines:
        images = data.train.images[data.labeled_indices]  # (N_labeled, C, H, W) uint8
        labels = data.train.labels[data.labeled_indices]
        torch.manual_seed(data.seed)  # the baseline's init
        net = train_supervised(model.fresh_classifier(images), images, labels, steps=model.config.baseline_steps,
                               batch_size=100, seed=data.seed)
        result["baseline/acc/test"] = accuracy(predict(net, data.test.images, dev), data.test.labels)
    return result


@register_capability("inferred_label_acc")
def inferred_label_acc(model: Any, data: HeldOut, baselines: bool = False) -> dict[str, float]:
    """The labels a model infers for its own unlabelled training images (S3GAN's classifier head, which
    labels them for the conditional loss): accuracy of `model.classify` on the training images outside
    `data.labeled_indices` (`acc/inferred_unlabeled`; none when every label was used), and on the
    held-out split (`acc/test`). `label_share`: the share of training images that were labelled."""
    dev = model.device
    n = len(data.train)
    result = {"acc/test": accuracy(predict(model.classify, data.test.images, dev), data.test.labels)}
    if data.labeled_indices is None:
        return result | {"labels_used": float(n), "label_share": 1.0}
    unlabeled = torch.ones(n, dtype=torch.bool)
    unlabeled[data.labeled_indices] = False
    logits = predict(model.classify, data.train.images[unlabeled], dev)  # (N_unlabeled, K)
    return result | {"acc/inferred_unlabeled": accuracy(logits, data.train.labels[unlabeled]),
                     "labels_used": float(len(data.labeled_indices)), "label_share": len(data.labeled_indices) / n}
