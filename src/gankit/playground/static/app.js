// gankit playground page: draws the binary frames from /ws and sends the controls back as commands.
"use strict";

const state = { ws: null, info: null, arrays: null, frames: 0, curve: [], drawn: [], drawing: false,
                messages: [], lastIt: null, speed: 0 };
window.__pg = state; // read by the browser tests

const $ = (id) => document.getElementById(id);
const view = $("view"), vctx = view.getContext("2d");
const lossCanvas = $("losses"), lctx = lossCanvas.getContext("2d");
const heat = document.createElement("canvas");
const DRAW_VIEW = [0, 0, 1.2]; // the square drawn points live in (the server's view of "drawn" data)
const MODE = new URLSearchParams(location.search).get("mode") === "image" ? "image" : "2d";
state.mode = MODE;

function send(command) {
  if (MODE === "image") command.mode = "image";
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(command));
}

function connect() {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => send(MODE === "2d" && location.search.length > 1 ? { type: "reset", query: location.search }
                                                                     : { type: "hello" });
  ws.onmessage = (event) => {
    if (typeof event.data === "string") onMessage(JSON.parse(event.data));
    else onFrame(event.data);
  };
  ws.onclose = () => { $("status").textContent = "disconnected: is `gankit playground` still running?"; };
  state.ws = ws;
}

function decode(buffer) {
  const n = new DataView(buffer).getUint32(0, true);
  const info = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, n)));
  const arrays = {};
  for (const a of info.arrays) {
    const size = a.shape.reduce((x, y) => x * y, 1);
    arrays[a.name] = { shape: a.shape, data: new Float32Array(buffer, 4 + n + 4 * a.offset, size) };
  }
  return { info, arrays };
}

function onMessage(message) {
  state.messages.push(message);
  const prefix = MODE === "image" ? "image" : "";
  if (message.type === "error") $(prefix + "error").textContent = message.message;
  if (message.type === "saved" && MODE === "image") {
    $("imagesaved").textContent = `The run folder is ${message.path}: an ordinary gankit run ` +
      `(gankit sample ${message.path} --out grid.png; gankit train --resume ${message.path}).`;
  } else if (message.type === "saved") $("saved").textContent = `Saved to ${message.path} (reload with gankit playground --load ${message.path})`;
}

function onFrame(buffer) {
  const { info, arrays } = decode(buffer);
  if (info.mode === "image") { onImageFrame(info, arrays); return; }
  const now = performance.now();
  if (state.info && info.iteration < state.info.iteration) state.curve = []; // a reset
  if (state.lastIt && info.iteration > state.lastIt.it) {
    state.speed = (info.iteration - state.lastIt.it) / ((now - state.lastIt.t) / 1000);
  }
  state.lastIt = { it: info.iteration, t: now };
  if (info.losses["loss/d"] !== undefined && info.losses["loss/g"] !== undefined) {
    state.curve.push([info.iteration, info.losses["loss/d"], info.losses["loss/g"]]);
    if (state.curve.length > 1500) state.curve.shift();
  }
  state.info = info;
  state.arrays = arrays;
  state.frames += 1;
  if (info.query !== location.search.slice(1)) history.replaceState(null, "", "?" + info.query);
  showControls(info);
  if (!state.drawing) drawView();
  drawLosses();
  showMetrics(info);
}

function showControls(info) {
  for (const el of document.querySelectorAll("[data-key]")) {
    const key = el.dataset.key;
    if (el === document.activeElement || (key === "data" && state.drawing)) continue;
    el.value = String(info.config[key]);
  }
  $("play").textContent = info.playing ? "Pause" : "Play";
  $("slow").checked = info.slow;
  $("drawhelp").hidden = !state.drawing;
  $("status").textContent = `iteration ${info.iteration}` + (info.phase ? ` - ${info.phase}` : "");
}

function toPx(v, x, y) {
  const [cx, cy, half] = v;
  return [(x - cx + half) / (2 * half) * view.width, view.height - (y - cy + half) / (2 * half) * view.height];
}

function fromPx(v, px, py) {
  const [cx, cy, half] = v;
  return [cx - half + px / view.width * 2 * half, cy - half + (view.height - py) / view.height * 2 * half];
}

