"""pix2pix: `gankit translate` end to end on files and folders, its errors, and a learning test."""

import numpy as np
import pytest
from PIL import Image

from gankit.cli import main


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    assert main(["train", "pix2pix", "--data", "edges2digits", "--preset", "tiny", "--max-images", "64",
                 "--steps", "3", "--batch-size", "8", "--out", str(out), "--name", "r"]) == 0
    return out / "r"


def test_translate_a_file_of_any_size_and_a_folder(tiny_run, tmp_path, capsys):
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (13, 10), np.uint8)).save(tmp_path / "odd.png")
    assert main(["translate", str(tiny_run), str(tmp_path / "odd.png"), "--out", str(tmp_path / "o")]) == 0
    out = Image.open(tmp_path / "o" / "odd.png")
    assert out.size == (10, 13) and out.mode == "RGB"  # same size as the input, domain B's channels
    (tmp_path / "in" / "sub").mkdir(parents=True)
    for i, size in enumerate([(8, 8), (8, 8), (16, 24)]):
        Image.fromarray(np.zeros(size, np.uint8)).save(tmp_path / "in" / ("sub" if i else "") / f"{i}.jpg")
    assert main(["translate", str(tiny_run), str(tmp_path / "in"), "--out", str(tmp_path / "f"), "--batch-size", "1"]) == 0
    written = sorted(str(p.relative_to(tmp_path / "f")) for p in (tmp_path / "f").rglob("*.png"))
    assert written == ["0.png", "sub/1.png", "sub/2.png"]
    assert Image.open(tmp_path / "f" / "sub" / "2.png").size == (24, 16)
    assert "translated 3 image(s) AtoB" in capsys.readouterr().out


def test_translate_errors_are_one_line(tiny_run, tmp_path, capsys):
    (tmp_path / "x.png").write_text("not an image")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "ok.png")
    cases = [
        (["translate", str(tiny_run), str(tmp_path / "x.png"), "--out", str(tmp_path / "o")], "is not an image gankit can read"),
        (["translate", str(tiny_run), str(tmp_path / "ok.png"), "--out", str(tmp_path / "o"), "--direction", "BtoA"],
         "pix2pix learns one direction"),
        (["translate", str(tiny_run), str(tmp_path / "none"), "--out", str(tmp_path / "o")], "does not exist"),
        (["train", "pix2pix", "--data", "mnist", "--preset", "tiny", "--steps", "1", "--out", str(tmp_path)],
         "is not two-domain data: translation models take edges2digits, mnist-m"),
    ]
    capsys.readouterr()
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("gankit: error:") and message in err and "\n" not in err, err
