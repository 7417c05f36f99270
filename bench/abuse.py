#!/usr/bin/env python3
"""Attacks on chatsyncd's listeners, one per subcommand; each prints one JSON object.

    abuse.py idle        --port P --admin-port A --path URL_PATH --count N
    abuse.py wrong-token --port P --count N --size BYTES
    abuse.py slow-bodies --port P --path URL_PATH --count N --size BYTES --rate BYTES_PER_S
                         [--signal-pid PID --signal-after S --fast]
    abuse.py slowloris   --port P --count N
    abuse.py malformed   --port P --path URL_PATH
    abuse.py pipeline    --port A --count N
    abuse.py scrape      --port A --seconds S --connections C

Used by bench/abuse.sh (figures) and tests/e2e/listeners_e2etest.cpp (limits). Standard
library only. Raises its own open-file limit to the hard limit.
"""
import argparse
import asyncio
import json
import os
import resource
import signal
import sys
import time

HOST = "127.0.0.1"


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def webhook_body(tag, size=0):
    """A JivoChat chat_accepted body, unique by `tag`, padded to about `size` bytes."""
    body = {
        "event_name": "chat_accepted",
        "chat_id": tag,
        "widget_id": "abuse",
        "visitor": {"name": "Abuse Test", "number": str(tag)},
        "agent": {"id": "1", "name": "Agent"},
    }
    text = json.dumps(body)
    if size > len(text) + 16:
        body["padding"] = "x" * (size - len(text) - 16)
        text = json.dumps(body)
    return text.encode()


def request(method, path, body=b"", extra=""):
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


