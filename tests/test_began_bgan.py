"""BEGAN and BGAN: hand-checked pieces of their objectives, the discrete BGAN mode's contract, exact
resume, and learning tests (real training on the embedded MNIST, fid[lenet-mnist] with n = 5000).

Measured when the thresholds were set (seed 0, 2-core CPU; "1 thread" runs shared the cores with
other jobs; the slow tests took 138 s together, 53 + 38 + 47 s):
- began, preset mlp, 2000 steps: fid untrained 5872 -> trained 1820 (1 thread: 1817); mean began/M
  over the first 10% of logged steps 0.636 -> last 10% 0.197. Preset conv, lr 2e-4, 1000 steps
  (~290 s, too slow here): 4727 -> 2791; with the paper's BatchNorm-free AE (`ae_norm=none`) G
  collapsed to one image instead: 5249 after 900 steps, 5520 after 1200.
- bgan continuous, preset mlp, 2000 steps: 5878 -> 2281 (1 thread: 2077).
- bgan discrete, preset mlp, batch 32, 1500 steps: fid against the binarized test images
  4199 -> 3013 (1 thread: 3093; batch 64: 2887); against the plain test images 4224 -> 2969. The
  binarized test set is the reference because it is the distribution the model is trained on (its
  samples are binary, so grey-level references would penalise it for what it cannot represent).
"""

import json
import math

import pytest
import torch

import gankit
import gankit.models.began as began
import gankit.models.bgan as bgan
from gankit.api import resume, train
from gankit.data import ImageDataset, load_data
from gankit.engine import TrainConfig, Trainer
from gankit.errors import GankitError
from gankit.evaluation import evaluate_model
from gankit.models.base import Batch
from gankit.nn.autoencoder import ConvAutoEncoder, MLPAutoEncoder

INFO = {"data": {"source": "mnist"}}
N = 5000


def random_batch(model, n=8, seed=0):
    spec = model.data_spec()
    g = torch.Generator().manual_seed(seed)
    return Batch(torch.rand(n, spec.channels, spec.image_size, spec.image_size, generator=g) * 2 - 1)


# ---- BEGAN ---------------------------------------------------------------------------------------
def test_ae_loss_is_mean_absolute_error_per_image():
    x = torch.zeros(2, 1, 2, 2)
    rec = torch.tensor([[[[1.0, -1.0], [0.0, 0.0]]], [[[0.5, 0.5], [0.5, 0.5]]]])
    assert torch.allclose(began.ae_loss(x, rec), torch.tensor([0.5, 0.5]))


def test_k_update_and_clipping_on_hand_made_numbers():
    k = torch.tensor(0.1)
    # 0.1 + 0.01 * (0.5 * 0.4 - 0.1) = 0.101
    assert torch.isclose(began.update_k(k, torch.tensor(0.4), torch.tensor(0.1), 0.5, 0.01), torch.tensor(0.101))
    # G's loss above the equilibrium lowers k, but never below 0 ...
    assert began.update_k(torch.tensor(0.0), torch.tensor(0.2), torch.tensor(0.9), 0.5, 0.001) == 0.0
    assert torch.isclose(began.update_k(torch.tensor(0.05), torch.tensor(0.2), torch.tensor(0.6), 0.5, 0.1), torch.tensor(0.0))
    # ... and never above 1.
    assert began.update_k(torch.tensor(0.99), torch.tensor(1.0), torch.tensor(0.0), 1.0, 0.5) == 1.0
    # M = L(x) + |gamma L(x) - L(G(z))| = 0.4 + |0.2 - 0.3| = 0.5
    assert torch.isclose(began.convergence_measure(torch.tensor(0.4), torch.tensor(0.3), 0.5), torch.tensor(0.5))


def test_began_step_moves_k_by_the_logged_losses_and_checkpoints_it():
    torch.manual_seed(0)
    model = gankit.create_model("began", preset="tiny", lambda_k=0.05).train()
    model.k.fill_(0.3)
    logs = model.train_step(random_batch(model))
    expected = began.update_k(torch.tensor(0.3), logs["began/L_real"], logs["began/L_fake"], 0.5, 0.05)
    assert torch.isclose(model.k, expected) and model.k != 0.3
    assert torch.equal(logs["began/k"], model.k)
    assert torch.isclose(logs["began/M"], began.convergence_measure(logs["began/L_real"], logs["began/L_fake"], 0.5))
    assert "k" in model.state_dict(), "k_t is a buffer, so a resumed run continues its controller"


