// Headless Chromium against `wsproto serve`: opens the server's test page with `?selftest`
// (a text and a 1 MiB binary echo over the browser's own WebSocket), waits at most 30 s for
// `#status` to start with SELFTEST and prints it.
//
//   node browser.mjs http://127.0.0.1:PORT/?selftest [EXPECTED-STATUS-PREFIX]
//
// playwright-core comes from $WSPROTO_NODE_DIR/node_modules (default: node/ beside this
// file); Chromium is the system one ($WSPROTO_CHROMIUM, default /usr/bin/chromium). Chromium
// offers permessage-deflate: a plain `wsproto serve` must decline it (the page then reports
// `no-extensions`, the default expectation); `wsproto serve --deflate` must accept it
// (expect `SELFTEST PASS permessage-deflate`). Any other status exits 1.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const nodeDir = process.env.WSPROTO_NODE_DIR || join(dirname(fileURLToPath(import.meta.url)), 'node');
const { chromium } = createRequire(join(nodeDir, 'package.json'))('playwright-core');

const TIMEOUT_MS = 30_000;
const url = process.argv[2];
if (!url) {
  console.error('usage: node browser.mjs http://127.0.0.1:PORT/?selftest');
  process.exit(2);
}

let browser = null;
let status = '';
try {
  browser = await chromium.launch({
    executablePath: process.env.WSPROTO_CHROMIUM || '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    timeout: TIMEOUT_MS,
  });
  const page = await browser.newPage();
  await page.goto(url, { timeout: TIMEOUT_MS });
  await page.waitForFunction(
    () => document.getElementById('status')?.textContent.startsWith('SELFTEST'),
    null,
    { timeout: TIMEOUT_MS },
  );
  status = await page.textContent('#status');
} catch (err) {
  status = `SELFTEST FAIL: ${err.message.split('\n')[0]}`;
} finally {
  await browser?.close();
}
console.log(status);
// The status must start with the expected prefix (argument 2): the extensions in use follow PASS.
const expected = process.argv[3] || 'SELFTEST PASS no-extensions';
process.exit(status.startsWith(expected) ? 0 : 1);
