"""SinGAN: the pyramid's shapes, one stage per scale with the scales below frozen, a fully convolutional
generator, the fixed-noise reconstruction, the CLI verbs end to end on a photo (and their errors), and a
small pyramid that learns one photo.

Learning test measured when its thresholds were set (seed 0, 1 thread, photo:chelsea at 24x36 px,
min_size 14, 4 layers of 16 channels, 3 scales x 150 iterations of 2 D + 2 G steps, 19 s):
rec/psnr untrained 16.2 -> 30.0 dB; sifid 6.09 -> 0.38; diversity start0 0.094 > start2 0.0059.
Thresholds leave a wide margin.
"""

import json

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit.api import train
from gankit.capabilities import measure
from gankit.cli import main
from gankit.data.batches import HeldOut
from gankit.errors import GankitError
from gankit.models.singan import PatchCritic, ScaleGenerator, SinGANConfig


def test_pyramid_lands_on_min_size_and_the_training_shape():
    c = SinGANConfig(image_shape=(43, 64), min_size=25)
    shapes = c.shapes()
    assert shapes[-1] == (43, 64) and min(shapes[0]) == 25
    assert len(shapes) == c.top + 1 >= 2
    ratios = [shapes[i][1] / shapes[i + 1][1] for i in range(len(shapes) - 1)]
    assert all(abs(r - c.factor) < 0.04 for r in ratios) and c.factor >= 0.75 - 1e-9
    assert c.shapes((60, 120))[-1] == (60, 120)  # any other size keeps the factors
    assert SinGANConfig(image_shape=(43, 64), single_scale=True).shapes() == [(43, 64)]


def test_the_single_scale_baseline_gets_the_pyramids_compute():
    pyramid = gankit.create_model("singan", image_shape=(43, 64), steps_per_scale=100)
    single = gankit.create_model("singan", image_shape=(43, 64), steps_per_scale=100, single_scale=True)
    pixels = sum(h * w * s.steps for (h, w), s in zip(pyramid.config.shapes(), pyramid.stages(None)))
    (stage,) = single.stages(None)
    assert abs(stage.steps * 43 * 64 - pixels) <= 43 * 64


def test_an_image_too_small_for_the_pyramid_is_one_clear_error():
    with pytest.raises(GankitError, match="too small for a pyramid whose coarsest scale is min_size=25"):
        SinGANConfig(image_shape=(20, 30))
    with pytest.raises(GankitError, match="min_size 6 is too small"):
        SinGANConfig(image_shape=(40, 40), min_size=6)


def test_generator_is_fully_convolutional_and_adds_a_residual():
    torch.manual_seed(0)
    g, d = ScaleGenerator(3, 8, 5), PatchCritic(3, 8, 5)
    prev = torch.rand(2, 3, 17, 29) * 2 - 1
    out = g(torch.zeros_like(prev), prev)
    assert out.shape == prev.shape
    assert d(prev).shape == (2, 1, 17 - 10, 29 - 10)  # five valid 3x3 convs
    with torch.no_grad():
        g.body[-2].weight.zero_()
        g.body[-2].bias.zero_()
    assert torch.allclose(g(torch.randn_like(prev), prev), prev)  # a zero residual returns the image below


def test_one_stage_per_scale_trains_only_that_scale_and_warm_starts_from_below():
    torch.manual_seed(0)
    model = gankit.create_model("singan", preset="tiny")
    stages = model.stages(None)
    assert [s.batch_size for s in stages] == [1] * (model.top + 1)
    assert [s.name.split("-")[1] for s in stages] == [f"{h}x{w}" for h, w in model.config.shapes()]
    from gankit.models.base import StageProgress

    model.begin_stage(StageProgress(1, stages[1], 0, 2))
    assert all(not p.requires_grad for p in model.generators[0].parameters())
    assert all(p.requires_grad for p in model.generators[1].parameters())
    assert torch.equal(model.generators[1].body[0][0].weight, model.generators[0].body[0][0].weight)
    trained = {id(p) for g in model.optimizers["generator"].param_groups for p in g["params"]}
    assert trained == {id(p) for p in model.generators[1].parameters()}


def test_reconstruction_is_fixed_and_samples_take_any_size():
    torch.manual_seed(0)
    model = gankit.create_model("singan", preset="tiny").eval()
    assert torch.equal(model.reconstruct(), model.reconstruct())
    gen = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    wide = model.sample_at(3, size=(12, 30), generator=gen())
    assert wide.shape == (3, 3, 12, 30) and wide.abs().max() <= 1
    assert torch.equal(wide, model.sample_at(3, size=(12, 30), generator=gen()))
    with pytest.raises(GankitError, match="start-scale must be 0"):
        model.sample_at(1, start_scale=model.top + 1)
    with pytest.raises(GankitError, match="drop --size"):
        model.sample_at(1, size=(12, 30), start_scale=1)


def photo_crop(path, size=(30, 40), alpha=False):
    arr = np.asarray(Image.open(__import__("skimage").data.__path__[0] + "/chelsea.png").convert("RGB").resize(size[::-1]))
    if alpha:
        a = np.zeros(arr.shape[:2], np.uint8)
        a[2:-2, 2:-2] = 255
        arr = np.dstack([arr, a])
    Image.fromarray(arr).save(path)
    return path


