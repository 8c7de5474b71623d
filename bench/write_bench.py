"""Write API benchmark: ``POST /v2/content/`` against ``ghee serve`` on 127.0.0.1.

    .venv/bin/python bench/write_bench.py                     # SQLite and PostgreSQL, 10 s points
    .venv/bin/python bench/write_bench.py --db sqlite --duration 5
    .venv/bin/python bench/write_bench.py --db postgres --phases accept --connections 16

Per database, on a fresh instance (``var/bench/write-<db>``; PostgreSQL database
``ghee_bench_write_postgres`` on scripts/postgres.sh's server), set up through the ``ghee``
command (migrate, ``org create``, ``schema apply``, ``token create``):

1. **accept** (``ghee serve --no-worker``): for each concurrency (default 1, 16, 64), wrk on
   ``GET /healthz`` (the baseline, same server, same run) and then on ``POST /v2/content/``
   with the seed's example body; accepted/s is counted from the Job rows the run created,
   and wrk's Non-2xx line must be zero. Reports requests/s, p50/p99, the ratio to the
   baseline, server CPU ms per request and the CPU wrk itself took.
2. **e2e**: for 1 and 2 ``ghee worker`` processes beside the server, the job tables emptied
   first: wrk POSTs for ``--e2e-duration`` seconds at ``--e2e-connections``, then the bench
   waits until no job is pending or running. items/s = items stored / (time from the first
   POST until every job finished). Every accepted item must exist exactly once.

Results: a Markdown table on stdout and JSON in ``bench/results/`` (git-ignored). Timing is
never asserted: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
import loadgen

ORG = "bench"
COLLECTION = "team_members"
# The seed's collection and example body, less the media field: a media URL may be imported
# by the worker (a network fetch), and a benchmark only ever talks to 127.0.0.1.
SCHEMA = f"""\
collections:
  - key: {COLLECTION}
    name: Team Members
    label: name
    fields:
      - {{key: name, type: short_text, required: true, max_length: 120}}
      - {{key: position, type: short_text}}
      - {{key: years_experience, type: number, min: 0, max: 80}}
