"""A minimal Chrome DevTools protocol client over aiohttp, for the browser tests and screenshots.

`launch_chromium()` starts the system's headless Chromium (Debian's `chromium`; nothing downloads a
browser) on a free DevTools port; `Page.open()` makes a tab and drives it: `call` sends a protocol
command, `evaluate` runs JavaScript and returns its JSON value, and `events` keeps every event the
tab sent (console messages, exceptions, network requests) for the caller to inspect.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp

from gankit.errors import GankitError

FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-default-apps", "--mute-audio",
         "--window-size=1280,900", "--remote-debugging-port=0", "--remote-allow-origins=*")


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """A headless Chromium process and the port of its DevTools endpoint."""

    def __init__(self, process: subprocess.Popen, port: int, profile: str) -> None:
        self.process, self.port, self.profile = process, port, profile

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def launch_chromium(timeout: float = 60.0) -> Browser:
    """Start headless Chromium; GankitError when it is missing or does not come up."""
    binary = find_chromium()
    if binary is None:
        raise GankitError("chromium is not installed: `apt-get install -y chromium` (make test does it as root)")
    profile = tempfile.mkdtemp(prefix="gankit-chromium-")
    process = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    assert process.stderr is not None
    for line in process.stderr:  # Chromium prints "DevTools listening on ws://127.0.0.1:PORT/..." when up
        found = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
        if found:
            browser = Browser(process, int(found.group(1)), profile)
            # Keep draining stderr so that Chromium never blocks on a full pipe.
            threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()
            return browser
        if time.monotonic() > deadline:
            break
    process.kill()
    raise GankitError("chromium started but its DevTools endpoint never came up")


class Page:
    """One tab, driven over its DevTools WebSocket."""

    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse, target: dict) -> None:
        self.http, self.ws, self.target = http, ws, target
        self.events: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, http: aiohttp.ClientSession, port: int) -> Page:
        async with http.put(f"http://127.0.0.1:{port}/json/new?about:blank") as response:
            target = await response.json(content_type=None)
        ws = await http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        return cls(http, ws, target)

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            future = self._pending.pop(data.get("id"), None) if "id" in data else None
            if future is not None and not future.done():
                future.set_result(data)
            elif "method" in data:
                self.events.append(data)

    async def call(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        await self.ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        reply = await asyncio.wait_for(future, timeout)
        if "error" in reply:
            raise GankitError(f"DevTools {method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise GankitError(f"page error in {expression[:60]!r}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 20.0, interval: float = 0.05) -> Any:
        """Poll `expression` until it is truthy; its value, or TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"the page never made {expression!r} true in {timeout:.0f} s")
            await asyncio.sleep(interval)

    async def screenshot(self, path: str | Path) -> Path:
        data = await self.call("Page.captureScreenshot", format="png")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    async def close(self) -> None:
        self._reader.cancel()
        await self.ws.close()
        port = self.http_port
        async with self.http.get(f"http://127.0.0.1:{port}/json/close/{self.target['id']}"):
            pass

    @property
    def http_port(self) -> int:
        return int(re.search(r":(\d+)/", self.target["webSocketDebuggerUrl"]).group(1))
