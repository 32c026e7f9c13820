"""The real processes: the console script, gunicorn serving by host, and a forking RQ worker."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from status_platform.db.session import tenant_session
from status_platform.jobs import queues
from status_platform.jobs.enqueue import enqueue_now
from status_platform.timeutil import utcnow
from tenants.components.models import Component, ComponentStatus
from tenants.incidents.models import Incident, IncidentStatus
from tenants.maintenance.jobs import start_due_window
from tenants.maintenance.services import schedule_window
from tenants.pages.models import Page
from tests.factories import ACTOR

STATUSPLATFORM = str(Path(sys.executable).with_name("statusplatform"))


def statusplatform(env: dict[str, str], *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([STATUSPLATFORM, *argv], env=env, capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(port: int, host: str, path: str = "/") -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def wait_for_port(port: int, process: subprocess.Popen[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"process exited early with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port}")


CREATE_GLOBEX = (
    "create-org",
    "--name",
    "Globex Corp",
    "--slug",
    "globex",
    "--owner-email",
    "ops@globex.test",
    "--owner-password",
    "long enough secret",
)


@pytest.fixture
def globex(env, committed_db) -> dict[str, str]:
    result = statusplatform(env, *CREATE_GLOBEX)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_console_script_creates_an_org_and_a_key_and_refuses_duplicates(env, globex):
    key = statusplatform(env, "create-api-key", "--org", "globex", "--name", "ci")
    assert key.returncode == 0 and key.stdout.strip().splitlines()[-1].startswith("sp_")
    again = statusplatform(env, *CREATE_GLOBEX)
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr == "statusplatform: error: An organization with the slug 'globex' already exists.\n"
    unknown = statusplatform(env, "create-api-key", "--org", "initech", "--name", "ci")
    assert unknown.returncode == 1 and unknown.stderr.count("\n") == 1


@pytest.fixture
def server(env, tmp_path) -> Iterator[int]:
    port = free_port()
    with open(tmp_path / "serve.log", "w") as log:
        process = subprocess.Popen(
            [STATUSPLATFORM, "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_for_port(port, process)
            # The port opens before gunicorn's workers answer; on a busy machine that takes a while.
            deadline = time.monotonic() + 60
            while True:
                try:
                    get(port, "platform.test", "/login")
                    break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise
                    time.sleep(0.2)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=20)


def test_serve_routes_each_host_under_gunicorn(globex, server, settings):
    status, body = get(server, "globex.pages.test")
    assert status == 200 and "Globex Corp" in body
    status, body = get(server, settings.PLATFORM_HOST, "/login")
    assert status == 200 and "Sign in" in body
    assert get(server, "initech.pages.test")[0] == 404
    assert get(server, "globex.pages.test", "/login")[0] == 404


def test_a_forking_worker_runs_json_jobs_against_the_database(env, globex, redis_client):
    with tenant_session(globex["tenant_id"]) as s:
        page = s.get(Page, globex["page_id"])
        component = Component(page_id=page.id, name="Database")
        s.add(component)
        s.flush()
        window = schedule_window(
            s,
            page,
            name="Failover drill",
            actor=ACTOR,
            component_ids=[component.id],
            scheduled_for=utcnow() - timedelta(minutes=1),
            scheduled_until=utcnow() + timedelta(hours=1),
            deliver_notifications=False,
        )
        s.commit()
    enqueue_now(start_due_window, globex["tenant_id"], window.id)
    (job_id,) = queues.get_queue("default").get_job_ids()
    stored = redis_client.hget(f"rq:job:{job_id}", "data")
    payload = json.loads(zlib.decompress(stored))  # JSON (RQ compresses it), never pickle
    assert payload[0] == "tenants.maintenance.jobs.start_due_window"
    assert payload[2:] == [[globex["tenant_id"], window.id], {}]

    result = statusplatform(env, "worker", "--burst", "default")
    assert result.returncode == 0, result.stderr
    assert "exception raised" not in result.stderr + result.stdout
    with tenant_session(globex["tenant_id"]) as s:
        assert s.get(Incident, window.id).status is IncidentStatus.IN_PROGRESS
        assert s.get(Component, component.id).status is ComponentStatus.UNDER_MAINTENANCE


def test_db_upgrade_and_downgrade_through_the_console_script(tmp_path, env):
    scratch = {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'scratch.db'}"}
    assert statusplatform(scratch, "db", "upgrade").returncode == 0
    assert statusplatform(scratch, "db", "downgrade", "base").returncode == 0
    assert statusplatform(scratch, "db", "upgrade").returncode == 0
    before = shutil.copy(tmp_path / "scratch.db", tmp_path / "before.db")
    failing = statusplatform(
        scratch,
        "create-org",
        "--name",
        "X",
        "--slug",
        "x",
        "--owner-email",
        "bad",
        "--owner-password",
        "long enough secret",
    )
    assert failing.returncode == 1 and failing.stderr.count("\n") == 1
    assert Path(before).exists()


def test_a_write_is_served_at_once_by_another_process(globex, server):
    """The web server caches the page in memory; a commit elsewhere must reach it immediately."""
    status, before = get(server, "globex.pages.test")
    assert status == 200 and "Freshly added" not in before
    assert "Freshly added" not in get(server, "globex.pages.test", "/api/v2/components.json")[1]
    from tenants.components.services import create_component

    with tenant_session(globex["tenant_id"]) as s:
        create_component(s, s.get(Page, globex["page_id"]), name="Freshly added", actor=ACTOR)
        s.commit()
    for path in ("/", "/api/v2/components.json"):
        assert "Freshly added" in get(server, "globex.pages.test", path)[1]
