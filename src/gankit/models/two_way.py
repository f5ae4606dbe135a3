"""The two-way translators (CycleGAN, DiscoGAN, DualGAN): G_ab: A -> B and G_ba: B -> A, each judged
by its domain's discriminator and trained to undo the other (cycle reconstruction in both
directions). A variant supplies its networks, adversarial losses and optimizers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gankit.config import Config
from gankit.errors import GankitError
from gankit.models.base import Batch, DataSpec, GANModel
from gankit.nn.translation import ExamplePairs


class TwoWayTranslator(GANModel):
    """G_ab: A -> B, G_ba: B -> A, D_a, D_b; cycle reconstruction in both directions.

    Subclasses set `build_networks`, the adversarial losses and the optimizers.
    """

    data_needs = "unpaired"
    ema_targets = ("g_ab", "g_ba")

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.g_ab, self.g_ba, self.d_a, self.d_b = self.build_networks(config)
        self.examples = ExamplePairs(config.grid_examples, config.channels_a, config.channels_b, config.image_size)
        self.register_buffer("d_steps", torch.zeros((), dtype=torch.long))

    # ---- what variants define ---------------------------------------------------------------
    def build_networks(self, config: Config) -> tuple[nn.Module, nn.Module, nn.Module, nn.Module]:
        raise NotImplementedError

    def d_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def g_adv_loss(self, fake_out: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def recon_loss(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.l1_loss(x, target)

    def fakes_for_d(self, fake_a: torch.Tensor, fake_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return fake_a, fake_b

    def after_d_step(self) -> None:
        """E.g. weight clipping for WGAN critics."""

    # ---- shared ---------------------------------------------------------------------------
    def data_spec(self) -> DataSpec:
        c = self.config
        return DataSpec(channels=c.channels_a, image_size=c.image_size, pairing="unpaired", channels_b=c.channels_b)

    def size_multiple(self) -> int:
        return getattr(self.g_ab, "size_multiple", 1)

    def identity_terms(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor | None:
        return None

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        a, b = batch.images, batch.b  # (B, Ca, S, S), (B', Cb, S, S): unaligned
        c = self.config
        self.examples.keep(a, b)
        g_turn = int(self.d_steps) % getattr(c, "n_critic", 1) == 0
        logs: dict[str, torch.Tensor] = {}
        with self.autocast(), torch.set_grad_enabled(g_turn):
            fake_b, fake_a = self.g_ab(a), self.g_ba(b)
        if g_turn:
            with self.autocast(), self.frozen(self.d_a, self.d_b):
                adv = self.g_adv_loss(self.d_b(fake_b)) + self.g_adv_loss(self.d_a(fake_a))
                cycle_a = self.recon_loss(self.g_ba(fake_b), a)
                cycle_b = self.recon_loss(self.g_ab(fake_a), b)
                loss_g = adv + c.cycle_weight_a * cycle_a + c.cycle_weight_b * cycle_b
                identity = self.identity_terms(a, b)
                if identity is not None:
                    loss_g = loss_g + identity
                    logs["loss/identity"] = identity.detach()
            self.optimize(loss_g, "generators")
            logs.update({"loss/g": loss_g.detach(), "loss/g_adv": adv.detach(), "loss/cycle_a": cycle_a.detach(),
                         "loss/cycle_b": cycle_b.detach()})
        pool_a, pool_b = self.fakes_for_d(fake_a.detach(), fake_b.detach())
        with self.autocast():
            loss_d_a = self.d_loss(self.d_a(a), self.d_a(pool_a))
            loss_d_b = self.d_loss(self.d_b(b), self.d_b(pool_b))
        self.optimize(loss_d_a + loss_d_b, "discriminators")
        self.after_d_step()
        self.d_steps += 1
        logs.update({"loss/d": (loss_d_a + loss_d_b).detach(), "loss/d_a": loss_d_a.detach(), "loss/d_b": loss_d_b.detach()})
        return logs

    @torch.no_grad()
    def translate(self, x: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        if direction not in ("AtoB", "BtoA"):
            raise GankitError(f"direction must be AtoB or BtoA, got {direction!r}")
        g = self.net("g_ab" if direction == "AtoB" else "g_ba")
        with self.eval_mode(g):
            return g(x).float().clamp(-1, 1)

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Domain-B translations of the fixed example A inputs from the first training batch (cycled)."""
        return self.translate(self.examples.cycled(n), "AtoB")  # (n, Cb, S, S)

    def preview(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, int | None]:
        """Rows: a | G_ab(a) | G_ba(G_ab(a)) | b | G_ba(b) | G_ab(G_ba(b)), all shown in RGB."""
        a, b = self.examples.a, self.examples.b
        ab = self.translate(a, "AtoB")
        ba = self.translate(b, "BtoA")
        cols = [a, ab, self.translate(ab, "BtoA"), b, ba, self.translate(ba, "AtoB")]
        return torch.stack([t.expand(-1, 3, -1, -1) for t in cols], 1).flatten(0, 1), len(cols)
