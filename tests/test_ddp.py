"""Data parallelism with two CPU processes on gloo, launched by torchrun."""

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from gankit.engine.checkpoint import latest_checkpoint


def test_two_gloo_processes_stay_in_sync_and_write_one_run(tmp_path):
    worker = Path(__file__).with_name("ddp_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GANKIT_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(worker), str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = load_file(tmp_path / "rank0.safetensors"), load_file(tmp_path / "rank1.safetensors")
    params = [k for k in a if "running" not in k and "num_batches" not in k]
    assert params and all(torch.equal(a[k], b[k]) for k in params), "averaged gradients keep the replicas identical"
    run = tmp_path / "ddp"
    assert latest_checkpoint(run).name == "step-00000006"
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5, 6], "only rank 0 writes the log"
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["ddp"]
