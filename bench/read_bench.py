"""Read API benchmark: requests/s and p50/p99 for pages of a 1,000- and a 100,000-item
collection, served by a real server process on 127.0.0.1.

    .venv/bin/python bench/read_bench.py                   # SQLite, var/bench-read
    .venv/bin/python bench/read_bench.py --db postgres     # scripts/postgres.sh's server
    .venv/bin/python bench/read_bench.py --sizes 1000 --duration 5 --connections 16

Steps: migrate; seed (once per instance; ``--reseed`` starts over) an organization with
an ``authors`` collection (100 items) and one ``articles_<n>`` collection per size (title,
category, rank, featured, author -> authors), bulk-created through the ORM in the storage
model's exact shape (items, published locale versions, ItemFieldIndex rows for both
sides); start ``ghee serve --no-worker`` (``harness.Server``); then, per size and scenario,
check one response and run ``wrk`` in its own process (``loadgen.run``). Server (and
PostgreSQL) CPU per request is read from /proc. Results: a Markdown table on stdout and
JSON in ``bench/results/``.

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
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
import loadgen

ROOT = harness.ROOT
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


# --- Running --------------------------------------------------------------------------------


def instance(db: str, reseed: bool) -> dict[str, str]:
    """A persistent instance (seeding 100,000 items takes minutes): ``var/bench-read`` for
    SQLite, database ``ghee_readbench`` on scripts/postgres.sh's server for PostgreSQL."""
    data_dir = ROOT / "var" / "bench-read"
    if reseed:
        shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ghee.settings",
        "GHEE_DATA_DIR": str(data_dir),
        "GHEE_DEBUG": "0",
        "GHEE_LOG_LEVEL": "WARNING",
        "DATABASE_URL": f"sqlite:///{data_dir / 'ghee.sqlite3'}",  # an empty value stops ghee
    }
    if db == "postgres":
        env["DATABASE_URL"] = harness.postgres_url("ghee_readbench", fresh=reseed)
    return env


def check(url: str, expected_items: int) -> int:
    status, body = harness.http_get(url, timeout=30)
    if status != 200:
        raise SystemExit(f"{url}: HTTP {status}: {body[:200]!r}")
    [items] = json.loads(body)["data"].values()
    if len(items) != expected_items:
        raise SystemExit(f"{url}: {len(items)} items, expected {expected_items}")
    return len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--reseed", action="store_true", help="start from an empty database")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    env = instance(args.db, args.reseed)
    harness.django_setup(env)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    token = seed(sizes)
    connection.close()
    info = harness.machine_info()
    rows = []
    with harness.Server(env) as server:
        for size in sizes:
            # The baseline, same server and generator, right before this size's points: the
            # machine is shared and noisy, ratios to it travel better than absolute figures.
            baseline = loadgen.run(
                server.url("/healthz"), connections=args.connections, duration=args.duration
            )
            harness.log(f"/healthz baseline: {baseline.requests_per_s:,.0f} req/s")
            for name in args.scenarios.split(","):
                query = SCENARIOS[name].format(middle=size // 20)
                url = server.url(f"/v2/content/articles_{size}/{query}&auth_token={token}")
                body_bytes = check(url, 100 if name == "page100" else 10)
                cpu0, db0 = server.cpu_seconds(), harness.database_cpu_seconds(env)
                result = loadgen.run(url, connections=args.connections, duration=args.duration)
                cpu = server.cpu_seconds() - cpu0
                db_cpu = harness.database_cpu_seconds(env) - db0
                if result.non_2xx_3xx or any(result.socket_errors.values()):
                    raise SystemExit(f"errors under load: {result.raw}")
                served = max(result.requests, 1)
                rows.append(
                    {
                        "database": args.db,
                        "items": size,
                        "scenario": name,
                        "requests_per_s": result.requests_per_s,
                        "p50_ms": result.latency_ms["p50"],
                        "p99_ms": result.latency_ms["p99"],
                        "server_cpu_ms": 1000 * cpu / served,
                        "db_cpu_ms": 1000 * db_cpu / served,
                        "wrk_cores": result.wrk_cores,
                        "healthz_per_s": baseline.requests_per_s,
                        "vs_healthz": result.requests_per_s / baseline.requests_per_s,
                        "body_bytes": body_bytes,
                    }
                )
                harness.log(json.dumps(rows[-1]))
    path = harness.write_results(
        f"read-{args.db}",
        {
            "machine": info,
            "connections": args.connections,
            "duration_s": args.duration,
            "rows": rows,
        },
    )
    print(
        f"Read API on {args.db}, wrk -t2 -c{args.connections} -d{args.duration}s, "
        f"{info['host_cpus']} cores, load average at start {info['load_average_at_start']}\n"
    )
    print(
        harness.markdown_table(
            rows,
            [
                ("items", "items"),
                ("scenario", "scenario"),
                ("requests_per_s", "req/s"),
                ("p50_ms", "p50 ms"),
                ("p99_ms", "p99 ms"),
                ("server_cpu_ms", "server CPU ms/req"),
                ("db_cpu_ms", "PostgreSQL CPU ms/req"),
                ("wrk_cores", "wrk cores"),
                ("healthz_per_s", "/healthz req/s"),
                ("vs_healthz", "read / healthz"),
                ("body_bytes", "body bytes"),
            ],
        )
    )
    harness.log(f"results: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
