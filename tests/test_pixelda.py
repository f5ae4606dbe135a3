"""PixelDA: its verbs at the tiny preset, the CLI end to end, and a reduced-budget learning test.

Learning test, measured when the thresholds were set (seed 0, `cpu` preset, MNIST -> MNIST-M at
32x32, batch 32, the first 2,000 held-out images per domain): after 100 PixelDA steps T reads
MNIST-M at 0.791 (MNIST 0.903), while the same T architecture trained on MNIST alone (200 steps)
reads MNIST-M at 0.623 (MNIST 0.941). 74 s under load (two other trainings on the 2 cores;
about 40 s idle). The full-budget proof (1,500 steps): MNIST-M 0.963 vs source-only 0.681.
"""

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
import gankit.models.pixelda  # noqa: F401  (registers the variant)
from gankit.api import read_run_config, train
from gankit.capabilities import measure
from gankit.cli import main
from gankit.errors import GankitError
from gankit.evaluation import held_out
from gankit.models.base import Batch, HeldOut


def tiny():
    torch.manual_seed(0)
    return gankit.create_model("pixelda", preset="tiny")


def test_classify_translate_and_sample_shapes():
    model = tiny().train()
    g = torch.Generator().manual_seed(0)
    gray, colour = torch.rand(5, 1, 8, 8, generator=g) * 2 - 1, torch.rand(5, 3, 8, 8, generator=g) * 2 - 1
    assert model.classify(colour).shape == (5, 10) and model.classify(gray).shape == (5, 10)
    assert model.training, "classify leaves the model's mode alone"
    out = model.translate(gray)
    assert out.shape == (5, 3, 8, 8) and torch.equal(out, model.translate(gray)), "translate uses z = 0"
    assert model.translate(torch.zeros(2, 1, 12, 16)).shape == (2, 3, 12, 16), "any input size (noise plane resized)"
    a = model.sample(3, generator=torch.Generator().manual_seed(1))
    b = model.sample(3, generator=torch.Generator().manual_seed(2))
    assert not torch.equal(a, b), "sample draws z from the generator"
    grid, nrow = model.preview(4)
    assert grid.shape == (16, 3, 8, 8) and nrow == 4


def test_bad_inputs_give_clear_errors():
    model = tiny()
    with pytest.raises(GankitError, match="AtoB"):
        model.translate(torch.zeros(1, 1, 8, 8), "BtoA")
    x = torch.zeros(4, 1, 8, 8)
    with pytest.raises(GankitError, match="labelled source images"):
        model.train_step(Batch(x, None, b=torch.zeros(4, 3, 8, 8)))
    with pytest.raises(GankitError, match="multiple of 4"):
        gankit.create_model("pixelda", preset="tiny", image_size=10)


def test_cli_train_translate_classify_end_to_end(tmp_path, capsys):
    common = ["--preset", "tiny", "--max-images", "256", "--steps", "3", "--batch-size", "16", "--threads", "1",
              "--out", str(tmp_path)]
    assert main(["train", "pixelda", "--data", "mnist-m", "--name", "r", *common]) == 0
    folder = tmp_path / "digits"
    for i in range(3):
        (folder / str(i)).mkdir(parents=True)
        Image.fromarray(np.full((28, 28, 3), 60 * i, dtype=np.uint8)).save(folder / str(i) / "a.png")
    assert main(["translate", str(tmp_path / "r"), str(folder), "--out", str(tmp_path / "adapted")]) == 0
    with Image.open(tmp_path / "adapted" / "1" / "a.png") as img:
        assert img.size == (28, 28) and img.mode == "RGB"
    assert main(["classify", str(tmp_path / "r"), str(folder)]) == 0
    assert "accuracy" in capsys.readouterr().out
    capsys.readouterr()
    assert main(["translate", str(tmp_path / "r"), str(folder), "--out", str(tmp_path / "x"), "--direction", "BtoA"]) == 2
    assert "adapts source images to the target domain only" in capsys.readouterr().err
    assert main(["train", "pixelda", "--data", "mnist", "--name", "bad", *common]) == 2
    assert "is not two-domain data" in capsys.readouterr().err


@pytest.mark.slow
def test_adapted_classifier_beats_source_only_on_mnist_m(tmp_path):
    run = train("pixelda", "mnist-m", out=tmp_path, name="r", preset="cpu", steps=100, seed=0,
                model_config={"baseline_steps": 200}, sample_every=10**6, checkpoint_every=10**6, log_every=50)
    model = gankit.load(run).eval()
    data = held_out(read_run_config(run), model)
    torch.manual_seed(0)
    scores = measure(model, HeldOut(data.train, data.test.subset(2000), seed=0), baselines=True)
    print(scores)
    assert scores["acc/test_source"] > 0.8
    assert scores["acc/test_target"] > 0.7, scores
    assert scores["acc/test_target"] > scores["baseline/acc/source_only"] + 0.08, scores
