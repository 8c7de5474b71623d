"""Load generator: ``wrk`` in its own process, driven by a generated Lua script.

    .venv/bin/python bench/loadgen.py http://127.0.0.1:8000/healthz -c 16 -d 10
    .venv/bin/python bench/loadgen.py http://127.0.0.1:8000/v2/content/ -c 64 -d 10 \\
        -X POST -H 'Authorization: Token ...' -H 'Content-Type: application/json' \\
        --body '{"key": "team_members", "fields": [{"name": "Ann"}]}'

The Lua script only sets the method, the headers and the body; it has no ``response()``
callback, because one halves wrk's own speed on 2 cores and makes the load generator the
bottleneck. So wrk does not see each status: it reports the count of non-2xx/3xx responses
and socket errors, and the caller counts what the server stored (e.g. the Job rows a
benchmark created) to know how many requests were really accepted.

``run(...)`` returns a ``WrkResult`` with requests/s, the latency percentiles (milliseconds),
error counts, and the CPU seconds wrk itself used, so a report can show how much of the two
cores the generator took from the server.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class WrkResult:
    url: str
    method: str
    connections: int
    threads: int
    duration_s: float  # asked for
    elapsed_s: float  # what wrk measured
    requests: int
    requests_per_s: float
    latency_ms: dict[str, float]  # "p50", "p75", "p90", "p99", "mean", "max"
    non_2xx_3xx: int
    socket_errors: dict[str, int]  # connect, read, write, timeout
    wrk_cpu_s: float
    wrk_cores: float  # wrk_cpu_s / duration_s: how much CPU the generator took
    raw: str = field(repr=False)

    @property
    def errors(self) -> int:
        return self.non_2xx_3xx + sum(self.socket_errors.values())

    def as_dict(self) -> dict:
        data = asdict(self)
        data.pop("raw")
        return data


def ensure_wrk() -> str:
    """The path of ``wrk``; installs Debian's package when missing and we are root."""
    path = shutil.which("wrk")
    if path:
        return path
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("loadgen: installing wrk (apt-get install -y wrk)", file=sys.stderr)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", "wrk"]
        if subprocess.run(install, env=env, check=False).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
            subprocess.run(install, env=env, check=True)
        if path := shutil.which("wrk"):
            return path
    raise SystemExit("wrk is not installed (Debian: apt-get install -y wrk)")


def lua_script(method: str, headers: dict[str, str], body: str | None) -> str:
    lines = [f"wrk.method = {_lua_string(method)}"]
    for name, value in headers.items():
        lines.append(f"wrk.headers[ {_lua_string(name)} ] = {_lua_string(value)}")
    if body is not None:
        lines.append(f"wrk.body = {_lua_string(body)}")
    return "\n".join(lines) + "\n"


def _lua_string(text: str) -> str:
    # A long bracket with enough '=' that the text cannot close it; no escapes needed.
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    # A long bracket drops a newline that directly follows the opening bracket; keep it.
    prefix = "\n" if text.startswith("\n") else ""
    return f"[{'=' * level}[{prefix}{text}]{'=' * level}]"


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unexpected wrk duration {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse(output: str) -> dict:
    """The figures from wrk's text output (run with ``--latency``)."""
    requests = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if requests is None or rate is None:
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    latency = {f"p{p}": _ms(v) for p, v in re.findall(r"^\s+(\d+)%\s+(\S+)\s*$", output, re.M)}
    stats = re.search(r"^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)", output, re.M)
    if stats:
        latency["mean"] = _ms(stats.group(1))
        latency["max"] = _ms(stats.group(3))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    socket_errors = dict.fromkeys(("connect", "read", "write", "timeout"), 0)
    if sockets:
        socket_errors = dict(zip(socket_errors, map(int, sockets.groups()), strict=True))
    return {
        "requests": int(requests.group(1)),
        "elapsed_s": _ms(requests.group(2) + requests.group(3)) / 1000,
        "requests_per_s": float(rate.group(1)),
        "latency_ms": latency,
        "non_2xx_3xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": socket_errors,
    }


def run(
    url: str,
    *,
    connections: int,
    duration: float,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: str | None = None,
    threads: int | None = None,
    timeout: float = 10.0,
) -> WrkResult:
    """Run wrk against ``url`` (must be loopback) and return its figures."""
    if not re.match(r"https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/]", url):
        raise ValueError(f"the benchmark only targets loopback, not {url}")
    wrk = ensure_wrk()
    threads = threads or max(1, min(2, connections))
    seconds = max(1, round(duration))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua_script(method, headers or {}, body))
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={timeout:g}s",
        "--latency",
        "-s",
        script.name,
        url,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
    finally:
        Path(script.name).unlink(missing_ok=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return WrkResult(
        url=url,
        method=method,
        connections=connections,
        threads=threads,
        duration_s=seconds,
        wrk_cpu_s=round(cpu, 3),
        wrk_cores=round(cpu / seconds, 3),
        raw=completed.stdout,
        **parse(completed.stdout),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run wrk with a method, headers and a body.")
    parser.add_argument("url")
    parser.add_argument("-c", "--connections", type=int, default=16)
    parser.add_argument("-d", "--duration", type=float, default=10)
    parser.add_argument("-t", "--threads", type=int)
    parser.add_argument("-X", "--method", default="GET")
    parser.add_argument("-H", "--header", action="append", default=[], help="'Name: value'")
    parser.add_argument("--body")
    parser.add_argument("--body-file", type=Path)
    parser.add_argument("--raw", action="store_true", help="also print wrk's own output")
    args = parser.parse_args(argv)
    headers = dict(h.split(":", 1) for h in args.header)
    headers = {name.strip(): value.strip() for name, value in headers.items()}
    body = args.body_file.read_text() if args.body_file else args.body
    result = run(
        args.url,
        connections=args.connections,
        duration=args.duration,
        method=args.method,
        headers=headers,
        body=body,
        threads=args.threads,
    )
    if args.raw:
        print(result.raw, file=sys.stderr)
    print(json.dumps(result.as_dict(), indent=2))


if __name__ == "__main__":
    main()
