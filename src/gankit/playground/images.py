"""The playground's image mode: the classic MNIST `gan`, trained by gankit's own engine in chunks.

Each chunk is an ordinary run step: `api.train("gan", "mnist", ...)` for the first `chunk` steps, then
`api.resume(run, steps=...)` with a budget `chunk` steps larger, so the run folder is at every moment
an ordinary gankit run (config.json, checkpoints) that `gankit sample` and `gankit train --resume`
accept; "Save run" only reports its path. After each chunk the page gets a grid of 64 samples from
a fixed seed and the chunk's losses; every `eval_every` steps the engine's own in-training
evaluation adds fid[lenet-mnist] on `eval_n` samples. Slower to update than the 2-D mode (a chunk
reloads the run: about 2-3 s of overhead on a CPU), and a pause takes effect between chunks.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from gankit.errors import GankitError
from gankit.playground.frames import encode_frame

GRID = 64


class ImageTrainer(threading.Thread):
    """Trains `model` on `data` in chunks in the background; same `submit`/`publish` protocol as the
    2-D `Trainer` (commands: play, pause, step, reset, save, hello)."""

    def __init__(self, publish: Callable[[str, Any], None], out: Path = Path("runs"), model: str = "gan",
                 data: str = "mnist", chunk: int = 200, eval_every: int = 1000, eval_n: int = 2000,
                 seed: int = 0) -> None:
        super().__init__(name="gankit-playground-images", daemon=True)
        self.publish, self.out, self.model, self.data = publish, out, model, data
        self.chunk, self.eval_every, self.eval_n, self.seed = chunk, eval_every, eval_n, seed
        self.commands: queue.Queue[dict[str, Any]] = queue.Queue()
        self.playing, self.run_dir, self.step_count = False, None, 0
        self.stopping = threading.Event()
        self.losses: dict[str, float] = {}
        self.fid: list[list[float]] = []

    def submit(self, command: dict[str, Any]) -> None:
        self.commands.put(command)

    def stop(self) -> None:
        self.stopping.set()
        self.commands.put({"type": "noop"})

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                command = self.commands.get(timeout=0 if self.playing else 0.1)
            except queue.Empty:
                command = None
            try:
                if command is not None:
                    self._apply(command)
                elif self.playing:
                    self._chunk()
                    self._frame()
            except GankitError as exc:
                self.playing = False
                self.publish("message", {"type": "error", "message": str(exc)})

    def _apply(self, command: dict[str, Any]) -> None:
        kind = command.get("type")
        if kind == "noop":
            return
        if kind in ("play", "pause"):
            self.playing = kind == "play"
        elif kind == "step":
            self.playing = False
            self._chunk()
        elif kind == "reset":
            self.playing, self.run_dir, self.step_count, self.losses, self.fid = False, None, 0, {}, []
        elif kind == "save":
            if self.run_dir is None:
                raise GankitError("nothing to save yet: play or step first")
            self.publish("message", {"type": "saved", "path": str(self.run_dir)})
        elif kind != "hello":
            raise GankitError(f"image mode has no command {kind!r}")
        self._frame()

    def _chunk(self) -> None:
        from gankit import api

        budget = self.step_count + self.chunk
        common = {"progress": "off", "threads": 1, "eval_every": self.eval_every, "eval_n": self.eval_n,
                  "sample_every": self.eval_every, "checkpoint_every": self.chunk}
        if self.run_dir is None:
            self.run_dir = api.train(self.model, self.data, out=self.out, steps=budget, seed=self.seed, **common)
        else:
            api.resume(self.run_dir, steps=budget, **common)
        self.step_count = budget
        for line in (self.run_dir / "log.jsonl").read_text().splitlines():
            row = json.loads(line)
            if "loss/d" in row:
                self.losses = {k: row[k] for k in ("loss/d", "loss/g") if k in row}
            fid = next((v for k, v in row.items() if k.startswith("eval/fid")), None)
            if fid is not None and (not self.fid or self.fid[-1][0] < row["step"]):
                self.fid.append([row["step"], fid])

    def _frame(self) -> None:
        if self.run_dir is None:
            grid = torch.zeros(0, 28, 28)
        else:
            from gankit import api

            model = api.load(self.run_dir)
            with torch.no_grad():
                images = model.sample(GRID, generator=torch.Generator(model.device).manual_seed(0))  # (64, C, H, W)
            grid = images.mean(1).cpu()  # (64, H, W) in [-1, 1]
        info = {"mode": "image", "model": self.model, "iteration": self.step_count, "playing": self.playing,
                "losses": self.losses, "fid": self.fid, "run": None if self.run_dir is None else str(self.run_dir)}
        self.publish("frame", encode_frame({"arrays": {"grid": grid}, "info": info}))
