"""Task verbs as protocols: what a trained variant can do besides `sample`.

A variant has a verb by defining its method; the CLI, the API and evaluation test `isinstance`
(or `issubclass`) against these protocols, never a variant's name, and a variant's `task` (the
column of `gankit list`) follows from its verbs.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from gankit.data.masks import Box


@runtime_checkable
class Classifier(Protocol):
    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (B, K) of images `x` (B, C, H, W) in [-1, 1]."""


@runtime_checkable
class Encoder(Protocol):
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes (B, D) of images `x` (B, C, H, W) in [-1, 1]."""


@runtime_checkable
class Translator(Protocol):
    def translate(self, x: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """Images of the other domain for `x` (B, C, H, W) in [-1, 1]; H and W multiples of
        `size_multiple()`."""


@runtime_checkable
class Inpainter(Protocol):
    def inpaint(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """`x` (B, C, S, S) with the hole of `mask` (B, 1, S, S), 1 = hole, filled."""

    def hole_box(self) -> Box:
        """The hole the variant was trained to fill, in a window of `image_size`."""


@runtime_checkable
class Upscaler(Protocol):
    def upscale(self, x: torch.Tensor, tile: int | None = None) -> torch.Tensor:
        """Super-resolution of `x` (B, C, h, w): (B, C, h * scale, w * scale)."""


@runtime_checkable
class Traverser(Protocol):
    def traversals(self, generator: torch.Generator | None = None) -> dict[str, tuple[torch.Tensor, int]]:
        """Named grids (images, images per row) that sweep one latent code each."""


@runtime_checkable
class AttentionMapper(Protocol):
    def attention_maps(self, generator: torch.Generator | None = None) -> dict[str, tuple[torch.Tensor, int]]:
        """Named grids (images, images per row) showing where attention blocks look."""


@runtime_checkable
class TruncatedSampler(Protocol):
    def sample_truncated(self, n: int, threshold: float, labels: torch.Tensor | None = None,
                         generator: torch.Generator | None = None) -> torch.Tensor:
        """Samples under the truncation trick; `threshold` is the variant's own knob (BigGAN: z from a
        normal truncated at +-threshold; StyleGAN: psi, how far w stays from the mean style)."""


@runtime_checkable
class DiscriminatorMapper(Protocol):
    def discriminator_maps(self, generator: torch.Generator | None = None) -> dict[str, tuple[torch.Tensor, int]]:
        """Named grids (images, images per row) of D's per-pixel judgement."""


@runtime_checkable
class StyleMixer(Protocol):
    def mixing_grids(self, generator: torch.Generator | None = None) -> dict[str, tuple[torch.Tensor, int]]:
        """Named style-mixing grids (images, images per row): row sources give the coarse styles,
        column sources the fine ones."""


@runtime_checkable
class LatentRenderer(Protocol):
    """A generator whose images are a function of a latent alone (fixed noise), in one or more
    spaces (z first): what latent interpolation and perceptual path length read."""

    def latent_spaces(self) -> tuple[str, ...]:
        """The spaces `render` takes, z first (StyleGAN: z and w)."""

    def to_space(self, z: torch.Tensor, space: str) -> torch.Tensor:
        """z (B, latent_dim) expressed in `space`."""

    def render(self, latents: torch.Tensor, space: str = "z") -> torch.Tensor:
        """Images (B, C, S, S) in [-1, 1] of `latents` in `space`, from the sampling (EMA) generator."""


@runtime_checkable
class AnySizeSampler(Protocol):
    def sample_at(self, n: int, size: tuple[int, int] | None = None, start_scale: int = 0,
                  generator: torch.Generator | None = None) -> torch.Tensor:
        """`n` images (n, C, H, W) at `size` (H, W) (default: the training shape), with fresh noise from
        `start_scale` of the generator's pyramid up (0 = coarsest)."""


@runtime_checkable
class Injector(Protocol):
    def inject(self, image: torch.Tensor, scale: int | None = None, n: int = 1,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """`image` (1, C, h, w) in [-1, 1] entered at pyramid `scale` (None: the variant's default) and refined
        by the scales above:
        (n, C, H, W) (paint to image, editing, harmonisation)."""


@runtime_checkable
class Relabeler(Protocol):
    def relabel(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Images `x` (B, C, S, S) in [-1, 1] re-rendered as classes `labels` (B,) int64, keeping
        what is not the class (style): (B, C, S, S) in [-1, 1]."""


VERBS: dict[str, type] = {
    "classify": Classifier, "encode": Encoder, "translate": Translator,
    "inpaint": Inpainter, "upscale": Upscaler, "traverse": Traverser, "attention": AttentionMapper,
    "truncate": TruncatedSampler, "dmap": DiscriminatorMapper, "mix": StyleMixer, "interpolate": LatentRenderer,
    "size": AnySizeSampler, "inject": Injector, "relabel": Relabeler,
}


def has_verb(model_or_class: object, verb: str) -> bool:
    protocol = VERBS[verb]
    if isinstance(model_or_class, type):
        return issubclass(model_or_class, protocol)
    return isinstance(model_or_class, protocol)


def verbs_of(model_or_class: object) -> list[str]:
    return [verb for verb in VERBS if has_verb(model_or_class, verb)]


def task_of(cls: type) -> str:
    """generate | translate | enhance | adapt, from the verbs a variant defines."""
    if has_verb(cls, "size"):  # a generator of any size first, even one that also upscales (singan)
        return "generate"
    if has_verb(cls, "upscale") or has_verb(cls, "inpaint"):
        return "enhance"
    if has_verb(cls, "translate"):
        return "adapt" if has_verb(cls, "classify") else "translate"
    return "generate"


def models_with(verb: str) -> str:
    """The registered variants that have `verb`, comma-separated, for error messages."""
    from gankit.registry import get_model_class, list_models

    names = [m for m in list_models() if has_verb(get_model_class(m), verb)]
    return ", ".join(names) or "none yet"
