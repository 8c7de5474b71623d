"""How long each hostile file of ``tests/media/hostile_corpus.py`` takes to be answered.

    .venv/bin/python bench/hostile_media_bench.py                 # 5 runs per file
    .venv/bin/python bench/hostile_media_bench.py --runs 3 --phases check

Two phases, per corpus entry (issue 20: each should be answered well under a second):

- **check**: ``ghee.media.inspection.inspect_file`` in this process on the file on disk (the
  sniffing, Pillow's header walk, the archive's entry count and inflation, the SVG prolog):
  what every way in (the API, the worker's download, the dashboard, the editor, the CLI)
  runs on the bytes;
- **upload**: ``POST /v2/media/`` to a real ``ghee serve --no-worker`` (fresh SQLite instance,
  127.0.0.1) as a multipart upload, the time until the answer (receive to a temporary file,
  hash, checks, store or refuse), then the time of a ``GET /healthz`` right after.

Reported per entry: the median and the maximum over ``--runs``, the answer, the file size.
Two honest files come last as the baseline (what the same checks cost a real photo and a
real-sized document). Nothing is asserted: a timing is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

sys.path.insert(0, str(harness.ROOT))

SCHEMA = "collections:\n  - key: notes\n    name: Notes\n    fields:\n      - {key: title, type: short_text}\n"  # noqa: E501


def multipart(filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    disposition = f'form-data; name="file"; filename="{filename}"'
    head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), (
        f"multipart/form-data; boundary={boundary}"
    )


def baselines():
    import io
    import os
    import random
    import zipfile

    from PIL import Image

    from tests.media.hostile_corpus import Hostile

    def photo() -> bytes:  # noise does not compress: the largest PNG for its pixels
        out = io.BytesIO()
        Image.frombytes("RGB", (3000, 2000), os.urandom(3000 * 2000 * 3)).save(out, "PNG")
        return out.getvalue()

    def document() -> bytes:  # 40 MiB of varied XML, deflated as Word does
        words = [f"w{n}" for n in range(5000)]
        rng = random.Random(1)
        text = " ".join(rng.choice(words) for _ in range(8_000_000)).encode()[: 40 * 1024**2]
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("[Content_Types].xml", b"<Types/>")
            archive.writestr("word/document.xml", b"<w:document>" + text + b"</w:document>")
        return out.getvalue()

    return [
        Hostile("baseline: 6-megapixel noise PNG", "photo.png", photo, "accepted"),
        Hostile("baseline: DOCX of 40 MiB of text", "long.docx", document, "accepted"),
    ]


def check_phase(corpus, built, runs: int) -> dict[str, dict]:
    harness.django_setup(harness.instance_env("hostile-media-check"))
    from ghee.media.inspection import MediaRejected, inspect_file

    results = {}
    with tempfile.TemporaryDirectory() as directory:
        for entry in corpus:
            path = Path(directory) / entry.filename
            path.write_bytes(built[entry.name])
            times, answer = [], ""
            for _ in range(runs):
                started = time.perf_counter()
                try:
                    answer = f"accepted ({inspect_file(path).file_type.extension})"
                except MediaRejected as exc:
                    answer = f"refused: {exc}"
                times.append(time.perf_counter() - started)
            results[entry.name] = {"times": times, "answer": answer}
            harness.log(f"check  {entry.name}: {statistics.median(times) * 1000:.1f} ms")
    return results


def upload_phase(corpus, built, runs: int) -> dict[str, dict]:
    env = harness.instance_env("hostile-media-upload")
    token = harness.setup_instance(env, "hostile", SCHEMA)
    results = {}
    with harness.Server(env, workers=1) as server:
        for entry in corpus:
            body, content_type = multipart(entry.filename, built[entry.name])
            headers = {"Authorization": f"Token {token}", "Content-Type": content_type}
            times, health, status = [], [], 0
            for _ in range(runs):
                started = time.perf_counter()
                status, _, answer = harness.http_request(
                    server.url("/v2/media/"), "POST", body, headers, timeout=120
                )
                times.append(time.perf_counter() - started)
                started = time.perf_counter()
                harness.http_get(server.url("/healthz"), timeout=30)
                health.append(time.perf_counter() - started)
            results[entry.name] = {
                "times": times,
                "healthz_after": health,
                "status": status,
                "answer": answer.decode()[:200],
            }
            harness.log(f"upload {entry.name}: {status}, {statistics.median(times) * 1000:.1f} ms")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--phases", default="check,upload")
    args = parser.parse_args()
    phases = args.phases.split(",")
    from tests.media.hostile_corpus import CORPUS as HOSTILE

    corpus = [*HOSTILE, *baselines()]
    built = {entry.name: entry.build() for entry in corpus}
    check = check_phase(corpus, built, args.runs) if "check" in phases else {}
    upload = upload_phase(corpus, built, args.runs) if "upload" in phases else {}
    rows = []
    for entry in corpus:
        row = {"file": entry.name, "bytes": len(built[entry.name]), "expect": entry.expect}
        if entry.name in check:
            times = check[entry.name]["times"]
            row |= {"check_ms": statistics.median(times) * 1000, "check_max_ms": max(times) * 1000}
            row["answer"] = check[entry.name]["answer"][:70]
        if entry.name in upload:
            times = upload[entry.name]["times"]
            row |= {
                "upload_ms": statistics.median(times) * 1000,
                "upload_max_ms": max(times) * 1000,
                "status": upload[entry.name]["status"],
                "healthz_max_ms": max(upload[entry.name]["healthz_after"]) * 1000,
            }
        rows.append(row)
    path = harness.write_results(
        "hostile-media",
        {"machine": harness.machine_info(), "runs": args.runs, "check": check, "upload": upload},
    )
    columns = [
        ("file", "file"), ("bytes", "bytes"), ("check_ms", "check median ms"),
        ("check_max_ms", "check max ms"), ("upload_ms", "upload median ms"),
        ("upload_max_ms", "upload max ms"), ("status", "status"),
        ("healthz_max_ms", "/healthz after, max ms"), ("answer", "answer"),
    ]  # fmt: skip
    print(harness.markdown_table(rows, columns))
    harness.log(f"results: {path}")


if __name__ == "__main__":
    main()
