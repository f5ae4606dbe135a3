"""One parametrized test per behaviour, over every registered variant at its tiny preset."""

import pytest
import torch

import gankit
from gankit.data import ImageDataset
from gankit.data.pairs import TwoDomainDataset
from gankit.engine import TrainConfig, Trainer
from gankit.models.base import Batch

MODELS = gankit.list_models()


def out_channels(spec):
    return spec.channels_b if spec.pairing != "none" else spec.channels


def random_batch(model, n=8, seed=0):
    spec = model.data_spec()
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, spec.channels, spec.image_size, spec.image_size, generator=g) * 2 - 1
    labels = torch.randint(0, spec.num_classes, (n,), generator=g) if spec.needs_labels else None
    if spec.pairing != "none":  # two domains: B rides in Batch.b
        b = torch.rand(n, spec.channels_b, spec.image_size, spec.image_size, generator=g) * 2 - 1
        return Batch(images, labels, b=b)
    if spec.semi_supervised:  # semi-supervised: labels only on the separate labelled batch
        return Batch(images, None, labeled_images=images.flip(0), labeled_labels=labels)
    return Batch(images, labels)


def random_dataset(model, n=16):
    spec = model.data_spec()
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (n, spec.channels, spec.image_size, spec.image_size), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, max(spec.num_classes, 1), (n,), generator=g)
    if spec.pairing != "none":
        b = torch.randint(0, 256, (n, spec.channels_b, spec.image_size, spec.image_size), dtype=torch.uint8, generator=g)
        return TwoDomainDataset(ImageDataset(images, labels), ImageDataset(b), spec.pairing == "paired", "random")
    return ImageDataset(images, labels, "random")


@pytest.mark.parametrize("name", MODELS)
def test_train_step_gives_finite_losses_and_gradients_everywhere(name):
    torch.manual_seed(0)
    model = gankit.create_model(name, preset="tiny").train()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    logs = model.train_step(random_batch(model))
    assert logs and all("/" in k for k in logs), "losses use stable names like loss/d"
    for key, value in logs.items():
        assert isinstance(value, torch.Tensor) and value.dim() == 0 and not value.requires_grad, key
        assert torch.isfinite(value), key
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert trainable
    for n, p in trainable:
        assert p.grad is not None, f"{n} received no gradient"
        assert torch.isfinite(p.grad).all(), f"{n} has a non-finite gradient"
    # A zero gradient can be exact (a critic's output bias cancels in E D(x) - E D(G(z))); any
    # parameter with a non-zero gradient must have been stepped by its optimizer.
    stuck = [n for n, p in trainable if p.grad.abs().sum() > 0 and torch.equal(p.detach(), before[n])]
    assert not stuck, f"not updated: {stuck}"


@pytest.mark.parametrize("name", MODELS)
def test_sample_shape_range_and_determinism(name):
    model = gankit.create_model(name, preset="tiny").train()
    model.train_step(random_batch(model))  # BatchNorm running stats move away from their init
    spec = model.data_spec()
    a = model.sample(5, generator=torch.Generator().manual_seed(3))
    b = model.sample(5, generator=torch.Generator().manual_seed(3))
    assert a.shape == (5, out_channels(spec), spec.image_size, spec.image_size)
    assert a.dtype == torch.float32 and a.min() >= -1 and a.max() <= 1
    assert torch.equal(a, b), "the same generator seed must give the same samples"
    assert model.training, "sampling must leave the model in the mode it found it"


@pytest.mark.parametrize("name", MODELS)
def test_save_then_load_gives_identical_samples(name, tmp_path):
    torch.manual_seed(0)
    model = gankit.create_model(name, preset="tiny")
    config = TrainConfig(batch_size=8, steps=3, ema=0.9, sample_every=2, log_every=1, checkpoint_every=2, grid_size=4)
    Trainer(model, random_dataset(model), config, tmp_path / "run").fit()
    # Where the engine trained on CUDA (AMP, channels_last), compare on the CPU in the default layout.
    model = model.cpu().to(memory_format=torch.contiguous_format)
    model.amp.enabled = False
    loaded = gankit.load(tmp_path / "run")
    assert type(loaded) is type(model) and loaded.config == model.config
    model.eval()
    a = model.sample(6, generator=torch.Generator().manual_seed(7))
    b = loaded.sample(6, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    for (k, v), (k2, v2) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(v, v2), k


def test_ema_of_a_spectrally_normalised_generator_keeps_its_own_singular_vectors():
    # Averaging spectral norm's unit vectors shortens them and the eval-mode sigma u.Wv shrinks with
    # them (a BigGAN G at EMA 0.999 read 25% of samples as their class, 58% once fixed). A sign flip of
    # the live vectors is the extreme case: averaged at 0.5 they would be zero.
    from torch.nn.utils import parametrize

    from gankit.nn.spectral import spectral_vectors

    torch.manual_seed(0)
    model = gankit.create_model("biggan", preset="tiny")
    model.enable_ema()
    shadow = model.ema["generator"]
    for step in range(5):
        model.train_step(random_batch(model, seed=step))
        model.update_ema(0.9)
    for t in spectral_vectors(model.generator):
        t.neg_()
    model.update_ema(0.5)
    layers = [m for m in shadow.modules() if parametrize.is_parametrized(m, "weight")]
    assert layers
    for m in layers:
        sn = m.parametrizations.weight[0]
        assert abs(sn._u.norm() - 1) < 1e-4 and abs(sn._v.norm() - 1) < 1e-4
        w = sn._reshape_weight_to_matrix(m.parametrizations.weight.original)
        stored = torch.vdot(sn._u, w @ sn._v)
        assert 0.8 * torch.linalg.matrix_norm(w, 2) <= stored <= torch.linalg.matrix_norm(w, 2) * (1 + 1e-4)


def test_ema_averages_batchnorm_statistics_like_the_weights():
    # Copying the live net's latest running statistics onto averaged weights mismatches them
    # (measured: an averaged BatchNorm classifier fell from 95% to 64%); they are averaged too.
    torch.manual_seed(0)
    model = gankit.create_model("dcgan", preset="tiny")
    model.enable_ema()
    shadow, live = model.ema["generator"], model.generator
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in live.modules())
    model.train_step(random_batch(model))
    before = {k: v.clone() for k, v in shadow.state_dict().items()}
    model.update_ema(0.9)
    changed = 0
    for key, value in shadow.state_dict().items():
        target = live.state_dict()[key]
        if value.is_floating_point():
            assert torch.allclose(value, 0.9 * before[key] + 0.1 * target, atol=1e-6), key
            changed += "running_" in key and not torch.allclose(before[key], target)
        else:  # num_batches_tracked: a counter, copied
            assert torch.equal(value, target), key
    assert changed, "the train step moved the live running statistics"