@pytest.mark.parametrize("norm", ["none", "batch"])
def test_auto_encoders_reconstruct_the_input_shape(norm):
    x = torch.randn(4, 1, 28, 28)
    mlp = MLPAutoEncoder((1, 28, 28), (64, 32), 16, norm=norm)
    assert mlp.encode(x).shape == (4, 16) and mlp(x).shape == x.shape
    for c, s in [(1, 32), (3, 64), (1, 8)]:
        x = torch.randn(4, c, s, s)
        ae = ConvAutoEncoder(c, s, 8, 16, norm=norm)
        assert ae.encode(x).shape == (4, 16) and ae(x).shape == x.shape
    with pytest.raises(GankitError, match="norm"):
        ConvAutoEncoder(1, 32, 8, 16, norm="layer")
    with pytest.raises(GankitError, match="power of two"):
        ConvAutoEncoder(1, 28, 8, 16)


def test_began_config_rejects_bad_values():
    with pytest.raises(GankitError, match="gamma"):
        gankit.create_model("began", preset="tiny", gamma=0.0)
    with pytest.raises(GankitError, match="power of two"):
        gankit.create_model("began", arch="conv", image_size=28)


# ---- BGAN, discrete estimator ----------------------------------------------------------------------
def test_binarize_thresholds_at_zero():
    x = torch.tensor([-1.0, -0.01, 0.0, 0.01, 1.0])
    assert torch.equal(bgan.binarize(x), torch.tensor([-1.0, -1.0, -1.0, 1.0, 1.0]))


def test_normalized_weights_are_d_over_one_minus_d_normalized_per_z():
    # D = 1/2 and 3/4 give w = 1 and 3, normalised 1/4 and 3/4.
    logits = torch.tensor([[0.0, 5.0], [math.log(3.0), 5.0]])  # (M=2, B=2)
    w = bgan.normalized_weights(logits)
    assert torch.allclose(w[:, 0], torch.tensor([0.25, 0.75]))
    assert torch.allclose(w[:, 1], torch.tensor([0.5, 0.5]))
    big = bgan.normalized_weights(torch.tensor([[1000.0], [-1000.0], [999.0]]))  # exp overflows without softmax
    assert torch.isfinite(big).all()
    w = bgan.normalized_weights(torch.randn(20, 7) * 10)
    assert torch.allclose(w.sum(0), torch.ones(7))


def test_bernoulli_log_likelihood_on_hand_made_numbers():
    logits = torch.zeros(2, 1, 2, 2)  # p = 1/2 everywhere
    bits = torch.zeros(3, 2, 1, 2, 2)
    assert torch.allclose(bgan.bernoulli_log_likelihood(logits, bits), torch.full((3, 2), 4 * math.log(0.5)))
    logits = torch.full((1, 1, 1, 1), math.log(3.0))  # p = 3/4
    bits = torch.tensor([1.0, 0.0]).view(2, 1, 1, 1, 1)
    assert torch.allclose(bgan.bernoulli_log_likelihood(logits, bits).squeeze(1), torch.log(torch.tensor([0.75, 0.25])))


def test_discrete_g_loss_gradient_is_finite_and_favours_what_d_accepts():
    logits = torch.zeros(1, 1, 1, 1, requires_grad=True)  # one z, one pixel, p = 1/2
    bits = torch.tensor([1.0, 0.0]).view(2, 1, 1, 1, 1)  # M = 2 samples: on, off
    d_logits = torch.tensor([[8.0], [-8.0]])  # D accepts the "on" sample only
    loss = bgan.g_discrete_boundary_seeking(logits, bits, d_logits)
    (grad,) = torch.autograd.grad(loss, logits)
    assert torch.isfinite(grad).all() and grad.item() < 0, "descending the loss raises p(on)"
    d_logits = torch.tensor([[-3.0], [-3.0]], requires_grad=True)  # equal weights: no net push
    loss = bgan.g_discrete_boundary_seeking(logits, bits, d_logits)
    (grad, d_grad) = torch.autograd.grad(loss, [logits, d_logits], allow_unused=True)
    assert abs(grad.item()) < 1e-6 and d_grad is None, "the weights are held constant"


