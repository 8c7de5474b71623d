"""Peak memory of a real ``ghee worker`` importing one very large media file.

    .venv/bin/python bench/media_worker_bench.py              # a 500 MiB MP4
    .venv/bin/python bench/media_worker_bench.py --mib 100

What it does: a fresh SQLite instance with a collection that has a media field; a file
server on 127.0.0.1 in this process (so its memory is not the worker's) serving one MP4 of
``--mib`` MiB; a write through the Write API (the Django test client in this process, the
same /v2/ endpoint) whose media field carries that file's URL, accepted as a job (202);
then ``ghee worker --batch`` as a child process, with loopback allowed on purpose
(``GHEE_EGRESS_ALLOW_NETWORKS=127.0.0.1/32``) and the byte caps raised
(``GHEE_EGRESS_MAX_BYTES``, ``GHEE_MEDIA_MAX_BYTES``). Reported:

- the worker's peak resident memory, twice: ``VmHWM`` from ``/proc/<pid>/status`` (polled
  while it runs; the high-water mark only grows) and ``ru_maxrss`` of
  ``getrusage(RUSAGE_CHILDREN)`` after it exits (this process's largest waited-for child:
  the worker, the earlier ``ghee`` set-up commands being smaller);
- the worker's RSS when idle (before the job was accepted it ran one empty batch);
- the job's time, and that it succeeded with the item's value a ghee media URL whose asset
  has the file's size.

Issue 9's bar: at most 150 MB (143 MiB).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

MIB = 1024 * 1024
ORG = "big"
SCHEMA = """\
collections:
  - key: films
    name: Films
    label: title
    fields:
      - {key: title, type: short_text, required: true}
      - {key: video, type: media}
"""


def big_mp4(path: Path, mib: int) -> None:
    """An MP4-sniffing file of ``mib`` MiB (an ftyp box, then zeros), written in blocks."""
    with open(path, "wb") as out:
        out.write(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
        block = b"\0" * MIB
        for _ in range(mib):
            out.write(block)


def serve(big: Path) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(big.stat().st_size))
            self.end_headers()
            with open(big, "rb") as source:
                shutil.copyfileobj(source, self.wfile, MIB)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def vm_hwm_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def vm_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def run_worker(env: dict) -> dict:
    """``ghee worker --batch`` until it exits; its peak memory, polled and from rusage."""
    process = subprocess.Popen(
        [harness.GHEE, "worker", "--batch", "--no-chores"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    hwm = rss_max = 0.0
    while process.poll() is None:
        hwm = max(hwm, vm_hwm_mib(process.pid) or 0.0)
        rss_max = max(rss_max, vm_rss_mib(process.pid) or 0.0)
        time.sleep(0.05)
    _out, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"ghee worker failed ({process.returncode}):\n{err}")
    return {
        "vm_hwm_mib": hwm,
        "rss_max_polled_mib": rss_max,
        "ru_maxrss_children_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=500)
    args = parser.parse_args()

    env = harness.instance_env("media-worker")
    token = harness.setup_instance(env, ORG, SCHEMA)
    data_dir = Path(env["GHEE_DATA_DIR"])
    big = data_dir / "source-big.mp4"
    harness.log(f"writing a {args.mib} MiB source file")
    big_mp4(big, args.mib)
    server = serve(big)
    port = server.server_address[1]
    env.update(
        GHEE_EGRESS_ALLOW_NETWORKS="127.0.0.1/32",
        GHEE_EGRESS_ALLOW_PORTS=str(port),
        GHEE_EGRESS_MAX_BYTES=str((args.mib + 1) * MIB),
        GHEE_MEDIA_MAX_BYTES=str((args.mib + 1) * MIB),
        GHEE_EGRESS_TIMEOUT="900",
        GHEE_EGRESS_READ_TIMEOUT="120",
    )
    harness.log("an idle worker batch (baseline memory)")
    idle = run_worker(env)

    harness.django_setup(env)
    from django.test import Client

    from ghee.content.models import ItemLocale, Job
    from ghee.media.models import MediaAsset

    url = f"http://127.0.0.1:{port}/films/big.mp4"
    body = {"key": "films", "status": "published", "fields": [{"title": "Big", "video": url}]}
    response = Client().post(
        "/v2/content/", body, content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )  # fmt: skip
    if response.status_code != 202:
        raise SystemExit(f"write refused: {response.status_code} {response.content!r}")
    harness.log(f"ghee worker importing {url}")
    started = time.perf_counter()
    busy = run_worker(env)
    seconds = time.perf_counter() - started
    server.shutdown()
    big.unlink()

    job = Job.objects.order_by("-id").first()
    item = ItemLocale.objects.order_by("-id").first()
    asset = MediaAsset.objects.get()
    value = json.dumps(item.data)
    if job.status != "succeeded" or asset.size != (args.mib * MIB + 24) or asset.url not in value:
        raise SystemExit(f"the import did not end as expected: {job.status} {job.errors}")
    result = {
        "file_mib": asset.size / MIB,
        "idle": idle,
        "import": busy,
        "job_seconds": seconds,
        "limit_mib": 150e6 / MIB,
    }
    rows = [
        {"what": f"{result['file_mib']:.0f} MiB MP4 by `ghee worker`: peak RSS (VmHWM)",
         "value": busy["vm_hwm_mib"], "unit": "MiB"},
        {"what": "... ru_maxrss of the worker (RUSAGE_CHILDREN)",
         "value": busy["ru_maxrss_children_mib"], "unit": "MiB"},
        {"what": "... an idle worker batch, for comparison (VmHWM)",
         "value": idle["vm_hwm_mib"], "unit": "MiB"},
        {"what": "... worker run (download, hash, checks, copy into storage, commit)",
         "value": seconds, "unit": "s"},
    ]  # fmt: skip
    path = harness.write_results("media-worker", {"machine": harness.machine_info(), **result})
    print(harness.markdown_table(rows, [("what", "measure"), ("value", "value"), ("unit", "")]))
    harness.log(f"results: {path}")
    if busy["vm_hwm_mib"] > result["limit_mib"]:
        raise SystemExit(f"peak RSS {busy['vm_hwm_mib']:.0f} MiB is over 150 MB")


if __name__ == "__main__":
    main()
