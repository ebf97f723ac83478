//! The page `wsproto serve` answers a plain HTTP `GET /` with: a small WebSocket client for
//! trying the server from a browser. Its URL box is prefilled with the address the page was
//! loaded from (so it works for any `--bind`); it connects and disconnects, shows the
//! negotiated subprotocol and extensions, logs every message with a timestamp and its
//! direction, sends text or binary, counts messages and bytes each way, measures an echo
//! round trip, and runs a self-test.
//!
//! Browsers cannot send WebSocket pings, so the round trip is an application-level one: a
//! text message timed until its echo comes back, and labelled so ("echo round trip").
//!
//! Automation contract (tests/peers/browser.mjs relies on it):
//! - loaded with `?selftest`, the page connects at once, sends a short text and a 1 MiB
//!   binary message, checks the echoes, writes `SELFTEST PASS <extensions or
//!   no-extensions>` or `SELFTEST FAIL: why` into `#status`, and closes with 1000; nothing
//!   overwrites that status afterwards;
//! - the controls have stable ids: `#url`, `#protocols`, `#connect`, `#disconnect`,
//!   `#status`, `#message`, `#binary`, `#send`, `#ping`, `#rtt`, `#selftest`,
//!   `#selftest-result`, `#log` (lines `.sent`, `.recv`, `.info`, `.error`, each with a
//!   `.time`), and the counters `#sent-messages`, `#sent-bytes`, `#received-messages`,
//!   `#received-bytes`. The self-test button writes its verdict into `#selftest-result`.

/// The HTML of the test page.
pub(crate) const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wsproto test page</title>
<style>
body { font: 15px/1.4 system-ui, sans-serif; max-width: 52rem; margin: 1.5rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.4rem; margin: 0 0 .8rem; }
.row { display: flex; gap: .5rem; margin: .4rem 0; align-items: center; flex-wrap: wrap; }
.row input[type=text], .row input:not([type]) { flex: 1; min-width: 8rem; padding: .3rem; }
button { padding: .3rem .8rem; }
#status { font-weight: 600; }
#log { border: 1px solid #ccc; height: 20rem; overflow-y: auto; padding: .4rem; font: 13px/1.35 ui-monospace, monospace; white-space: pre-wrap; }
#log .time { color: #888; margin-right: .6rem; }
#log .dir { display: inline-block; width: 7.5rem; }
.sent .dir { color: #555; } .recv .dir { color: #05a; } .info .dir { color: #a50; } .error .dir { color: #c00; }
.muted { color: #666; font-size: .9em; }
</style>
</head>
<body>
<h1>wsproto test page</h1>
<div class="row">
  <label for="url">URL</label><input id="url" type="text" spellcheck="false">
  <label for="protocols">subprotocols</label><input id="protocols" type="text" placeholder="e.g. chat, json" spellcheck="false">
</div>
<div class="row">
  <button id="connect">Connect</button><button id="disconnect" disabled>Disconnect</button>
  <span>Status: <span id="status">not connected — press Connect</span></span>
</div>
<div class="row">
  <button id="ping" disabled title="Browsers cannot send WebSocket pings: this times a text message until its echo comes back">Echo round trip</button>
  <span id="rtt" class="muted">echo round trip: —</span>
  <button id="selftest" disabled title="Sends a text and a 1 MiB binary message and checks the echoes">Run self-test</button>
  <span id="selftest-result" class="muted"></span>
</div>
<div class="row muted"><span>
  sent <span id="sent-messages">0</span> messages, <span id="sent-bytes">0</span> bytes ·
  received <span id="received-messages">0</span> messages, <span id="received-bytes">0</span> bytes
</span></div>
<div id="log"></div>
<form id="form" class="row">
  <input id="message" autocomplete="off" placeholder="type a message, press Enter">
  <label><input id="binary" type="checkbox"> binary</label>
  <button id="send" disabled>Send</button>
</form>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const LABELS = { sent: "→ sent", recv: "← received", info: "· info", error: "! error" };
const MAX_LOG_LINES = 1000;
const ECHO_TIMEOUT_MS = 10000;
const auto = new URLSearchParams(location.search).has("selftest");
const stats = { sentMessages: 0, sentBytes: 0, receivedMessages: 0, receivedBytes: 0 };
let ws = null;
let waiter = null;   // { accept(data) -> bool, fail(error) } while the page awaits an echo
let busy = false;    // a self-test or round trip is running

$("url").value = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/";

const status = (text) => { $("status").textContent = text; };
const stamp = () => {
  const d = new Date();
  return d.toTimeString().slice(0, 8) + "." + String(d.getMilliseconds()).padStart(3, "0");
};
function log(kind, text) {
  const line = document.createElement("div");
  line.className = kind;
  for (const [cls, content] of [["time", stamp()], ["dir", LABELS[kind]], ["text", text]]) {
    const part = document.createElement("span");
    part.className = cls;
    part.textContent = content;
    line.appendChild(part);
  }
  const box = $("log");
  box.appendChild(line);
  while (box.childElementCount > MAX_LOG_LINES) box.firstElementChild.remove();
  box.scrollTop = box.scrollHeight;
}
const byteLength = (data) => typeof data === "string" ? new TextEncoder().encode(data).length : data.byteLength;
function describe(data) {
  if (typeof data === "string") return data;
  const bytes = new Uint8Array(data instanceof ArrayBuffer ? data : data.buffer);
  const hex = Array.from(bytes.slice(0, 16), (b) => b.toString(16).padStart(2, "0")).join(" ");
  return "binary " + bytes.length + " bytes" + (bytes.length ? ": " + hex + (bytes.length > 16 ? " …" : "") : "");
}
function counters() {
  for (const [id, value] of Object.entries({
    "sent-messages": stats.sentMessages, "sent-bytes": stats.sentBytes,
    "received-messages": stats.receivedMessages, "received-bytes": stats.receivedBytes,
  })) $(id).textContent = value;
}
function controls() {
  const open = ws !== null && ws.readyState === WebSocket.OPEN;
  $("connect").disabled = ws !== null;
  $("disconnect").disabled = ws === null;
  $("send").disabled = !open;
  $("ping").disabled = !open || busy;
  $("selftest").disabled = !open || busy;
}
function send(data, quiet) {
  ws.send(data);
  stats.sentMessages += 1;
  stats.sentBytes += byteLength(data);
  counters();
  if (!quiet) log("sent", describe(data));
}
// The next received message that `accept` takes (within ECHO_TIMEOUT_MS).
function expect(accept) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { waiter = null; reject(new Error("no echo within " + ECHO_TIMEOUT_MS / 1000 + " s")); }, ECHO_TIMEOUT_MS);
    waiter = {
      accept: (data) => {
        if (!accept(data)) return false;
        clearTimeout(timer); waiter = null; resolve(data); return true;
      },
      fail: (error) => { clearTimeout(timer); waiter = null; reject(error); },
    };
  });
}
async function exclusive(task) {
  busy = true; controls();
  try { await task(); } finally { busy = false; controls(); }
}