def test_discrete_mode_contract_gradients_samples_and_round_trip(tmp_path):
    torch.manual_seed(0)
    model = gankit.create_model("bgan", preset="tiny", mode="discrete", n_samples=4).train()
    logs = model.train_step(random_batch(model))
    assert {"loss/d", "loss/g", "bgan/ess"} <= set(logs)
    assert all(torch.isfinite(v) and v.dim() == 0 and not v.requires_grad for v in logs.values())
    assert 1.0 <= logs["bgan/ess"] <= 4.0
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    a = model.sample(6, generator=torch.Generator().manual_seed(3))
    b = model.sample(6, generator=torch.Generator().manual_seed(3))
    c = model.sample(6, generator=torch.Generator().manual_seed(4))
    assert a.shape == (6, 1, 8, 8) and set(a.unique().tolist()) <= {-1.0, 1.0}
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert model.training
    # Save and load: the rebuilt G must also output logits (no tanh), so samples match exactly.
    images = torch.randint(0, 256, (16, 1, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    config = TrainConfig(batch_size=8, steps=3, ema=0.9, sample_every=2, log_every=1, checkpoint_every=2, grid_size=4)
    Trainer(model, ImageDataset(images, None, "random"), config, tmp_path / "run").fit()
    loaded = gankit.load(tmp_path / "run")
    model.eval()
    a = model.sample(6, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, loaded.sample(6, generator=torch.Generator().manual_seed(7)))


def test_discrete_mode_trains_from_the_command_line(tmp_path):
    from gankit.cli import main

    args = ["train", "bgan", "--preset", "tiny", "--set", "mode=discrete", "--set", "n_samples=3", "--max-images", "64",
            "--steps", "4", "--batch-size", "16", "--log-every", "2", "--out", str(tmp_path), "--name", "r"]
    assert main(args) == 0
    assert json.loads((tmp_path / "r" / "config.json").read_text())["model_config"]["mode"] == "discrete"


@pytest.mark.parametrize(("name", "model_config"), [("began", {}), ("bgan", {"mode": "discrete", "n_samples": 3})])
def test_resume_continues_exactly(tmp_path, name, model_config):
    """k_t (a buffer) and the Bernoulli draws (the checkpointed RNG) continue where they stopped."""
    common = dict(preset="tiny", model_config=model_config, batch_size=16, seed=3, log_every=1, sample_every=1000,
                  checkpoint_every=1000, max_images=64)
    whole = train(name, "mnist", out=tmp_path, name="whole", steps=8, **common)
    part = train(name, "mnist", out=tmp_path, name="part", steps=3, **common)
    resume(part, steps=8)

    def logs(run):
        return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if "loss/d" in line]

    strip = [{k: v for k, v in r.items() if not k.startswith("perf/")} for r in logs(whole)]
    assert strip == [{k: v for k, v in r.items() if not k.startswith("perf/")} for r in logs(part)]
    a, b = gankit.load(whole), gankit.load(part)
    for (k, v), (_, v2) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(v, v2), k


# ---- learning tests --------------------------------------------------------------------------------
def fid(model, reference=None):
    return evaluate_model(model, INFO, ("fid",), n=N, reference=reference)["metrics"]["fid[lenet-mnist]"]


def run_and_fid(tmp_path, name, preset, steps, reference=None, **kwargs):
    torch.manual_seed(0)
    model_config = kwargs.pop("model_config", {})
    untrained = fid(gankit.create_model(name, preset=preset, **model_config), reference)
    run = train(name, "mnist", out=tmp_path, name="r", preset=preset, model_config=model_config, steps=steps, seed=0,
                sample_every=10**6, checkpoint_every=10**6, **kwargs)
    trained = fid(gankit.load(run), reference)
    print(f"{name} {preset} {model_config}: fid[lenet-mnist] untrained {untrained:.1f} -> {trained:.1f} after {steps} steps")
    return untrained, trained, run


@pytest.mark.slow
def test_began_lowers_fid_and_its_convergence_measure(tmp_path):
    untrained, trained, run = run_and_fid(tmp_path, "began", "mlp", 2000, log_every=10)
    assert trained < 3000 and trained < 0.5 * untrained, (untrained, trained)
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    m = [r["began/M"] for r in rows if "began/M" in r]
    tenth = len(m) // 10
    first, last = sum(m[:tenth]) / tenth, sum(m[-tenth:]) / tenth
    print(f"began/M: first 10% {first:.3f} -> last 10% {last:.3f}")
    assert last < 0.6 * first, (first, last)


@pytest.mark.slow
def test_bgan_continuous_lowers_fid(tmp_path):
    untrained, trained, _ = run_and_fid(tmp_path, "bgan", "mlp", 2000, log_every=100)
    assert trained < 3000 and trained < 0.5 * untrained, (untrained, trained)


@pytest.mark.slow
def test_bgan_discrete_lowers_fid_on_binarized_mnist(tmp_path):
    test = load_data("mnist", 28, 1, split="test").images
    reference = ((test >= 128).to(torch.uint8) * 255, ("mnist", "test", "28px", "1ch", "binarized"))  # = binarize()
    untrained, trained, _ = run_and_fid(tmp_path, "bgan", "mlp", 1500, reference, model_config={"mode": "discrete"},
                                        batch_size=32, log_every=100)
    assert trained < 3600 and trained < 0.85 * untrained, (untrained, trained)
