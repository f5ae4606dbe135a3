"""Pure objective functions of logits and tensors: no parameters, no `.backward()` inside."""

from gankit.losses.adversarial import (
    d_bce,
    d_hinge,
    d_least_squares,
    d_relativistic,
    d_relativistic_average,
    d_wasserstein,
    g_boundary_seeking,
    g_hinge,
    g_least_squares,
    g_minimax,
    g_nonsaturating,
    g_relativistic,
    g_relativistic_average,
    g_wasserstein,
)
from gankit.losses.penalties import (
    clip_weights_,
    dragan_perturb,
    gradient_penalty,
    interpolate,
    per_sample_grad_norm,
    r1_penalty,
)

__all__ = [
    "clip_weights_",
    "d_bce",
    "d_hinge",
    "d_least_squares",
    "d_relativistic",
    "d_relativistic_average",
    "d_wasserstein",
    "dragan_perturb",
    "g_boundary_seeking",
    "g_hinge",
    "g_least_squares",
    "g_minimax",
    "g_nonsaturating",
    "g_relativistic",
    "g_relativistic_average",
    "g_wasserstein",
    "gradient_penalty",
    "interpolate",
    "per_sample_grad_norm",
    "r1_penalty",
]
