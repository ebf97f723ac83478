// A real-peer interop program on Node `ws`.
//
//   node peer.mjs server [--tls-cert PEM --tls-key PEM]
//       echo server on 127.0.0.1:0; prints `PORT <n>` then serves, over TLS (wss://) with that
//       certificate chain and key when given
//   node peer.mjs client URL [--ca PEM]
//       runs the interop checks against an echo server at URL; for wss:// it trusts only the
//       CA certificates in --ca when given (else Node's) and also checks that the connection
//       is TLS with ALPN `http/1.1`
//
// The server repeats text as text and binary as binary, negotiates the subprotocols
// "chat.v1"/"chat.v2" (the client's first supported one), and answers the text
// `close-with <code> <reason>` by closing with that code and reason.
//
// The client exits 0 when every check passed, else prints `FAIL <check>: <why>` and exits 1.
// Every step is bounded by STEP_TIMEOUT_MS.

import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

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

// Offered by the client and the server: the WebSocket opening is an HTTP/1.1 request.
const ALPN = 'http/1.1';

/** The HTTP server the WebSocket server upgrades from: https with `cert` and `key` (PEM file
 * paths) when given, else plain http. */
function httpServer(cert, key) {
  if (cert === undefined) return createHttpServer();
  return createHttpsServer({
    cert: readFileSync(cert),
    key: readFileSync(key),
    ALPNProtocols: [ALPN],
  });
}

function runServer(cert, key) {
  const http = httpServer(cert, key);
  const server = new WebSocketServer({
    server: http,
    maxPayload: MAX_PAYLOAD,
    perMessageDeflate: DEFLATE,
    // `protocols` is a Set in the client's order of preference.
    handleProtocols: (protocols) => [...protocols].find((p) => SUPPORTED.includes(p)) ?? false,
  });
  http.listen(0, '127.0.0.1', () => console.log(`PORT ${http.address().port}`));
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

/** Connection options offering ALPN (used by wss:// only) and trusting only the CA
 * certificates in the file `ca` (Node's own when undefined). */
function clientTls(ca) {
  return { ALPNProtocols: [ALPN], ...(ca === undefined ? {} : { ca: readFileSync(ca) }) };
}

/** Opens a connection; a wss:// one must be TLS with ALPN http/1.1, a ws:// one plain. */
async function open(url, protocols, tls) {
  const ws = new WebSocket(url, protocols, {
    maxPayload: MAX_PAYLOAD,
    handshakeTimeout: STEP_TIMEOUT_MS,
    ...tls,
  });
  let socket = null;
  ws.once('upgrade', (response) => { socket = response.socket; });
  await once(ws, 'open', 'connect');
  expect('TLS in use', Boolean(socket && socket.encrypted), url.startsWith('wss://'));
  if (socket && socket.encrypted) expect('ALPN', socket.alpnProtocol, ALPN);
  return ws;
}

async function runClient(url, tls) {
  let ws = await open(url, ['chat.v2', 'chat.v1'], tls);
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

  ws = await open(url, [], tls);
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

const USAGE = 'usage: node peer.mjs server [--tls-cert PEM --tls-key PEM]\n'
  + '       node peer.mjs client URL [--ca PEM]';
const FLAGS = { 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, ca: { type: 'string' } };
let parsed;
try {
  parsed = parseArgs({ allowPositionals: true, options: FLAGS });
} catch (err) {
  console.error(`${err.message}\n${USAGE}`);
  process.exit(2);
}
const [mode, url, ...extra] = parsed.positionals;
const { 'tls-cert': cert, 'tls-key': key, ca } = parsed.values;
const serverArgs = url === undefined && ca === undefined && (cert === undefined) === (key === undefined);
const clientArgs = url !== undefined && extra.length === 0 && cert === undefined && key === undefined;
if (mode === 'server' && serverArgs) {
  runServer(cert, key);
} else if (mode === 'client' && clientArgs) {
  runClient(url, clientTls(ca)).then(
    () => { console.log('PASS'); process.exit(0); },
    (err) => { console.log(`FAIL ${err instanceof CheckFailed ? err.message : err.stack}`); process.exit(1); },
  );
} else {
  console.error(USAGE);
  process.exit(2);
}
