"""AAE (Makhzani et al., arXiv 1511.05644): its three priors, its verbs, and a learning test.

The parametrized tests in test_models.py cover the default (gaussian) prior at the tiny
preset; the contract checks here repeat them for the mixture and categorical priors.
"""

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
import gankit.capabilities.latent
import gankit.models.aae  # noqa: F401  (registers "aae")
from gankit.api import read_run_config, train
from gankit.capabilities import measure
from gankit.cli import main
from gankit.data import ImageDataset
from gankit.engine import TrainConfig, Trainer
from gankit.errors import GankitError
from gankit.evaluation import measure_capability
from gankit.models.base import Batch, HeldOut

PRIORS = ["gaussian", "mixture", "categorical"]


def tiny(prior):
    return gankit.create_model("aae", preset="tiny", prior=prior)


def batch_for(model, n=8):
    spec = model.data_spec()
    g = torch.Generator().manual_seed(0)
    images = torch.rand(n, spec.channels, spec.image_size, spec.image_size, generator=g) * 2 - 1
    if spec.labels_per_class:
        labels = torch.randint(0, spec.num_classes, (n,), generator=g)
        return Batch(images, None, labeled_images=images.flip(0), labeled_labels=labels)
    return Batch(images)


@pytest.mark.parametrize("prior", PRIORS)
def test_every_parameter_gets_a_finite_gradient_and_a_step(prior):
    torch.manual_seed(0)
    model = tiny(prior).train()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    logs = model.train_step(batch_for(model))
    expected = {"loss/rec", "loss/d", "loss/g"} | ({"loss/sup", "acc/labeled"} if prior == "categorical" else set())
    assert expected <= set(logs)
    assert all(v.dim() == 0 and not v.requires_grad and torch.isfinite(v) for v in logs.values())
    for n, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), n
        assert not torch.equal(p.detach(), before[n]) or p.grad.abs().sum() == 0, f"{n} not stepped"


@pytest.mark.parametrize("prior", PRIORS)
def test_codes_samples_and_save_load(prior, tmp_path):
    torch.manual_seed(0)
    model = tiny(prior)
    spec = model.data_spec()
    assert spec.needs_labels == (prior == "categorical")
    assert spec.labels_per_class == (10 if prior == "categorical" else 0)
    g = torch.Generator().manual_seed(1)
    data = ImageDataset(torch.randint(0, 256, (200, 1, 8, 8), dtype=torch.uint8, generator=g),
                        torch.arange(200) % 10, "random")
    Trainer(model, data, TrainConfig(batch_size=8, steps=3, sample_every=2, log_every=1, checkpoint_every=3,
                                     grid_size=20), tmp_path / "run").fit()
    loaded = gankit.load(tmp_path / "run")
    model.eval()
    a = model.sample(6, generator=torch.Generator().manual_seed(7))
    assert a.shape == (6, 1, 8, 8) and a.min() >= -1 and a.max() <= 1
    assert torch.equal(a, loaded.sample(6, generator=torch.Generator().manual_seed(7)))
    x = data.images[:5].float() / 127.5 - 1
    codes = model.encode(x)
    assert codes.shape == (5, 2 + (10 if prior == "categorical" else 0))
    if prior == "categorical":
        assert torch.allclose(codes[:, :10].sum(1), torch.ones(5)), "y is a softmax"
        assert model.classify(x).shape == (5, 10)
        seven = model.sample(3, labels=torch.tensor([7, 7, 7]), generator=torch.Generator().manual_seed(0))
        assert seven.shape == (3, 1, 8, 8)
    else:
        with pytest.raises(GankitError, match="only prior=categorical"):
            model.classify(x)


@pytest.mark.parametrize("encoder, norms", [("mlp", 2), ("conv", 3)])
def test_encoder_batchnorm_trains_and_its_running_statistics_round_trip(tmp_path, encoder, norms):
    """The semi-supervised proof's encoder BatchNorm (and conv encoder): every parameter learns, and
    a loaded run classifies exactly as the trained model (the running statistics are saved with the weights)."""
    torch.manual_seed(0)
    model = gankit.create_model("aae", preset="tiny", prior="categorical", encoder_batchnorm=True,
                                encoder=encoder).train()
    batchnorms = [m for m in model.encoder.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert len(batchnorms) == norms
    model.train_step(batch_for(model))
    for n, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), n
    g = torch.Generator().manual_seed(1)
    data = ImageDataset(torch.randint(0, 256, (200, 1, 8, 8), dtype=torch.uint8, generator=g),
                        torch.arange(200) % 10, "random")
    Trainer(model, data, TrainConfig(batch_size=8, steps=3, sample_every=10**9, log_every=1, checkpoint_every=3),
            tmp_path / "run").fit()
    loaded = gankit.load(tmp_path / "run")
    x = data.images[:6].float() / 127.5 - 1
    model.eval()
    assert loaded.config.encoder_batchnorm and loaded.config.encoder == encoder
    assert torch.equal(model.classify(x), loaded.classify(x))
    assert batchnorms[0].running_mean.abs().sum() > 0, "running stats were updated"


