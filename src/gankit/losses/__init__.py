"""Pure objective functions of logits and tensors: no parameters, no `.backward()` inside."""

from gankit.losses.adversarial import d_bce, g_minimax, g_nonsaturating

__all__ = ["d_bce", "g_minimax", "g_nonsaturating"]
