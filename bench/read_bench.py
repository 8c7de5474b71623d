"""Read API benchmark: requests/s and p50/p99 for pages of a 1,000- and a 100,000-item
collection, served by a real server process on 127.0.0.1.

    .venv/bin/python bench/read_bench.py                      # SQLite under var/bench-read
    DATABASE_URL=postgres://... .venv/bin/python bench/read_bench.py   # PostgreSQL
    .venv/bin/python bench/read_bench.py --sizes 1000 --duration 5 --connections 16

Steps: migrate; seed (once per database) an organization with an ``authors`` collection
(100 items) and one ``articles_<n>`` collection per size (title, category, rank, featured,
author -> authors), bulk-created through the ORM in the storage model's exact shape (items,
published locale versions, ItemFieldIndex rows for both sides); start ``ghee serve
--no-worker`` (or granian directly if that command doesn't exist yet); then, per size and
scenario, check one response and run ``wrk`` (``apt-get install -y wrk``) in its own
process. Server CPU per request is read from /proc. Results: a Markdown table on stdout
and JSON in ``bench/results/``.

Scenarios (auth by ``?auth_token=``):
- ``page10``: first page of 10, ``levels=1`` (the reference is a URI);
- ``page10_middle``: the page of 10 in the middle of the collection (OFFSET n/2);
- ``page100``: first page of 100, ``levels=1``;
- ``filtered``: ``fields.category=cat-3`` (a tenth of the items), page of 10, ``levels=1``;
- ``ordered``: ``order=-rank``, page of 10, ``levels=1``;
- ``levels2``: page of 10 with ``author`` expanded to an object (``levels=2``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
ORG_SLUG = "readbench"
CATEGORIES = 10
AUTHORS = 100
SCENARIOS = {
    "page10": "?page_size=10&levels=1",
    "page10_middle": "?page={middle}&page_size=10&levels=1",
    "page100": "?page_size=100&levels=1",
    "filtered": "?fields.category=cat-3&page_size=10&levels=1",
    "ordered": "?order=-rank&page_size=10&levels=1",
    "levels2": "?page_size=10&levels=2",
}


def setup_django(data_dir: Path) -> None:
    os.environ.setdefault("GHEE_DATA_DIR", str(data_dir))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ghee.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def seed(sizes: list[int]) -> str:
    """Create what is missing; return a read token (a new one each run)."""
    from django.db import transaction

    from ghee.accounts.models import Organization
    from ghee.accounts.services import create_organization, create_token
    from ghee.content.models import Collection, Field

    org = Organization.objects.filter(slug=ORG_SLUG).first()
    if org is None:
        org = create_organization(ORG_SLUG, "Read benchmark")
    authors = Collection.objects.filter(organization=org, key="authors").first()
    if authors is None:
        with transaction.atomic():
            authors = Collection.objects.create(organization=org, key="authors", name="Authors")
            Field.objects.create(collection=authors, key="name", type="short_text", order=0)
            _bulk_items(authors, AUTHORS, lambda n: {"name": f"Author {n}"})
    author_ids = list(authors.items.order_by("id").values_list("id", flat=True))
    for size in sizes:
        key = f"articles_{size}"
        if Collection.objects.filter(organization=org, key=key).exists():
            continue
        started = time.monotonic()
        with transaction.atomic():
            articles = Collection.objects.create(organization=org, key=key, name=key)
            for order, (field_key, kind, extra) in enumerate(
                [
                    ("title", "short_text", {}),
                    ("category", "short_text", {}),
                    ("rank", "number", {}),
                    ("featured", "checkbox", {}),
                    ("author", "reference", {"reference_to": "authors"}),
                ]
            ):
                Field.objects.create(
                    collection=articles, key=field_key, type=kind, order=order, **extra
                )
            _bulk_items(
                articles,
                size,
                lambda n, size=size: {
                    "title": f"Article {n}",
                    "category": f"cat-{n % CATEGORIES}",
                    "rank": (n * 7919) % size,
                    "featured": n % 2 == 0,
                    "author": author_ids[n % len(author_ids)],
                },
            )
        print(f"seeded {key} in {time.monotonic() - started:.1f}s", file=sys.stderr)
    return create_token(org, "read", "read benchmark")[1]


def _index_pairs(kind: str, value):
    if value is None:
        return []
    if kind == "reference":
        return [(str(value), float(value))]
    if kind == "number":
        return [(None, float(value))]
    if kind == "checkbox":
        return [("true" if value else "false", None)]
    return [(str(value)[:255], None)]


def _bulk_items(collection, count: int, make_values, batch: int = 5000) -> None:
    from django.utils import timezone

    from ghee.content.models import Item, ItemFieldIndex, ItemLocale

    kinds = {f.key: f.type for f in collection.fields.all()}
    now = timezone.now()
    for start in range(0, count, batch):
        numbers = range(start, min(start + batch, count))
        items = Item.objects.bulk_create(
            Item(collection=collection, organization_id=collection.organization_id) for _ in numbers
        )
        versions, index_rows = [], []
        for n, item in zip(numbers, items, strict=True):
            values = make_values(n)
            versions.append(
                ItemLocale(
                    item=item,
                    collection=collection,
                    locale="",
                    status="published",
                    data=values,
                    published_data=values,
                    is_published=True,
                    published_at=now,
                )
            )
            for key, value in values.items():
                for text, number in _index_pairs(kinds[key], value):
                    for published in (False, True):
                        index_rows.append(
                            ItemFieldIndex(
                                item=item,
                                collection=collection,
                                locale="",
                                published=published,
                                field_key=key,
                                text_value=text,
                                number_value=number,
                            )
                        )
        ItemLocale.objects.bulk_create(versions)
        ItemFieldIndex.objects.bulk_create(index_rows, batch_size=5000)


# --- The server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, env: dict) -> subprocess.Popen:
    ghee = str(BIN / "ghee")
    has_serve = (
        subprocess.run(
            [ghee, "help", "serve"], env=env, capture_output=True, check=False
        ).returncode
        == 0
    )
    if has_serve:
        command = [ghee, "serve", "--no-worker", "--bind", f"127.0.0.1:{port}"]
    else:
        command = [
            str(BIN / "granian"),
            "--interface",
            "wsgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
            "--blocking-threads",
            "1",
            "--no-ws",
            "ghee.wsgi:application",
        ]
    print("server:", " ".join(command), file=sys.stderr)
    server = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise SystemExit("the server did not come up")


def stop_server(server: subprocess.Popen) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(server.pid, signal.SIGKILL)


def process_tree_cpu(root_pid: int) -> float:
    """CPU seconds (user + system) of ``root_pid`` and its live descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    parents, cpu = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        parents[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    total, stack = 0.0, [root_pid]
    while stack:
        pid = stack.pop()
        total += cpu.get(pid, 0.0)
        stack.extend(child for child, parent in parents.items() if parent == pid)
    return total


# --- Load ---------------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * UNITS[unit]


def run_wrk(url: str, duration: int, connections: int) -> dict:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx or 3xx responses" in out:
        raise SystemExit(f"errors under load:\n{out}")
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    if set(percentiles) != {"50", "99"}:
        raise SystemExit(f"unexpected wrk output:\n{out}")
    return {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p50_ms": _ms(percentiles["50"]),
        "p99_ms": _ms(percentiles["99"]),
    }


def check(url: str, expected_items: int) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.load(response)
    [items] = body["data"].values()
    if len(items) != expected_items:
        raise SystemExit(f"{url}: {len(items)} items, expected {expected_items}")
    return len(json.dumps(body))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--data-dir", default=str(ROOT / "var" / "bench-read"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    sizes = [int(s) for s in args.sizes.split(",")]
    data_dir = Path(args.data_dir).resolve()
    setup_django(data_dir)
    from django.db import connection

    token = seed(sizes)
    vendor = connection.vendor
    connection.close()
    env = {**os.environ, "GHEE_DATA_DIR": str(data_dir), "GHEE_LOG_LEVEL": "WARNING"}
    port = free_port()
    server = start_server(port, env)
    results = []
    try:
        for size in sizes:
            for name in args.scenarios.split(","):
                query = SCENARIOS[name].format(middle=size // 20)
                url = (
                    f"http://127.0.0.1:{port}/v2/content/articles_{size}/{query}&auth_token={token}"
                )
                expected = 100 if name == "page100" else 10
                body_bytes = check(url, expected)
                cpu_before = process_tree_cpu(server.pid)
                figures = run_wrk(url, args.duration, args.connections)
                cpu = process_tree_cpu(server.pid) - cpu_before
                figures["server_cpu_ms_per_request"] = round(
                    1000 * cpu / max(figures["requests"], 1), 3
                )
                results.append(
                    {"database": vendor, "items": size, "scenario": name, "bytes": body_bytes}
                    | figures
                )
                print(json.dumps(results[-1]), file=sys.stderr)
    finally:
        stop_server(server)
    print(
        f"\nRead API, {vendor}, wrk -t2 -c{args.connections} -d{args.duration}s, "
        f"{os.cpu_count()} cores\n"
    )
    print("| items | scenario | req/s | p50 ms | p99 ms | server CPU ms/req | body bytes |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for row in results:
        print(
            f"| {row['items']:,} | {row['scenario']} | {row['requests_per_s']:,.0f} "
            f"| {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['server_cpu_ms_per_request']} "
            f"| {row['bytes']:,} |"
        )
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"read-{vendor}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\n{out.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
