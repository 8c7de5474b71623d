"""``ghee import buttercms`` of many items with media, from a loopback "ButterCMS".

    .venv/bin/python bench/import_bench.py                        # 10,000 items, 1,000 media
    .venv/bin/python bench/import_bench.py --items 1000 --media 100
    .venv/bin/python bench/import_bench.py --refs backward        # references resolved at once

A fake ButterCMS (pages of 100 items in ButterCMS's shape, generated on request so the
server holds nothing) and a media server (1,000 distinct small PNGs) run in this process on
127.0.0.1; the import runs in a child process (``--child``) with a fresh SQLite database and
local storage, allowed to reach loopback on purpose. Reported: items/s and media/s over the
whole import (discovery, schema, media, jobs), the time of a second run that finds nothing
changed, and the child's peak RSS (during the first run) next to its RSS before the import:
the items wait in an on-disk spool, so memory should not grow with them.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def png(n: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 3), (n % 256, (n // 256) % 256, 7)).save(out, "PNG")
    return out.getvalue()


def serve(items: int, media: int, refs: str = "forward") -> tuple[ThreadingHTTPServer, int]:
    images = {n: png(n) for n in range(media)}

    def target(n: int) -> int:
        """Each item refers to the next (created after it: set by the second pass) or to
        the one before (created already: set at once)."""
        return (n + 1) % items + 1 if refs == "forward" else (n - 1) % items + 1

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send(self, status, body, kind):
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path, _, query = self.path.partition("?")
            if path.startswith("/media/"):
                n = int(re.sub(r"\D", "", path))
                return self.send(200, images[n], "image/png")
            params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
            page, size = int(params.get("page", 1)), int(params.get("page_size", 10))
            port = self.server.server_address[1]
            rows = [
                {
                    "meta": {"id": n + 1},
                    "title": f"Item {n}",
                    "body": f"Line one of {n}\nline two",
                    "rank": n,
                    "photo": f"http://127.0.0.1:{port}/media/{n % media}.png",
                    "next": f"/v2/content/?keys=things[_id={target(n)}]",
                }
                for n in range((page - 1) * size, min(page * size, items))
            ]
            pages = -(-items // size)
            body = {
                "meta": {
                    "count": items,
                    "next_page": page + 1 if page < pages else None,
                    "previous_page": page - 1 if page > 1 else None,
                },
                "data": {"things": rows},
            }
            self.send(200, json.dumps(body).encode(), "application/json")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def child(port: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from ghee.accounts.services import create_organization

    call_command("migrate", verbosity=0)
    create_organization("bench", "Bench")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    args = ("import", "buttercms", "--org", "bench", "--keys", "things", "--no-webhooks")
    args += ("--source", f"http://127.0.0.1:{port}", "--token", "bench", "--no-progress")
    out = io.StringIO()
    started = time.monotonic()
    call_command(*args, stdout=out)
    elapsed = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    call_command(*args, stdout=io.StringIO())  # again: nothing changed at the source
    rerun = time.monotonic() - started
    figures = {"seconds": elapsed, "rerun_seconds": rerun, "rss_before_kib": before}
    print(json.dumps({**figures, "rss_peak_kib": peak, "summary": out.getvalue()}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--media", type=int, default=1_000)
    parser.add_argument("--refs", choices=("forward", "backward"), default="forward")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    server, port = serve(args.items, args.media, args.refs)
    with tempfile.TemporaryDirectory() as data:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith("GHEE_") and k != "DATABASE_URL"
        }
        env |= {
            "GHEE_DATA_DIR": data,
            "GHEE_EGRESS_ALLOW_NETWORKS": "127.0.0.0/8",
            "GHEE_EGRESS_ALLOW_PORTS": str(port),
            "DJANGO_SETTINGS_MODULE": "ghee.settings",
        }
        result = subprocess.run(
            [sys.executable, __file__, "--child", str(port), "--items", str(args.items)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    server.shutdown()
    if result.returncode != 0:
        sys.exit(f"the import failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    seconds = figures["seconds"]
    print(figures["summary"])
    print(
        f"{args.items} items, {args.media} media files in {seconds:.1f} s: "
        f"{args.items / seconds:.0f} items/s, {args.media / seconds:.1f} media/s"
    )
    print(f"a second run, nothing changed: {figures['rerun_seconds']:.1f} s")
    print(
        f"child RSS: {figures['rss_before_kib'] / 1024:.0f} MiB before the import, "
        f"peak {figures['rss_peak_kib'] / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()
