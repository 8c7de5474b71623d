"""Media import: throughput for many small images, and memory for one very large file.

    .venv/bin/python bench/media_bench.py                  # 100 images, a 500 MiB file
    .venv/bin/python bench/media_bench.py --images 50 --big-mib 100 --concurrency 4

A file server runs in this process on 127.0.0.1 (so its memory is not counted); the imports
run in a child process (``--child``) with a fresh SQLite instance and local storage, allowed
to reach loopback on purpose (GHEE_EGRESS_ALLOW_NETWORKS). Reported:

- **sequential files/s**: ``import_from_url`` one after another (what ``ghee media import``
  does, and what a job does today for its media values one at a time);
- **concurrent files/s**: N threads running ``fetch_media`` (download + checks, no database),
  the rows stored one by one as downloads finish: what bounded concurrency in a job's prepare
  stage would give;
- **peak RSS** of the child importing one large MP4 (streamed to a temporary file while
  hashing, then copied into storage), next to its RSS before the import.

The same import by a real ``ghee worker`` (a job whose media field carries the URL) is
``bench/media_worker_bench.py``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
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


# --- The file server (parent process) -----------------------------------------------------------


def small_images(count: int) -> list[bytes]:
    from PIL import Image

    images = []
    for n in range(count):
        out = io.BytesIO()
        Image.new("RGB", (64, 48), (n % 256, (n * 7) % 256, (n * 13) % 256)).save(out, "PNG")
        images.append(out.getvalue())
    return images


def big_mp4(path: Path, mib: int) -> None:
    """An MP4-sniffing file of ``mib`` MiB (an ftyp box, then zeros), written in blocks."""
    with open(path, "wb") as out:
        out.write(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
        block = b"\0" * MIB
        for _ in range(mib):
            out.write(block)


def serve(images: list[bytes], big: Path) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if self.path == "/big.mp4":
                self.send_response(200)
                self.send_header("Content-Type", "video/mp4")
                self.send_header("Content-Length", str(big.stat().st_size))
                self.end_headers()
                with open(big, "rb") as source:
                    shutil.copyfileobj(source, self.wfile, MIB)
                return
            number = int(self.path.removeprefix("/img/").removesuffix(".png"))
            body = images[number]
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --- The imports (child process) ---------------------------------------------------------------


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(args) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from django.db import transaction

    from ghee.accounts.services import create_organization
    from ghee.media.services import fetch_media, import_from_url, store_media

    base = f"http://127.0.0.1:{args.port}"
    result: dict = {}
    if args.mode == "throughput":
        urls = [f"{base}/img/{n}.png" for n in range(args.images)]
        sequential = create_organization("sequential", "Sequential")
        started = time.perf_counter()
        for url in urls:
            import_from_url(sequential, url)
        result["sequential_files_per_s"] = len(urls) / (time.perf_counter() - started)

        concurrent = create_organization("concurrent", "Concurrent")
        started = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            for fetched in pool.map(fetch_media, urls):
                with fetched, transaction.atomic():
                    store_media(concurrent.id, fetched)
        result["concurrent_files_per_s"] = len(urls) / (time.perf_counter() - started)
    else:
        organization = create_organization("big", "Big")
        result["rss_before_mib"] = max_rss_mib()
        started = time.perf_counter()
        asset = import_from_url(organization, f"{base}/big.mp4")
        result["seconds"] = time.perf_counter() - started
        result["size_mib"] = asset.size / MIB
        result["peak_rss_mib"] = max_rss_mib()
    print(json.dumps(result))


def run_child(env: dict, mode: str, port: int, args) -> dict:
    command = [sys.executable, __file__, "--child", mode, "--port", str(port),
               "--images", str(args.images), "--concurrency", str(args.concurrency)]  # fmt: skip
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"{mode} child failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--big-mib", type=int, default=500)
    parser.add_argument("--child", choices=["throughput", "big"])
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    if args.child:
        args.mode = args.child
        harness.django_setup(dict(os.environ))
        return child(args)

    env = harness.instance_env("media")
    harness.ghee(env, "migrate", "--noinput", "-v0")
    data_dir = Path(env["GHEE_DATA_DIR"])
    big = data_dir / "source-big.mp4"
    harness.log(f"writing a {args.big_mib} MiB source file")
    big_mp4(big, args.big_mib)
    server = serve(small_images(args.images), big)
    port = server.server_address[1]
    env.update(
        GHEE_EGRESS_ALLOW_NETWORKS="127.0.0.0/8",
        GHEE_EGRESS_ALLOW_PORTS=str(port),
        GHEE_EGRESS_MAX_BYTES=str((args.big_mib + 1) * MIB),
        GHEE_MEDIA_MAX_BYTES=str((args.big_mib + 1) * MIB),
        GHEE_EGRESS_TIMEOUT="600",
    )
    harness.log(f"importing {args.images} images (sequential, then {args.concurrency} threads)")
    throughput = run_child(env, "throughput", port, args)
    harness.log(f"importing one {args.big_mib} MiB file")
    memory = run_child(env, "big", port, args)
    server.shutdown()
    big.unlink()

    rows = [
        {"what": f"{args.images} PNGs (64x48), sequential", "value": throughput[
            "sequential_files_per_s"], "unit": "files/s"},
        {"what": f"{args.images} PNGs, {args.concurrency} concurrent downloads",
         "value": throughput["concurrent_files_per_s"], "unit": "files/s"},
        {"what": f"{memory['size_mib']:.0f} MiB MP4: peak RSS of the importing process",
         "value": memory["peak_rss_mib"], "unit": "MiB"},
        {"what": "... RSS before the import", "value": memory["rss_before_mib"], "unit": "MiB"},
        {"what": "... import time", "value": memory["seconds"], "unit": "s"},
    ]  # fmt: skip
    path = harness.write_results(
        "media", {"machine": harness.machine_info(), "throughput": throughput, "big": memory}
    )
    print(harness.markdown_table(rows, [("what", "measure"), ("value", "value"), ("unit", "")]))
    harness.log(f"results: {path}")


if __name__ == "__main__":
    main()
