"""StyleGAN: w sets each layer's channel statistics (AdaIN), style mixing crosses two w's at a layer,
truncation pulls towards the mean style, fixed noise makes a render a function of z, PPL reads path speed, the CLI
writes mixing grids, interpolations and PPL, and a small StyleGAN learns MNIST.

Learning test measured when its thresholds were set (seed 0, 2 threads, n = 2000 vs the test split,
16 px, widths (32, 32, 16), z = w = 32, mapping 4 layers, 900 steps of 32, EMA 0.99, 79 s):
fid[lenet-mnist] untrained 2117 -> 1007. Thresholds leave a wide margin.
"""

import json

import pytest
import torch
from PIL import Image

import gankit
from gankit.cli import main
from gankit.data import ImageDataset
from gankit.engine import TrainConfig, Trainer
from gankit.errors import GankitError
from gankit.metrics.ppl import perceptual_path_length, slerp
from gankit.models.stylegan import StyledLayer


def tiny(**overrides):
    torch.manual_seed(0)
    return gankit.create_model("stylegan", preset="tiny", **overrides)


def test_the_style_sets_each_channels_mean_and_scale():
    torch.manual_seed(0)
    layer = StyledLayer(4, 6, 8)
    with torch.no_grad():
        layer.style.weight.normal_()  # a style that varies with w
        w = torch.randn(3, 8)
        out = layer(torch.randn(3, 4, 8, 8), w, torch.zeros(1, 1, 8, 8))
        scale, bias = layer.style(w).chunk(2, dim=1)
    assert torch.allclose(out.mean((2, 3)), bias, atol=1e-4)
    assert torch.allclose(out.std((2, 3), unbiased=False), (1 + scale).abs(), atol=1e-3)


def test_style_mixing_crosses_two_ws_at_one_layer():
    model = tiny(style_mixing=1.0)
    ws = model.train_styles(4)  # (4, L, w_dim)
    same = [torch.equal(ws[:, i], ws[:, i - 1]) for i in range(1, ws.shape[1])]
    assert same.count(False) == 1  # exactly one crossover
    unmixed = tiny(style_mixing=0.0).train_styles(4)
    assert all(torch.equal(unmixed[:, i], unmixed[:, 0]) for i in range(unmixed.shape[1]))


def test_mix_takes_coarse_styles_from_a_and_fine_from_b():
    model = tiny().eval()
    with torch.no_grad():
        for p in model.generator.parameters():
            p.add_(torch.randn_like(p) * 0.3)  # an untrained G ignores little; make every style matter
    za, zb = torch.randn(3, 8), torch.randn(3, 8)
    layers = model.generator.num_ws
    assert torch.equal(model.mix(za, zb, layers), model.render(za))
    assert torch.equal(model.mix(za, zb, 0), model.render(zb))
    middle = model.mix(za, zb, 2)
    assert not torch.allclose(middle, model.render(za)) and not torch.allclose(middle, model.render(zb))
    grids = model.mixing_grids(generator=torch.Generator().manual_seed(0))
    assert list(grids) == ["coarse-up-to-4px"] and grids["coarse-up-to-4px"][0].shape == (49, 1, 8, 8)


def test_truncation_pulls_towards_the_mean_style():
    model = tiny()
    with torch.no_grad():
        model.generator.w_avg.copy_(torch.randn(8))
    spread = lambda psi: model.sample_truncated(64, psi, generator=torch.Generator().manual_seed(1)).std(0).mean()  # noqa: E731
    assert torch.equal(model.sample_truncated(4, 1.0, generator=torch.Generator().manual_seed(2)),
                       model.sample(4, generator=torch.Generator().manual_seed(2)))
    assert spread(0.0) < 0.5 * spread(1.0)  # psi 0: only the noise still varies
    with pytest.raises(GankitError, match="psi"):
        model.sample_truncated(2, -0.5)


def test_training_tracks_the_mean_w_and_fixed_noise_makes_renders_a_function_of_z():
    model = tiny(w_avg_decay=0.0)
    model.train_styles(4000)
    with torch.no_grad():
        assert torch.allclose(model.generator.w_avg, model.generator.mapping(torch.randn(4000, 8)).mean(0), atol=0.15)
        model.generator.layers[-1].noise_strength.fill_(0.1)
        z = torch.randn(2, 8)
        assert torch.equal(model.render(z), model.render(z))  # fixed noise: a function of z alone
        noisy = [model.generator.synthesis(model._ws(z), model.generator.noise(2)) for _ in range(2)]
        other_z = model.generator.synthesis(model._ws(torch.randn(2, 8)), model.generator.fixed())
    assert not torch.allclose(*noisy)  # fresh noise varies the image, less than a new z does
    assert (noisy[0] - noisy[1]).abs().mean() < 0.5 * (noisy[0] - other_z).abs().mean()


