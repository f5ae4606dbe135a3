"""InfoGAN: Interpretable Representation Learning by Information Maximizing Generative Adversarial Nets
(Chen et al., arXiv 1606.03657).

The one idea: split G's input into noise z and structured codes c, and maximise a variational lower bound
on the mutual information I(c; G(z, c)) with an auxiliary posterior Q(c | x) that shares D's trunk; the
codes then pick up disentangled factors without labels. L_I (categorical cross-entropy plus `lambda_cont`
times the continuous codes' Gaussian NLL) is added to both D's and G's losses, as in the reference code.

Defaults: the paper's MNIST setup (z 62 dims, one 10-way categorical code, two U(-1, 1) codes), `arch="paper"`
28x28 nets, Q head FC 128-BN-LeakyReLU 0.1, Adam beta1 0.5, lr 2e-4 for D and Q, 1e-3 for G, lambda_cont 1.

Deviations from the paper:
- The `cpu` preset narrows the paper's nets (convs 32/64 not 64/128, FC 256 not 1024); `dcgan`/`mlp` remain.
- The continuous codes' Gaussian has a fixed unit std (`fix_std=True`, the reference code's MNIST setting).
- `lambda_cont` = 1 as in the reference code (the paper suggests a smaller weight).

Lab notes (what was tried and measured): docs/variants/infogan.md
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from gankit.config import Config, check_channels
from gankit.errors import GankitError
from gankit.losses import d_bce, g_nonsaturating
from gankit.models.base import Batch, DataSpec, GANModel
from gankit.nn import DCGANDiscriminator, MLPDiscriminator, build_generator, check_dcgan_size, dcgan_init
from gankit.optim import adam
from gankit.registry import register_model


class PaperGenerator(nn.Module):
    """The paper's MNIST G (appendix C.1): FC 1024, FC 7x7x128, two 4x4 stride-2 upconvs; BN + ReLU
    after every hidden layer. `width` is the first upconv's output channels (64 in the paper)."""

    def __init__(self, code_dim: int, channels: int, image_size: int, width: int, fc: int) -> None:
        super().__init__()
        self.base = image_size // 4  # 7 for 28x28
        self.width = width
        self.fc = nn.Sequential(
            nn.Linear(code_dim, fc), nn.BatchNorm1d(fc), nn.ReLU(True),
            nn.Linear(fc, 2 * width * self.base**2), nn.BatchNorm1d(2 * width * self.base**2), nn.ReLU(True),
        )
        self.conv = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.BatchNorm2d(width), nn.ReLU(True),  # (B, w, S/2, S/2)
            nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh(),  # (B, C, S, S)
        )

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        h = self.fc(code).view(len(code), 2 * self.width, self.base, self.base)  # (B, 2w, S/4, S/4)
        return self.conv(h)


class PaperDiscriminator(nn.Module):
    """The paper's MNIST D trunk (shared with Q): 4x4 stride-2 convs of `width` and 2 `width` channels
    (BN on the second), FC `fc` with BN, LeakyReLU 0.1 throughout; the head is one FC logit."""

    def __init__(self, channels: int, image_size: int, width: int, fc: int) -> None:
        super().__init__()
        base = image_size // 4
        self.trunk = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.1, True),  # (B, w, S/2, S/2)
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.1, True),  # (B, 2w, S/4, S/4)
            nn.Flatten(),
            nn.Linear(2 * width * base**2, fc), nn.BatchNorm1d(fc), nn.LeakyReLU(0.1, True),  # (B, fc)
        )
        self.head = nn.Linear(fc, 1)
        self.feature_dim = fc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x)).squeeze(1)  # (B,) logits


@dataclass
class InfoGANConfig(Config):
    latent_dim: int = 62  # noise z only; G's input is z + one-hot categorical + continuous codes
    num_categories: int = 10  # the one categorical code's values
    continuous_dim: int = 2  # continuous codes, each U(-1, 1)
    image_size: int = 28
    channels: int = 1
    arch: Literal["paper", "mlp", "dcgan"] = "paper"
    g_hidden: tuple[int, ...] = (128, 256, 512, 1024)  # mlp
    d_hidden: tuple[int, ...] = (512, 256)  # mlp
    g_width: int = 64  # paper, dcgan: channels of G's last hidden layer
    d_width: int = 64  # paper, dcgan: channels of D's first layer
    fc_hidden: int = 1024  # paper: G's first and D's last hidden FC layer
    q_hidden: int = 128  # Q head's hidden FC layer
    lambda_cat: float = 1.0  # weight of the categorical code's cross-entropy in L_I
    lambda_cont: float = 1.0  # weight of the continuous codes' Gaussian NLL in L_I
    lr_g: float = 1e-3
    lr_d: float = 2e-4  # D and Q
    betas: tuple[float, float] = (0.5, 0.999)

    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "tiny": {"latent_dim": 8, "image_size": 8, "g_width": 4, "d_width": 4, "q_hidden": 8, "fc_hidden": 16,
                 "g_hidden": (16, 32), "d_hidden": (32, 16)},
        # The paper nets at half their conv widths and a quarter of the FC width: 4x faster a step (below).
        "cpu": {"g_width": 32, "d_width": 32, "fc_hidden": 256},
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        check_channels(self.channels)
        if self.arch == "dcgan":
            check_dcgan_size(self.image_size)
        elif self.arch == "paper" and (self.image_size % 4 or self.image_size < 8):
            raise GankitError(f"image_size {self.image_size} is not supported by the paper nets: use a multiple of 4 >= 8 (28 for MNIST)")
        if self.num_categories < 2:
            raise GankitError(f"num_categories must be at least 2, got {self.num_categories}")
        if self.continuous_dim < 0 or self.latent_dim < 1:
            raise GankitError("latent_dim must be at least 1 and continuous_dim at least 0")