def test_cli_trains_on_one_photo_and_runs_every_verb(tmp_path, capsys):
    photo = photo_crop(tmp_path / "photo.png")
    assert main(["train", "singan", "--data", str(photo), "--preset", "tiny", "--out", str(tmp_path), "--name", "r",
          "--progress", "off", "--threads", "1"]) == 0
    run = tmp_path / "r"
    config = json.loads((run / "config.json").read_text())["model_config"]
    assert config["image_shape"] == [30, 40]  # the photo's own shape, not a square
    assert main(["sample", str(run), "-n", "4", "--size", "20x50", "--out", str(tmp_path / "wide.npz")]) == 0
    with np.load(tmp_path / "wide.npz") as f:
        assert f["images"].shape == (4, 20, 50, 3)
    assert main(["sample", str(run), "-n", "4", "--start-scale", "1", "--out", str(tmp_path / "s1.png")]) == 0
    assert main(["paint2image", str(run), str(photo), "--scale", "1", "--out", str(tmp_path / "paint.png")]) == 0
    assert Image.open(tmp_path / "paint.png").size == (40, 30)
    mask = np.zeros((30, 40), np.uint8)
    mask[10:20, 10:20] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    assert main(["edit", str(run), str(photo), "--mask", str(tmp_path / "mask.png"), "-n", "2", "--out", str(tmp_path / "e.png")]) == 0
    obj = photo_crop(tmp_path / "obj.png", size=(10, 12), alpha=True)
    assert main(["harmonize", str(run), "--paste", str(obj), "--at", "3,4", "--out", str(tmp_path / "h.png")]) == 0
    harmonized = np.asarray(Image.open(tmp_path / "h.png")).astype(int)
    model = gankit.load(run)
    background = ((model.image[0].permute(1, 2, 0) + 1) * 127.5).round().numpy().astype(int)
    assert np.abs(harmonized[25:, 30:] - background[25:, 30:]).max() <= 1  # far from the object: untouched
    assert main(["upscale", str(run), str(photo), "--out", str(tmp_path / "up.png")]) == 0
    assert Image.open(tmp_path / "up.png").size == (160, 120)
    assert main(["eval", str(run)]) == 0  # the capability on the one image; no sample FID against other data
    assert "rec/psnr" in json.loads((run / "eval.json").read_text())["capability"]
    for args, message in [
        (["sample", str(run), "--size", "big", "--out", str(tmp_path / "x.png")], "HEIGHTxWIDTH"),
        (["harmonize", str(run), "--paste", str(obj), "--at", "39,0", "--out", str(tmp_path / "x.png")], "outside"),
        (["paint2image", str(run), str(photo), "--scale", "0", "--out", str(tmp_path / "x.png")], "--scale must be 1"),
    ]:
        assert main(args) == 2
        assert message in capsys.readouterr().err


def test_bad_and_too_small_training_images_are_one_line_each(tmp_path, capsys):
    (tmp_path / "bad.png").write_bytes(b"not a png")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "small.png")
    for data, message in [(tmp_path / "bad.png", "is not an image gankit can read"),
                          (tmp_path / "small.png", "too small for a pyramid"),
                          ("mnist", "singan learns from one image"),
                          ("photo:nosuch", "no such bundled photo")]:
        assert main(["train", "singan", "--data", str(data), "--out", str(tmp_path), "--progress", "off"]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err


def test_a_small_pyramid_learns_one_photo(tmp_path):
    torch.set_num_threads(1)
    options = {"max_size": 36, "min_size": 14, "conv_width": 16, "num_layers": 4, "steps_per_scale": 150,
               "d_steps": 2, "g_steps": 2}
    torch.manual_seed(0)
    untrained = gankit.create_model("singan", image_shape=(24, 36), **options).eval()
    run = train("singan", "photo:chelsea", out=tmp_path, name="r", model_config=options, seed=0,
                sample_every=10**6, checkpoint_every=10**6, log_every=100)
    model = gankit.load(run)
    assert model.config.image_shape == (24, 36)
    data = HeldOut(train=None, test=None, seed=0)
    untrained.image.copy_(model.image)
    before, after = measure(untrained, data), measure(model, data)
    print(f"singan: before {before}\nafter {after}")
    assert after["rec/psnr"] > 22 and after["rec/psnr"] > before["rec/psnr"] + 6
    assert after["sifid"] < 0.5 * before["sifid"]
    assert after["diversity/start0"] > 3 * after[f"diversity/start{model.top}"]


def test_a_run_stopped_inside_a_scale_resumes_to_the_same_weights(tmp_path):
    from gankit.api import resume

    photo = photo_crop(tmp_path / "photo.png")
    common = {"out": tmp_path, "preset": "tiny", "seed": 0, "sample_every": 10**6, "log_every": 1, "threads": 1}
    whole = train("singan", str(photo), name="whole", steps=6, **common)  # 3 scales x 2 iterations
    cut = train("singan", str(photo), name="cut", steps=3, **common)  # stops inside scale 1
    resume(cut, steps=6)
    a, b = gankit.load(whole).state_dict(), gankit.load(cut).state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
