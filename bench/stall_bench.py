"""Stalled write bodies against a real ``ghee serve`` (issue 20, item 3).

For each interface (``GHEE_SERVE_INTERFACE``: ``wsgi``, ``asgi``), in alternating rounds,
one server (``ghee serve --no-worker``, its default workers and threads) and, for 0, 1 and
6 *stallers* (clients holding a valid write token that send headers and part of a body,
then nothing; answered or not, each reconnects and stalls again at once):

- wrk POSTs writes at ``--connections`` for ``--duration`` seconds: the *other writers'*
  accept rate;
- meanwhile a prober GETs ``/healthz`` and a 10-item read in turn, one at a time, each
  with a ``--probe-timeout`` (a timeout counts as that long and as a failure): their p50,
  p99 and failures.

Usage::

    .venv/bin/python bench/stall_bench.py                      # wsgi,asgi x 3 rounds, SQLite
    .venv/bin/python bench/stall_bench.py --interfaces asgi --rounds 1 --stallers 0,6

Figures: docs/benchmarks.md, "Stalled bodies".
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
import loadgen
from write_bench import COLLECTION, ORG, SCHEMA, body, post_headers


class Staller(threading.Thread):
    """Holds one write open: headers and half a body, then nothing, again and again."""

    def __init__(self, port: int, token: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.stop = port, stop
        payload = body(1).encode()
        self.raw = (
            f"POST /v2/content/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Token {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode() + payload[: len(payload) // 2]
        self.answers = 0

    def run(self) -> None:
        while not self.stop.is_set():
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port)) as sock,
            ):
                sock.sendall(self.raw)
                sock.settimeout(0.2)
                while not self.stop.is_set():
                    try:
                        if not sock.recv(65536):
                            break  # answered (a 408) and closed: stall again
                        self.answers += 1
                    except TimeoutError:
                        continue


class Prober(threading.Thread):
    """``/healthz`` and a read, alternately, one at a time; latencies in ms."""

    def __init__(self, urls: dict[str, str], timeout: float, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.urls, self.timeout, self.stop = urls, timeout, stop
        self.latencies: dict[str, list[float]] = {name: [] for name in urls}
        self.failures: dict[str, int] = dict.fromkeys(urls, 0)

    def run(self) -> None:
        while not self.stop.is_set():
            for name, url in self.urls.items():
                started = time.monotonic()
                try:
                    ok = harness.http_get(url, timeout=self.timeout)[0] == 200
                except OSError:
                    ok = False
                elapsed = min(time.monotonic() - started, self.timeout)
                self.latencies[name].append(1000 * (self.timeout if not ok else elapsed))
                self.failures[name] += not ok
            time.sleep(0.02)


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure_point(server, token, read_token, stallers: int, args) -> dict:
    stop = threading.Event()
    clients = [Staller(server.port, token, stop) for _ in range(stallers)]
    for client in clients:
        client.start()
    time.sleep(0.5)  # the stalled bodies are in before the load starts
    prober = Prober(
        {
            "healthz": server.url("/healthz"),
            "read": server.url(f"/v2/content/{COLLECTION}/?auth_token={read_token}&page_size=10"),
        },
        args.probe_timeout,
        stop,
    )
    prober.start()
    post = {"method": "POST", "headers": post_headers(token), "body": body(1)}
    result = loadgen.run(
        server.url("/v2/content/"), connections=args.connections, duration=args.duration, **post
    )
    stop.set()
    prober.join(args.probe_timeout + 2)
    for client in clients:
        client.join(2)
    row = {
        "stallers": stallers,
        "post_rps": result.requests_per_s,
        "post_p99_ms": result.latency_ms.get("p99"),
        "post_errors": result.errors,
    }
    for name, values in prober.latencies.items():
        row |= {
            f"{name}_n": len(values),
            f"{name}_p50_ms": percentile(values, 0.5),
            f"{name}_p99_ms": percentile(values, 0.99),
            f"{name}_failed": prober.failures[name],
        }
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interfaces", default="wsgi,asgi")
    parser.add_argument("--stallers", default="0,1,6")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--probe-timeout", type=float, default=5.0)
    args = parser.parse_args(argv)
    interfaces = args.interfaces.split(",")
    stallers = [int(n) for n in args.stallers.split(",")]

    env = harness.instance_env("stall", db="sqlite")
    token = harness.setup_instance(env, ORG, SCHEMA)
    read_token = harness.ghee(env, "token", "create", "--org", ORG, "--kind", "read").strip()
    rows = []
    for round_number in range(args.rounds):
        for interface in interfaces:
            with harness.Server({**env, "GHEE_SERVE_INTERFACE": interface}) as server:
                loadgen.run(server.url("/healthz"), connections=4, duration=1)  # warm up
                for count in stallers:
                    harness.log(f"round {round_number + 1}: {interface}, {count} stalled bodies")
                    row = {"round": round_number + 1, "interface": interface}
                    row |= measure_point(server, token, read_token, count, args)
                    harness.log("  " + json.dumps(row))
                    rows.append(row)
    summary = []
    for interface in interfaces:
        for count in stallers:
            runs = [r for r in rows if r["interface"] == interface and r["stallers"] == count]

            def median(key, runs=runs):
                values = [r[key] for r in runs if r[key] is not None]
                return statistics.median(values) if values else None

            summary.append(
                {
                    "interface": interface,
                    "stallers": count,
                    "writes/s": median("post_rps"),
                    "writes/s runs": " / ".join(f"{r['post_rps']:.0f}" for r in runs),
                    "healthz p99 ms": median("healthz_p99_ms"),
                    "read p99 ms": median("read_p99_ms"),
                    "probes failed": sum(r["healthz_failed"] + r["read_failed"] for r in runs),
                    "probes": sum(r["healthz_n"] + r["read_n"] for r in runs),
                }
            )
    harness.write_results("stall", {"machine": harness.machine_info(), "rows": rows})
    print(harness.markdown_table(summary, [(k, k) for k in summary[0]]))


if __name__ == "__main__":
    main()