"""
ITEM = {"name": "John Doe", "position": "Software Engineer", "years_experience": 5}


def body(items_per_request: int) -> str:
    fields = [dict(ITEM, name=f"John Doe {n}") for n in range(items_per_request)]
    return json.dumps({"key": COLLECTION, "status": "published", "fields": fields})


def post_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}", "Content-Type": "application/json"}


# --- Counting through the ORM -------------------------------------------------------------


def job_counts() -> dict[str, int]:
    from django.db.models import Count

    from ghee.content.models import Job

    rows = Job.objects.values_list("status").annotate(n=Count("id")).order_by()
    return {status: n for status, n in rows}


def item_count() -> int:
    from ghee.content.models import Item

    return Item.objects.count()


def duplicate_items() -> int:
    """Items beyond one per (job, position in the job): zero when nothing ran twice."""
    from django.db.models import Count

    from ghee.content.models import Item

    dupes = Item.objects.values("job", "job_index").annotate(n=Count("id")).filter(n__gt=1)
    return sum(row["n"] - 1 for row in dupes)


def reset_content() -> None:
    """Empty the job, item and outbox tables (workers must be stopped)."""
    from django.db import connection, transaction
    from django.db.models import Model

    from ghee.content.models import IdempotencyKey, Item, ItemFieldIndex, ItemLocale, Job
    from ghee.core.models import OutboxEvent

    models: list[type[Model]] = [ItemFieldIndex, ItemLocale, Item, IdempotencyKey, Job]
    models.append(OutboxEvent)
    tables = [m._meta.db_table for m in models]
    sql = connection.ops.sql_flush(no_style(), tables, allow_cascade=True)
    with transaction.atomic():
        connection.ops.execute_sql_flush(sql)
    connection.close()


def no_style():
    from django.core.management.color import no_style as style

    return style()


def open_jobs() -> int:
    counts = job_counts()
    return counts.get("pending", 0) + counts.get("running", 0)


# --- Phases -------------------------------------------------------------------------------


def check_post(server: harness.Server, token: str, items: int) -> str | None:
    """One POST; None when it answers 202 {"status": "pending"}, else why not."""
    status, _headers, raw = harness.http_request(
        server.url("/v2/content/"), "POST", body(items).encode(), post_headers(token)
    )
    if status == 202 and json.loads(raw) == {"status": "pending"}:
        return None
    return f"POST /v2/content/ answered {status}: {raw[:200]!r}"


def measure(server, url, connections, duration, **request):
    """wrk on ``url``; returns (result, server CPU s, database server CPU s) for the run."""
    cpu_before, db_before = server.cpu_seconds(), harness.database_cpu_seconds(server.env)
    result = loadgen.run(url, connections=connections, duration=duration, **request)
    cpu, db_cpu = server.cpu_seconds(), harness.database_cpu_seconds(server.env)
    return result, cpu - cpu_before, db_cpu - db_before


def accept_phase(env, token, args) -> list[dict]:
    rows = []
    post = {"method": "POST", "headers": post_headers(token), "body": body(args.items)}
    with harness.Server(env, workers=args.server_workers, threads=args.server_threads) as server:
        problem = check_post(server, token, args.items)
        if problem:
            harness.log(problem + "; measuring the baseline only")
        # Warm both granian workers (imports, token and schema caches); not recorded.
        loadgen.run(server.url("/healthz"), connections=4, duration=1)
        if not problem:
            loadgen.run(server.url("/v2/content/"), connections=4, duration=1, **post)
        for connections in args.connections:
            harness.log(f"accept: /healthz then POST at {connections} connections")
            base, base_cpu, _ = measure(server, server.url("/healthz"), connections, args.duration)
            row = {
                "connections": connections,
                "baseline_rps": base.requests_per_s,
                "baseline_p50_ms": base.latency_ms.get("p50"),
                "baseline_p99_ms": base.latency_ms.get("p99"),
                "baseline_errors": base.errors,
                "baseline_server_cpu_ms_per_req": 1000 * base_cpu / max(1, base.requests),
                "baseline_wrk_cores": base.wrk_cores,
            }
            if not problem:
                jobs_before = sum(job_counts().values())
                result, cpu, db_cpu = measure(
                    server, server.url("/v2/content/"), connections, args.duration, **post
                )
                time.sleep(0.5)  # requests in flight when wrk stopped still commit
                accepted = sum(job_counts().values()) - jobs_before
                row |= {
                    "post_rps": result.requests_per_s,
                    "accepted": accepted,
                    "accepted_per_s": accepted / result.elapsed_s,
                    "post_p50_ms": result.latency_ms.get("p50"),
                    "post_p99_ms": result.latency_ms.get("p99"),
                    "post_max_ms": result.latency_ms.get("max"),
                    "post_errors": result.errors,
                    "post_non2xx": result.non_2xx_3xx,
                    "post_server_cpu_ms_per_req": 1000 * cpu / max(1, result.requests),
                    "post_db_cpu_ms_per_req": 1000 * db_cpu / max(1, result.requests),
                    "post_wrk_cores": result.wrk_cores,
                    "ratio_to_baseline": result.requests_per_s / base.requests_per_s,
                }
                if result.errors:
                    harness.log(f"  {result.errors} errors: {result.raw}")
            p50 = row.get("post_p50_ms") or row["baseline_p50_ms"] or 0
            if connections == 1 and p50 >= 30:
                harness.log(f"  p50 {p50:.1f} ms at 1 connection: Nagle/delayed-ACK symptom?")
            rows.append(row)
            harness.log("  " + json.dumps({k: _round(v) for k, v in row.items()}))
    return rows


def e2e_phase(env, token, args) -> list[dict]:
    rows = []
    post = {"method": "POST", "headers": post_headers(token), "body": body(args.items)}
    for workers in args.workers:
        reset_content()
        harness.log(f"e2e: {workers} worker(s), POST for {args.e2e_duration}s")
        with (
            harness.Server(env, workers=args.server_workers, threads=args.server_threads) as srv,
            harness.Workers(env, workers) as pool,
        ):
            problem = check_post(srv, token, args.items)
            if problem:
                harness.log(problem + "; skipping the end-to-end phase")
                return rows
            time.sleep(1.0)  # let the workers start before the clock does
            while open_jobs():
                time.sleep(0.05)
            reset_content()
            server_cpu0, worker_cpu0 = srv.cpu_seconds(), pool.cpu_seconds()
            db_cpu0 = harness.database_cpu_seconds(env)
            started = time.monotonic()
            result = loadgen.run(
                srv.url("/v2/content/"),
                connections=args.e2e_connections,
                duration=args.e2e_duration,
                **post,
            )
            load_ended = time.monotonic()
            deadline = load_ended + args.drain_timeout
            remaining = open_jobs()
            while remaining and time.monotonic() < deadline and pool.alive():
                time.sleep(0.05)
                remaining = open_jobs()
            finished = time.monotonic()
            server_cpu, worker_cpu = srv.cpu_seconds(), pool.cpu_seconds()
            db_cpu = harness.database_cpu_seconds(env) - db_cpu0
        counts = job_counts()
        accepted = sum(counts.values())
        items = item_count()
        total_s = finished - started
        row = {
            "workers": workers,
            "connections": args.e2e_connections,
            "accepted_jobs": accepted,
            "succeeded_jobs": counts.get("succeeded", 0),
            "failed_jobs": counts.get("failed", 0),
            "unfinished_jobs": remaining,
            "items": items,
            "expected_items": counts.get("succeeded", 0) * args.items,
            "duplicate_items": duplicate_items(),
            "post_rps_during_load": result.requests_per_s,
            "post_p99_ms_during_load": result.latency_ms.get("p99"),
            "post_errors": result.errors,
            "drain_s_after_load": finished - load_ended,
            "total_s": total_s,
            "items_per_s": items / total_s,
            "server_cpu_s": server_cpu - server_cpu0,
            "worker_cpu_s": worker_cpu - worker_cpu0,
            "db_cpu_s": db_cpu,
            "wrk_cores": result.wrk_cores,
        }
        row["exactly_once"] = (
            accepted > 0
            and remaining == 0
            and row["duplicate_items"] == 0
            and items == row["expected_items"]
            and row["failed_jobs"] == 0
        )
        if not row["exactly_once"]:
            harness.log("  WARNING: not every accepted item was stored exactly once")
        rows.append(row)
        harness.log("  " + json.dumps({k: _round(v) for k, v in row.items()}))
    return rows


def drain_phase(env, token, args) -> list[dict]:
    """Worker capacity alone: jobs accepted with no worker running, then drained.

    The rate is items / (last job's finished_at - first job's started_at), from the rows,
    so worker start-up time is not counted.
    """
    from django.db.models import Max, Min

    from ghee.content.models import Job

    rows = []
    post = {"method": "POST", "headers": post_headers(token), "body": body(args.items)}
    for workers in args.workers:
        reset_content()
        harness.log(f"drain: {args.e2e_duration}s of POSTs, then {workers} worker(s)")
        with harness.Server(env, workers=args.server_workers, threads=args.server_threads) as srv:
            if problem := check_post(srv, token, args.items):
                harness.log(problem + "; skipping the drain phase")
                return rows
            loadgen.run(
                srv.url("/v2/content/"),
                connections=args.e2e_connections,
                duration=args.e2e_duration,
                **post,
            )
        time.sleep(0.5)
        accepted = sum(job_counts().values())
        db_cpu0 = harness.database_cpu_seconds(env)
        with harness.Workers(env, workers) as pool:
            deadline = time.monotonic() + args.drain_timeout
            remaining = open_jobs()
            while remaining and time.monotonic() < deadline and pool.alive():
                time.sleep(0.05)
                remaining = open_jobs()
            worker_cpu = pool.cpu_seconds()
        db_cpu = harness.database_cpu_seconds(env) - db_cpu0
        span = Job.objects.aggregate(first=Min("started_at"), last=Max("finished_at"))
        seconds = (span["last"] - span["first"]).total_seconds() if span["first"] else None
        items = item_count()
        row = {
            "workers": workers,
            "jobs": accepted,
            "items": items,
            "unfinished_jobs": remaining,
            "failed_jobs": job_counts().get("failed", 0),
            "duplicate_items": duplicate_items(),
            "drain_s": seconds,
            "drain_items_per_s": items / seconds if seconds else None,
            "worker_cpu_s": worker_cpu,
            "worker_cpu_ms_per_item": 1000 * worker_cpu / max(1, items),
            "db_cpu_s": db_cpu,
        }
        rows.append(row)
        harness.log("  " + json.dumps({k: _round(v) for k, v in row.items()}))
    return rows


def _round(value):
    return round(value, 2) if isinstance(value, float) else value


# --- Running one database, or several in child processes ----------------------------------


def run_one(db: str, args) -> dict:
    env = harness.instance_env(f"write-{db}", db=db, GHEE_LOG_LEVEL="ERROR")
    harness.log(f"{db}: setting up a fresh instance in {env['GHEE_DATA_DIR']}")
    token = harness.setup_instance(env, ORG, SCHEMA)
    harness.django_setup(env)
    report = {
        "benchmark": "write",
        "database": db,
        "settings": {
            "duration_s": args.duration,
            "items_per_request": args.items,
            "server": f"ghee serve --workers {args.server_workers} --threads "
            f"{args.server_threads} --no-worker",
            "body": json.loads(body(args.items)),
        },
        "machine": harness.machine_info(),
    }
    if "accept" in args.phases:
        report["accept"] = accept_phase(env, token, args)
    if "e2e" in args.phases:
        report["e2e"] = e2e_phase(env, token, args)
    if "drain" in args.phases:
        report["drain"] = drain_phase(env, token, args)
    return report


ACCEPT_COLUMNS = [
    ("database", "db"),
    ("connections", "conns"),
    ("accepted_per_s", "accepted/s"),
    ("post_p50_ms", "p50 ms"),
    ("post_p99_ms", "p99 ms"),
    ("post_errors", "errors"),
    ("post_server_cpu_ms_per_req", "server CPU ms/req"),
    ("post_db_cpu_ms_per_req", "PG CPU ms/req"),
    ("post_wrk_cores", "wrk cores"),
    ("baseline_rps", "/healthz req/s"),
    ("baseline_p50_ms", "/healthz p50"),
    ("ratio_to_baseline", "POST / healthz"),
]
E2E_COLUMNS = [
    ("database", "db"),
    ("workers", "workers"),
    ("accepted_jobs", "accepted"),
    ("items", "items stored"),
    ("post_rps_during_load", "POST/s during load"),
    ("drain_s_after_load", "drain s"),
    ("total_s", "total s"),
    ("items_per_s", "items/s end to end"),
    ("server_cpu_s", "API CPU s"),
    ("worker_cpu_s", "worker CPU s"),
    ("db_cpu_s", "PG CPU s"),
    ("exactly_once", "exactly once"),
]


DRAIN_COLUMNS = [
    ("database", "db"),
    ("workers", "workers"),
    ("jobs", "jobs queued"),
    ("items", "items stored"),
    ("drain_s", "drain s"),
    ("drain_items_per_s", "items/s drained"),
    ("worker_cpu_ms_per_item", "worker CPU ms/item"),
    ("db_cpu_s", "PG CPU s"),
]


def print_tables(reports: list[dict]) -> None:
    accept = [dict(row, database=r["database"]) for r in reports for row in r.get("accept", [])]
    e2e = [dict(row, database=r["database"]) for r in reports for row in r.get("e2e", [])]
    if accept:
        print("\nAccept path: POST /v2/content/ -> 202 (server without worker)\n")
        print(harness.markdown_table(accept, ACCEPT_COLUMNS))
    if e2e:
        print("\nEnd to end: first POST until every job succeeded\n")
        print(harness.markdown_table(e2e, E2E_COLUMNS))
    drain = [dict(row, database=r["database"]) for r in reports for row in r.get("drain", [])]
    if drain:
        print("\nWorkers alone: draining jobs queued while no worker ran\n")
        print(harness.markdown_table(drain, DRAIN_COLUMNS))


def parse_args(argv=None):
    def ints(text: str) -> list[int]:
        return [int(part) for part in text.split(",") if part]

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--phases", default="accept,e2e,drain", help="accept, e2e, drain")
    parser.add_argument("--duration", type=float, default=10, help="seconds per point")
    parser.add_argument("--connections", type=ints, default=[1, 16, 64])
    parser.add_argument("--workers", type=ints, default=[1, 2], help="e2e worker counts")
    parser.add_argument("--e2e-connections", type=int, default=16)
    parser.add_argument("--e2e-duration", type=float, help="default: --duration")
    parser.add_argument("--drain-timeout", type=float, default=300)
    parser.add_argument("--items", type=int, default=1, help="items per POST (1-100)")
    parser.add_argument("--server-workers", type=int, default=2, help="granian workers")
    parser.add_argument(
        "--server-threads", type=int, help="granian threads (default: ghee serve's)"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.e2e_duration = args.e2e_duration or args.duration
    args.phases = set(args.phases.split(","))
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    databases = [db for db in args.db.split(",") if db]
    if args.child or len(databases) == 1:
        report = run_one(databases[0], args)
        path = harness.write_results(f"write-{databases[0]}", report)
        if args.child:
            print(path)
            return
        print_tables([report])
        print(f"\nJSON: {path.relative_to(harness.ROOT)}")
        return
    # Django binds a process to one database: run each in a child and merge the reports.
    reports = []
    argv = [a for a in (argv if argv is not None else sys.argv[1:])]
    for db in databases:
        child = subprocess.run(
            [sys.executable, __file__, *argv, "--db", db, "--child"],
            stdout=subprocess.PIPE,
            text=True,
            env=os.environ,
            check=False,
        )
        if child.returncode != 0:
            raise SystemExit(f"the {db} run failed (exit {child.returncode})")
        reports.append(json.loads(Path(child.stdout.strip().splitlines()[-1]).read_text()))
    path = harness.write_results("write", {"benchmark": "write", "runs": reports})
    print_tables(reports)
    print(f"\nJSON: {path.relative_to(harness.ROOT)}")


if __name__ == "__main__":
    main()
