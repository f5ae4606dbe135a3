"""O-GAN: the correlation term exactly, D = avg(E(x)) by construction, the term's weight (0 removes
it, 0.5 adds exactly -0.5 rho to E's loss), encode / reconstruct, the linear probe, the capability's
keys, and a reduced-budget learning test (rho(z, E(G(z))) on fresh z rises from ~0).

Learning test, measured (1 thread, another training on the second core): `cpu` preset, 250 steps of
64, seed 0, 40 s of training (42 s for the test): rho on 2,000 fresh z -0.005 untrained -> 0.702
trained (200 steps gave 0.72 on the capability's 10,000 z); thresholds |rho| < 0.1 before, > 0.5 after.
"""

import copy
import time

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit.api import train
from gankit.cli import main
from gankit.data import ImageDataset, load_mnist
from gankit.errors import GankitError
from gankit.evaluation import measure_capability
from gankit.losses.quadratic import d_quadratic_potential, pearson_correlation
from gankit.metrics.probes import linear_probe_accuracy
from gankit.models.base import Batch
from gankit.models.verbs import Encoder


def test_pearson_correlation_is_exact_on_hand_made_rows():
    a = torch.tensor([[1.0, 2.0, 3.0, 4.0], [1.0, -1.0, 0.0, 0.0]])
    assert torch.allclose(pearson_correlation(a, a), torch.ones(2))
    assert torch.allclose(pearson_correlation(a, -a), -torch.ones(2))
    assert torch.allclose(pearson_correlation(a, 3 * a + 7), torch.ones(2)), "blind to shift and scale"
    b = torch.tensor([[4.0, 3.0, 2.0, 1.0], [0.0, 0.0, 1.0, -1.0]])
    assert torch.allclose(pearson_correlation(a, b), torch.tensor([-1.0, 0.0]))
    x, y = torch.randn(2, 3, 50, generator=torch.Generator().manual_seed(0))
    ref = torch.stack([torch.corrcoef(torch.stack([x[i], y[i]]))[0, 1] for i in range(3)])
    assert torch.allclose(pearson_correlation(x, y), ref, atol=1e-6)


def test_d_is_the_mean_of_the_encoder_and_nothing_else():
    model = gankit.create_model("ogan", preset="tiny").eval()
    assert {name for name, _ in model.named_children()} == {"generator", "encoder", "ema"}, "no separate D"
    x = torch.rand(6, 1, 8, 8) * 2 - 1
    with torch.no_grad():
        codes = model.encoder(x)  # (6, 8)
        assert codes.shape == (6, 8)
        assert torch.allclose(model.discriminate(x), codes @ torch.full((8,), 1 / 8), atol=1e-6)
    e1, e2 = torch.randn(2, 6, 8)
    assert torch.allclose(model.critic(2 * e1 + e2), 2 * model.critic(e1) + model.critic(e2), atol=1e-5)
    # The orthogonal split: shifting a code per sample moves D, not rho.
    z, shift = torch.randn(6, 8), torch.randn(6, 1)
    assert torch.allclose(model.critic(e1 + shift), model.critic(e1) + shift[:, 0], atol=1e-5)
    assert torch.allclose(pearson_correlation(z, e1 + shift), pearson_correlation(z, e1), atol=1e-5)


@pytest.mark.parametrize("lam", [0.0, 0.5])
def test_the_term_adds_exactly_minus_lambda_rho_to_e_and_weight_zero_removes_it(lam):
    torch.manual_seed(0)
    model = gankit.create_model("ogan", preset="tiny", orthogonality=lam).train()
    twin = copy.deepcopy(model)
    real = torch.rand(8, 1, 8, 8) * 2 - 1
    torch.manual_seed(1)
    logs = model.train_step(Batch(real, None))
    torch.manual_seed(1)  # the same z
    z = twin.latent(8, 8)
    fake = twin.generator(z).detach()
    code_fake = twin.encoder(fake)
    loss_qp = d_quadratic_potential(twin.critic(twin.encoder(real)), twin.critic(code_fake), real, fake)
    rho = pearson_correlation(z, code_fake).mean()
    params = list(twin.encoder.parameters())
    grads_qp = torch.autograd.grad(loss_qp, params, retain_graph=True)
    grads_ortho = torch.autograd.grad(loss_qp - 0.5 * rho, params)
    expected, other = (grads_qp, grads_ortho) if lam == 0 else (grads_ortho, grads_qp)
    got = [p.grad for p in model.encoder.parameters()]
    assert all(torch.allclose(g, e, atol=1e-6) for g, e in zip(got, expected))
    assert not all(torch.allclose(g, o, atol=1e-6) for g, o in zip(got, other)), "the term changes E's gradient"
    assert torch.isclose(logs["loss/d"], loss_qp.detach(), atol=1e-6)


