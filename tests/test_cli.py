"""The command line end to end: train a few steps on an MNIST slice, then sample."""

import os
import subprocess
import sys

import numpy as np
from PIL import Image

from gankit.cli import main


def test_train_then_sample_grid_folder_and_npz(tmp_path, capsys):
    args = ["train", "dcgan", "--preset", "tiny", "--max-images", "512", "--steps", "20", "--batch-size", "32",
            "--sample-every", "10", "--log-every", "5", "--out", str(tmp_path), "--name", "r"]
    assert main(args) == 0
    run = tmp_path / "r"
    assert (run / "samples" / "step-00000010.png").is_file() and (run / "samples" / "step-00000020.png").is_file()
    assert main(["sample", str(run), "-n", "9", "--out", str(tmp_path / "grid.png"), "--device", "cpu"]) == 0
    assert Image.open(tmp_path / "grid.png").size == (3 * 10 + 2, 3 * 10 + 2)  # 3x3 grid of 8px + 2px padding
    assert main(["sample", str(run), "-n", "5", "--out", str(tmp_path / "pngs"), "--batch-size", "2"]) == 0
    assert sorted(os.listdir(tmp_path / "pngs")) == [f"{i:06d}.png" for i in range(5)]
    assert main(["sample", str(run), "-n", "7", "--out", str(tmp_path / "s.npz"), "--seed", "4"]) == 0
    first = np.load(tmp_path / "s.npz")["images"]
    assert first.shape == (7, 8, 8, 1) and first.dtype == np.uint8
    assert main(["sample", str(run), "-n", "7", "--out", str(tmp_path / "t.npz"), "--seed", "4"]) == 0
    assert (np.load(tmp_path / "t.npz")["images"] == first).all(), "--seed makes sampling repeatable"
    out = capsys.readouterr().out
    assert "run written to" in out and "wrote 7 samples" in out


def test_bad_inputs_are_one_line_errors(tmp_path, capsys):
    cases = [
        (["train", "gan", "--data", str(tmp_path / "nope"), "--steps", "1"], "neither a folder, an image file, photo:NAME nor one of"),
        (["train", "gan", "--set", "lr=0.1", "--steps", "1"], "unknown GANConfig key 'lr'"),
        (["train", "gan", "--set", "latent_dim", "--steps", "1"], "--set expects key=value"),
        (["train", "gan", "--max-images", "10", "--steps", "1"], "fewer than one batch of 64"),
        (["train", "gan", "--lr-decay-from", "1.5", "--steps", "1"], "lr_decay_from is a fraction of the run"),
        (["sample", str(tmp_path), "--out", "x.png"], "not a gankit run folder"),
    ]
    for argv, message in cases:
        assert main([*argv, "--out", str(tmp_path / "runs")] if argv[0] == "train" else argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("gankit: error:") and message in err and "\n" not in err, err


def test_console_script_reports_errors_without_traceback(tmp_path):
    exe = os.path.join(os.path.dirname(sys.executable), "gankit")
    env = {**os.environ, "GANKIT_OFFLINE": "1"}
    proc = subprocess.run([exe, "train", "gan", "--data", str(tmp_path)], capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"gankit: error: no images found in {tmp_path} (looked recursively for .png, .jpg, .jpeg, .webp, .bmp)"
