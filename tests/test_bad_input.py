"""Every bad input a user can type ends in one `gankit: error:` line, exit code 2, no traceback."""

import errno
import json
import shutil

import pytest

from gankit.cli import main
from gankit.engine import checkpoint

TINY = ["train", "gan", "--preset", "tiny", "--steps", "2", "--batch-size", "16", "--log-every", "1",
        "--sample-every", "100", "--max-images", "64", "--progress", "off"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny trained run, copied per test by `fresh_run` when a test damages it."""
    out = tmp_path_factory.mktemp("runs")
    assert main([*TINY, "--out", str(out), "--name", "r"]) == 0
    return out / "r"


@pytest.fixture
def fresh_run(run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    return copy


def one_error_line(capsys, argv, match=None):
    code = main(argv)
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("gankit: error:")]
    assert code == 2, (argv, err)
    assert len(errors) == 1 and "Traceback" not in err, err
    if match is not None:
        assert match in errors[0], errors[0]
    return errors[0]


@pytest.mark.parametrize("flags, match", [
    (["--batch-size", "0"], "batch_size must be an integer >= 1, got 0"),
    (["--batch-size", "-3"], "batch_size must be an integer >= 1, got -3"),
    (["--checkpoint-every", "0"], "checkpoint_every must be an integer >= 1"),
    (["--checkpoint-every", "-1"], "checkpoint_every must be an integer >= 1, got -1"),
    (["--log-every", "0"], "log_every must be an integer >= 1"),
    (["--log-every", "-4"], "log_every must be an integer >= 1"),
    (["--sample-every", "0"], "sample_every must be an integer >= 1"),
    (["--sample-every", "-2"], "sample_every must be an integer >= 1"),
    (["--threads", "-2"], "threads must be an integer >= 0"),
    (["--seed", "-1"], "seed must be an integer >= 0"),
    (["--steps", "0"], "steps must be an integer >= 1, got 0"),
    (["--steps", "-5"], "steps must be an integer >= 1"),
    (["--epochs", "-1"], "epochs must be a number > 0"),
    (["--minutes", "-2"], "minutes must be a number > 0"),
    (["--minutes", "0"], "minutes must be a number > 0"),
    (["--eval-n", "0"], "eval_n must be an integer >= 1"),
    (["--set", "lr_d=-0.1"], "lr_d must be a number > 0"),
    (["--set", "lr_g=0"], "lr_g must be a number > 0"),
    (["--set", "latent_dim=0"], "latent_dim must be an integer >= 1, got 0"),
    (["--set", "image_size=-8"], "image_size must be an integer >= 1"),
    (["--set", "g_hidden=[16,0]"], "g_hidden must be an integer >= 1 (each), got 0"),
    (["--set", "g_width=0"], "g_width must be an integer >= 1"),
    (["--set", "betas=[1.0,0.999]"], "betas are Adam's decay rates, each in [0, 1)"),
    (["--set", "betas=[-0.1,0.9]"], "in [0, 1)"),
    (["--set", "lr_d=NaN"], "lr_d must be a finite number"),
])
def test_train_flags_out_of_range(tmp_path, capsys, flags, match):
    one_error_line(capsys, [*TINY, "--out", str(tmp_path), *flags], match)
    assert not (tmp_path / "r").exists()


def test_sample_and_eval_counts(run, tmp_path, capsys):
    one_error_line(capsys, ["sample", str(run), "--out", str(tmp_path / "g.png"), "--batch-size", "0"], "--batch-size")
    one_error_line(capsys, ["sample", str(run), "--out", str(tmp_path / "g.png"), "-n", "0"], "-n must be")
    one_error_line(capsys, ["eval", str(run), "-n", "0"], "-n must be at least 1")


def _edit_config(run, **changes):
    info = json.loads((run / "config.json").read_text())
    info.update(changes)
    (run / "config.json").write_text(json.dumps(info))


def test_weights_of_the_wrong_shape_name_the_checkpoints_model_and_config(fresh_run, tmp_path, capsys):
    info = json.loads((fresh_run / "config.json").read_text())
    _edit_config(fresh_run, model_config={**info["model_config"], "latent_dim": 5})
    line = one_error_line(capsys, ["sample", str(fresh_run), "--out", str(tmp_path / "g.png")], "do not fit gan")
    assert '"latent_dim": 8' in line and "made with gan" in line


def test_weights_from_another_model(fresh_run, tmp_path, capsys):
    _edit_config(fresh_run, model="dcgan", model_config={"latent_dim": 8, "image_size": 8})
    line = one_error_line(capsys, ["sample", str(fresh_run), "--out", str(tmp_path / "g.png")], "do not fit dcgan")
    assert "made with gan" in line


@pytest.mark.parametrize("text, match", [
    ("[1, 2]", "must hold a JSON object"),
    ('{"model_config": {}}', "names no model"),
    ('{"model": "gan", "model_config": [1]}', '"model_config" must be a JSON object'),
    ("{not json", "not valid JSON"),
])
def test_broken_config_json(fresh_run, tmp_path, capsys, text, match):
    (fresh_run / "config.json").write_text(text)
    for argv in (["sample", str(fresh_run), "--out", str(tmp_path / "g.png")], ["train", "--resume", str(fresh_run)]):
        one_error_line(capsys, argv, match)


def test_files_that_are_not_utf8_where_json_is_expected(fresh_run, tmp_path, capsys):
    original = (fresh_run / "config.json").read_bytes()
    (fresh_run / "config.json").write_bytes(b"\xff\xfe\x00{" + original)
    one_error_line(capsys, ["sample", str(fresh_run), "--out", str(tmp_path / "g.png")], "not UTF-8")
    (fresh_run / "config.json").write_bytes(original)
    ckpt = checkpoint.latest_checkpoint(fresh_run)
    (ckpt / "state.json").write_bytes(b"\x80\x81\x82")
    one_error_line(capsys, ["train", "--resume", str(fresh_run), "--steps", "4"], "damaged")


def test_state_json_that_does_not_match_state_safetensors(fresh_run, capsys):
    ckpt = checkpoint.latest_checkpoint(fresh_run)
    document = json.loads((ckpt / "state.json").read_text())
    text = json.dumps(document["state"]).replace('"__tensor__": "s.rng.torch"', '"__tensor__": "s.no.such.tensor"')
    document["state"] = json.loads(text)
    (ckpt / "state.json").write_text(json.dumps(document))
    one_error_line(capsys, ["train", "--resume", str(fresh_run), "--steps", "4"], "does not match state.safetensors")


def test_bit_flipped_weights_are_refused(fresh_run, tmp_path, capsys):
    ckpt = checkpoint.latest_checkpoint(fresh_run)
    data = bytearray((ckpt / "model.safetensors").read_bytes())
    data[-3] ^= 0x10  # inside the last tensor's bytes: the file still parses, its values are wrong
    (ckpt / "model.safetensors").write_bytes(bytes(data))
    one_error_line(capsys, ["sample", str(fresh_run), "--out", str(tmp_path / "g.png")], "checksum")


def test_resume_with_fewer_steps_than_done(fresh_run, capsys):
    one_error_line(capsys, ["train", "--resume", str(fresh_run), "--steps", "1"], "already at step 2")
    assert json.loads((fresh_run / "config.json").read_text())["train"]["steps"] == 2  # the budget is not rewritten


def test_disk_full_during_a_checkpoint_keeps_the_previous_one(fresh_run, capsys, monkeypatch):
    real_save = checkpoint.save_file

    def full(tensors, path):
        if "state" in path:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(tensors, path)

    monkeypatch.setattr(checkpoint, "save_file", full)
    line = one_error_line(capsys, ["train", "--resume", str(fresh_run), "--steps", "3"], "the disk is full")
    assert "step-00000002 is kept" in line
    root = fresh_run / "checkpoints"
    assert sorted(p.name for p in root.iterdir()) == ["latest", "step-00000002"]  # no temporary files left
    assert checkpoint.latest_checkpoint(fresh_run).name == "step-00000002"
