"""A real-peer interop program on Python `websockets` (asyncio API, >= 13).

    peer.py server       echo server on 127.0.0.1:0; prints `PORT <n>` then serves
    peer.py client URL   runs the interop checks against an echo server at URL

The server repeats text as text and binary as binary, negotiates the subprotocols
"chat.v1"/"chat.v2" (the client's first supported one), and answers the text
`close-with <code> <reason>` by closing with that code and reason.

The client exits 0 when every check passed, else prints `FAIL <check>: <why>` and exits 1.
Every step is bounded by STEP_TIMEOUT seconds.
"""

import asyncio
import os
import sys

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

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


async def run_server():
    async with serve(
        echo,
        "127.0.0.1",
        0,
        subprotocols=SUPPORTED,
        select_subprotocol=select_subprotocol,
        max_size=MAX_SIZE,
        ping_interval=None,
        compression="deflate" if DEFLATE else None,
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


async def echo_check(ws, check, message):
    await step(check, ws.send(message))
    expect(check, await step(check, ws.recv()), message)


async def run_client(url):
    opts = dict(max_size=MAX_SIZE, ping_interval=None, open_timeout=STEP_TIMEOUT)
    ws = await step("connect", connect(url, subprotocols=["chat.v2", "chat.v1"], **opts))
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


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "server":
        asyncio.run(run_server())
    elif len(sys.argv) == 3 and sys.argv[1] == "client":
        try:
            asyncio.run(run_client(sys.argv[2]))
        except CheckFailed as e:
            print(f"FAIL {e}", flush=True)
            sys.exit(1)
        print("PASS", flush=True)
    else:
        print("usage: peer.py server | peer.py client URL", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
