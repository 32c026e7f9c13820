"""Benchmark of the public read path: the status page and summary.json under `statusplatform serve`.

Run on demand (not part of the suite):

    .venv/bin/python -m tests.bench.bench_public_page [--duration 20] [--connections 50] [--incidents 10000]

It measures, in one run and under the same gunicorn settings (4 workers, gthread):
1. our page and summary.json for the demo organization;
2. a bare Flask app returning the very same bytes (the ceiling for this server and machine);
3. the same two, read by a signed-in viewer of one of the demo's client audiences (its own
   session cookie: no shared cache, the session checked and its audience's snapshot read);
4. ours again after 10,000 past incidents were added to the page.
Load comes from wrk (Debian's `wrk` package) on loopback, bounded in time. Uses SQLite and an
embedded Redis in a temporary folder unless DATABASE_URL / REDIS_URL are set.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

HOST = "acme.localhost"
PATHS = {"page": "/", "summary": "/api/v2/summary.json"}

BARE_APP = """
from pathlib import Path
from flask import Flask, Response
FOLDER = Path(__file__).parent
app = Flask(__name__)
PAGE = (FOLDER / "page.bin").read_bytes()
SUMMARY = (FOLDER / "summary.bin").read_bytes()

@app.get("/")
def page():
    return Response(PAGE, content_type="text/html; charset=utf-8")

@app.get("/api/v2/summary.json")
def summary():
    return Response(SUMMARY, content_type="application/json")
