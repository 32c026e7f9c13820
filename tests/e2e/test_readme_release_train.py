"""The README's release-train script, run as written against a live server of the management API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from status_platform.db.session import tenant_session
from tenants.audit.models import AuditEvent
from tenants.components.models import Component, ComponentStatus
from tenants.incidents.models import Incident, IncidentKind, IncidentStatus
from tests.factories import make_organization

README = Path(__file__).resolve().parents[2] / "README.md"


def release_train_script() -> str:
    text = README.read_text()
    section = text.split("### Example: a release train", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README's release-train section has no Python block"
    return match.group(1)


@pytest.fixture
def api_server(admin_app: Flask, committed_db: object) -> Iterator[int]:
    server = make_server("127.0.0.1", 0, admin_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.port
    server.shutdown()
    server.server_close()


def test_the_readme_release_train_announces_opens_and_closes_a_window(api_server: int) -> None:
    org = make_organization("train", "Train")
    components = [org.ids["component"], org.ids["component_web"]]
    env = {
        **os.environ,
        "STATUS_API": f"http://127.0.0.1:{api_server}/v1",
        "STATUS_API_KEY": org.api_key,
        "STATUS_PAGE_ID": org.page_id,
        "STATUS_COMPONENT_IDS": ",".join(components),
        "RELEASE": "2026.12.1",
    }
    done = subprocess.run(
        [sys.executable, "-c", release_train_script()], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("announced ") and lines[0].endswith(" scheduled")
    assert lines[1] == "in_progress ['under_maintenance', 'under_maintenance']"
    assert lines[2] == "completed ['operational', 'operational']"

    window_id = lines[0].split()[1]
    with tenant_session(org.tenant_id) as s:
        window = s.get(Incident, window_id)
        assert window is not None and window.kind is IncidentKind.MAINTENANCE
        assert window.name == "Deploy of release 2026.12.1"
        assert window.status is IncidentStatus.COMPLETED
        assert [u.status.value for u in reversed(window.updates)] == [
            "scheduled",
            "in_progress",
            "in_progress",
            "completed",
        ]
        assert {link.component_id for link in window.affected} == set(components)
        statuses = s.scalars(select(Component.status).where(Component.id.in_(components)))
        assert set(statuses) == {ComponentStatus.OPERATIONAL}
        actors = set(s.scalars(select(AuditEvent.actor_label).where(AuditEvent.object_id == window_id)))
        assert actors and all(label.startswith("API key Train key") for label in actors)
