"""Webhook deliveries: throughput to a fast receiver, and a dead endpoint beside a live one.

    .venv/bin/python bench/webhook_bench.py                       # 2000 deliveries, 20 s streams
    .venv/bin/python bench/webhook_bench.py --deliveries 500 --rate 40 --duration 10

A receiver runs in this process on 127.0.0.1: ``/fast`` answers 200 at once, ``/dead``
accepts the connection and never answers (each attempt ends at ``GHEE_WEBHOOK_TIMEOUT``).
One ``ghee worker`` sends, with a fresh SQLite instance allowed to reach loopback on purpose
(GHEE_EGRESS_ALLOW_NETWORKS). Deliveries are written the way the outbox handler writes them
(``services.create_deliveries`` for an item event), so no job or HTTP API runs. Reported:

- **backlog**: N deliveries queued, then one worker drains them: deliveries/s from the rows
  (first attempt started -> last one finished; worker start-up not counted);
- **stream**: ``--rate`` item events per second for ``--duration`` seconds while the worker
  runs, to the live endpoint alone, then to the live endpoint and a dead one in the same
  organization: the live endpoint's delivered/s and its latency (event written -> delivery
  succeeded, p50/p99), and how many attempts the dead endpoint used.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

SCHEMA_YAML = """\
collections:
  - key: team_members
    name: Team members
    label: name
    fields:
      - {key: name, type: short_text, required: true}
"""


def serve(stop: threading.Event) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/dead":
                stop.wait(600)  # never answers while the bench runs
                return
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


class Events:
    """Item events as the write pipeline records them, handed to the webhooks handler."""

    def __init__(self, organization_id: int) -> None:
        self.organization_id = organization_id
        self.n = 0

    def write(self, count: int) -> None:
        from django.db import transaction
        from django.utils import timezone

        from ghee.core.models import OutboxEvent
        from ghee.webhooks import services

        with transaction.atomic():
            for _ in range(count):
                self.n += 1
                event = OutboxEvent(
                    pk=self.n,
                    topic="collectionitem",
                    name="collectionitem.published",
                    organization_id=self.organization_id,
                    data={
                        "collection": "team_members",
                        "item_id": self.n,
                        "locale": None,
                        "default_locale": True,
                        "status": "published",
                        "label": f"Member {self.n}",
                        "editor": "bench",
                        "job_id": self.n,
                        "timestamp": timezone.now().isoformat(),
                    },
                )
                services.create_deliveries(event)


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def backlog(env, events: Events, count: int) -> dict:
    from ghee.webhooks.models import Delivery

    events.write(count)
    with harness.Workers(env, 1) as workers:
        done = wait_until(
            lambda: not Delivery.objects.filter(status__in=["pending", "running"]).exists(),
            timeout=600,
        )
        cpu = workers.cpu_seconds()
    rows = Delivery.objects.filter(status="succeeded")
    first = min(rows.values_list("started_at", flat=True))
    last = max(rows.values_list("finished_at", flat=True))
    seconds = (last - first).total_seconds()
    return {
        "scenario": "backlog, fast receiver",
        "deliveries": rows.count(),
        "seconds": seconds,
        "per_second": rows.count() / seconds if seconds else None,
        "worker_cpu_ms_each": cpu * 1000 / max(rows.count(), 1),
        "complete": done,
    }


def stream(env, events: Events, live_url: str, rate: float, duration: float, label: str) -> dict:
    from ghee.webhooks.models import Delivery

    start_id = Delivery.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with harness.Workers(env, 1):
        time.sleep(1.5)  # the worker's start-up
        began = time.monotonic()
        sent = 0
        while time.monotonic() - began < duration:
            due = int((time.monotonic() - began) * rate) + 1 - sent
            if due > 0:
                events.write(due)
                sent += due
            time.sleep(0.01)
        live = Delivery.objects.filter(id__gt=start_id, endpoint__url=live_url)
        wait_until(lambda: not live.exclude(status="succeeded").exists(), timeout=120)
        elapsed = time.monotonic() - began
        latencies = sorted(
            (finished - created).total_seconds() * 1000
            for created, finished in live.filter(status="succeeded").values_list(
                "created_at", "finished_at"
            )
        )
        dead = Delivery.objects.filter(id__gt=start_id).exclude(endpoint__url=live_url)
        dead_attempts = sum(dead.values_list("attempts", flat=True))
    return {
        "scenario": label,
        "events": sent,
        "live_delivered": len(latencies),
        "live_per_second": len(latencies) / elapsed,
        "live_p50_ms": statistics.median(latencies) if latencies else None,
        "live_p99_ms": latencies[int(len(latencies) * 0.99) - 1] if latencies else None,
        "dead_attempts": dead_attempts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=50.0, help="item events per second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per stream")
    args = parser.parse_args()

    stop = threading.Event()
    server = serve(stop)
    port = server.server_address[1]
    env = harness.instance_env(
        "webhooks",
        GHEE_EGRESS_ALLOW_NETWORKS="127.0.0.0/8",
        GHEE_EGRESS_ALLOW_PORTS=str(port),
    )
    harness.setup_instance(env, org="bench", schema=SCHEMA_YAML)
    live_url = f"http://127.0.0.1:{port}/fast"
    harness.ghee(
        env, "webhook", "add", "--org", "bench", live_url, "--events", "collectionitem.all"
    )
    harness.django_setup(env)
    from ghee.accounts.models import Organization

    events = Events(Organization.objects.get(slug="bench").pk)
    harness.log(f"backlog: {args.deliveries} deliveries to a fast receiver, one worker")
    rows = [backlog(env, events, args.deliveries)]
    harness.log(f"stream: {args.rate:g} events/s for {args.duration:g} s, live endpoint alone")
    rows.append(stream(env, events, live_url, args.rate, args.duration, "stream, live alone"))
    dead_url = f"http://127.0.0.1:{port}/dead"
    harness.ghee(
        env, "webhook", "add", "--org", "bench", dead_url, "--events", "collectionitem.all"
    )
    harness.log("stream again, with a dead endpoint in the same organization")
    rows.append(
        stream(env, events, live_url, args.rate, args.duration, "stream, live + dead endpoint")
    )
    stop.set()
    server.shutdown()

    settings = {k: v for k, v in os.environ.items() if k.startswith("GHEE_WEBHOOK_")}
    path = harness.write_results(
        "webhooks", {"machine": harness.machine_info(), "settings": settings, "results": rows}
    )
    print(
        harness.markdown_table(
            rows,
            [
                ("scenario", "scenario"),
                ("deliveries", "deliveries"),
                ("per_second", "deliveries/s"),
                ("worker_cpu_ms_each", "worker CPU ms each"),
                ("events", "events"),
                ("live_delivered", "live delivered"),
                ("live_per_second", "live/s"),
                ("live_p50_ms", "live p50 ms"),
                ("live_p99_ms", "live p99 ms"),
                ("dead_attempts", "dead attempts"),
            ],
        )
    )
    harness.log(f"results: {path}")


if __name__ == "__main__":
    main()
