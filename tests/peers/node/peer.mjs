// A real-peer interop program on Node `ws`.
//
//   node peer.mjs server       echo server on 127.0.0.1:0; prints `PORT <n>` then serves
//   node peer.mjs client URL   runs the interop checks against an echo server at URL
//
// The server repeats text as text and binary as binary, negotiates the subprotocols
// "chat.v1"/"chat.v2" (the client's first supported one), and answers the text
// `close-with <code> <reason>` by closing with that code and reason.
//
// The client exits 0 when every check passed, else prints `FAIL <check>: <why>` and exits 1.
// Every step is bounded by STEP_TIMEOUT_MS.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// `ws` comes from $WSPROTO_NODE_DIR/node_modules (default: this file's folder).
const nodeDir = process.env.WSPROTO_NODE_DIR || dirname(fileURLToPath(import.meta.url));
const { WebSocket, WebSocketServer } = createRequire(join(nodeDir, 'package.json'))('ws');

const SUPPORTED = ['chat.v1', 'chat.v2'];
const MAX_PAYLOAD = 64 << 20;
const STEP_TIMEOUT_MS = 30_000;

/** Deterministic bytes (i % 251) so a shifted or truncated echo is noticed. */
function pattern(size) {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = i % 251;
  return data;
}

// WSPROTO_DEFLATE=1: the server accepts permessage-deflate and the client requires it to be
// negotiated; otherwise the server declines it and the client requires it to be absent.
const DEFLATE = process.env.WSPROTO_DEFLATE === '1';

function runServer() {
  const server = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    maxPayload: MAX_PAYLOAD,
    perMessageDeflate: DEFLATE,
    // `protocols` is a Set in the client's order of preference.
    handleProtocols: (protocols) => [...protocols].find((p) => SUPPORTED.includes(p)) ?? false,
  });
  server.on('listening', () => console.log(`PORT ${server.address().port}`));
  server.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        const text = data.toString('utf8');
        if (text.startsWith('close-with ')) {
          const [, code, ...reason] = text.split(' ');
          ws.close(Number(code), reason.join(' '));
          return;
        }
      }
      ws.send(data, { binary: isBinary });
    });
  });
}

class CheckFailed extends Error {}

function expect(check, got, want) {
  const same = Buffer.isBuffer(want) ? Buffer.isBuffer(got) && want.equals(got) : got === want;
  if (!same) {
    const shown = (v) => (v && v.length > 80 ? `${v.constructor.name} of ${v.length}` : JSON.stringify(v));
    throw new CheckFailed(`${check}: got ${shown(got)}, want ${shown(want)}`);
  }
}

/** Resolves with the first `event` of `ws` (as an array of its arguments), within the timeout. */
function once(ws, event, check) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new CheckFailed(`${check}: no ${event} within ${STEP_TIMEOUT_MS} ms`));
    }, STEP_TIMEOUT_MS);
    const onEvent = (...args) => { cleanup(); resolve(args); };
    const onClose = (code) => { cleanup(); reject(new CheckFailed(`${check}: closed with ${code}`)); };
    const onError = (err) => { cleanup(); reject(new CheckFailed(`${check}: ${err.message}`)); };
    const cleanup = () => {
      clearTimeout(timer);
      ws.off(event, onEvent);
      if (event !== 'close') ws.off('close', onClose);
      ws.off('error', onError);
    };
    ws.on(event, onEvent);
    if (event !== 'close') ws.on('close', onClose);
    ws.on('error', onError);
  });
}

/** The next message as a string (text) or a Buffer (binary). */
async function recv(ws, check) {
  const [data, isBinary] = await once(ws, 'message', check);
  return isBinary ? data : data.toString('utf8');
}

async function echoCheck(ws, check, message) {
  ws.send(message, { binary: Buffer.isBuffer(message) });
  expect(check, await recv(ws, check), message);
}

async function open(url, protocols) {
  const ws = new WebSocket(url, protocols, { maxPayload: MAX_PAYLOAD, handshakeTimeout: STEP_TIMEOUT_MS });
  await once(ws, 'open', 'connect');
  return ws;
}

async function runClient(url) {
  let ws = await open(url, ['chat.v2', 'chat.v1']);
  expect('subprotocol', ws.protocol, 'chat.v2');
  expect('permessage-deflate negotiated', ws.extensions.includes('permessage-deflate'), DEFLATE);
  await echoCheck(ws, 'text', 'héllo ✓');
  await echoCheck(ws, 'binary', Buffer.from([1, 2, 3]));
  await echoCheck(ws, '1 MiB', pattern(1 << 20));
  await echoCheck(ws, '16 MiB', pattern(16 << 20));
  ws.send('frag', { fin: false });
  ws.send('men', { fin: false });
  ws.send('ted ✓', { fin: true });
  expect('fragmented', await recv(ws, 'fragmented'), 'fragmented ✓');
  const pong = once(ws, 'pong', 'ping');
  ws.ping(Buffer.from('rtt?'));
  expect('pong payload', (await pong)[0], Buffer.from('rtt?'));
  const closed = once(ws, 'close', 'close');
  ws.close(4001, 'bye');
  expect('close echo', (await closed)[0], 4001);

  ws = await open(url, []);
  expect('no subprotocol offered', ws.protocol, '');
  const serverClose = once(ws, 'close', 'close-with');
  let unexpected = null;
  ws.on('message', (data) => { unexpected = data.toString('utf8'); });
  ws.send('close-with 4002 later');
  const [code, reason] = await serverClose;
  expect('nothing before the server close', unexpected, null);
  expect('server close code', code, 4002);
  expect('server close reason', reason.toString('utf8'), 'later');
}

const [mode, url] = process.argv.slice(2);
if (mode === 'server') {
  runServer();
} else if (mode === 'client' && url) {
  runClient(url).then(
    () => { console.log('PASS'); process.exit(0); },
    (err) => { console.log(`FAIL ${err instanceof CheckFailed ? err.message : err.stack}`); process.exit(1); },
  );
} else {
  console.error('usage: node peer.mjs server | node peer.mjs client URL');
  process.exit(2);
}