function connect() {
  if (ws !== null) return;
  const url = $("url").value.trim();
  const protocols = $("protocols").value.split(",").map((p) => p.trim()).filter((p) => p);
  status("connecting to " + url + " …");
  try {
    ws = new WebSocket(url, protocols);
  } catch (err) {
    status("error: " + err.message);
    log("error", "cannot connect: " + err.message);
    return;
  }
  ws.binaryType = "arraybuffer";
  controls();
  ws.onopen = () => {
    const settled = "subprotocol " + (ws.protocol || "none") + " · extensions " + (ws.extensions || "none");
    status("open " + url + " · " + settled);
    log("info", "connected to " + url + " (" + settled + ")");
    controls();
    if (auto) runSelfTest();
  };
  ws.onclose = (e) => {
    const how = "closed " + e.code + (e.reason ? " " + e.reason : "") + (e.wasClean ? "" : " (not clean)");
    log("info", how);
    if (!auto) status(how);
    if (waiter) waiter.fail(new Error("connection closed (" + e.code + ")"));
    ws = null;
    controls();
  };
  ws.onerror = () => {
    log("error", "websocket error");
    status(auto ? "SELFTEST FAIL: websocket error" : "error (see the log)");
  };
  ws.onmessage = (e) => {
    stats.receivedMessages += 1;
    stats.receivedBytes += byteLength(e.data);
    counters();
    if (waiter && waiter.accept(e.data)) return;
    log("recv", describe(e.data));
  };
}

function disconnect() {
  if (ws !== null) ws.close(1000, "bye from the test page");
}

function echoRoundTrip() {
  return exclusive(async () => {
    const token = "wsproto echo round trip " + Date.now() + " " + Math.random().toString(36).slice(2);
    const started = performance.now();
    send(token, true);
    try {
      await expect((data) => data === token);
    } catch (err) {
      $("rtt").textContent = "echo round trip: failed (" + err.message + ")";
      log("error", "echo round trip failed: " + err.message);
      return;
    }
    const ms = (performance.now() - started).toFixed(1);
    $("rtt").textContent = "echo round trip: " + ms + " ms";
    log("info", "echo round trip " + ms + " ms (a text message until its echo; browsers cannot send WebSocket pings)");
  });
}

// A text and a 1 MiB binary echo; the verdict goes to #selftest-result (and #status with ?selftest).
function runSelfTest() {
  const verdict = (text) => {
    $("selftest-result").textContent = text;
    if (auto) status(text);
    log(text.startsWith("SELFTEST PASS") ? "info" : "error", text);
  };
  return exclusive(async () => {
    try {
      const text = "héllo from the browser ✓";
      send(text, true);
      const back = await expect(() => true);
      if (back !== text) throw new Error("text echo differs");
      const big = new Uint8Array(1 << 20);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 255;
      send(big, true);
      const echoed = new Uint8Array(await expect(() => true));
      if (echoed.length !== big.length) throw new Error("binary echo has " + echoed.length + " bytes");
      for (let i = 0; i < big.length; i++) if (echoed[i] !== big[i]) throw new Error("binary echo differs at " + i);
      verdict("SELFTEST PASS " + (ws.extensions || "no-extensions"));
      if (auto) ws.close(1000, "selftest done");
    } catch (err) {
      verdict("SELFTEST FAIL: " + err.message);
    }
  });
}

$("connect").onclick = connect;
$("disconnect").onclick = disconnect;
$("ping").onclick = echoRoundTrip;
$("selftest").onclick = runSelfTest;
$("form").onsubmit = (e) => {
  e.preventDefault();
  const input = $("message");
  if (ws === null || ws.readyState !== WebSocket.OPEN) return;
  send($("binary").checked ? new TextEncoder().encode(input.value) : input.value, false);
  input.value = "";
};
$("url").onkeydown = (e) => { if (e.key === "Enter") connect(); };
counters();
if (auto) connect();
</script>
</body>
</html>
"#;