def test_encode_and_reconstruct():
    model = gankit.create_model("ogan", preset="tiny").eval()
    assert isinstance(model, Encoder)
    x = torch.rand(5, 1, 8, 8) * 2 - 1
    codes = model.encode(x)
    assert codes.shape == (5, 8) and model.reconstruct(x).shape == x.shape
    unit = (codes - codes.mean(1, keepdim=True)) / codes.std(1, keepdim=True, unbiased=False)
    assert torch.allclose(model.reconstruct(x), model.generate(0.9 * unit), atol=1e-5), "G(0.9 * standardised E(x))"


def test_bad_config_values_are_one_line_errors():
    for bad in ({"orthogonality": -0.1}, {"latent_dim": 1}, {"recon_scale": 0.0}, {"image_size": 28}):
        with pytest.raises(GankitError):
            gankit.create_model("ogan", preset="tiny", **bad)


def test_linear_probe_separates_separable_codes_and_not_random_labels():
    gen = torch.Generator().manual_seed(0)
    y = torch.randint(0, 4, (400,), generator=gen)
    x = torch.randn(400, 6, generator=gen) * 0.3 + torch.nn.functional.one_hot(y, 6).double() * 3
    assert linear_probe_accuracy(x[:300], y[:300], x[300:], y[300:]) == 1.0
    noise = torch.randn(400, 6, generator=gen)
    assert linear_probe_accuracy(noise[:300], y[:300], noise[300:], y[300:]) < 0.45


def test_capability_keys_on_a_tiny_run(tmp_path):
    images, labels = load_mnist("train")
    data = ImageDataset(images[:128].clone(), labels[:128].clone(), "mnist-128")
    run = train("ogan", data, out=tmp_path, name="r", preset="tiny", steps=2, batch_size=32,
                sample_every=10**6, checkpoint_every=10**6)
    info = gankit.api.read_run_config(run)
    info["data"] = {"source": "mnist", "max_images": 2000}
    result = measure_capability(gankit.load(run), info, baselines=True)
    keys = {"rho/fresh_z", "linear_acc/test", "knn_acc/test", "label_keep"}
    assert set(result) == keys | {f"baseline/{k}/untrained" for k in keys}
    assert all(-1.0 <= v <= 1.0 for v in result.values())


def test_encode_cli_writes_e_codes(tmp_path):
    images, labels = load_mnist("train")
    data = ImageDataset(images[:64].clone(), labels[:64].clone(), "mnist-64")
    run = train("ogan", data, out=tmp_path, name="r", preset="tiny", steps=2, batch_size=32,
                sample_every=10**6, checkpoint_every=10**6)
    Image.fromarray(np.full((28, 28), 90, np.uint8)).save(tmp_path / "a.png")
    assert main(["encode", str(run), str(tmp_path / "a.png"), "--out", str(tmp_path / "codes.npz")]) == 0
    assert np.load(tmp_path / "codes.npz")["codes"].shape == (1, 8)


def fresh_rho(model, n=2000):
    z = torch.randn(n, model.config.latent_dim, generator=torch.Generator().manual_seed(123))
    return pearson_correlation(z, model.encode(model.generate(z))).mean().item()


def test_ogan_encoder_learns_to_invert_g(tmp_path):
    torch.manual_seed(0)
    before = fresh_rho(gankit.create_model("ogan", preset="cpu"))
    start = time.perf_counter()
    run = train("ogan", "mnist", out=tmp_path, name="r", preset="cpu", steps=250, batch_size=64, seed=0,
                log_every=50, sample_every=10**9, checkpoint_every=10**9, progress="off")
    after = fresh_rho(gankit.load(run))
    print(f"rho(z, E(G(z))) {before:.3f} -> {after:.3f} in {time.perf_counter() - start:.0f} s")
    assert abs(before) < 0.1 and after > 0.5
