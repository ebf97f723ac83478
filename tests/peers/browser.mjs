// Headless Chromium against `wsproto serve`'s test page, in one of two ways:
//
//   node browser.mjs http[s]://127.0.0.1:PORT/?selftest [EXPECTED-VERDICT]
//   node browser.mjs http[s]://127.0.0.1:PORT/ [EXPECTED-VERDICT] [SUBPROTOCOL]
//
// With `?selftest` the page runs its self-test on load (a text and a 1 MiB binary echo over
// the browser's own WebSocket); this waits at most 30 s for `#status` to start with SELFTEST
// and prints it.
//
// Without it, this drives the page's controls as a person would: checks the URL box is
// prefilled, types SUBPROTOCOL (if given) into the subprotocols box, clicks Connect and
// checks the status names the subprotocol and extensions; types a text message, sends it and
// waits for its echo in the log (with timestamps and direction labels); sends a binary
// message the same way; clicks "Echo round trip" and waits for a time; checks the counters;
// clicks "Run self-test" and waits for its verdict; clicks Disconnect and waits for the close.
// It prints a line per step and, last, the self-test verdict (or `CONTROLS FAIL: step: why`).
//
// Either way the last line must start with EXPECTED-VERDICT (default `SELFTEST PASS
// no-extensions`), or this exits 1. playwright-core comes from $WSPROTO_NODE_DIR/node_modules
// (default: node/ beside this file); Chromium is the system one ($WSPROTO_CHROMIUM, default
// /usr/bin/chromium). Chromium offers permessage-deflate: a plain `wsproto serve` must
// decline it (the verdict then ends in `no-extensions`); `wsproto serve --deflate` must
// accept it (expect `SELFTEST PASS permessage-deflate`).
//
// Over https (`wsproto serve --tls-cert …` or `--tls-self-signed`), Chromium trusts the
// server's certificate by the base64 SHA-256 of its public key (SubjectPublicKeyInfo),
// passed as --ignore-certificate-errors-spki-list: $WSPROTO_TRUST_SPKI gives the hash as it
// is (what `serve` prints on stderr); $WSPROTO_TRUST_CERT names a PEM certificate whose hash
// this computes.

import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const nodeDir = process.env.WSPROTO_NODE_DIR || join(dirname(fileURLToPath(import.meta.url)), 'node');
const { chromium } = createRequire(join(nodeDir, 'package.json'))('playwright-core');

const TIMEOUT_MS = 30_000;
const [url, expected = 'SELFTEST PASS no-extensions', subprotocol = ''] = process.argv.slice(2);
if (!url) {
  console.error('usage: node browser.mjs http[s]://127.0.0.1:PORT/[?selftest] [EXPECTED] [SUBPROTOCOL]');
  process.exit(2);
}

// The public key hash Chromium is told to trust, from the environment; null over http.
function trustedSpki() {
  if (process.env.WSPROTO_TRUST_SPKI) return process.env.WSPROTO_TRUST_SPKI;
  if (!process.env.WSPROTO_TRUST_CERT) return null;
  const cert = new X509Certificate(readFileSync(process.env.WSPROTO_TRUST_CERT));
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

// Waits until `#id`'s text passes `test` (a RegExp or a prefix); returns the text.
async function textOf(page, id, test, what) {
  try {
    await page.waitForFunction(
      ([id, source, prefix]) => {
        const text = document.getElementById(id)?.textContent ?? '';
        return source !== null ? new RegExp(source).test(text) : text.startsWith(prefix);
      },
      [id, test instanceof RegExp ? test.source : null, typeof test === 'string' ? test : null],
      { timeout: TIMEOUT_MS },
    );
  } catch (err) {
    const now = await page.textContent(`#${id}`).catch(() => '?');
    throw new Error(`${what}: #${id} is ${JSON.stringify(now)} (${err.message.split('\n')[0]})`);
  }
  return page.textContent(`#${id}`);
}

// Waits for a log line of class `kind` containing `text`; checks its timestamp and label.
async function logLine(page, kind, text) {
  const line = page.locator(`#log .${kind}`, { hasText: text }).last();
  await line.waitFor({ timeout: TIMEOUT_MS });
  const time = await line.locator('.time').textContent();
  const dir = await line.locator('.dir').textContent();
  if (!/^\d\d:\d\d:\d\d\.\d{3}$/.test(time)) throw new Error(`log time ${JSON.stringify(time)}`);
  const label = { sent: '→ sent', recv: '← received' }[kind];
  if (label && dir !== label) throw new Error(`log label ${JSON.stringify(dir)}, want ${label}`);
}

async function selfTestOnLoad(page) {
  await page.goto(url, { timeout: TIMEOUT_MS });
  return textOf(page, 'status', 'SELFTEST', 'self-test on load');
}

async function driveControls(page) {
  let step = 'load';
  try {
    await page.goto(url, { timeout: TIMEOUT_MS });
    const wsUrl = url.replace(/^http/, 'ws').replace(/[?#].*$/, '');
    const prefilled = await page.inputValue('#url');
    if (prefilled !== wsUrl) throw new Error(`URL box holds ${prefilled}, want ${wsUrl}`);

    step = 'connect';
    if (subprotocol) await page.fill('#protocols', subprotocol);
    await page.click('#connect');
    const status = await textOf(page, 'status', 'open ', 'connect');
    const extensions = expected.startsWith('SELFTEST PASS permessage-deflate') ? 'permessage-deflate' : 'none';
    for (const want of [`subprotocol ${subprotocol || 'none'}`, `extensions ${extensions}`]) {
      if (!status.includes(want)) throw new Error(`status ${JSON.stringify(status)} lacks ${want}`);
    }
    console.log(`connected: ${status}`);

    step = 'send text';
    const text = 'hello from the controls ✓';
    await page.fill('#message', text);
    await page.click('#send');
    await logLine(page, 'sent', text);
    await logLine(page, 'recv', text);
    console.log('text echoed');

    step = 'send binary';
    await page.check('#binary');
    await page.fill('#message', 'bin');
    await page.click('#send');
    await logLine(page, 'recv', 'binary 3 bytes: 62 69 6e');
    console.log('binary echoed');

    step = 'echo round trip';
    await page.click('#ping');
    console.log(await textOf(page, 'rtt', /^echo round trip: [0-9.]+ ms$/, step));

    step = 'counters';
    await textOf(page, 'received-messages', /^([3-9]|\d\d+)$/, step);
    await textOf(page, 'sent-bytes', /^[1-9]/, step);

    step = 'self-test';
    await page.click('#selftest');
    const verdict = await textOf(page, 'selftest-result', 'SELFTEST', step);

    step = 'disconnect';
    await page.click('#disconnect');
    await textOf(page, 'status', 'closed 1000', step);
    console.log('disconnected');
    return verdict;
  } catch (err) {
    return `CONTROLS FAIL: ${step}: ${err.message.split('\n')[0]}`;
  }
}

let browser = null;
let verdict = '';
try {
  const args = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ];
  const spki = trustedSpki();
  if (spki) args.push(`--ignore-certificate-errors-spki-list=${spki}`);
  browser = await chromium.launch({
    executablePath: process.env.WSPROTO_CHROMIUM || '/usr/bin/chromium',
    args,
    timeout: TIMEOUT_MS,
  });
  const page = await browser.newPage();
  verdict = url.includes('?selftest') ? await selfTestOnLoad(page) : await driveControls(page);
} catch (err) {
  verdict = `SELFTEST FAIL: ${err.message.split('\n')[0]}`;
} finally {
  await browser?.close();
}
console.log(verdict);
process.exit(verdict.startsWith(expected) ? 0 : 1);
