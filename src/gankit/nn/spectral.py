"""Spectral normalisation (Miyato et al., arXiv 1802.05957) on every conv and linear layer of a net.

torch's parametrization keeps the weight's first singular vectors `u`, `v` as buffers, so one power
iteration per training forward continues across checkpoints exactly; in eval mode the stored
vectors are used and nothing changes.
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def spectral_normalize(module: nn.Module, eps: float = 1e-6) -> nn.Module:
    """`module` with each Conv2d, ConvTranspose2d and Linear weight divided by its largest singular
    value (one power iteration per training forward); returns the module itself."""
    for m in list(module.modules()):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            spectral_norm(m, eps=eps)
    return module


def is_spectrally_normalized(module: nn.Module) -> bool:
    layers = [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    return bool(layers) and all(hasattr(m, "parametrizations") and "weight" in m.parametrizations for m in layers)
