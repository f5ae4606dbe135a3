"""High-Fidelity Image Generation With Fewer Labels (Lucic et al., arXiv 1903.02271): S3GAN.

The one idea: a class-conditional BigGAN needs labels only for a few of its real images when D labels
the rest itself. D gets two linear heads on its pooled features: a classifier, trained by
cross-entropy on the labelled reals, whose argmax is the class the projection D judges each unlabelled
real as; and a rotation head (self-supervision), trained to tell which quarter turn a real image was
given, while G is trained to make its fakes' turns as easy to tell. Both heads' losses reach D's trunk,
so the rotation task shapes the features the classifier reads (S2GAN-CO plus rotation = S3GAN).
Defaults: BigGAN's (models/biggan.py) plus compare_gan's `s3gan.py`: rotation weight 1.0 in D's loss
(reals) and 0.2 in G's (fakes), class weight 1.0, hard (argmax) predicted labels, the last
1/(4 * rotated_batch_fraction) of each real and fake batch turned 90/180/270 degrees (fraction 2, as in
its test); `label_fraction` 0.1 of each class labelled (the paper's 10%; 1.0 = all labels, BigGAN with
rotation and a classifier trained on every real).
Deviations:
- the labelled images arrive as a batch of their own (the engine's semi-supervised stream): the
  classifier's cross-entropy is over that batch, not over the ~10% labelled share of the real batch,
  and the GAN loss sees only the unlabelled stream, projected on predicted classes (a labelled image
  drawn there is judged as its predicted class too);
- the labelled share is stratified: round(fraction x count) of every class, at least one each;
- the nets and presets are biggan's (32 px ResNets, no BigGAN-deep, no attention).
Lab notes: docs/variants/s3gan.md
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm

from gankit.errors import GankitError
from gankit.losses import d_hinge, g_hinge
from gankit.models.base import Batch, DataSpec
from gankit.models.biggan import BigGAN, BigGANConfig
from gankit.nn.biggan import ConditionalResNetGenerator, HeadedProjectionDiscriminator, quarter_turns
from gankit.nn.spectral import spectral_normalize
from gankit.registry import register_model


@dataclass
class S3GANConfig(BigGANConfig):
    label_fraction: float = 0.1  # share of each class's training images whose labels D sees; 1.0: all
    rotation_weight_d: float = 1.0  # D's rotation loss on real images
    rotation_weight_g: float = 0.2  # G's rotation loss on its fakes
    class_weight: float = 1.0  # the classifier head's cross-entropy in D's loss
    rotated_batch_fraction: int = 2  # 1/this of a batch (its last images, in all 4 turns) feeds the rotation losses

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.label_fraction <= 1:
            raise GankitError(f"label_fraction must lie in (0, 1] (1 = all labels), got {self.label_fraction}")
        if self.rotated_batch_fraction < 1:
            raise GankitError(f"rotated_batch_fraction must be at least 1, got {self.rotated_batch_fraction}")
        for key in ("rotation_weight_d", "rotation_weight_g", "class_weight"):
            if getattr(self, key) < 0:
                raise GankitError(f"{key} must be non-negative, got {getattr(self, key)}")


def rotation_targets(r: int, device: torch.device) -> torch.Tensor:
    """(4r,) quarter turns of [x, quarter_turns(x)] for r images x: 0 * r, 1 * r, 2 * r, 3 * r."""
    return torch.arange(4, device=device).repeat_interleave(r)


@register_model("s3gan")
class S3GAN(BigGAN):
    config_class = S3GANConfig
    paper = "High-Fidelity Image Generation With Fewer Labels"
    arxiv = "1903.02271"
    capabilities: ClassVar[tuple[str, ...]] = ("inferred_label_acc", "judged_label_acc", "judged_fid")

    def build_networks(self, c: S3GANConfig) -> tuple[ConditionalResNetGenerator, HeadedProjectionDiscriminator]:
        generator = ConditionalResNetGenerator(c.latent_dim, c.num_classes, c.channels, c.image_size, c.g_width,
                                               c.embed_dim)
        discriminator = HeadedProjectionDiscriminator(c.channels, c.num_classes, c.image_size, c.d_width)
        spectral_normalize(generator)
        spectral_normalize(discriminator)  # the heads too, as compare_gan's (use_sn follows D's)
        spectral_norm(discriminator.embed)
        return generator, discriminator

    @property
    def semi(self) -> bool:
        return self.config.label_fraction < 1

    def data_spec(self) -> DataSpec:
        c = self.config
        return DataSpec(channels=c.channels, image_size=c.image_size, needs_labels=True, num_classes=c.num_classes,
                        label_fraction=c.label_fraction if self.semi else 0.0)

    def rotated_count(self, batch: int) -> int:
        """How many of a batch's last images are turned for the rotation losses (at least one)."""
        return max(1, batch // (4 * self.config.rotated_batch_fraction))

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        c, d = self.config, self.discriminator
        if self.semi != (batch.labeled_images is not None) or (not self.semi and batch.labels is None):
            raise GankitError(f"s3gan with label_fraction {c.label_fraction} needs "
                              + ("unlabelled batches plus Batch.labeled_images from the engine (DataSpec.label_fraction)"
                                 if self.semi else "labelled batches"))
        real = batch.images  # (B, C, S, S)
        lab, lab_y = (batch.labeled_images, batch.labeled_labels) if self.semi else (real, batch.labels)
        b, r = len(real), self.rotated_count(len(real))
        g_turn = int(self.d_steps) % c.n_dis == 0
        z, y_fake = self.latent(b, c.latent_dim), self.random_labels(b)
        with self.autocast(), torch.set_grad_enabled(g_turn):
            fake = self.generator(z, y_fake)  # (B, C, S, S); graph kept only when G steps after this D step
        targets = rotation_targets(r, self.device)  # (4r,)
        with self.autocast():
            # D has no BatchNorm: one trunk pass over every part equals a pass per part.
            parts = [real, quarter_turns(real[-r:]), fake.detach()] + ([lab] if self.semi else [])
            h = d.body.features(torch.cat(parts))  # (B + 3r + B [+ B'], width)
            h_real, h_turned, h_fake, h_lab = h.split([b, 3 * r, b, len(lab) if self.semi else 0])
            h_lab = h_lab if self.semi else h_real
            logits = d.classifier(torch.cat([h_lab, h_real]) if self.semi else h_real)  # one SN power step
            class_logits = logits[: len(h_lab)]  # (B', K)
            # Unlabelled reals are judged as the classifier's class; argmax passes no gradient.
            y_real = logits[len(h_lab):].argmax(1) if self.semi else batch.labels
            real_out, fake_out = d.score(h_real, y_real), d.score(h_fake, y_fake)  # (B,), (B,)
            rot_logits = d.rotation(torch.cat([h_real[-r:], h_turned]))  # (4r, 4)
            loss_gan = d_hinge(real_out, fake_out)
            loss_rot = F.cross_entropy(rot_logits.float(), targets)
            loss_class = F.cross_entropy(class_logits.float(), lab_y)
            loss_d = loss_gan + c.rotation_weight_d * loss_rot + c.class_weight * loss_class
        self.optimize(loss_d, "discriminator")
        self.d_steps += 1
        logs = {"loss/d": loss_d.detach(), "loss/d_gan": loss_gan.detach(), "loss/rot_d": loss_rot.detach(),
                "loss/class": loss_class.detach(), "d/real": real_out.detach().float().mean(),
                "d/fake": fake_out.detach().float().mean(),
                "acc/labeled": (class_logits.argmax(1) == lab_y).float().mean(),
                "acc/rot_real": (rot_logits.argmax(1) == targets).float().mean()}
        if g_turn:
            with self.frozen(d), self.autocast():
                h = d.body.features(torch.cat([fake, quarter_turns(fake[-r:])]))  # (B + 3r, width)
                h_fake, h_turned = h.split([b, 3 * r])
                loss_rot_g = F.cross_entropy(d.rotation(torch.cat([h_fake[-r:], h_turned])).float(), targets)
                loss_g = g_hinge(d.score(h_fake, y_fake)) + c.rotation_weight_g * loss_rot_g
                penalty = self.g_penalty(logs)
                if penalty is not None:
                    loss_g = loss_g + penalty
            self.optimize(loss_g, "generator")
            logs |= {"loss/g": loss_g.detach(), "loss/rot_g": loss_rot_g.detach()}
        return logs

    @torch.no_grad()
    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """D's classifier head: class logits (B, K) of images `x` (B, C, S, S) in [-1, 1]."""
        d = self.discriminator
        with self.eval_mode(d):
            return d.classifier(d.body.features(x)).float()  # (B, K)
