"""Dashboard content-editor benchmark: server time of each editor page with a 100,000-item
collection (issue 11 item 9: every page under 200 ms).

    .venv/bin/python bench/editor_bench.py                  # SQLite, var/bench-editor
    .venv/bin/python bench/editor_bench.py --db postgres    # scripts/postgres.sh's server
    .venv/bin/python bench/editor_bench.py --items 100000 --repeat 20

Steps: migrate; seed once per instance (``--reseed`` starts over) an organization with a
``people`` collection (name: the label, bio, rank; one item in ten a draft) bulk-created
through the ORM in the storage model's shape (``read_bench._bulk_items``); then request
each page in this process with Django's test client, signed in as a superuser, and time
it: the whole Django request (middleware, queries, template), no network. Prints the
median and the slowest of ``--repeat`` requests per page, and the page's query count.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness

ROOT = harness.ROOT
ORG_SLUG = "editorbench"


def instance(db: str, reseed: bool) -> dict[str, str]:
    data_dir = ROOT / "var" / "bench-editor"
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
        env["DATABASE_URL"] = harness.postgres_url("ghee_editorbench", fresh=reseed)
    return env


def seed(count: int):
    from django.db import connection, transaction
    from django.utils import timezone
    from read_bench import _bulk_items

    from ghee.accounts.models import Organization
    from ghee.accounts.services import create_organization
    from ghee.content.models import Collection, Field, ItemLocale

    org = Organization.objects.filter(slug=ORG_SLUG).first() or create_organization(
        ORG_SLUG, "Editor benchmark"
    )
    people = Collection.objects.filter(organization=org, key="people").first()
    if people is None:
        started = time.monotonic()
        with transaction.atomic():
            people = Collection.objects.create(
                organization=org, key="people", name="People", label_field="name"
            )
            for order, (key, kind) in enumerate(
                [("name", "short_text"), ("bio", "long_text"), ("rank", "number")]
            ):
                Field.objects.create(collection=people, key=key, type=kind, order=order)
            _bulk_items(
                people,
                count,
                lambda n: {"name": f"Person {n}", "bio": f"Biography {n}. " * 5, "rank": n},
            )
            # One item in ten is a draft (never published).
            drafts = list(people.items.order_by("id").values_list("id", flat=True))[::10]
            for start in range(0, len(drafts), 500):
                ItemLocale.objects.filter(item_id__in=drafts[start : start + 500]).update(
                    status="draft", published_data=None, is_published=False, published_at=None
                )
            people.items.update(updated_at=timezone.now())
        print(f"seeded {count} items in {time.monotonic() - started:.1f}s", file=sys.stderr)
        if connection.vendor == "postgresql":
            # What autovacuum would soon do: statistics and the visibility map (index-only
            # scans) for the bulk-inserted rows.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
    return people


def superuser():
    from django.contrib.auth import get_user_model

    User = get_user_model()
    user = User.objects.filter(username="bench").first()
    return user or User.objects.create_superuser("bench", "bench@example.com", "x" * 20)


def pages(people) -> dict[str, str]:
    from ghee.content.models import Item

    ids = list(people.items.order_by("id").values_list("id", flat=True)[:1])
    middle = Item.objects.filter(collection=people).count() // 2
    first = ids[0]
    base = f"/admin/content/item/{people.pk}/"
    return {
        "dashboard home /admin/ (baseline: Django's own page)": "/admin/",
        "content home (collections, counts)": "/admin/content/item/",
        "collection list (schema)": "/admin/content/collection/",
        "schema editor (collection page)": f"/admin/content/collection/{people.pk}/change/",
        "items, page 1": base,
        "items, middle page": f"{base}?p={middle // 50}",
        "items, status=draft": f"{base}?status=draft",
        "items, status=published": f"{base}?status=published",
        "items, search 'person 4242'": f"{base}?q=person+4242",
        "items, search '99' (many hits)": f"{base}?q=99",
        "items, search no hit": f"{base}?q=nobody",
        "items, search id": f"{base}?q={first}",
        "reference autocomplete 'person 77'": f"{base}search/?term=person+77",
        "item form (edit)": f"{base}{first}/",
        "item form (add)": f"{base}add/",
    }


def measure(client, url: str, repeat: int) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)  # warm caches (schema, session)
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code}")
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return statistics.median(timings), max(timings), len(captured)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    env = instance(args.db, args.reseed)
    harness.ghee(env, "migrate", "--noinput", "-v0")
    harness.django_setup(env)
    from django.test import Client

    people = seed(args.items)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(superuser())
    print(f"| page ({args.db}, {args.items} items) | median ms | slowest ms | queries |")
    print("| --- | ---: | ---: | ---: |")
    for name, url in pages(people).items():
        median, slowest, queries = measure(client, url, args.repeat)
        print(f"| {name} | {median:.1f} | {slowest:.1f} | {queries} |")


if __name__ == "__main__":
    main()