"""


@dataclass
class Result:
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch(port: int, path: str) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Host": HOST})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"GET {path} answered {response.status}")
        return body
    finally:
        conn.close()


def wait_for(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            fetch(port, "/")
            return
        except (OSError, SystemExit):
            time.sleep(0.2)
    raise SystemExit(f"nothing answered on port {port}")


def to_ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def sign_in_viewer(port: int) -> str:
    """The session cookie of the demo's first client viewer, signed in with its password."""
    from tenants.organizations.demo import DEMO_VIEWER_PASSWORD, RETAILERS

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        body = f"email=buyer@{RETAILERS[0][1]}&password={DEMO_VIEWER_PASSWORD}".replace("@", "%40")
        conn.request(
            "POST",
            "/login",
            body=body,
            headers={
                "Host": f"{HOST}:{port}",
                "Origin": f"http://{HOST}:{port}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        response = conn.getresponse()
        response.read()
        cookie = response.getheader("Set-Cookie") or ""
        if response.status != 302 or not cookie:
            raise SystemExit(f"the demo viewer could not sign in ({response.status})")
        return cookie.split(";", 1)[0]
    finally:
        conn.close()


def load(port: int, path: str, *, duration: int, connections: int, headers: tuple[str, ...] = ()) -> Result:
    extra = [arg for header in headers for arg in ("-H", header)]
    output = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-H",
            f"Host: {HOST}:{port}" if headers else f"Host: {HOST}",
            *extra,
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    ).stdout
    if not re.search(r"^\s+99%\s+(\S+)\s*$", output, re.M):
        raise SystemExit(f"wrk printed no latency for {path}:\n{output}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)\s*$", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)\s*$", output, re.M).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return Result(rate, p50, p99, int(errors.group(1)) if errors else 0)


def add_past_incidents(env: dict[str, str], count: int) -> float:
    """Add `count` resolved incidents spread over the past years, each with three updates."""
    started = time.monotonic()
    os.environ.update(env)
    from sqlalchemy import select

    import tenants  # noqa: F401
    from status_platform.config import Settings
    from status_platform.db import session as db_session
    from status_platform.jobs import queues
    from status_platform.tenancy.models import Tenant
    from status_platform.timeutil import utcnow
    from tenants.components.models import Component, ComponentStatus
    from tenants.incidents.models import (
        Impact,
        Incident,
        IncidentComponent,
        IncidentStatus,
        IncidentUpdate,
        IncidentUpdateComponent,
    )
    from tenants.pages.models import Page
    from tenants.pages.services import bump_version

    settings = Settings.from_env()
    db_session.configure(settings)
    queues.configure(settings)
    with db_session.platform_session() as s:
        tenant_id = s.scalar(select(Tenant.id).where(Tenant.slug == "acme"))
    with db_session.tenant_session(tenant_id) as s:
        page = s.scalars(select(Page)).one()
        components = s.scalars(select(Component)).all()
        now = utcnow()
        for n in range(count):
            start = now - timedelta(days=100 + n // 8, hours=n % 8)
            component = components[n % len(components)]
            incident = Incident(
                page_id=page.id,
                name=f"Past incident {n}",
                status=IncidentStatus.RESOLVED,
                impact=Impact.MAJOR,
                is_backfilled=True,
                started_at=start,
                created_at=start,
                updated_at=start,
                resolved_at=start + timedelta(minutes=50),
            )
            s.add(incident)
            s.flush()
            s.add(IncidentComponent(incident_id=incident.id, component_id=component.id))
            for minutes, status in (
                (0, IncidentStatus.INVESTIGATING),
                (20, IncidentStatus.IDENTIFIED),
                (50, IncidentStatus.RESOLVED),
            ):
                update = IncidentUpdate(
                    incident_id=incident.id,
                    status=status,
                    body=f"Update {minutes} of {n}",
                    display_at=start + timedelta(minutes=minutes),
                )
                s.add(update)
                if minutes == 0:
                    s.flush()
                    s.add(
                        IncidentUpdateComponent(
                            update_id=update.id,
                            component_id=component.id,
                            component_name=component.name,
                            old_status=None,
                            new_status=ComponentStatus.PARTIAL_OUTAGE,
                        )
                    )
            if n % 500 == 499:
                s.flush()
        bump_version(s, page.id)
        s.commit()
    return time.monotonic() - started


def serve(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = open(log, "wb")  # noqa: SIM115 (closed when the process is stopped)
    return subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--incidents", type=int, default=10_000)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("the benchmark needs wrk: apt-get install wrk")
    folder = Path(tempfile.mkdtemp(prefix="statusplatform-bench-"))
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "INSTANCE_PATH": str(folder),
        "PLATFORM_HOST": "localhost",
        "PAGES_DOMAIN": "localhost",
        "STATUSPLATFORM_ENV": "development",
    }
    env.setdefault("DATABASE_URL", f"sqlite:///{folder / 'bench.db'}")
    subprocess.run([bin_dir / "statusplatform", "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([bin_dir / "statusplatform", "seed-demo"], env=env, check=True, capture_output=True)
    if not env.get("REDIS_URL"):
        from status_platform.jobs.redis_server import ensure_embedded_redis

        env["REDIS_URL"] = ensure_embedded_redis(folder)

    ours_port, bare_port = free_port(), free_port()
    ours = serve(
        [
            str(bin_dir / "statusplatform"),
            "serve",
            "--port",
            str(ours_port),
            "--workers",
            str(args.workers),
            "--threads",
            "4",
        ],
        env,
        folder / "serve.log",
    )
    results: dict[tuple[str, str], Result] = {}
    try:
        wait_for(ours_port)
        (folder / "page.bin").write_bytes(fetch(ours_port, PATHS["page"]))
        (folder / "summary.bin").write_bytes(fetch(ours_port, PATHS["summary"]))
        (folder / "bare_app.py").write_text(BARE_APP)
        bare = serve(
            [
                str(bin_dir / "gunicorn"),
                "--chdir",
                str(folder),
                "-w",
                str(args.workers),
                "-k",
                "gthread",
                "--threads",
                "4",
                "-b",
                f"127.0.0.1:{bare_port}",
                "bare_app:app",
            ],
            env,
            folder / "bare.log",
        )
        try:
            wait_for(bare_port)
            for name, path in PATHS.items():
                results[("bare", name)] = load(
                    bare_port, path, duration=args.duration, connections=args.connections
                )
                results[("ours", name)] = load(
                    ours_port, path, duration=args.duration, connections=args.connections
                )
        finally:
            stop(bare)
        cookie = sign_in_viewer(ours_port)
        for name, path in PATHS.items():
            results[("viewer", name)] = load(
                ours_port,
                path,
                duration=args.duration,
                connections=args.connections,
                headers=(f"Cookie: {cookie}",),
            )
        seconds = add_past_incidents(env, args.incidents)
        print(f"added {args.incidents} past incidents in {seconds:.1f} s", flush=True)
        for name, path in PATHS.items():
            began = time.monotonic()
            fetch(ours_port, path)  # the first read after the write rebuilds the snapshot once
            elapsed_ms = 1000 * (time.monotonic() - began)
            print(f"first {name} read after the write (snapshot rebuilt): {elapsed_ms:.0f} ms")
        for name, path in PATHS.items():
            results[("many", name)] = load(
                ours_port, path, duration=args.duration, connections=args.connections
            )
    finally:
        stop(ours)
        from status_platform.jobs.redis_server import stop_embedded_redis

        stop_embedded_redis(folder)

    print(
        f"\n{args.connections} connections, {args.duration} s each, "
        f"{args.workers} gunicorn workers (gthread, 4 threads)"
    )
    print(f"{'':28}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}")
    labels = {
        "bare": "bare Flask, same bytes",
        "ours": "statusplatform",
        "viewer": "signed-in viewer",
        "many": f"+{args.incidents} incidents",
    }
    for name in PATHS:
        for kind in ("bare", "ours", "viewer", "many"):
            r = results[(kind, name)]
            print(
                f"{name + ': ' + labels[kind]:28}{r.rate:>10.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}{r.errors:>9}"
            )
        ratio = results[("ours", name)].rate / results[("bare", name)].rate
        slower = 1 - results[("many", name)].rate / results[("ours", name)].rate
        print(f"{name}: {ratio:.0%} of the bare-Flask rate; {slower:+.0%} slower with the past incidents\n")
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
