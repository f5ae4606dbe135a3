"""Boundary-Seeking Generative Adversarial Networks (Hjelm et al., arXiv 1702.08431).

The one idea: a D trained with the usual GAN loss estimates the density ratio
p(x) / q(x) = D(x) / (1 - D(x)), so G can be trained towards the data by importance weights.
- continuous (`mode: continuous`): G minimises 1/2 (log D(G(z)) - log(1 - D(G(z))))^2 =
  1/2 logit^2, moving its samples to D's decision boundary D = 1/2.
- discrete (`mode: discrete`, e.g. binarized MNIST): G outputs Bernoulli logits per pixel;
  for each z, M samples x_m ~ g(x | z) get weights w_m = D(x_m) / (1 - D(x_m)) = exp(logit_m),
  normalised over the M samples of that z; G minimises -E_z sum_m w~_m log g(x_m | z) with
  w~ held constant, a policy gradient whose reward is the normalised weight.
  Real images are binarized inside `train_step`: pixel > 0 (on the [-1, 1] scale) -> +1,
  else -1; G's samples {0, 1} are mapped to {-1, +1} for D, and `sample` returns them.
Defaults: continuous mode, with the DCGAN-style conv nets at 32x32 like the rest of the loss
family, so that BGAN is compared with the other losses on the same images and nets; discrete
mode is `--set mode=discrete`, best with `--preset mlp` (28x28 MLPs): D sees M x B samples per
step, which the MLP D handles about 10x cheaper than the conv D. D uses BCE; M = 20 samples per
z (the paper's); Adam 2e-4, betas (0.5, 0.999).
Deviations:
- Discrete mode uses Adam 2e-4 and the engine's batch size; the authors' binarized-MNIST
  script uses RMSProp 1e-4 and batches of 128.
- G is the library's nets with the final tanh replaced by identity (logits) in discrete mode;
  the authors' script uses a DCGAN-like G/D with a sigmoid output.
- Discrete mode alternates D then G, but G's weights come from D's outputs on the same samples
  before D's step (as in the authors' script, which updates both at once): no second D pass
  over the M x B samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import GankitError
from gankit.losses import d_bce, g_boundary_seeking
from gankit.models.base import Batch
from gankit.models.gan import GAN, LOSS_FAMILY_PRESETS, GANConfig
from gankit.registry import register_model


def binarize(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] -> {-1, +1}: pixel > 0 is on (i.e. uint8 value >= 128)."""
    return torch.where(images > 0, 1.0, -1.0).to(images.dtype)


def normalized_weights(fake_logits: torch.Tensor) -> torch.Tensor:
    """w~_m = w_m / sum_m' w_m' with w = D / (1 - D) = exp(logit), over dim 0 (the M samples of
    each z). A softmax of the logits: the stable form of this ratio. `(M, B)` -> `(M, B)`."""
    return torch.softmax(fake_logits.float(), dim=0)


