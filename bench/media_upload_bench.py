"""Memory of a real ``ghee serve`` receiving a large upload on ``POST /v2/media/``.

    .venv/bin/python bench/media_upload_bench.py              # a 200 MiB upload
    .venv/bin/python bench/media_upload_bench.py --mib 50

A fresh SQLite instance, ``ghee serve --no-worker`` (1 granian worker) on 127.0.0.1 with
``GHEE_MEDIA_MAX_BYTES`` raised, and one multipart upload of an MP4 of ``--mib`` MiB sent
by this process from a generator (so the client holds no copy either). Reported: the peak
resident memory (``VmHWM``) of every process of the server's tree, before and after the
upload, and the answer (201, the asset's size). The body is streamed to a temporary file
(``ghee/core/upload_body.py``), so the peak should not move with the upload's size.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

MIB = 1024 * 1024
BOUNDARY = "ghee-bench-boundary"


def tree_hwm_mib(pid: int) -> dict[int, float]:
    peaks = {}
    for each in [pid, *harness.descendants(pid)]:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks[each] = int(line.split()[1]) / 1024
        except FileNotFoundError:
            continue
    return peaks


def multipart(mib: int):
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="alt"\r\n\r\nbig\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode() + b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    length = len(head) + mib * MIB + len(tail)

    def body():
        yield head
        block = b"\0" * MIB
        for _ in range(mib):
            yield block
        yield tail

    return length, body()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=200)
    args = parser.parse_args()
    env = harness.instance_env(
        "media-upload",
        GHEE_MEDIA_MAX_BYTES=str((args.mib + 1) * MIB),
        GHEE_MEDIA_UPLOAD_TIMEOUT="600",
    )
    schema = "collections:\n  - key: notes\n    name: Notes\n    fields:\n      - {key: title, type: short_text}\n"  # noqa: E501
    token = harness.setup_instance(env, "uploads", schema)
    with harness.Server(env, workers=1) as server:
        before = tree_hwm_mib(server.process.pid)
        length, body = multipart(args.mib)
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
        started = time.perf_counter()
        connection.request(
            "POST", "/v2/media/", body=body,
            headers={"Authorization": f"Token {token}", "Content-Length": str(length),
                     "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )  # fmt: skip
        response = connection.getresponse()
        answer = json.loads(response.read())
        seconds = time.perf_counter() - started
        after = tree_hwm_mib(server.process.pid)
    if response.status != 201 or answer.get("size") != args.mib * MIB + 24:
        raise SystemExit(f"upload failed: {response.status} {answer}")
    result = {
        "upload_mib": args.mib,
        "seconds": seconds,
        "hwm_before_mib": before,
        "hwm_after_mib": after,
        "largest_before_mib": max(before.values()),
        "largest_after_mib": max(after.values()),
    }
    rows = [
        {"what": f"{args.mib} MiB upload to `ghee serve`: largest VmHWM in the server's tree",
         "value": result["largest_after_mib"], "unit": "MiB"},
        {"what": "... the same before the upload", "value": result["largest_before_mib"],
         "unit": "MiB"},
        {"what": "... upload to 201 (receive, hash, checks, copy into storage)",
         "value": seconds, "unit": "s"},
    ]  # fmt: skip
    path = harness.write_results("media-upload", {"machine": harness.machine_info(), **result})
    print(harness.markdown_table(rows, [("what", "measure"), ("value", "value"), ("unit", "")]))
    harness.log(f"results: {path}")


if __name__ == "__main__":
    main()
