"""Latent codes (InfoGAN, BiGAN, AAE): what a learned code captures of held-out images."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from gankit.capabilities import register_capability
from gankit.data.batches import HeldOut
from gankit.errors import GankitError
from gankit.losses.quadratic import pearson_correlation
from gankit.metrics.probes import (
    accuracy,
    best_mapping_accuracy,
    digit_classes,
    knn_accuracy,
    linear_probe_accuracy,
    mmd_rbf,
    predict,
    train_supervised,
)
from gankit.models import aae


@register_capability("code_clusters")
@torch.no_grad()
def code_clusters(model: Any, data: HeldOut, baselines: bool = False, per_value: int = 1000) -> dict[str, float]:
    """`cluster_acc`: `per_value` images per categorical value, judged by lenet-mnist, scored under
    the best one-to-one map from code value to digit (paper: 95%). `q_cluster_acc/test`: Q's
    argmax on the real test split against the true labels, under its best map. Baselines:
    k-means on the test pixels (the clustering Q's code is judged against) and chance."""
    k = model.config.num_categories
    gen = torch.Generator(model.device).manual_seed(data.seed)
    codes = torch.arange(k, device=model.device).repeat_interleave(per_value)  # (k*per_value,)
    images = torch.cat([model.sample(len(part), labels=part, generator=gen) for part in codes.split(500)])
    digits = digit_classes(images)  # (k*per_value,)
    out = {"cluster_acc": best_mapping_accuracy(codes.cpu(), digits.cpu())[0]}
    logits = predict(model.q_logits, data.test.images, model.device)  # (N, K)
    out["q_cluster_acc/test"] = best_mapping_accuracy(logits.argmax(1), data.test.labels)[0]
    if baselines:
        pixels = data.test.images.flatten(1).float() / 255  # (N, H*W*C)
        assigned = kmeans(pixels, k, seed=data.seed)
        out["baseline/kmeans_pixels_acc/test"] = best_mapping_accuracy(assigned, data.test.labels)[0]
        shuffled = codes.cpu()[torch.randperm(len(codes), generator=torch.Generator().manual_seed(data.seed))]
        out["baseline/cluster_acc_chance"] = best_mapping_accuracy(shuffled, digits.cpu())[0]
    return out


def kmeans(x: torch.Tensor, k: int, iters: int = 30, seed: int = 0) -> torch.Tensor:
    """Cluster ids `(N,)` of points `(N, D)` by Lloyd's k-means from a k-means++ start."""
    gen = torch.Generator().manual_seed(seed)
    centers = x[torch.randint(0, len(x), (1,), generator=gen)]
    for _ in range(k - 1):  # k-means++: next centre with probability proportional to squared distance
        d2 = torch.cdist(x, centers).pow(2).min(1).values
        centers = torch.cat([centers, x[torch.multinomial(d2, 1, generator=gen)]])
    for _ in range(iters):
        assigned = torch.cdist(x, centers).argmin(1)
        for j in range(k):
            members = x[assigned == j]
            if len(members):
                centers[j] = members.mean(0)
    return torch.cdist(x, centers).argmin(1)


def probe_split(data: HeldOut, gen: torch.Generator, who: str, n_train: int = 10_000) -> tuple[torch.Tensor, ...]:
    """`n_train` labelled training images drawn with `gen` and the whole labelled test split, for probes."""
    if data.train.labels is None or data.test.labels is None:
        raise GankitError(f"{who} need labelled train and test images (e.g. mnist)")
    idx = torch.randperm(len(data.train), generator=gen)[:n_train]
    return data.train.images[idx], data.train.labels[idx], data.test.images, data.test.labels


@register_capability("encoder_probes")
def encoder_probes(model: Any, data: HeldOut, baselines: bool = False) -> dict[str, float]:
    """k-NN (k = 5, cosine) and linear-probe (logistic regression) test accuracy on E's codes of
    10,000 training images, and how often G(E(x)) of a test digit is judged (lenet-mnist) the digit
    x shows (chance 0.10); baselines: the same on a freshly initialised model of the same config."""
    gen = torch.Generator().manual_seed(data.seed)
    train_x, train_y, test_x, test_y = probe_split(data, gen, "the encoder probes")

    def probes(m: Any) -> dict[str, float]:
        train_codes = predict(m.encode, train_x, m.device)  # (10000, latent_dim)
        test_codes = predict(m.encode, test_x, m.device)  # (N, latent_dim)
        recon = predict(m.reconstruct, test_x, m.device)  # (N, C, H, W) in [-1, 1]
        return {"knn_acc/test": knn_accuracy(F.normalize(train_codes, dim=1), train_y,
                                             F.normalize(test_codes, dim=1), test_y, k=5),
                "linear_acc/test": linear_probe_accuracy(train_codes, train_y, test_codes, test_y),
                "label_keep": accuracy(digit_classes(recon), test_y)}

    out = probes(model)
    if baselines:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(data.seed)
            fresh = type(model)(model.config).to(model.device).eval()
        # baseline/knn_acc/untrained etc.: the names bigan's committed proof uses.
        out |= {f"baseline/{k.removesuffix('/test')}/untrained": v for k, v in probes(fresh).items()}
    return out


def knn_probe(model: Any, train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor,
              test_y: torch.Tensor, k: int = 5) -> float:
    """k-NN accuracy of `model.encode` codes, each scaled to unit length (cosine neighbours)."""
    def codes(images: torch.Tensor) -> torch.Tensor:
        return F.normalize(predict(model.encode, images, model.device), dim=1)  # (N, latent_dim)

    return knn_accuracy(codes(train_x), train_y, codes(test_x), test_y, k=k)


@register_capability("orthogonal_codes")
def orthogonal_codes(model: Any, data: HeldOut, baselines: bool = False, n_fresh: int = 10_000) -> dict[str, float]:
    """O-GAN's claims: `rho/fresh_z`, the mean Pearson correlation of `n_fresh` fresh z with E(G(z));
    `linear_acc/test` (a logistic regression) and `knn_acc/test` (k = 5, cosine) on E's codes of
    10,000 training images, tested on the test split; `label_keep`, how often G(E(x)) of a test digit
    is judged (lenet-mnist) the digit x shows (chance 0.10). Baselines: the same on an untrained model."""
    gen = torch.Generator().manual_seed(data.seed)
    train_x, train_y, test_x, test_y = probe_split(data, gen, "the orthogonal-code probes")
    z = torch.randn(n_fresh, model.config.latent_dim, generator=gen)  # (n_fresh, latent_dim), drawn on the CPU

    def probes(m: Any) -> dict[str, float]:
        rho = torch.cat([pearson_correlation(part, m.encode(m.generate(part.to(m.device))).cpu())
                         for part in z.split(500)])  # (n_fresh,)
        train_codes = predict(m.encode, train_x, m.device)  # (10000, latent_dim)
        test_codes = predict(m.encode, test_x, m.device)  # (N, latent_dim)
        recon = predict(m.reconstruct, test_x, m.device)  # (N, C, H, W) in [-1, 1]
        return {"rho/fresh_z": rho.mean().item(),
                "linear_acc/test": linear_probe_accuracy(train_codes, train_y, test_codes, test_y),
                "knn_acc/test": knn_probe(m, train_x, train_y, test_x, test_y),
                "label_keep": accuracy(digit_classes(recon), test_y)}

    out = probes(model)
    if baselines:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(data.seed)
            fresh = type(model)(model.config).to(model.device).eval()
        out |= {f"baseline/{k}/untrained": v for k, v in probes(fresh).items()}
    return out


@register_capability("autoencoder_codes")
def autoencoder_codes(model: Any, data: HeldOut, baselines: bool = False, n_mmd: int = 2000) -> dict[str, float]:
    """Reconstruction error on the test split, MMD between the codes of `n_mmd` test images and the prior
    (beside two prior draws' MMD: the floor), and in semi-supervised runs y's MMD to one-hot draws and
    the classifier's test accuracy; baselines: an untrained AAE and an encoder trained on the labels alone."""
    test, device = data.test, model.device
    recon = predict(model.reconstruct, test.images, device)  # (N, C, H, W) in [-1, 1]
    target = test.images.float() / 127.5 - 1
    out = {"mse/test": F.mse_loss(recon, target).item()}
    gen = torch.Generator(device).manual_seed(data.seed)
    codes = predict(model.encode, test.images[:n_mmd], device)  # (n, [K +] D)
    k = model.config.num_classes if model.semi else 0
    prior = [model.prior_sample(len(codes), generator=gen).cpu() for _ in range(2)]
    out["mmd/test"] = mmd_rbf(codes[:, k:], prior[0])
    out["mmd/prior_vs_prior"] = mmd_rbf(prior[1], prior[0])
    if model.semi:
        out["mmd_y/test"] = mmd_rbf(codes[:, :k], model.one_hot_sample(len(codes), gen).cpu())
        out["acc/test"] = accuracy(predict(model.classify, test.images, device), test.labels)
    if baselines:
        fresh = type(model)(model.config).to(device).eval()
        fresh_codes = predict(fresh.encode, test.images[:n_mmd], device)
        out["baseline/mmd/untrained"] = mmd_rbf(fresh_codes[:, k:], prior[0])
        out["baseline/mse/untrained"] = F.mse_loss(predict(fresh.reconstruct, test.images, device), target).item()
        if model.semi and data.labeled_indices is not None:
            c = model.config
            net = aae.build_encoder(c, c.num_classes).to(device)
            idx = data.labeled_indices
            train_supervised(net, data.train.images[idx], data.train.labels[idx], seed=data.seed,
                             augment=model.augment_labeled)
            out["baseline/acc/test"] = accuracy(predict(net, test.images, device), test.labels)
    return out