def bernoulli_log_likelihood(logits: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
    """log g(x | z) = sum over pixels of log Bernoulli(x; sigmoid(logit)), for x in {0, 1}.
    `logits` `(B, C, H, W)` broadcast against `bits` `(M, B, C, H, W)` -> `(M, B)`."""
    logits = logits.float().expand_as(bits)
    return -F.binary_cross_entropy_with_logits(logits, bits, reduction="none").flatten(2).sum(2)


def g_discrete_boundary_seeking(logits: torch.Tensor, bits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """G's discrete BGAN loss -E_z sum_m w~_m log g(x_m | z), weights held constant.

    logits: G's Bernoulli logits `(B, C, H, W)`; bits: the M samples per z `(M, B, C, H, W)`
    in {0, 1}; fake_logits: D's logits on those samples `(M, B)`.
    """
    weights = normalized_weights(fake_logits.detach())  # (M, B), sums to 1 over M
    return -(weights * bernoulli_log_likelihood(logits, bits)).sum(0).mean()


@dataclass
class BGANConfig(GANConfig):
    image_size: int = 32
    arch: Literal["mlp", "dcgan"] = "dcgan"
    mode: Literal["continuous", "discrete"] = "continuous"
    n_samples: int = 20  # discrete: M, samples drawn per z for the importance weights

    presets: ClassVar[dict[str, dict[str, Any]]] = LOSS_FAMILY_PRESETS

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n_samples < 1:
            raise GankitError(f"n_samples must be at least 1, got {self.n_samples}")


@register_model("bgan")
class BGAN(GAN):
    config_class = BGANConfig
    paper = "Boundary-Seeking Generative Adversarial Networks"
    arxiv = "1702.08431"

    @staticmethod
    def build_networks(config: BGANConfig) -> tuple[nn.Module, nn.Module]:
        g, d = GAN.build_networks(config)
        if config.mode == "discrete":
            # Bernoulli logits are G's pre-activation: drop the final tanh of the image nets.
            if not isinstance(g.net[-1], nn.Tanh):
                raise GankitError(f"discrete mode expects G to end in tanh, found {type(g.net[-1]).__name__}")
            g.net[-1] = nn.Identity()
        return g, d

    def g_loss(self, fake_out: torch.Tensor) -> torch.Tensor:
        return g_boundary_seeking(fake_out)

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        if self.config.mode == "continuous":
            return super().train_step(batch)
        return self._discrete_step(batch)

    def _discrete_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        cfg = self.config
        real = binarize(batch.images)  # (B, C, H, W) in {-1, +1}
        b, m = real.shape[0], cfg.n_samples
        z = self.latent(b, cfg.latent_dim)
        g_turn = int(self.d_steps) % cfg.n_critic == 0
        with self.autocast(), torch.set_grad_enabled(g_turn):
            logits = self.generator(z)  # (B, C, H, W) Bernoulli logits
        probs = torch.sigmoid(logits.detach().float()).expand(m, *logits.shape)  # (M, B, C, H, W)
        # Uniform noise below p is a Bernoulli(p) draw, measured 1.6x faster than torch.bernoulli on a CPU.
        bits = (torch.rand(probs.shape, device=probs.device) < probs).float()  # (M, B, C, H, W) in {0, 1}
        fake = (bits * 2 - 1).flatten(0, 1)  # (M*B, C, H, W) in {-1, +1}
        with self.autocast():
            if self.joint_d_pass:
                out = self.discriminator(torch.cat([real, fake]))
                real_out, fake_out = out[:b], out[b:]
            else:  # BatchNorm statistics stay per batch
                real_out, fake_out = self.discriminator(real), self.discriminator(fake)
            loss_d = d_bce(real_out, fake_out)
        self.optimize(loss_d, "discriminator")
        self.d_steps += 1
        fake_out = fake_out.detach().float().view(m, b)  # (M, B)
        logs = {"loss/d": loss_d.detach(),
                **{k: v.detach() for k, v in self.d_stats(real_out.detach(), fake_out).items()}}
        if g_turn:
            with self.autocast():
                loss_g = g_discrete_boundary_seeking(logits, bits, fake_out)
            self.optimize(loss_g, "generator")
            weights = normalized_weights(fake_out)  # (M, B)
            logs["loss/g"] = loss_g.detach()
            # Effective sample size 1 / sum w~^2 in [1, M]: near 1, one sample per z carries the update.
            logs["bgan/ess"] = (1.0 / (weights**2).sum(0)).mean()
        return logs

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Discrete mode: the Bernoulli mean 2 sigmoid(logits) - 1, a deterministic image of z."""
        if self.config.mode == "continuous":
            return super().generate(z)
        g = self.net("generator")
        with self.eval_mode(g):
            return torch.sigmoid(g(z).float()) * 2 - 1  # (n, C, H, W)

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        mean = self.generate(self.latent(n, self.config.latent_dim, generator))
        if self.config.mode == "continuous":
            return mean
        # The Bernoulli draw takes its noise from `generator` too, so a fixed seed repeats it.
        u = torch.rand(mean.shape, device=mean.device, generator=generator)
        return torch.where(u < (mean + 1) / 2, 1.0, -1.0)  # (n, C, H, W) in {-1, +1}
