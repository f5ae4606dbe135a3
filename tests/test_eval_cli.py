"""`gankit eval` on a run and on two folders, and in-training evaluation."""

import json

import numpy as np
from PIL import Image

from gankit.cli import main
from gankit.data import load_mnist


def test_eval_run_prints_table_and_writes_protocol(tmp_path, capsys):
    run = tmp_path / "r"
    assert main(["train", "gan", "--preset", "tiny", "--set", "image_size=28", "--steps", "3", "--batch-size", "32",
                 "--eval-every", "3", "--eval-n", "200", "--out", str(tmp_path), "--name", "r"]) == 0
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert any("eval/fid[lenet-mnist]" in r for r in rows), "in-training evaluation is logged"
    assert main(["eval", str(run), "-n", "300", "--metrics", "fid,kid,is,pr,dc", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    for key in ("fid[lenet-mnist]", "kid[lenet-mnist]", "is[lenet-mnist]", "precision[lenet-mnist]", "coverage[lenet-mnist]"):
        assert key in out
    report = json.loads((run / "eval.json").read_text())
    protocol = report["protocol"]
    assert protocol["extractor"] == "lenet-mnist" and len(protocol["weights_hash"]) == 16
    assert protocol["n_fake"] == 300 and protocol["n_real"] == 300 and protocol["reference"].startswith("mnist-test")
    assert protocol["model"] == "gan" and "gankit_version" in protocol and protocol["seed"] == 0
    assert report["metrics"]["fid[lenet-mnist]"] > 100, "an untrained-ish model is far from MNIST"


def _digits_folder(path, images):
    path.mkdir(parents=True)
    for i, img in enumerate(images):
        Image.fromarray(img[0].numpy()).save(path / f"{i}.png")


def test_eval_compares_two_folders(tmp_path, capsys):
    images, _ = load_mnist("test")
    _digits_folder(tmp_path / "real", images[:300])
    _digits_folder(tmp_path / "same", images[300:600])
    noise = np.random.default_rng(0).integers(0, 255, (300, 1, 28, 28), dtype=np.uint8)
    _digits_folder(tmp_path / "noise", [__import__("torch").from_numpy(n) for n in noise])
    results = {}
    for fake in ("same", "noise"):
        out_json = tmp_path / f"{fake}.json"
        assert main(["eval", "--real", str(tmp_path / "real"), "--fake", str(tmp_path / fake), "--extractor",
                     "lenet-mnist", "--metrics", "fid", "--json", str(out_json)]) == 0
        results[fake] = json.loads(out_json.read_text())["metrics"]["fid[lenet-mnist]"]
    assert results["same"] * 20 < results["noise"]


def test_eval_inception_offline_is_one_clear_line(tmp_path, capsys):
    _digits_folder(tmp_path / "a", load_mnist("test")[0][:20])
    assert main(["eval", "--real", str(tmp_path / "a"), "--fake", str(tmp_path / "a"), "--metrics", "fid"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gankit: error:") and "--inception-weights" in err and "\n" not in err


def test_eval_bad_usage(tmp_path, capsys):
    assert main(["eval"]) == 2
    assert main(["eval", "--real", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("gankit: error:") == 2