@register_model("infogan")
class InfoGAN(GANModel):
    config_class = InfoGANConfig
    paper = "InfoGAN: Interpretable Representation Learning by Information Maximizing Generative Adversarial Nets"
    arxiv = "1606.03657"
    capabilities: ClassVar[tuple[str, ...]] = ('code_clusters',)
    data_needs = "images"

    def __init__(self, config: InfoGANConfig) -> None:
        super().__init__(config)
        c = config
        code_dim = c.latent_dim + c.num_categories + c.continuous_dim
        if c.arch == "paper":
            self.generator = PaperGenerator(code_dim, c.channels, c.image_size, c.g_width, c.fc_hidden)
            self.discriminator = PaperDiscriminator(c.channels, c.image_size, c.d_width, c.fc_hidden)
        else:
            self.generator = build_generator(c.arch, code_dim, c.channels, c.image_size, c.g_hidden, c.g_width)
        if c.arch == "mlp":
            self.discriminator = MLPDiscriminator((c.channels, c.image_size, c.image_size), c.d_hidden)
        elif c.arch == "dcgan":
            self.discriminator = DCGANDiscriminator(c.channels, c.image_size, c.d_width)
        # Q reads D's trunk features: (B, feature_dim) -> categorical logits + continuous means.
        self.q_head = nn.Sequential(
            nn.Linear(self.discriminator.feature_dim, c.q_hidden),
            nn.BatchNorm1d(c.q_hidden),
            nn.LeakyReLU(0.1),
            nn.Linear(c.q_hidden, c.num_categories + c.continuous_dim),
        )
        for net in (self.generator, self.discriminator, self.q_head):
            dcgan_init(net)
        self.optimizers = {
            # Q and D's trunk learn L_I together, as in the reference code (Q's layers live in D's scope there).
            "discriminator": adam([*self.discriminator.parameters(), *self.q_head.parameters()], c.lr_d, c.betas),
            "generator": adam(self.generator.parameters(), c.lr_g, c.betas),
        }

    def data_spec(self) -> DataSpec:
        return DataSpec(channels=self.config.channels, image_size=self.config.image_size)

    # ---- codes -------------------------------------------------------------------------------
    def sample_codes(
        self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Noise `(n, latent_dim)`, categorical code `(n,)` (= `labels` when given), continuous `(n, continuous_dim)`."""
        c = self.config
        z = self.latent(n, c.latent_dim, generator)
        if labels is None:
            cat = torch.randint(0, c.num_categories, (n,), generator=generator, device=self.device)
        else:
            cat = self._check_labels(labels, n)
        cont = torch.rand(n, c.continuous_dim, generator=generator, device=self.device) * 2 - 1
        return z, cat, cont

    def _check_labels(self, labels: torch.Tensor, n: int) -> torch.Tensor:
        k = self.config.num_categories
        if labels.dim() != 1 or len(labels) != n or labels.dtype.is_floating_point:
            raise GankitError(f"labels must be {n} integer categorical code values, got shape {tuple(labels.shape)}")
        if len(labels) and (labels.min() < 0 or labels.max() >= k):
            raise GankitError(f"categorical code values are 0..{k - 1}, got {labels.min().item()}..{labels.max().item()}")
        return labels.to(self.device, torch.long)

    def generator_input(self, z: torch.Tensor, cat: torch.Tensor, cont: torch.Tensor) -> torch.Tensor:
        onehot = F.one_hot(cat, self.config.num_categories).to(z.dtype)
        return torch.cat([z, onehot, cont], 1)  # (B, latent_dim + K + continuous_dim)

    def d_and_q(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One pass through D's trunk: D's logits `(B,)`, Q's categorical logits `(B, K)` and continuous means `(B, C)`."""
        h = self.discriminator.trunk(x)  # dcgan: (B, c, 4, 4); paper: (B, fc_hidden); mlp: (B, width)
        d_out = self.discriminator.head(h).flatten(1).squeeze(1)  # (B,)
        q = self.q_head(h.flatten(1))  # (B, K + continuous_dim)
        return d_out, q[:, : self.config.num_categories], q[:, self.config.num_categories :]

    def info_loss(
        self, cat_logits: torch.Tensor, cont_mean: torch.Tensor, cat: torch.Tensor, cont: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """lambda-weighted L_I (the negative MI lower bound up to H(c)) and its two parts."""
        ce = F.cross_entropy(cat_logits.float(), cat)
        # Factored Gaussian with unit std: -log N(c; mu, 1) = 0.5 (c - mu)^2 + 0.5 log(2 pi).
        nll = (0.5 * (cont - cont_mean.float()).pow(2)).sum(1).mean() + 0.5 * math.log(2 * math.pi) * cont.shape[1]
        return self.config.lambda_cat * ce + self.config.lambda_cont * nll, ce, nll

    # ---- training ----------------------------------------------------------------------------
    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        real = batch.images  # (B, C, H, W)
        z, cat, cont = self.sample_codes(real.shape[0])
        with self.autocast():
            fake = self.generator(self.generator_input(z, cat, cont))  # (B, C, H, W)
            # Separate real and fake passes keep BatchNorm statistics per batch, as in DCGAN.
            real_out = self.discriminator(real)
            fake_out, cat_logits, cont_mean = self.d_and_q(fake.detach())
            loss_gan_d = d_bce(real_out, fake_out)
            loss_info_d, _, _ = self.info_loss(cat_logits, cont_mean, cat, cont)
        self.optimize(loss_gan_d + loss_info_d, "discriminator")
        logs = {
            "loss/d": loss_gan_d.detach(),
            "d/real": torch.sigmoid(real_out.detach().float()).mean(),
            "d/fake": torch.sigmoid(fake_out.detach().float()).mean(),
        }
        with self.frozen(self.discriminator, self.q_head), self.autocast():
            fake_out, cat_logits, cont_mean = self.d_and_q(fake)
            loss_g = g_nonsaturating(fake_out)
            loss_info, ce, nll = self.info_loss(cat_logits, cont_mean, cat, cont)
        self.optimize(loss_g + loss_info, "generator")
        logs.update({
            "loss/g": loss_g.detach(),
            "loss/q": loss_info.detach(),
            "loss/q_cat": ce.detach(),
            "loss/q_cont": nll.detach(),
            "acc/q_cat": (cat_logits.detach().argmax(1) == cat).float().mean(),  # Q recovers G's code
        })
        return logs

    # ---- sampling ----------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """`n` images from random codes; `labels` `(n,)`, when given, sets the categorical code."""
        z, cat, cont = self.sample_codes(n, labels, generator)
        g = self.net("generator")
        with self.eval_mode(g):
            images = g(self.generator_input(z, cat, cont))
        return images.float().clamp(-1, 1)  # (n, C, H, W)

    def grid_labels(self, n: int) -> torch.Tensor:
        # One categorical code value per column of the training-time grid (see grid_nrow).
        return torch.arange(n, device=self.device) % self.config.num_categories

    def grid_nrow(self, n: int) -> int:
        return self.config.num_categories

    @torch.no_grad()
    def traversals(self, generator: torch.Generator | None = None, steps: int = 10) -> dict[str, tuple[torch.Tensor, int]]:
        """Per continuous code `c1, c2, ...`: rows are the categorical values, columns sweep that code
        from -2 to 2 (beyond the training range, as in the paper's figure 2); one z for the whole
        grid and the other continuous codes at 0, so a grid varies only the two codes it shows."""
        c = self.config
        if c.continuous_dim == 0:
            raise GankitError("this InfoGAN has no continuous codes to traverse (continuous_dim = 0)")
        k = c.num_categories
        z = self.latent(1, c.latent_dim, generator).expand(k * steps, -1)  # (k*steps, latent_dim)
        cat = torch.arange(k, device=self.device).repeat_interleave(steps)  # row r: value r
        sweep = torch.linspace(-2, 2, steps, device=self.device).repeat(k)  # columns
        g = self.net("generator")
        grids = {}
        with self.eval_mode(g):
            for i in range(c.continuous_dim):
                cont = torch.zeros(k * steps, c.continuous_dim, device=self.device)
                cont[:, i] = sweep
                grids[f"c{i + 1}"] = (g(self.generator_input(z, cat, cont)).float().clamp(-1, 1), steps)
        return grids

    # ---- what Q infers ----------------------------------------------------------------------------
    @torch.no_grad()
    def q_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Q's categorical logits `(B, K)` for images in [-1, 1]: the code Q infers (not a class)."""
        with self.eval_mode(self.discriminator, self.q_head):
            return self.d_and_q(x)[1]