def test_affine_label_augmentation_trains_and_the_baseline_trains_with_it(monkeypatch):
    """`label_augment=affine` (the semi proof's): the supervised phase and the labels-only baseline
    see the same transformed images, and every parameter still gets a finite gradient."""
    torch.manual_seed(0)
    model = gankit.create_model("aae", preset="tiny", prior="categorical", label_augment="affine").train()
    model.train_step(batch_for(model))
    for n, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), n
    x = torch.rand(6, 1, 8, 8) * 2 - 1
    moved = model.augment_labeled(x, torch.Generator().manual_seed(0))
    assert moved.shape == x.shape and not torch.allclose(moved, x, atol=1e-3)
    seen = []
    monkeypatch.setattr(gankit.capabilities.latent, "train_supervised", lambda *a, **k: seen.append(k["augment"]))
    g = torch.Generator().manual_seed(1)
    data = ImageDataset(torch.randint(0, 256, (200, 1, 8, 8), dtype=torch.uint8, generator=g),
                        torch.arange(200) % 10, "random")
    measure(model, HeldOut(train=data, test=data, seed=0, labeled_indices=torch.arange(20)), baselines=True)
    assert seen == [model.augment_labeled]
    with pytest.raises(GankitError, match="not one of"):
        gankit.create_model("aae", preset="tiny", prior="categorical", label_augment="elastic")


def test_mixture_prior_has_ten_modes_on_a_circle():
    model = gankit.create_model("aae", preset="tiny", prior="mixture", latent_dim=4)
    z = model.prior_sample(2000, labels=torch.arange(2000) % 10, generator=torch.Generator().manual_seed(0))
    means = torch.stack([z[k::10].mean(0) for k in range(10)])  # (10, 4)
    assert torch.allclose(means[:, :2].norm(dim=1), torch.full((10,), 4.0), atol=0.15)
    assert means[:, 2:].abs().max() < 0.15
    assert torch.allclose(z[0::10].std(0), torch.full((4,), 0.5), atol=0.1)


def test_bad_configs_and_labels_are_clear_errors():
    with pytest.raises(GankitError, match="latent_dim must be at least 2"):
        gankit.create_model("aae", preset="tiny", prior="mixture", latent_dim=1)
    with pytest.raises(GankitError, match="not one of"):
        gankit.create_model("aae", prior="uniform")
    with pytest.raises(GankitError, match="image_size must be a multiple of 4"):
        gankit.create_model("aae", preset="tiny", encoder="conv", image_size=10)
    with pytest.raises(GankitError, match="no classes or components"):
        tiny("gaussian").sample(2, labels=torch.tensor([1, 2]))
    with pytest.raises(GankitError, match="class numbers in 0..9"):
        tiny("categorical").sample(2, labels=torch.tensor([1, 10]))


def test_cli_encode_and_classify_end_to_end(tmp_path, capsys):
    common = ["--preset", "tiny", "--max-images", "512", "--steps", "4", "--batch-size", "32", "--threads", "1",
              "--out", str(tmp_path)]
    assert main(["train", "aae", "--name", "g", *common]) == 0
    assert main(["train", "aae", "--name", "s", "--set", "prior=categorical", *common]) == 0
    folder = tmp_path / "digits"
    for i in range(4):
        (folder / str(i)).mkdir(parents=True)
        Image.fromarray(np.full((28, 28), 40 * i, dtype=np.uint8)).save(folder / str(i) / "a.png")
    assert main(["encode", str(tmp_path / "g"), str(folder), "--out", str(tmp_path / "codes.npz")]) == 0
    with np.load(tmp_path / "codes.npz") as f:
        assert f["codes"].shape == (4, 2) and list(f["labels"]) == [0, 1, 2, 3]
    assert main(["encode", str(tmp_path / "s"), str(folder), "--out", str(tmp_path / "semi.npz")]) == 0
    with np.load(tmp_path / "semi.npz") as f:
        assert f["codes"].shape == (4, 12)
    assert main(["classify", str(tmp_path / "s"), str(folder)]) == 0
    assert "accuracy" in capsys.readouterr().out
    (tmp_path / "notes.txt").write_text("not an image")
    cases = [
        (["encode", str(tmp_path / "g"), str(tmp_path / "notes.txt"), "--out", str(tmp_path / "x.npz")],
         "is not an image gankit can read"),
        (["encode", str(tmp_path / "g"), str(folder), "--out", str(tmp_path / "x.csv")], "written to an .npz"),
        (["classify", str(tmp_path / "g"), str(folder)], "only prior=categorical"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("gankit: error:") and message in err and "\n" not in err, err


LEARN = {"hidden": [256, 256], "d_hidden": [128, 128]}


@pytest.mark.slow
def test_aae_learns_codes_matched_to_the_prior_and_digits_from_100_labels(tmp_path):
    """400 steps each of the gaussian and the semi-supervised (100 labels) AAE, MLP 256-256,
    batch 100. Measured (seed 0, 1 thread, 116 s under load, so roughly 45-60 s idle):
    gaussian mse/test 0.109 (untrained 0.928), mmd/test 0.065 (untrained encoder 0.940,
    prior-vs-prior floor 0.0004); semi acc/test 0.883, mse/test 0.104.
    """
    runs = {}
    for name, prior, steps in (("gaussian", "gaussian", 400), ("semi", "categorical", 400)):
        runs[name] = train("aae", "mnist", out=tmp_path, name=name, preset="cpu", steps=steps, batch_size=100,
                           model_config={**LEARN, "prior": prior}, seed=0, log_every=100, sample_every=10**9,
                           checkpoint_every=10**9, progress="off")
    gauss = measure_capability(gankit.load(runs["gaussian"]), read_run_config(runs["gaussian"]), baselines=True)
    semi = measure_capability(gankit.load(runs["semi"]), read_run_config(runs["semi"]))
    print({k: round(v, 4) for k, v in gauss.items()}, {k: round(v, 4) for k, v in semi.items()})
    assert gauss["mse/test"] < 0.25 * gauss["baseline/mse/untrained"]
    assert gauss["mmd/test"] < 0.25 * gauss["baseline/mmd/untrained"]
    assert semi["acc/test"] > 0.80
