"""A real-peer interop program on Python `websockets` (asyncio API, >= 13).

    peer.py server [--tls-cert PEM --tls-key PEM]
        echo server on 127.0.0.1:0; prints `PORT <n>` then serves, over TLS (wss://) with
        that certificate chain and key when given
    peer.py client URL [--ca PEM]
        runs the interop checks against an echo server at URL; for wss:// it trusts only the
        CA certificates in --ca when given (else the system's) and also checks that the
        connection is TLS with ALPN `http/1.1`

The server repeats text as text and binary as binary, negotiates the subprotocols
"chat.v1"/"chat.v2" (the client's first supported one), and answers the text
`close-with <code> <reason>` by closing with that code and reason.

The client exits 0 when every check passed, else prints `FAIL <check>: <why>` and exits 1.
Every step is bounded by STEP_TIMEOUT seconds.
"""

import argparse
import asyncio
import os
import ssl
import sys

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed, InvalidHandshake

SUPPORTED = ["chat.v1", "chat.v2"]
MAX_SIZE = 64 << 20
STEP_TIMEOUT = 30


def pattern(size):
    """Deterministic bytes (i % 251) so a shifted or truncated echo is noticed."""
    block = bytes(range(251))
    return (block * (size // 251 + 1))[:size]


def select_subprotocol(_connection, offered):
    """The client's first offered subprotocol that we support, or none."""
    for protocol in offered:
        if protocol in SUPPORTED:
            return protocol
    return None


async def echo(ws):
    try:
        async for message in ws:
            if isinstance(message, str) and message.startswith("close-with "):
                _, code, reason = message.split(" ", 2)
                await ws.close(int(code), reason)
                return
            await ws.send(message)
    except ConnectionClosed:
        pass


# WSPROTO_DEFLATE=1: the server accepts permessage-deflate and the client requires it to be
# negotiated; otherwise the server declines it and the client requires it to be absent.
DEFLATE = os.environ.get("WSPROTO_DEFLATE") == "1"


def negotiated_deflate(ws):
    header = ws.response.headers.get("Sec-WebSocket-Extensions") or ""
    return "permessage-deflate" in header


# Offered by the client and the server: the WebSocket opening is an HTTP/1.1 request.
ALPN = "http/1.1"


def server_tls(cert, key):
    """The TLS context serving `cert` (chain, PEM) and `key`, or None for plain TCP."""
    if cert is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols([ALPN])
    return context


def client_tls(url, ca):
    """Connection options for `url`: for wss://, offering ALPN and trusting only the CA
    certificates in the file `ca` (the system's when None); none for ws://."""
    if not url.startswith("wss://"):
        return {}
    context = ssl.create_default_context(cafile=ca)
    context.set_alpn_protocols([ALPN])
    return {"ssl": context}


async def run_server(tls):
    async with serve(
        echo,
        "127.0.0.1",
        0,
        subprotocols=SUPPORTED,
        select_subprotocol=select_subprotocol,
        max_size=MAX_SIZE,
        ping_interval=None,
        compression="deflate" if DEFLATE else None,
        ssl=tls,
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"PORT {port}", flush=True)
        await server.serve_forever()


class CheckFailed(Exception):
    pass


def expect(check, got, want):
    if got != want:
        shown = lambda v: repr(v) if len(repr(v)) < 80 else f"{type(v).__name__} of {len(v)}"
        raise CheckFailed(f"{check}: got {shown(got)}, want {shown(want)}")


async def step(check, awaitable):
    try:
        return await asyncio.wait_for(awaitable, STEP_TIMEOUT)
    except asyncio.TimeoutError:
        raise CheckFailed(f"{check}: no answer within {STEP_TIMEOUT} s") from None
    except ConnectionClosed as e:
        raise CheckFailed(f"{check}: connection closed ({e})") from None
    except (OSError, InvalidHandshake) as e:
        # Refused, a certificate the client does not trust (ssl.SSLError), a bad answer...
        raise CheckFailed(f"{check}: {type(e).__name__}: {e}") from None


async def echo_check(ws, check, message):
    await step(check, ws.send(message))
    expect(check, await step(check, ws.recv()), message)


def expect_transport(ws, url):
    """A wss:// connection is TLS and agreed on ALPN http/1.1; a ws:// one is plain."""
    tls = ws.transport.get_extra_info("ssl_object")
    expect("TLS in use", tls is not None, url.startswith("wss://"))
    if tls is not None:
        expect("ALPN", tls.selected_alpn_protocol(), ALPN)


async def run_client(url, ca):
    opts = dict(max_size=MAX_SIZE, ping_interval=None, open_timeout=STEP_TIMEOUT)
    opts.update(client_tls(url, ca))
    ws = await step("connect", connect(url, subprotocols=["chat.v2", "chat.v1"], **opts))
    expect_transport(ws, url)
    expect("subprotocol", ws.subprotocol, "chat.v2")
    expect("permessage-deflate negotiated", negotiated_deflate(ws), DEFLATE)
    await echo_check(ws, "text", "héllo ✓")
    await echo_check(ws, "binary", b"\x01\x02\x03")
    await echo_check(ws, "1 MiB", pattern(1 << 20))
    await echo_check(ws, "16 MiB", pattern(16 << 20))
    await step("fragmented", ws.send(["frag", "men", "ted ✓"]))
    expect("fragmented", await step("fragmented", ws.recv()), "fragmented ✓")
    pong = await step("ping", ws.ping(b"rtt?"))
    await step("pong", pong)
    await step("close", ws.close(4001, "bye"))
    expect("close echo", ws.close_code, 4001)

    ws = await step("connect 2", connect(url, **opts))
    expect_transport(ws, url)
    expect("no subprotocol offered", ws.subprotocol, None)
    await step("close-with", ws.send("close-with 4002 later"))
    try:
        extra = await asyncio.wait_for(ws.recv(), STEP_TIMEOUT)
        raise CheckFailed(f"close-with: got {extra!r} instead of a close")
    except ConnectionClosed:
        pass
    except asyncio.TimeoutError:
        raise CheckFailed(f"close-with: no close within {STEP_TIMEOUT} s") from None
    expect("server close", (ws.close_code, ws.close_reason), (4002, "later"))


def parse_args():
    """The command line; a usage error exits 2."""
    parser = argparse.ArgumentParser(description="wsproto interop peer on Python websockets")
    modes = parser.add_subparsers(dest="mode", required=True)
    server = modes.add_parser("server", help="echo server on 127.0.0.1:0")
    server.add_argument("--tls-cert", metavar="PEM", help="certificate chain: serve wss://")
    server.add_argument("--tls-key", metavar="PEM", help="its private key")
    client = modes.add_parser("client", help="run the interop checks against URL")
    client.add_argument("url")
    client.add_argument("--ca", metavar="PEM", help="trust only these CA certificates")
    args = parser.parse_args()
    if args.mode == "server" and (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    return args


def main():
    args = parse_args()
    if args.mode == "server":
        asyncio.run(run_server(server_tls(args.tls_cert, args.tls_key)))
        return
    try:
        asyncio.run(run_client(args.url, args.ca))
    except CheckFailed as e:
        print(f"FAIL {e}", flush=True)
        sys.exit(1)
    print("PASS", flush=True)


if __name__ == "__main__":
    main()
