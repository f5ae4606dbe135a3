"""`gankit playground` in a real browser: Debian's headless Chromium driven over the DevTools protocol
(aiohttp's WebSocket client, `gankit.playground.devtools`), against the real CLI server.

These tests FAIL, never skip, when Chromium is missing: `make test` installs it as root, and CI must
not go green without them. One server and one browser serve the whole module; each test opens its
own tab and resets the run through its URL.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
import torch

from gankit.playground import Playground, from_query
from gankit.playground.devtools import Page, find_chromium, launch_chromium

SMALL = "g_layers=1&g_width=16&d_layers=1&d_width=16&batch_size=64"


def test_chromium_is_installed():
    assert find_chromium(), "chromium is missing: `apt-get install -y chromium` (make test installs it as root)"


@pytest.fixture(scope="module")
def browser():
    if find_chromium() is None:
        pytest.fail("chromium is missing: `apt-get install -y chromium` (make test installs it as root)")
    b = launch_chromium()
    yield b
    b.close()


def _start_server(args: list[str]) -> tuple[subprocess.Popen, list[str]]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gankit.cli", "playground", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []
    return proc, lines


def _read_until(proc: subprocess.Popen, lines: list[str], pattern: str, timeout: float = 90) -> re.Match | None:
    """Read the server's output until a line matches `pattern` (or it exits / times out)."""
    found: list[re.Match] = []

    def read():
        for line in proc.stdout:
            lines.append(line)
            m = re.search(pattern, line)
            if m:
                found.append(m)
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    return found[0] if found else None


def _serving(out, *args: str):
    """A `gankit playground` on a free port writing into `out`: yields its url, port and out folder."""
    proc, lines = _start_server(["--port", "0", "--out", str(out), *args])
    match = _read_until(proc, lines, r"http://127\.0\.0\.1:(\d+)/")
    if match is None:
        proc.kill()
        pytest.fail(f"the server did not start: {''.join(lines)[-2000:]}")
    yield {"url": f"http://127.0.0.1:{match.group(1)}/", "port": int(match.group(1)), "out": out}
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from _serving(tmp_path_factory.mktemp("saved"))


def in_page(browser, server, query: str, scenario: Callable[[Page], Awaitable[None]]) -> Page:
    """Open a tab on `server` with `query`, wait for its first frame, run `scenario(page)`."""
    async def main():
        async with aiohttp.ClientSession() as http:
            page = await Page.open(http, browser.port)
            try:
                for domain in ("Runtime", "Log", "Network", "Page"):
                    await page.call(f"{domain}.enable")
                await page.call("Page.navigate", url=f"{server['url']}?{query}")
                await page.wait_for("window.__pg && window.__pg.frames > 0 && window.__pg.info.iteration === 0")
                await scenario(page)
            finally:
                await page.close()
            return page
    return asyncio.run(main())


async def click(page: Page, button: str) -> None:
    await page.evaluate(f"document.getElementById({button!r}).click()")


async def iterations_reach(page: Page, n: int) -> None:
    await page.wait_for(f"window.__pg.info.iteration >= {n}")


