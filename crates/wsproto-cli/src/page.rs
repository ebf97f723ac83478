//! The page `wsproto serve` answers a plain HTTP `GET /` with: a text box whose lines go to
//! the server over a WebSocket, and a log of what comes back. It connects to the same host
//! and port it was loaded from, so it works for any `--bind`.
//!
//! The page also runs a self-test when loaded with `?selftest`: it sends a short text and a
//! 1 MiB binary message, checks the echoes, and writes `SELFTEST PASS` or `SELFTEST FAIL: why`
//! into `#status` (what the headless-browser test reads back).

/// The HTML of the test page.
pub(crate) const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>wsproto test page</title>
<style>
body { font: 15px/1.4 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
#log { border: 1px solid #ccc; height: 18rem; overflow-y: auto; padding: .5rem; white-space: pre-wrap; }
.in { color: #05a; } .out { color: #555; } .sys { color: #a50; }
form { display: flex; gap: .5rem; margin-top: .5rem; } input { flex: 1; padding: .3rem; }
</style>
</head>
<body>
<h1>wsproto</h1>
<p>Status: <span id="status">connecting…</span></p>
<div id="log"></div>
<form id="form"><input id="text" autocomplete="off" placeholder="type a message, press Enter"><button>Send</button></form>
<script>
const log = (cls, text) => {
  const line = document.createElement("div");
  line.className = cls;
  line.textContent = text;
  const box = document.getElementById("log");
  box.appendChild(line);
  box.scrollTop = box.scrollHeight;
};
const status = (text) => { document.getElementById("status").textContent = text; };
const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/";
const ws = new WebSocket(url);
ws.binaryType = "arraybuffer";
const selftest = new URLSearchParams(location.search).has("selftest");
let pending = null;
ws.onopen = () => {
  status("open " + url + (ws.extensions ? " (" + ws.extensions + ")" : ""));
  if (selftest) runSelfTest();
};
ws.onclose = (e) => { if (!selftest) status("closed " + e.code + " " + e.reason); log("sys", "closed " + e.code); };
ws.onerror = () => { status(selftest ? "SELFTEST FAIL: websocket error" : "error"); };
ws.onmessage = (e) => {
  if (pending) { const p = pending; pending = null; p(e.data); return; }
  log("in", typeof e.data === "string" ? e.data : "[" + e.data.byteLength + " bytes]");
};
document.getElementById("form").onsubmit = (e) => {
  e.preventDefault();
  const input = document.getElementById("text");
  if (input.value && ws.readyState === WebSocket.OPEN) { ws.send(input.value); log("out", input.value); input.value = ""; }
};
const next = () => new Promise((resolve) => { pending = resolve; });
async function runSelfTest() {
  try {
    const text = "héllo from the browser ✓";
    ws.send(text);
    const back = await next();
    if (back !== text) throw new Error("text echo differs");
    const big = new Uint8Array(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 255;
    ws.send(big);
    const echoed = new Uint8Array(await next());
    if (echoed.length !== big.length) throw new Error("binary echo has " + echoed.length + " bytes");
    for (let i = 0; i < big.length; i++) if (echoed[i] !== big[i]) throw new Error("binary echo differs at " + i);
    status("SELFTEST PASS " + (ws.extensions || "no-extensions"));
    ws.close(1000, "selftest done");
  } catch (err) {
    status("SELFTEST FAIL: " + err.message);
  }
}
</script>
</body>
</html>
"#;