def test_slerp_keeps_the_ends_and_ppl_reads_the_speed_of_the_path():
    a, b = torch.randn(5, 6), torch.randn(5, 6)
    assert torch.allclose(slerp(a, b, torch.zeros(5, 1)), a, atol=1e-5)
    assert torch.allclose(slerp(a, b, torch.ones(5, 1)), b, atol=1e-5)

    def ppl(speed):  # features go round a circle `speed` times as fast as the first latent coordinate
        render = lambda x, space: x[:, :1]  # noqa: E731
        features = lambda img: torch.cat([torch.cos(speed * img), torch.sin(speed * img)], 1)  # noqa: E731
        return perceptual_path_length(render, lambda z, s: z, features, 4, "w", n=500,
                                      generator=torch.Generator().manual_seed(0))
    assert ppl(2.0) == pytest.approx(4 * ppl(1.0), rel=1e-3)  # PPL grows with the square of the speed
    assert ppl(1.0) == pytest.approx(2.0, rel=0.2)  # E (b0 - a0)^2 of two standard normals, trimmed


@pytest.fixture
def tiny_run(tmp_path):
    model = tiny()
    g = torch.Generator().manual_seed(3)
    data = ImageDataset(torch.randint(0, 256, (16, 1, 8, 8), dtype=torch.uint8, generator=g), name="noise")
    Trainer(model, data, TrainConfig(batch_size=8, steps=2, sample_every=100, progress="off"), tmp_path / "run").fit()
    return tmp_path / "run"


def test_cli_writes_mixing_grids_interpolations_and_ppl(tiny_run, tmp_path, capsys):
    assert main(["sample", str(tiny_run), "--mix", "--out", str(tmp_path / "mix")]) == 0
    assert Image.open(tmp_path / "mix" / "mix-coarse-up-to-4px.png").size == (7 * 10 + 2, 7 * 10 + 2)
    assert main(["sample", str(tiny_run), "--interpolate", "5", "--out", str(tmp_path / "walk.png")]) == 0
    assert Image.open(tmp_path / "walk.png").size == (5 * 10 + 2, 10 + 2)
    assert main(["sample", str(tiny_run), "--interpolate", "3", "--space", "z", "--out", str(tmp_path / "f")]) == 0
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == ["frame0000.png", "frame0001.png", "frame0002.png"]
    assert main(["sample", str(tiny_run), "--interpolate", "3", "--space", "q", "--out", str(tmp_path / "g")]) == 2
    assert "interpolates in z, w" in capsys.readouterr().err
    assert main(["eval", str(tiny_run), "--metrics", "ppl", "-n", "40", "--no-capability"]) == 0
    report = json.loads((tiny_run / "eval.json").read_text())
    assert set(report["metrics"]) == {"ppl_z[lenet-mnist]", "ppl_w[lenet-mnist]"}
    assert all(v > 0 for v in report["metrics"].values())


def test_mix_on_a_model_without_styles_names_the_variants_that_have_them(tmp_path, capsys):
    model = gankit.create_model("dcgan", preset="tiny")
    data = ImageDataset(torch.randint(0, 256, (16, 1, 8, 8), dtype=torch.uint8), name="noise")
    Trainer(model, data, TrainConfig(batch_size=8, steps=1, progress="off"), tmp_path / "run").fit()
    assert main(["sample", str(tmp_path / "run"), "--mix", "--out", str(tmp_path / "m")]) == 2
    assert "dcgan has no styles to mix; variants that do: stylegan" in capsys.readouterr().err
    assert main(["sample", str(tmp_path / "run"), "--interpolate", "3", "--out", str(tmp_path / "w.png")]) == 0


SMALL = {"latent_dim": 32, "widths": (32, 32, 16), "mapping_layers": 4}


@pytest.mark.slow
def test_small_stylegan_learns_mnist(fid_before_and_after):
    untrained, score, _ = fid_before_and_after("stylegan", SMALL, steps=900, ema=0.99)
    assert score < 1500 and score < 0.65 * untrained


def test_project_finds_a_rendered_latent_again_and_the_cli_projects_a_held_out_digit(tiny_run, tmp_path, capsys):
    from safetensors.torch import load_file

    from gankit.data import load_data, to_uint8
    from gankit.projection import project

    model = gankit.load(tiny_run)
    with torch.no_grad():
        w = model.to_space(torch.randn(1, 8, generator=torch.Generator().manual_seed(5)), "w")
        target = to_uint8(model.render(w, "w"))[0]  # (1, 8, 8): an image the model can draw exactly
    found = project(model, target, steps=200)
    assert found.space == "w" and found.mse < 0.3 * found.start_mse
    digit = load_data("mnist", 8, 1, split="test").images[0]  # a held-out digit
    Image.fromarray(digit[0].numpy()).save(tmp_path / "digit.png")
    out = tmp_path / "recon.png"
    assert main(["project", str(tiny_run), str(tmp_path / "digit.png"), "--out", str(out), "--steps", "30"]) == 0
    assert Image.open(out).size == (8, 8) and load_file(tmp_path / "recon.safetensors")["w"].shape == (1, 8)
    assert "pixel MSE" in capsys.readouterr().out
    assert main(["project", str(tiny_run), str(tmp_path / "digit.png"), "--out", str(tmp_path / "r.jpg")]) == 2
