"""The playground's local web server: aiohttp, a training thread, and one WebSocket per page.

Why aiohttp: one dependency gives the HTTP server with WebSockets and, for the browser tests, a
WebSocket client that drives Chromium through its DevTools protocol, so the tests need neither
Selenium nor Playwright (nor a downloaded browser).

The training thread owns the `Playground`; pages send JSON commands (`reset`, `config`, `play`,
`pause`, `step`, `d_step`, `g_step`, `slow`, `points`, `csv`, `save`, `hello`), which the thread applies between
iterations. It publishes binary frames (`gankit.playground.frames`) at most `fps` times a second; each
page keeps only the latest unsent frame, so a page that falls behind skips frames instead of
queueing them. Errors in a command (a malformed CSV, an unknown loss) come back as one JSON line,
`{"type": "error", "message": ...}`, which the page shows.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from aiohttp import WSMsgType, web

from gankit.errors import GankitError
from gankit.playground.config import from_query
from gankit.playground.frames import encode_frame
from gankit.playground.images import ImageTrainer
from gankit.playground.session import Playground
from gankit.playground.toy import parse_csv

STATIC = Path(__file__).parent / "static"
SLOW_PAUSE = 0.7  # seconds each phase of an iteration stays on the page in slow motion
CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'"
PHASES = {"d": "D step: D's surface moved; the fakes stayed", "g": "G step: the fakes moved along the arrows"}


class Trainer(threading.Thread):
    """Trains in the background; `submit` queues a command, `publish(kind, payload)` reports back
    (kind "frame" with bytes, or "message" with a JSON-ready dict)."""

    def __init__(self, publish: Callable[[str, Any], None], fps: float = 20.0, out: Path = Path("runs"),
                 playground: Playground | None = None) -> None:
        super().__init__(name="gankit-playground", daemon=True)
        self.publish, self.fps, self.out = publish, fps, out
        self.pg = playground or Playground()
        self.commands: queue.Queue[dict[str, Any]] = queue.Queue()
        self.playing = self.slow = False
        self.stopping = threading.Event()
        self.last_frame = 0.0
        self.iterations = 0  # since start, for the speed figure

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
            if command is not None:
                self._safely(self._apply, command)
                continue  # drain every queued command before the next iteration
            if self.playing:
                self._safely(self._iterate)

    def _safely(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except GankitError as exc:
            self.playing = False
            self.publish("message", {"type": "error", "message": str(exc)})
            try:
                self._frame()
            except GankitError:
                pass

    def _iterate(self) -> None:
        if self.slow:
            self.pg.step(on_phase=lambda phase: (self._frame(PHASES[phase]), self.stopping.wait(SLOW_PAUSE)))
        else:
            self.pg.step()
            if time.monotonic() - self.last_frame >= 1 / self.fps:
                self._frame()
        self.iterations += 1

    def _frame(self, phase: str = "") -> None:
        frame = self.pg.frame(phase)
        frame["info"] |= {"playing": self.playing, "slow": self.slow}
        self.publish("frame", encode_frame(frame))
        self.last_frame = time.monotonic()

    def _apply(self, command: dict[str, Any]) -> None:
        kind = command.get("type")
        if kind == "noop":
            return
        if kind == "hello":  # a page without a query in its address: show the current run
            pass
        elif kind == "reset":
            config, points = from_query(command.get("query", ""))
            self.pg = Playground(config, points if points is not None else self.pg.points)
        elif kind == "config":
            config, points = from_query(command.get("query", ""), base=self.pg.config)
            self.pg.configure(config, points)
        elif kind in ("play", "pause"):
            self.playing = kind == "play"
        elif kind == "slow":
            self.slow = bool(command.get("on"))
        elif kind in ("step", "d_step", "g_step"):
            self.playing = False
            if kind == "step" and self.slow:
                self._iterate()
            else:
                getattr(self.pg, kind)()
        elif kind == "points":
            self.pg.configure(self.pg.config.replace(data="drawn"), command.get("points"))
        elif kind == "csv":
            self.pg.configure(self.pg.config.replace(data="csv"), parse_csv(str(command.get("text", ""))))
        elif kind == "save":
            folder = self.out / time.strftime("playground-%Y%m%d-%H%M%S")
            self.pg.save(folder)
            self.publish("message", {"type": "saved", "path": str(folder)})
        else:
            raise GankitError(f"unknown command {kind!r}")
        self._frame()


class Client:
    """One page: its mode ("2d" or "image"), its latest unsent frame (older ones are dropped) and its
    queued messages."""

    def __init__(self) -> None:
        self.mode = "2d"
        self.frame: bytes | None = None
        self.messages: deque[str] = deque()
        self.wake = asyncio.Event()


class Hub:
    """Hands what the training thread publishes to every connected page, on the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.clients = loop, set()

    def publisher(self, mode: str) -> Callable[[str, Any], None]:
        """What the trainer of `mode` publishes with, from its thread: it reaches the pages in that mode."""
        return lambda kind, payload: self.loop.call_soon_threadsafe(self._deliver, mode, kind, payload)

    def _deliver(self, mode: str, kind: str, payload: Any) -> None:
        for client in self.clients:
            if client.mode != mode:
                continue
            if kind == "frame":
                client.frame = payload  # keep only the latest
            else:
                client.messages.append(json.dumps(payload))
            client.wake.set()


