"""Checkpoints: safe format, atomic commits, exact resume, clean failure on NaN."""

import json

import numpy as np
import pytest
import torch

import gankit
from gankit.api import new_run_dir, resume, train
from gankit.cli import main
from gankit.engine import TrainConfig, Trainer, checkpoint
from gankit.errors import GankitError, NonFiniteLossError


def test_state_flattening_round_trips_nested_structures():
    state = {
        "a": torch.arange(3.0),
        "nested": {0: (1, 2.5, None, "x"), "list": [torch.ones(2, 2), np.arange(4, dtype=np.uint32)]},
        "flag": True,
    }
    tensors = {}
    structure = json.loads(json.dumps(checkpoint.flatten_state(state, tensors)))
    back = checkpoint.unflatten_state(structure, tensors)
    assert torch.equal(back["a"], state["a"]) and back["flag"] is True
    assert back["nested"][0] == (1, 2.5, None, "x")
    assert torch.equal(back["nested"]["list"][0], torch.ones(2, 2))
    assert back["nested"]["list"][1].dtype == np.uint32 and (back["nested"]["list"][1] == np.arange(4)).all()
    with pytest.raises(TypeError):
        checkpoint.flatten_state({"f": lambda: 0}, {})


def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path):
    # The name has one-second resolution; the folder must be claimed, not just checked for.
    first, second = new_run_dir(tmp_path, "gan"), new_run_dir(tmp_path, "gan")
    assert first != second and first.is_dir() and second.is_dir()
    (second / "config.json").write_text("{}")
    with pytest.raises(GankitError, match="already exists"):
        new_run_dir(tmp_path, "gan", name=second.name)


def test_checkpoint_files_are_safetensors_and_json(tmp_path, mnist_small):
    run = train("gan", mnist_small, out=tmp_path, name="r", preset="tiny", steps=4, batch_size=32, sample_every=4)
    ckpt = checkpoint.latest_checkpoint(run)
    assert ckpt.name == "step-00000004"
    assert sorted(p.name for p in ckpt.iterdir()) == ["model.safetensors", "state.json", "state.safetensors"]
    json.loads((ckpt / "state.json").read_text())
    info = json.loads((run / "config.json").read_text())
    assert info["model"] == "gan" and info["model_config"]["latent_dim"] == 8 and info["train"]["steps"] == 4
    assert (run / "samples.png").is_file() and (run / "losses.png").is_file() and (run / "log.jsonl").is_file()


def test_write_killed_half_way_keeps_previous_checkpoint(tmp_path, monkeypatch):
    model = gankit.create_model("gan", preset="tiny")
    checkpoint.save_checkpoint(tmp_path, 10, model.state_dict(), {"step": 10})
    calls = {"n": 0}
    real_save = checkpoint.save_file

    def dies_on_second_file(tensors, path):
        calls["n"] += 1
        if calls["n"] == 2:  # model weights written, training state not: the process "dies" here
            raise KeyboardInterrupt
        real_save(tensors, path)

    monkeypatch.setattr(checkpoint, "save_file", dies_on_second_file)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save_checkpoint(tmp_path, 20, model.state_dict(), {"step": 20})
    ckpt = checkpoint.latest_checkpoint(tmp_path)
    assert ckpt.name == "step-00000010"
    assert checkpoint.load_train_state(ckpt)["step"] == 10
    fresh = gankit.create_model("gan", preset="tiny")
    fresh.load_state_dict(checkpoint.load_model_state(ckpt))


def test_latest_pointer_missing_falls_back_to_newest_complete(tmp_path):
    model = gankit.create_model("gan", preset="tiny")
    for step in (1, 2):
        checkpoint.save_checkpoint(tmp_path, step, model.state_dict(), {"step": step})
    (tmp_path / "checkpoints" / "latest").unlink()
    (tmp_path / "checkpoints" / "step-00000003").mkdir()  # an incomplete folder is never chosen
    assert checkpoint.latest_checkpoint(tmp_path).name == "step-00000002"


def test_old_checkpoints_are_pruned(tmp_path):
    model = gankit.create_model("gan", preset="tiny")
    for step in range(1, 5):
        checkpoint.save_checkpoint(tmp_path, step, model.state_dict(), {"step": step})
    kept = sorted(p.name for p in (tmp_path / "checkpoints").glob("step-*"))
    assert kept == ["step-00000003", "step-00000004"]


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    model = gankit.create_model("gan", preset="tiny")
    ckpt = checkpoint.save_checkpoint(tmp_path, 1, model.state_dict(), {"step": 1})
    (ckpt / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(GankitError, match="damaged"):
        checkpoint.load_model_state(ckpt)


def _losses(run):
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return [(r["step"], r["loss/d"], r["loss/g"]) for r in rows if "loss/d" in r]


@pytest.mark.parametrize("name", ["gan", "dcgan"])
def test_resume_gives_the_same_losses_as_an_uninterrupted_run(tmp_path, name):
    common = dict(preset="tiny", batch_size=64, seed=3, log_every=1, sample_every=1000, checkpoint_every=1000, ema=0.99)
    whole = train(name, "mnist", out=tmp_path, name="whole", steps=12, **common)
    part = train(name, "mnist", out=tmp_path, name="part", steps=5, **common)
    resume(part, steps=12)
    assert _losses(part) == _losses(whole)
    a, b = gankit.load(whole), gankit.load(part)
    for (k, v), (_, v2) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(v, v2), k


def test_nan_loss_stops_with_clear_message_and_keeps_last_checkpoint(tmp_path, mnist_small, monkeypatch):
    model = gankit.create_model("gan", preset="tiny")
    real_step = model.train_step
    calls = {"n": 0}

    def poisoned(batch):
        calls["n"] += 1
        logs = real_step(batch)
        if calls["n"] == 5:
            logs["loss/d"] = torch.tensor(float("nan"))
        return logs

    monkeypatch.setattr(model, "train_step", poisoned)
    config = TrainConfig(batch_size=32, steps=10, checkpoint_every=2, log_every=1, sample_every=100)
    data = mnist_small.fit(8, 1)
    with pytest.raises(NonFiniteLossError, match=r"loss/d became nan at step 5.*checkpoint \(step 4\).*--resume"):
        Trainer(model, data, config, tmp_path / "run").fit()
    assert checkpoint.latest_checkpoint(tmp_path / "run").name == "step-00000004"


def test_cli_resume_continues_a_run(tmp_path, capsys):
    run = tmp_path / "r"
    base = ["--out", str(tmp_path), "--log-every", "1", "--sample-every", "100", "--batch-size", "32"]
    assert main(["train", "gan", "--preset", "tiny", "--name", "r", "--steps", "3", *base]) == 0
    assert main(["train", "--resume", str(run), "--steps", "6"]) == 0
    assert checkpoint.latest_checkpoint(run).name == "step-00000006"
    assert [s for s, *_ in _losses(run)] == [1, 2, 3, 4, 5, 6]
    assert main(["train", "--resume", str(tmp_path / "missing")]) == 2
    assert "not a gankit run folder" in capsys.readouterr().err