def test_page_loads_from_loopback_without_console_errors(browser, server):
    async def scenario(page):
        await click(page, "step")
        await iterations_reach(page, 1)
    page = in_page(browser, server, SMALL, scenario)
    methods = [e["method"] for e in page.events]
    errors = [e for e in page.events if e["method"] == "Runtime.exceptionThrown"
              or (e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
              or (e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
    assert not errors, errors
    requests = [e["params"]["request"]["url"] for e in page.events if e["method"] == "Network.requestWillBeSent"]
    sockets = [e["params"]["url"] for e in page.events if e["method"] == "Network.webSocketCreated"]
    assert requests and sockets and "Network.webSocketFrameReceived" in methods
    origin = f"127.0.0.1:{server['port']}/"
    leaving = [u for u in requests + sockets if not re.match(rf"(https?|wss?)://{re.escape(origin)}|data:", u)]
    assert not leaving, leaving
    assert any(u.endswith("/static/app.js") for u in requests)


def test_frames_arrive_and_the_canvas_changes(browser, server):
    pixels = "(() => { const d = document.getElementById('view').getContext('2d').getImageData(0, 0, 560, 560).data;" \
             " let h = 0; for (let i = 0; i < d.length; i += 7) h = (h * 31 + d[i]) >>> 0; return h; })()"

    async def scenario(page):
        before, frames = await page.evaluate(pixels), await page.evaluate("window.__pg.frames")
        await click(page, "play")
        await page.wait_for(f"window.__pg.frames >= {frames + 5} && window.__pg.info.iteration > 20")
        await click(page, "play")  # pause
        await page.wait_for("window.__pg.info.playing === false")
        assert await page.evaluate(pixels) != before
        assert await page.evaluate("document.getElementById('play').textContent") == "Play"
    in_page(browser, server, f"{SMALL}&loss=nonsaturating", scenario)


def test_switching_the_loss_live_takes_effect_without_a_reset(browser, server):
    async def scenario(page):
        for _ in range(3):
            await click(page, "step")
        await iterations_reach(page, 3)
        await page.evaluate("(() => { const s = document.querySelector('[data-key=loss]'); s.value = 'hinge';"
                            " s.dispatchEvent(new Event('change')); })()")
        await page.wait_for("window.__pg.info.config.loss === 'hinge'")
        info = await page.evaluate("window.__pg.info")
        assert info["iteration"] == 3 and info["heat_kind"] == "critic"  # no reset, D now shown as a critic
        assert "loss=hinge" in await page.evaluate("location.search")
        await click(page, "step")
        await iterations_reach(page, 4)
    in_page(browser, server, f"{SMALL}&loss=nonsaturating", scenario)


def test_a_d_only_step_changes_the_heatmap_not_the_fakes(browser, server):
    grab = "({fake: Array.from(window.__pg.arrays.fake.data), heat: Array.from(window.__pg.arrays.heat.data)," \
           " frames: window.__pg.frames})"

    async def scenario(page):
        await click(page, "step")
        await iterations_reach(page, 1)
        before = await page.evaluate(grab)
        await click(page, "d_step")
        await page.wait_for(f"window.__pg.frames > {before['frames']}")
        after = await page.evaluate(grab)
        assert after["fake"] == before["fake"] and after["heat"] != before["heat"]
    in_page(browser, server, SMALL, scenario)


def test_the_same_url_gives_the_headless_runs_metrics(browser, server):
    query = f"{SMALL}&seed=11&loss=wgan_gp"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the server trains
    try:
        headless = Playground(from_query(query)[0])
        for _ in range(8):
            headless.step()
        expected = headless.metrics()
    finally:
        torch.set_num_threads(threads)
    seen = []

    async def scenario(page):
        for _ in range(8):
            await click(page, "step")
        await iterations_reach(page, 8)
        seen.append(await page.evaluate("window.__pg.info.metrics"))
    in_page(browser, server, query, scenario)
    in_page(browser, server, query, scenario)
    assert seen[0] == seen[1] == expected


def test_bad_input_is_one_message_on_the_page(browser, server):
    async def scenario(page):
        await page.evaluate("window.__pg.ws.send(JSON.stringify({type: 'csv', text: 'x,y\\n1,2\\n3,oops\\n'}))")
        text = await page.wait_for("document.getElementById('error').textContent")
        assert text == "CSV line 3: expected two numbers x,y, got '3,oops'"
        await page.evaluate("window.__pg.ws.send(JSON.stringify({type: 'config', query: 'loss=bogus'}))")
        text = await page.wait_for("document.getElementById('error').textContent.startsWith('loss=')")
        assert "is not one of nonsaturating, minimax" in await page.evaluate("document.getElementById('error').textContent")
    in_page(browser, server, SMALL, scenario)


def test_save_run_writes_a_run_that_reloads(browser, server):
    saved = []

    async def scenario(page):
        for _ in range(4):
            await click(page, "step")
        await iterations_reach(page, 4)
        await click(page, "save")
        message = await page.wait_for("window.__pg.messages.find(m => m.type === 'saved')")
        saved.append((message["path"], await page.evaluate("window.__pg.info.metrics")))
    in_page(browser, server, f"{SMALL}&seed=2", scenario)
    path, metrics = saved[0]
    run = Playground.load(path)
    assert run.iteration == 4 and run.metrics() == metrics
    # `gankit playground --load` serves the saved run: a page without a query shows it as it was.
    proc, lines = _start_server(["--port", "0", "--load", path])
    try:
        match = _read_until(proc, lines, r"http://127\.0\.0\.1:(\d+)/")
        assert match, "".join(lines)
        shown = []

        async def show(page):
            await page.call("Page.navigate", url=f"http://127.0.0.1:{match.group(1)}/")
            shown.append(await page.wait_for("window.__pg && window.__pg.frames > 0 && window.__pg.info"))

        async def main():
            async with aiohttp.ClientSession() as http:
                page = await Page.open(http, browser.port)
                try:
                    await show(page)
                finally:
                    await page.close()
        asyncio.run(main())
        assert shown[0]["iteration"] == 4 and shown[0]["metrics"] == metrics
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_drawing_points_makes_the_data(browser, server):
    async def scenario(page):
        await page.evaluate("(() => { const s = document.querySelector('[data-key=data]'); s.value = 'drawn';"
                            " s.dispatchEvent(new Event('change')); })()")
        box = await page.evaluate("(() => { const r = document.getElementById('view').getBoundingClientRect();"
                                  " return [r.left, r.top]; })()")
        for x, y in [(100, 100), (140, 120), (180, 140), (400, 420), (420, 440)]:
            for kind in ("mousePressed", "mouseReleased"):
                await page.call("Input.dispatchMouseEvent", type=kind, x=box[0] + x, y=box[1] + y, button="left",
                                clickCount=1)
        assert await page.evaluate("window.__pg.drawn.length") == 5
        await click(page, "usedrawn")
        await page.wait_for("window.__pg.info.config.data === 'drawn'")
        search = await page.evaluate("decodeURIComponent(location.search)")
        assert "data=drawn" in search and search.count(";") == 4  # five points in the URL
        first = await page.evaluate("window.__pg.drawn[0]")
        assert first[0] == pytest.approx(-1.2 + 100 / 560 * 2.4, abs=0.02)
        assert first[1] == pytest.approx(1.2 - 100 / 560 * 2.4, abs=0.02)
        await click(page, "step")
        await iterations_reach(page, 1)
    in_page(browser, server, SMALL, scenario)


def test_a_port_in_use_is_one_line(server):
    proc, lines = _start_server(["--port", str(server["port"])])
    out, _ = proc.communicate(timeout=90)
    assert proc.returncode == 2
    assert out.strip() == f"gankit: error: port {server['port']} on 127.0.0.1 is in use: stop the other server or " \
                          "choose another with --port"


@pytest.fixture(scope="module")
def image_server(tmp_path_factory):
    yield from _serving(tmp_path_factory.mktemp("image-runs"), "--image-chunk", "30", "--image-eval-every", "60")


def test_image_mode_updates_its_grid_and_saves_an_ordinary_run(browser, image_server, tmp_path):
    """Two chunks of 30 steps of the classic MNIST `gan`; the second ends with fid[lenet-mnist]."""
    grid = "(() => { const d = document.getElementById('grid').getContext('2d').getImageData(0, 0, 560, 560).data;" \
           " let h = 0; for (let i = 0; i < d.length; i += 5) h = (h * 31 + d[i]) >>> 0; return h; })()"
    saved = []

    async def scenario(page):
        await page.call("Page.navigate", url=f"{image_server['url']}?mode=image")
        await page.wait_for("window.__pg && window.__pg.frames > 0 && window.__pg.info.mode === 'image'")
        assert await page.evaluate("getComputedStyle(document.getElementById('mode2d')).display") == "none"
        assert await page.evaluate("getComputedStyle(document.getElementById('d_step')).display") == "none"
        await click(page, "step")
        await page.wait_for("window.__pg.info.iteration === 30", timeout=120)
        first = await page.evaluate(grid)
        assert await page.evaluate("window.__pg.arrays.grid.shape") == [64, 28, 28]
        await click(page, "step")
        await page.wait_for("window.__pg.info.iteration === 60", timeout=120)
        assert await page.evaluate(grid) != first
        assert await page.evaluate("window.__pg.info.fid.length") == 1
        await click(page, "save")
        saved.append((await page.wait_for("window.__pg.messages.find(m => m.type === 'saved')"))["path"])

    async def main():
        async with aiohttp.ClientSession() as http:
            page = await Page.open(http, browser.port)
            try:
                await page.call("Runtime.enable")
                await scenario(page)
                errors = [e for e in page.events if e["method"] == "Runtime.exceptionThrown"]
                assert not errors, errors
            finally:
                await page.close()
    asyncio.run(main())
    from gankit.cli import main as cli

    run = saved[0]
    assert cli(["sample", run, "-n", "16", "--out", str(tmp_path / "grid.png")]) == 0
    assert (tmp_path / "grid.png").exists()
    assert cli(["train", "--resume", run, "--steps", "70", "--progress", "off", "--threads", "1"]) == 0
    assert '"step": 70' in (Path(run) / "log.jsonl").read_text()