function drawHeat(a) {
  const [rows, cols] = a.shape;
  heat.width = cols; heat.height = rows;
  const hctx = heat.getContext("2d"), image = hctx.createImageData(cols, rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = a.data[r * cols + c], o = ((rows - 1 - r) * cols + c) * 4; // row 0 is the bottom
      const mix = (fake, real) => 255 - 0.45 * (255 - (fake * (1 - v) + real * v));
      image.data[o] = mix(123, 46); image.data[o + 1] = mix(31, 125); image.data[o + 2] = mix(162, 50);
      image.data[o + 3] = 255;
    }
  }
  hctx.putImageData(image, 0, 0);
  vctx.imageSmoothingEnabled = true;
  vctx.drawImage(heat, 0, 0, view.width, view.height);
}

function dots(v, a, color, radius) {
  vctx.fillStyle = color;
  for (let i = 0; i < a.data.length; i += 2) {
    const [x, y] = toPx(v, a.data[i], a.data[i + 1]);
    vctx.beginPath(); vctx.arc(x, y, radius, 0, 2 * Math.PI); vctx.fill();
  }
}

function drawView() {
  const { info, arrays } = state;
  if (!info) return;
  const v = info.view;
  vctx.clearRect(0, 0, view.width, view.height);
  drawHeat(arrays.heat);
  const m = arrays.manifold, [mr, mc] = m.shape;
  vctx.strokeStyle = "rgba(0,0,0,0.22)"; vctx.lineWidth = 1;
  const at = (r, c) => toPx(v, m.data[(r * mc + c) * 2], m.data[(r * mc + c) * 2 + 1]);
  for (let r = 0; r < mr; r++) { vctx.beginPath(); for (let c = 0; c < mc; c++) vctx.lineTo(...at(r, c)); vctx.stroke(); }
  for (let c = 0; c < mc && mr > 1; c++) { vctx.beginPath(); for (let r = 0; r < mr; r++) vctx.lineTo(...at(r, c)); vctx.stroke(); }
  dots(v, arrays.real, "#2e7d32", 2);
  dots(v, arrays.fake, "#7b1fa2", 2);
  const f = arrays.fake.data, g = arrays.arrows.data;
  let longest = 1e-12;
  for (let i = 0; i < g.length; i += 2) longest = Math.max(longest, Math.hypot(g[i], g[i + 1]));
  vctx.strokeStyle = "rgba(40,40,40,0.55)";
  vctx.beginPath();
  for (let i = 0; i < g.length; i += 8) { // every fourth fake, so the arrows stay readable
    const [x, y] = toPx(v, f[i], f[i + 1]), scale = 22 / longest;
    vctx.moveTo(x, y); vctx.lineTo(x + g[i] * scale, y - g[i + 1] * scale);
  }
  vctx.stroke();
}

function drawDrawing() {
  vctx.fillStyle = "#fff"; vctx.fillRect(0, 0, view.width, view.height);
  vctx.fillStyle = "#e65100";
  for (const [x, y] of state.drawn) {
    const [px, py] = toPx(DRAW_VIEW, x, y);
    vctx.beginPath(); vctx.arc(px, py, 3, 0, 2 * Math.PI); vctx.fill();
  }
}

function drawLosses() {
  const w = lossCanvas.width, h = lossCanvas.height, c = state.curve;
  lctx.clearRect(0, 0, w, h);
  if (c.length < 2) return;
  let lo = Infinity, hi = -Infinity;
  for (const [, d, g] of c) { lo = Math.min(lo, d, g); hi = Math.max(hi, d, g); }
  if (!(hi > lo)) hi = lo + 1;
  const x0 = c[0][0], x1 = c[c.length - 1][0] || 1;
  for (const [k, color] of [[1, "#1565c0"], [2, "#e65100"]]) {
    lctx.strokeStyle = color; lctx.beginPath();
    for (const row of c) lctx.lineTo((row[0] - x0) / Math.max(1, x1 - x0) * w, h - 4 - (row[k] - lo) / (hi - lo) * (h - 8));
    lctx.stroke();
  }
  lctx.fillStyle = "#555"; lctx.fillText(hi.toPrecision(3), 2, 10); lctx.fillText(lo.toPrecision(3), 2, h - 2);
}

function showMetrics(info) {
  const m = info.metrics, fmt = (x, d = 3) => (x === null || x === undefined ? "-" : Number(x).toFixed(d));
  const rows = [
    ["iteration", info.iteration], ["iterations / s", state.speed.toFixed(0)],
    ["D's loss", fmt(info.losses["loss/d"])], ["G's loss", fmt(info.losses["loss/g"])],
    ["JS (grid, nats)", fmt(m.js)], ["KL(real || fake)", fmt(m.kl)],
    ["modes covered", m.modes === null ? "-" : `${m.modes} / ${m.modes_total}`],
    ["high-quality share", fmt(m.high_quality)], ["critic's W1 estimate", fmt(m.w1)],
  ];
  $("metrics").innerHTML = rows.map(([k, v]) => `<tr><td>${k}</td><td class="v">${v}</td></tr>`).join("");
}

