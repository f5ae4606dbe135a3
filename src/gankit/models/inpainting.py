"""The verbs every inpainting variant shares (context_encoder, ccgan): fill a masked hole with G,
keep the context, and show fills of the fixed training examples as samples and previews.

A subclass supplies `size_multiple()`, `masks(n, generator)`, `_fill(g, x, mask)` and the
`examples` kept from the first training batch; `preview_extras(x)` adds columns to the preview.
"""

from __future__ import annotations

from typing import Any

import torch

from gankit.data.masks import apply_mask, composite
from gankit.errors import GankitError
from gankit.models.base import GANModel


class InpaintingModel(GANModel):
    @torch.no_grad()
    def inpaint(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """`x` (B, C, H, W) in [-1, 1] with the hole of `mask` (B, 1, H, W), 1 = hole, filled; the
        context is returned unchanged. H and W must be multiples of `size_multiple()` (trained at
        `image_size`: `gankit inpaint` cuts a window of that size around the hole)."""
        m = self.size_multiple()
        if x.shape[-1] % m or x.shape[-2] % m:
            raise GankitError(f"inpaint takes sides that are multiples of {m}, got {tuple(x.shape[-2:])}")
        mask = mask.to(x.dtype)
        g = self.net("generator")
        with self.eval_mode(g):
            out = self._fill(g, x, mask).float().clamp(-1, 1)
        return composite(x, out, mask)

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Inpaintings of the fixed example images kept from the first training batch (cycled to n),
        with training holes drawn from `generator`: an inpainter has no unconditional sampler."""
        x = self.examples.cycled(n)  # (n, C, S, S)
        return self.inpaint(x, self.masks(n, generator))

    def baseline_fills(self) -> dict[str, Any]:
        """Fills `fn(x, mask)` from what the variant's G is given besides the context, as baselines for
        the inpainting capability (none by default)."""
        return {}

    def preview_extras(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Columns shown between the holed input and the fill (e.g. what else G sees)."""
        return []

    def preview(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, int | None]:
        x = self.examples.a
        mask = self.masks(len(x), generator)
        filled = self.inpaint(x, mask)
        holed = apply_mask(x, mask)  # the hole shown as mid-grey
        columns = [holed, *self.preview_extras(x), filled, x]
        return torch.stack(columns, 1).flatten(0, 1), len(columns)  # rows: holed | extras | filled | original