def make_app(out: Path = Path("runs"), playground: Playground | None = None,
             image_options: dict[str, Any] | None = None) -> web.Application:
    """The aiohttp application: `/` (the page), `/static/*`, `/ws` (frames and commands). A page's
    commands carry `"mode": "image"` for the image mode; the others drive the 2-D mode."""
    app = web.Application()

    async def start(app: web.Application) -> None:
        hub = Hub(asyncio.get_running_loop())
        app["hub"] = hub
        app["trainers"] = {"2d": Trainer(hub.publisher("2d"), out=out, playground=playground),
                           "image": ImageTrainer(hub.publisher("image"), out=out, **(image_options or {}))}
        for trainer in app["trainers"].values():
            trainer.start()

    async def stop(app: web.Application) -> None:
        for trainer in app["trainers"].values():
            trainer.stop()
        for trainer in app["trainers"].values():
            trainer.join(timeout=5)

    @web.middleware
    async def headers(request: web.Request, handler: Callable) -> web.StreamResponse:
        response = await handler(request)
        response.headers["Content-Security-Policy"] = CSP  # the page may load nothing from elsewhere
        response.headers["Cache-Control"] = "no-store"
        return response

    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=64 * 2**20)
        await ws.prepare(request)
        client = Client()
        hub, trainers = request.app["hub"], request.app["trainers"]
        hub.clients.add(client)
        sender = asyncio.create_task(_send(ws, client))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    command = json.loads(msg.data)
                    if not isinstance(command, dict):
                        raise ValueError("not an object")
                except ValueError:
                    client.messages.append(json.dumps({"type": "error", "message": "commands are JSON objects"}))
                    client.wake.set()
                    continue
                client.mode = "image" if command.get("mode") == "image" else "2d"
                trainers[client.mode].submit(command)
        finally:
            hub.clients.discard(client)
            sender.cancel()
        return ws

    app.middlewares.append(headers)
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_get("/", index)
    app.router.add_get("/ws", websocket)
    app.router.add_static("/static", STATIC)
    return app


async def _send(ws: web.WebSocketResponse, client: Client) -> None:
    while not ws.closed:
        await client.wake.wait()
        client.wake.clear()
        while client.messages:
            await ws.send_str(client.messages.popleft())
        if client.frame is not None:
            data, client.frame = client.frame, None
            await ws.send_bytes(data)  # awaits the socket: frames published meanwhile replace each other


def serve(host: str = "127.0.0.1", port: int = 8765, out: str | os.PathLike = "runs", threads: int = 1,
          load: str | os.PathLike | None = None, image_chunk: int = 200, image_eval_every: int = 1000) -> None:
    """Run the server until Ctrl-C; a port in use is one GankitError. Prints the page's address."""
    if image_chunk < 1 or image_eval_every < 0:
        raise GankitError(f"--image-chunk must be >= 1 and --image-eval-every >= 0, got {image_chunk}, "
                          f"{image_eval_every}")
    torch.set_num_threads(threads)
    playground = Playground.load(load) if load is not None else None
    app = make_app(out=Path(out), playground=playground,
                   image_options={"chunk": image_chunk, "eval_every": image_eval_every})

    async def main() -> None:
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            if exc.errno == errno.EADDRINUSE:
                raise GankitError(f"port {port} on {host} is in use: stop the other server or choose "
                                  "another with --port") from None
            raise GankitError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        bound = site._server.sockets[0].getsockname()[1] if site._server else port  # the port when 0 was asked
        print(f"gankit playground: http://{host}:{bound}/ (Ctrl-C stops)", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    asyncio.run(main())
