"""Nothing lost, nothing silent: NaN weights, the run lock, crashed runs, signals, kill -9 in a checkpoint write."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

import gankit
from gankit.api import resume, train
from gankit.cli import main
from gankit.data.files import read_image
from gankit.engine import TrainConfig, Trainer, checkpoint
from gankit.errors import GankitError, NonFiniteLossError

TINY = dict(preset="tiny", batch_size=16, log_every=1, sample_every=1000, max_images=64, progress="off")
CLI = ["--preset", "tiny", "--batch-size", "16", "--log-every", "1", "--sample-every", "1000", "--max-images", "64",
       "--progress", "off"]


def _poison_weights_at(model, call):
    real_step, calls = model.train_step, {"n": 0}

    def poisoned(batch):
        calls["n"] += 1
        logs = real_step(batch)
        if calls["n"] == call:  # the losses stay finite: only the weights go bad
            with torch.no_grad():
                next(model.generator.parameters()).fill_(float("nan"))
        return logs

    model.train_step = poisoned


def test_nan_weights_are_never_checkpointed(tmp_path, mnist_small):
    from gankit.errors import NonFiniteWeightsError

    model = gankit.create_model("gan", preset="tiny")
    _poison_weights_at(model, 4)
    config = TrainConfig(batch_size=32, steps=10, checkpoint_every=2, log_every=1, sample_every=100)
    with pytest.raises(NonFiniteWeightsError) as info:
        Trainer(model, mnist_small.fit(8, 1), config, tmp_path / "run").fit()
    assert checkpoint.latest_checkpoint(tmp_path / "run").name == "step-00000002"
    assert not (tmp_path / "run" / "checkpoints" / "step-00000004").exists()
    message = str(info.value)
    assert "at step 4" in message and "(step 2)" in message
    assert f"gankit train --resume {tmp_path / 'run'} --set lr_g=0.0001 --set lr_d=0.0001" in message


def test_nan_before_the_first_checkpoint_says_none_was_written(tmp_path, mnist_small):
    model = gankit.create_model("gan", preset="tiny")
    real_step = model.train_step
    model.train_step = lambda batch: {**real_step(batch), "loss/d": torch.tensor(float("nan"))}
    config = TrainConfig(batch_size=32, steps=10, checkpoint_every=100, log_every=1, sample_every=100)
    with pytest.raises(NonFiniteLossError) as info:
        Trainer(model, mnist_small.fit(8, 1), config, tmp_path / "run").fit()
    assert "no checkpoint was written yet" in str(info.value) and "(step 0)" not in str(info.value)
    assert checkpoint.latest_checkpoint(tmp_path / "run") is None


def test_verbs_refuse_nan_weights(tmp_path, capsys):
    from gankit.errors import NonFiniteWeightsError

    run = train("gan", "mnist", out=tmp_path, name="r", steps=2, **TINY)
    ckpt = checkpoint.latest_checkpoint(run)
    weights = checkpoint.load_model_state(ckpt)
    next(v for v in weights.values() if v.is_floating_point()).fill_(float("nan"))
    save_file(weights, str(ckpt / "model.safetensors"))
    document = json.loads((ckpt / "state.json").read_text())
    document["sha256"]["model.safetensors"] = checkpoint._sha256(ckpt / "model.safetensors")
    (ckpt / "state.json").write_text(json.dumps(document))  # a NaN checkpoint that is otherwise intact
    with pytest.raises(NonFiniteWeightsError):
        gankit.load(run)
    assert main(["sample", str(run), "--out", str(tmp_path / "g.png")]) == 2
    err = capsys.readouterr().err
    assert "gankit: error:" in err and "NaN" in err and not (tmp_path / "g.png").exists()


def test_resume_with_set_changes_the_restored_optimizers(tmp_path, capsys):
    run = tmp_path / "r"
    assert main(["train", "gan", *CLI, "--steps", "2", "--out", str(tmp_path), "--name", "r"]) == 0
    assert main(["train", "--resume", str(run), "--steps", "4", "--set", "lr_d=0.0001"]) == 0
    assert json.loads((run / "config.json").read_text())["model_config"]["lr_d"] == 0.0001
    state = checkpoint.load_train_state(checkpoint.latest_checkpoint(run))
    assert state["optimizers"]["discriminator"]["param_groups"][0]["lr"] == 0.0001
    assert state["optimizers"]["generator"]["param_groups"][0]["lr"] == 0.0002


def _hold_lock(run):
    code = f"from gankit.engine.lock import RunLock; import time; RunLock({str(run)!r}).acquire(); print('held', flush=True); time.sleep(60)"
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_process_on_one_run_is_refused(tmp_path, capsys):
    run = train("gan", "mnist", out=tmp_path, name="r", steps=2, **TINY)
    holder = _hold_lock(run)
    try:
        assert main(["train", "--resume", str(run), "--steps", "4"]) == 2
        err = capsys.readouterr().err
        assert f"in use by process {holder.pid}" in err and len(err.strip().splitlines()) == 1
        assert main(["train", "gan", *CLI, "--steps", "2", "--out", str(tmp_path), "--name", "new"]) == 0
        holder_new = _hold_lock(tmp_path / "other")  # `train --name X` locks before it checks "exists"
        try:
            assert main(["train", "gan", *CLI, "--steps", "2", "--out", str(tmp_path), "--name", "other"]) == 2
            assert f"in use by process {holder_new.pid}" in capsys.readouterr().err
            assert not (tmp_path / "other" / "log.jsonl").exists()
        finally:
            holder_new.kill()
            holder_new.wait()
    finally:
        holder.kill()
        holder.wait()
    assert main(["train", "--resume", str(run), "--steps", "4"]) == 0  # its lock died with it: taken over
    assert checkpoint.latest_checkpoint(run).name == "step-00000004"


def test_a_stale_lock_file_of_a_dead_pid_is_taken_over(tmp_path):
    from gankit.engine.lock import RunLock

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "lock").write_text(str(dead.pid))
    with RunLock(tmp_path / "r") as lock:
        assert (tmp_path / "r" / "lock").read_text() == str(os.getpid())
        with pytest.raises(GankitError, match=f"in use by process {os.getpid()}"):
            RunLock(tmp_path / "r").acquire()
    assert lock._fd is None and not (tmp_path / "r" / "lock").exists()


def _losses(run):
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return [(r["step"], r["loss/d"], r["loss/g"]) for r in rows if "loss/d" in r]


def test_a_run_killed_before_its_first_checkpoint_resumes_from_step_0(tmp_path, capsys):
    whole = train("gan", "mnist", out=tmp_path, name="whole", steps=4, seed=5, **TINY)
    crashed = train("gan", "mnist", out=tmp_path, name="crashed", steps=4, seed=5, **TINY)
    root = crashed / "checkpoints"
    for p in root.glob("step-*"):
        p.rename(root / f".tmp-{p.name}-999")  # what a kill inside the first write leaves
    (root / "latest").rename(root / ".latest.999.tmp")
    with open(crashed / "log.jsonl", "a") as fh:
        fh.write('{"step": 1, "loss/d": 0.0, "loss/g": 0.0}\n')  # rows of the lost steps
    assert main(["train", "--resume", str(crashed)]) == 0
    assert "no checkpoint yet: training it from step 0" in capsys.readouterr().err
    assert _losses(crashed) == _losses(whole)
    assert sorted(p.name for p in root.iterdir()) == ["latest", "step-00000004"]  # temporaries removed


def _spawn(argv, env_code=""):
    code = textwrap.dedent(env_code) + f"\nimport sys\nfrom gankit.cli import main\nsys.exit(main({argv!r}))\n"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


def test_sigterm_writes_one_checkpoint_and_says_how_to_resume(tmp_path):
    run = tmp_path / "r"
    proc = _spawn(["train", "gan", *CLI, "--steps", "100000", "--checkpoint-every", "100000", "--out", str(tmp_path),
                   "--name", "r"])
    deadline = time.monotonic() + 60
    while not ((run / "log.jsonl").is_file() and (run / "log.jsonl").read_text().count("\n") >= 3):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert f"resume with gankit train --resume {run}" in err and "Traceback" not in err
    ckpts = [p.name for p in (run / "checkpoints").glob("step-*")]
    assert len(ckpts) == 1
    step = checkpoint.load_train_state(checkpoint.latest_checkpoint(run))["step"]
    assert f"stopped at step {step}" in err and step >= 3
    resume(run, steps=step + 2)
    assert checkpoint.latest_checkpoint(run).name == f"step-{step + 2:08d}"


def test_kill_9_inside_a_checkpoint_write(tmp_path):
    run = tmp_path / "r"
    assert main(["train", "gan", *CLI, "--steps", "2", "--out", str(tmp_path), "--name", "r"]) == 0
    stall = """
        import time
        from gankit.engine import checkpoint
        real = checkpoint.save_file
        def stalls(tensors, path):
            real(tensors, path)
            print("inside", flush=True)  # weights written, state not, nothing committed
            time.sleep(120)
        checkpoint.save_file = stalls
    """
    proc = _spawn(["train", "--resume", str(run), "--steps", "4"], stall)
    assert proc.stdout.readline().strip() == "inside"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list((run / "checkpoints").glob(".tmp-step-*"))  # the write was cut half way
    assert checkpoint.latest_checkpoint(run).name == "step-00000002"
    assert main(["train", "--resume", str(run), "--steps", "4"]) == 0  # the dead process's lock is taken over
    assert checkpoint.latest_checkpoint(run).name == "step-00000004"
    assert not list((run / "checkpoints").glob(".tmp-*"))
    assert [s for s, *_ in _losses(run)] == [1, 2, 3, 4]


def test_sixteen_bit_pngs_are_scaled_not_clipped(tmp_path):
    ramp = (np.arange(32 * 32).reshape(32, 32) * 64).astype(np.uint16)  # 0 .. 65472
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    pixels = read_image(tmp_path / "deep.png", 1)
    assert (pixels == 255).float().mean() < 0.01
    assert abs(pixels.float().mean().item() - ramp.mean() / 257) < 1


def test_sixteen_bit_pngs_train_scaled_too(tmp_path):
    """The training readers (an image folder, aligned A | B pairs) scale 16-bit PNGs like `read_image`."""
    from gankit.data.folder import load_folder
    from gankit.data.pairs import load_aligned_folder

    ramp = (np.arange(32 * 32).reshape(32, 32) * 64).astype(np.uint16)  # 0 .. 65472
    (tmp_path / "imgs").mkdir()
    Image.fromarray(ramp).save(tmp_path / "imgs" / "deep.png")
    pixels = load_folder(tmp_path / "imgs", 32, 1, use_cache=False).images
    assert (pixels == 255).float().mean() < 0.01 and abs(pixels.float().mean().item() - ramp.mean() / 257) < 1
    (tmp_path / "pairs" / "train").mkdir(parents=True)
    for i in range(2):  # a translation needs two pairs at least
        Image.fromarray(np.concatenate([ramp, ramp], axis=1)).save(tmp_path / "pairs" / "train" / f"p{i}.png")
    pair = load_aligned_folder(tmp_path / "pairs", "train", 32, 1, 1)
    for half in (pair.a.images, pair.b.images):
        assert (half == 255).float().mean() < 0.01 and abs(half.float().mean().item() - ramp.mean() / 257) < 1


def test_a_resume_that_changes_the_total_says_so(tmp_path, capsys):
    run = tmp_path / "r"
    assert main(["train", "gan", *CLI, "--steps", "4", "--lr-decay-from", "0.5", "--out", str(tmp_path),
                 "--name", "r"]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "8"]) == 0
    assert "changes the run's total from 4 to 8 steps" in capsys.readouterr().err


def test_eval_warns_when_too_few_images_for_the_features(tmp_path, capsys):
    run = train("gan", "mnist", out=tmp_path, name="r", steps=2, **TINY)
    assert main(["eval", str(run), "-n", "20", "--metrics", "fid", "--no-capability", "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "gankit: warning: 20 images for 128-dimensional lenet-mnist features" in err


def test_embedded_digit_data_without_a_preset_uses_the_proofs_preset(tmp_path, capsys):
    argv = ["train", "pix2pix", "--data", "edges2digits", "--steps", "1", "--batch-size", "2", "--max-images", "4",
            "--sample-every", "1000", "--progress", "off", "--out", str(tmp_path)]
    assert main([*argv, "--name", "d"]) == 0
    err = capsys.readouterr().err
    assert "using the preset 'digits' the proofs train with (--preset paper for the paper's nets)" in err
    info = json.loads((tmp_path / "d" / "config.json").read_text())
    assert info["preset"] == "digits" and info["model_config"]["g_width"] == 16  # the paper's is 64
    paper = gankit.create_model("pix2pix", preset="paper").config
    assert paper == type(paper)()  # `paper` is the defaults, for every variant