for (const el of document.querySelectorAll("[data-key]")) {
  el.addEventListener("change", () => {
    const key = el.dataset.key;
    $("error").textContent = "";
    if (key === "data" && (el.value === "drawn" || el.value === "csv")) {
      state.drawing = el.value === "drawn";
      if (state.drawing) { state.drawn = []; drawDrawing(); }
      $("drawhelp").hidden = !state.drawing;
      if (el.value === "csv") $("csv").click();
      return;
    }
    state.drawing = false;
    const query = new URLSearchParams({ [key]: el.value }).toString();
    send(key === "seed" ? { type: "reset", query: mergedQuery(query) } : { type: "config", query });
  });
}

function mergedQuery(extra) {
  const params = new URLSearchParams(state.info ? state.info.query : "");
  for (const [k, v] of new URLSearchParams(extra)) params.set(k, v);
  return params.toString();
}

for (const id of ["step", "d_step", "g_step"]) $(id).addEventListener("click", () => send({ type: id }));
$("play").addEventListener("click", () => send({ type: state.info && state.info.playing ? "pause" : "play" }));
$("reset").addEventListener("click", () => send({ type: "reset", query: state.info ? state.info.query : "" }));
$("slow").addEventListener("change", () => send({ type: "slow", on: $("slow").checked }));
$("save").addEventListener("click", () => send({ type: "save" }));
$("csv").addEventListener("change", () => {
  const file = $("csv").files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => send({ type: "csv", text: String(reader.result) });
  reader.readAsText(file);
});
$("usedrawn").addEventListener("click", () => {
  state.drawing = false;
  send({ type: "points", points: state.drawn });
});
$("cleardrawn").addEventListener("click", () => { state.drawn = []; drawDrawing(); });

let pressed = false;
function addPoint(event) {
  const rect = view.getBoundingClientRect();
  state.drawn.push(fromPx(DRAW_VIEW, event.clientX - rect.left, event.clientY - rect.top));
  drawDrawing();
}
view.addEventListener("mousedown", (e) => { if (state.drawing) { pressed = true; addPoint(e); } });
view.addEventListener("mousemove", (e) => { if (state.drawing && pressed) addPoint(e); });
window.addEventListener("mouseup", () => { pressed = false; });

function onImageFrame(info, arrays) {
  state.info = info; state.arrays = arrays; state.frames += 1;
  $("play").textContent = info.playing ? "Pause" : "Play";
  $("status").textContent = `step ${info.iteration}` + (info.playing ? " - training a chunk" : "");
  const g = arrays.grid, [n, h, w] = g.shape, canvas = $("grid"), ctx = canvas.getContext("2d");
  ctx.fillStyle = "#000"; ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (n > 0) {
    const cols = Math.ceil(Math.sqrt(n)), tile = document.createElement("canvas");
    tile.width = cols * w; tile.height = Math.ceil(n / cols) * h;
    const tctx = tile.getContext("2d"), image = tctx.createImageData(tile.width, tile.height);
    for (let k = 0; k < n; k++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const v = Math.round((g.data[(k * h + y) * w + x] + 1) * 127.5);
          const o = (((Math.floor(k / cols) * h + y) * tile.width) + (k % cols) * w + x) * 4;
          image.data[o] = image.data[o + 1] = image.data[o + 2] = v; image.data[o + 3] = 255;
        }
      }
    }
    tctx.putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(tile, 0, 0, canvas.width, canvas.height);
  }
  const fmt = (x) => (x === undefined || x === null ? "-" : Number(x).toFixed(3));
  const fid = info.fid.length ? info.fid[info.fid.length - 1] : null;
  const rows = [["model", info.model], ["step", info.iteration], ["D's loss", fmt(info.losses["loss/d"])],
    ["G's loss", fmt(info.losses["loss/g"])], ["fid[lenet-mnist]", fid ? `${fid[1].toFixed(2)} (step ${fid[0]})` : "-"],
    ["run folder", info.run || "-"]];
  $("imagemetrics").innerHTML = rows.map(([k, v]) => `<tr><td>${k}</td><td class="v">${v}</td></tr>`).join("");
}

if (MODE === "image") {
  $("mode2d").hidden = true; $("imagemode").hidden = false;
  for (const el of document.querySelectorAll(".only2d")) el.hidden = true;
}
connect();
