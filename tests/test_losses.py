"""Each objective against hand-computed values and known gradients."""

import math

import pytest
import torch
from torch import nn

from gankit import losses as L

R = torch.tensor([2.0, -1.0])  # real logits / critic values
F_ = torch.tensor([0.5, -3.0])  # fake


def sp(x):  # softplus, by hand
    return math.log1p(math.exp(x))


def close(a, b):
    return abs(float(torch.as_tensor(a).detach()) - b) < 1e-6


def test_sigmoid_family_values():
    assert close(L.d_bce(R, F_), (sp(-2) + sp(1)) / 2 + (sp(0.5) + sp(-3)) / 2)
    assert close(L.g_nonsaturating(F_), (sp(-0.5) + sp(3)) / 2)
    assert close(L.g_minimax(F_), -(sp(0.5) + sp(-3)) / 2)
    # -log(sigmoid(t)) for t = 0 is log 2 on both sides
    assert close(L.d_bce(torch.zeros(3), torch.zeros(3)), 2 * math.log(2))


def test_least_squares_values():
    assert close(L.d_least_squares(R, F_), 0.5 * ((1 + 4) / 2) + 0.5 * ((0.25 + 9) / 2))
    assert close(L.d_least_squares(R, F_, a=-1, b=1), 0.5 * ((1 + 4) / 2) + 0.5 * ((2.25 + 4) / 2))
    assert close(L.g_least_squares(F_), 0.5 * ((0.25 + 16) / 2))
    assert close(L.g_least_squares(F_, c=0), 0.5 * ((0.25 + 9) / 2))


def test_wasserstein_and_hinge_values():
    assert close(L.d_wasserstein(R, F_), -1.25 - 0.5)
    assert close(L.g_wasserstein(F_), 1.25)
    assert close(L.d_hinge(R, F_), (0 + 2) / 2 + (1.5 + 0) / 2)
    assert close(L.g_hinge(F_), 1.25)


def test_relativistic_values():
    assert close(L.d_relativistic(R, F_), (sp(-1.5) + sp(-2.0)) / 2)
    assert close(L.g_relativistic(R, F_), (sp(1.5) + sp(2.0)) / 2)
    fm, rm = -1.25, 0.5
    d = (sp(-(2 - fm)) + sp(-(-1 - fm))) / 2 + (sp(0.5 - rm) + sp(-3 - rm)) / 2
    g = (sp(-(0.5 - rm)) + sp(-(-3 - rm))) / 2 + (sp(2 - fm) + sp(-1 - fm)) / 2
    assert close(L.d_relativistic_average(R, F_), d) and close(L.g_relativistic_average(R, F_), g)


def test_boundary_seeking_value_and_gradient():
    logits = torch.tensor([1.0, -2.0], requires_grad=True)
    loss = L.g_boundary_seeking(logits)
    assert close(loss, 0.5 * (1 + 4) / 2)
    loss.backward()
    assert torch.allclose(logits.grad, torch.tensor([0.5, -1.0]))  # d/dl 1/2 l^2 / n = l / n


def test_known_gradients_of_sigmoid_losses():
    fake = torch.tensor([0.0], requires_grad=True)
    L.g_nonsaturating(fake).backward()
    assert close(fake.grad, -0.5)  # d/dt softplus(-t) = -sigmoid(-t)
    fake.grad = None
    L.g_minimax(fake).backward()
    assert close(fake.grad, -0.5)  # the same at t = 0; they differ as D grows confident
    fake = torch.tensor([-6.0], requires_grad=True)
    L.g_minimax(fake).backward()
    assert abs(float(fake.grad)) < 0.01, "minimax saturates when D rejects the fake"


class Linear(nn.Module):
    """D(x) = <w, x> + b: its input gradient is w everywhere."""

    def __init__(self, shape):
        super().__init__()
        self.w = nn.Parameter(torch.randn(*shape))

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1) + 0.3


def test_gradient_penalty_uses_the_norm_over_all_non_batch_dims():
    torch.manual_seed(0)
    d = Linear((2, 3, 3))
    x = torch.randn(4, 2, 3, 3, requires_grad=True)
    wnorm = d.w.detach().norm().item()
    assert torch.allclose(L.per_sample_grad_norm(d(x), x), torch.full((4,), wnorm))
    gp = L.gradient_penalty(d(x), x)
    assert close(gp, (wnorm - 1) ** 2)
    gp.backward()  # differentiable w.r.t. D's weights: d/dw (|w| - 1)^2 = 2 (|w| - 1) w / |w|
    assert torch.allclose(d.w.grad, 2 * (wnorm - 1) * d.w.detach() / wnorm, atol=1e-5)


def test_interpolate_uses_one_alpha_per_sample():
    real, fake = torch.zeros(5, 1, 4, 4), torch.ones(5, 1, 4, 4)
    mix = L.interpolate(real, fake, generator=torch.Generator().manual_seed(0))
    assert mix.requires_grad
    per_sample = mix.flatten(1)
    assert torch.allclose(per_sample, per_sample[:, :1].expand_as(per_sample)), "alpha is constant within a sample"
    assert per_sample[:, 0].unique().numel() == 5 and ((per_sample >= 0) & (per_sample <= 1)).all()


def test_dragan_perturbation_scale():
    x = torch.randn(200, 1, 8, 8)
    delta = L.dragan_perturb(x, generator=torch.Generator().manual_seed(0)) - x
    assert delta.min() >= 0 and delta.max() <= 0.5 * x.std() + 1e-6
    assert abs(delta.mean().item() - 0.25 * x.std().item()) < 0.01  # U[0,1] has mean 1/2


def test_r1_penalty_is_squared_gradient_norm():
    d = Linear((3,))
    x = torch.randn(6, 3, requires_grad=True)
    assert close(L.r1_penalty(d(x), x), d.w.detach().norm().item() ** 2)


def test_clip_weights():
    m = nn.Linear(4, 4)
    with torch.no_grad():
        m.weight.mul_(100)
    L.clip_weights_(m, 0.01)
    assert all(p.abs().max() <= 0.01 for p in m.parameters())


# d_semi_supervised takes K-class logits and labels and returns two losses: tested in test_sgan.py.
@pytest.mark.parametrize("name", [n for n in L.__all__ if n.startswith(("d_", "g_")) and n != "d_semi_supervised"])
def test_losses_have_no_parameters_and_return_scalars(name):
    fn = getattr(L, name)
    args = (R, F_) if fn.__code__.co_argcount >= 2 and "real" in fn.__code__.co_varnames[0] else (F_,)
    out = fn(*args)
    assert out.dim() == 0 and torch.isfinite(out)