async def read_response(reader, timeout):
    """(status, headers text, body) of one response, or (None, error, b"")."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError, OSError) as e:
        return None, type(e).__name__, b""
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    body = b""
    if length:
        try:
            body = await asyncio.wait_for(reader.readexactly(length), timeout)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError, OSError):
            pass
    return status, "\r\n".join(lines[1:]), body


async def exchange(port, data, timeout=10.0):
    """Connects, sends `data`, reads one response; (status, seconds)."""
    start = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), timeout)
    except (ConnectionError, asyncio.TimeoutError, OSError) as e:
        return type(e).__name__, time.monotonic() - start
    try:
        writer.write(data)
        await writer.drain()
        status, _, _ = await read_response(reader, timeout)
    except (ConnectionError, OSError) as e:
        status = type(e).__name__
    writer.close()
    return status if status is not None else "closed", time.monotonic() - start


def close_all(writers):
    for w in writers:
        try:
            w.close()
        except Exception:  # noqa: BLE001 - already gone
            pass


def still_open(reader, writer):
    """Whether the server has not closed the connection (nothing was sent on it)."""
    return not (reader.at_eof() or reader.exception() is not None
                or writer.transport.is_closing())


async def idle(args):
    conns = []
    failed = 0
    start = time.monotonic()
    for i in range(0, args.count, 250):
        batch = [asyncio.open_connection(HOST, args.port) for _ in range(min(250, args.count - i))]
        for r in await asyncio.gather(*batch, return_exceptions=True):
            if isinstance(r, Exception):
                failed += 1
            else:
                conns.append(r)
    opened_s = time.monotonic() - start
    await asyncio.sleep(args.settle)
    health, health_s = await exchange(args.admin_port, request("GET", "/healthz"), args.timeout)
    hook, hook_s = await exchange(
        args.port, request("POST", args.path, webhook_body(int(time.time() * 1e6))), args.timeout
    )
    await asyncio.sleep(0.2)
    open_now = sum(still_open(r, w) for r, w in conns)
    close_all(w for _, w in conns)
    return {
        "connections": args.count,
        "connect_failed": failed,
        "open_seconds": round(opened_s, 2),
        "still_open": open_now,
        "healthz_status": health,
        "healthz_seconds": round(health_s, 3),
        "webhook_status": hook,
        "webhook_seconds": round(hook_s, 3),
    }


async def push_body(port, path, size, rate, tag, timeout):
    """Sends a request whose body of `size` bytes goes at `rate` bytes/s (0: at once)."""
    body = webhook_body(tag, size) if path else b"x" * size
    head = request("POST", path or "/webhooks/jivochat/nope/wrong-token", b"")
    head = head.replace(b"Content-Length: 0", b"Content-Length: %d" % len(body))
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), timeout)
    except (ConnectionError, asyncio.TimeoutError, OSError) as e:
        return type(e).__name__
    result = None
    try:
        writer.write(head)
        await writer.drain()
        chunk = 16384 if rate == 0 else max(1, min(16384, rate // 4))
        for off in range(0, len(body), chunk):
            writer.write(body[off:off + chunk])
            await writer.drain()
            if rate:
                await asyncio.sleep(chunk / rate)
            if answered(reader):
                break
    except (ConnectionError, OSError) as e:
        result = type(e).__name__
    status, _, _ = await read_response(reader, timeout)
    writer.close()
    if status is not None:
        return status
    return result or "closed"


def answered(reader):
    """Whether the server answered (or closed) before the request was all sent: then the rest
    is not sent, as a careful client would do. StreamReader has no public way to ask."""
    return reader.at_eof() or len(reader._buffer) > 0 or reader._eof  # noqa: SLF001


def count(results):
    out = {}
    for r in results:
        out[str(r)] = out.get(str(r), 0) + 1
    return out


async def wrong_token(args):
    start = time.monotonic()
    tasks = [push_body(args.port, "", args.size, 0, i, args.timeout) for i in range(args.count)]
    results = await asyncio.gather(*tasks)
    return {"connections": args.count, "body_bytes": args.size, "results": count(results),
            "seconds": round(time.monotonic() - start, 2)}


def process_gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] in ("Z", "X")
    except OSError:
        return True


async def fast_webhooks(port, path, acked, stop):
    """Valid webhooks one after another until `stop`; appends each acknowledged tag."""
    tag = int(time.time() * 1e6)
    while not stop.is_set():
        tag += 1
        status, _ = await exchange(port, request("POST", path, webhook_body(tag)), 5.0)
        if status == 200:
            acked.append(tag)
        elif not isinstance(status, int):
            await asyncio.sleep(0.05)


async def slow_bodies(args):
    start = time.monotonic()
    base = int(time.time() * 1e6)
    tasks = [asyncio.ensure_future(
        push_body(args.port, args.path, args.size, args.rate, base + i, args.timeout))
        for i in range(args.count)]
    acked, stop = [], asyncio.Event()
    fast = asyncio.ensure_future(fast_webhooks(args.port, args.path, acked, stop)) if args.fast else None
    out = {"connections": args.count, "body_bytes": args.size, "rate": args.rate}
    if args.signal_pid:
        await asyncio.sleep(args.signal_after)
        signalled = time.monotonic()
        os.kill(args.signal_pid, signal.SIGTERM)
        while not process_gone(args.signal_pid) and time.monotonic() - signalled < 120:
            await asyncio.sleep(0.05)
        out["exit_seconds"] = round(time.monotonic() - signalled, 2)
    stop.set()
    if fast:
        await fast
    results = await asyncio.gather(*tasks)
    out["results"] = count(results)
    out["acked_fast"] = len(acked)
    out["seconds"] = round(time.monotonic() - start, 2)
    return out


async def slowloris(args):
    async def one():
        start = time.monotonic()
        try:
            reader, writer = await asyncio.open_connection(HOST, args.port)
        except (ConnectionError, OSError) as e:
            return type(e).__name__, 0.0
        head = f"POST /webhooks/x/y/z HTTP/1.1\r\nHost: {HOST}\r\nX-Slow: ".encode()
        status = None
        for b in head + b"a" * 10000:
            try:
                writer.write(bytes([b]))
                await writer.drain()
            except (ConnectionError, OSError):
                break
            if answered(reader):
                break
            await asyncio.sleep(0.5)
        status, _, _ = await read_response(reader, 5.0)
        writer.close()
        return status if status is not None else "closed", time.monotonic() - start

    results = await asyncio.gather(*[one() for _ in range(args.count)])
    seconds = [s for _, s in results]
    return {"connections": args.count, "results": count(r for r, _ in results),
            "closed_after_seconds_max": round(max(seconds), 2)}


MALFORMED = {
    "no_host": b"GET /healthz HTTP/1.1\r\n\r\n",
    "two_hosts": b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "te_gzip": b"POST {path} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"
               b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
    "te_and_cl": b"POST {path} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                 b"Content-Length: 5\r\n\r\n0\r\n\r\n",
    "bad_cl": b"POST {path} HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n",
    "two_cl": b"POST {path} HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab",
    "short_body": b"POST {path} HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc",
    "garbage": b"\x00\x01\x02 NOT HTTP\r\n\r\n",
    "huge_header": b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"a" * 70000 + b"\r\n\r\n",
    "bad_chunk": b"POST {path} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
}


async def malformed(args):
    out = {}
    for name, raw in MALFORMED.items():
        data = raw.replace(b"{path}", args.path.encode())
        try:
            reader, writer = await asyncio.open_connection(HOST, args.port)
            writer.write(data)
            await writer.drain()
            if name == "short_body":
                writer.write_eof()
            status, _, _ = await read_response(reader, 15.0)
            rest = await asyncio.wait_for(reader.read(), 15.0)
            out[name] = {"status": status, "closed": True, "more_bytes": len(rest)}
            writer.close()
        except (ConnectionError, OSError, asyncio.TimeoutError) as e:
            out[name] = {"status": None, "error": type(e).__name__}
    return out


async def pipeline(args):
    reader, writer = await asyncio.open_connection(HOST, args.port)
    writer.write(request("GET", "/healthz") * args.count)
    await writer.drain()
    ok = 0
    for _ in range(args.count):
        status, _, _ = await read_response(reader, 10.0)
        if status != 200:
            break
        ok += 1
    writer.close()
    return {"pipelined": args.count, "answered_200": ok}


async def scrape(args):
    deadline = time.monotonic() + args.seconds
    counts = []

    async def worker():
        reader, writer = await asyncio.open_connection(HOST, args.port)
        n = 0
        data = request("GET", "/metrics")
        while time.monotonic() < deadline:
            writer.write(data)
            await writer.drain()
            status, _, _ = await read_response(reader, 10.0)
            if status != 200:
                break
            n += 1
        writer.close()
        counts.append(n)

    await asyncio.gather(*[worker() for _ in range(args.connections)])
    return {"requests": sum(counts), "per_second": round(sum(counts) / args.seconds)}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("attack", choices=["idle", "wrong-token", "slow-bodies", "slowloris",
                                      "malformed", "pipeline", "scrape"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--admin-port", type=int, default=0)
    p.add_argument("--path", default="")
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--size", type=int, default=1 << 20)
    p.add_argument("--rate", type=int, default=0)
    p.add_argument("--settle", type=float, default=1.0)
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--signal-pid", type=int, default=0)
    p.add_argument("--signal-after", type=float, default=2.0)
    p.add_argument("--fast", action="store_true")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--connections", type=int, default=8)
    args = p.parse_args()
    raise_nofile()
    attack = {"idle": idle, "wrong-token": wrong_token, "slow-bodies": slow_bodies,
              "slowloris": slowloris, "malformed": malformed, "pipeline": pipeline,
              "scrape": scrape}[args.attack]
    print(json.dumps(asyncio.run(attack(args))))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
