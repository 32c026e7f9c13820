"""Benchmark of the management API: time and SQL statements per request, for a small and a long history.

Run on demand (not part of the suite):

    .venv/bin/python -m tests.bench.bench_api [--requests 40] [--incidents 2000]

Builds the demo organization in a temporary folder (SQLite and an embedded Redis unless
DATABASE_URL / REDIS_URL are set), issues an API key, and sends each request in process through
the WSGI app (no network): the figures are the app's own cost per request, authentication,
rate limiting and the JSON included. Writes are measured as create-then-resolve pairs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from tests.bench.history import add_past_incidents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--incidents", type=int, default=2000)
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="sp-bench-api-")
    import tenants  # noqa: F401
    from status_platform.config import Settings
    from status_platform.db import migrate
    from status_platform.db.session import tenant_session
    from status_platform.identity.apikeys import issue_api_key
    from status_platform.ids import new_id
    from status_platform.jobs.redis_server import stop_embedded_redis
    from status_platform.wsgi import HostRouter
    from tenants.organizations import demo

    settings = Settings.from_env(
        {k: v for k, v in os.environ.items() if k in ("DATABASE_URL", "REDIS_URL")},
        STATUSPLATFORM_ENV="test",
        INSTANCE_PATH=folder,
        API_REQUESTS_PER_MINUTE=10_000_000,
        API_BURST=10_000_000,
    )
    migrate.upgrade(settings)
    router = HostRouter(settings)
    with tenant_session(new_id()) as s:
        org = demo.seed_demo(s)
        key = issue_api_key(s, tenant_id=org.tenant.id, name="bench")
        s.commit()
    tenant_id, page_id, secret = org.tenant.id, org.page.id, key.secret
    client = router.admin_app.test_client()
    headers = {"Authorization": f"OAuth {secret}"}
    engine = router.admin_app.extensions["db_engine"]

    def call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = client.open(f"/v1{path}", method=method, json=body, headers=headers)
        if response.status_code >= 300:
            raise SystemExit(
                f"{method} {path} answered {response.status_code}: {response.get_data(as_text=True)}"
            )
        return response.get_json()

    def reads() -> dict[str, Callable[[], Any]]:
        incidents = call("GET", f"/pages/{page_id}/incidents?limit=1")
        incident_id = incidents[0]["id"]
        return {
            "GET /pages": lambda: call("GET", "/pages"),
            "GET components": lambda: call("GET", f"/pages/{page_id}/components"),
            "GET incidents (100)": lambda: call("GET", f"/pages/{page_id}/incidents?limit=100"),
            "GET incidents?q=": lambda: call(
                "GET", f"/pages/{page_id}/incidents?q=Past+incident+1&limit=100"
            ),
            "GET unresolved": lambda: call("GET", f"/pages/{page_id}/incidents/unresolved"),
            "GET one incident": lambda: call("GET", f"/pages/{page_id}/incidents/{incident_id}"),
            "GET subscribers": lambda: call("GET", f"/pages/{page_id}/subscribers"),
            "create + resolve": create_and_resolve,
        }

    components = [c["id"] for c in call("GET", f"/pages/{page_id}/components")][:2]

    def create_and_resolve() -> None:
        incident = call(
            "POST",
            f"/pages/{page_id}/incidents",
            {
                "incident": {
                    "name": "Bench incident",
                    "status": "investigating",
                    "body": "Looking",
                    "components": {components[0]: "partial_outage"},
                    "component_ids": components,
                }
            },
        )
        call("PATCH", f"/pages/{page_id}/incidents/{incident['id']}", {"incident": {"status": "resolved"}})

    def measure(label: str) -> None:
        print(f"\n{label}")
        print(f"{'request':24} {'p50 ms':>8} {'p95 ms':>8} {'statements':>11}")
        for name, run in reads().items():
            statements = 0

            def count(*_a: object) -> None:
                nonlocal statements
                statements += 1

            sa.event.listen(engine, "before_cursor_execute", count)
            run()
            sa.event.remove(engine, "before_cursor_execute", count)
            times = []
            for _ in range(args.requests):
                start = time.perf_counter()
                run()
                times.append((time.perf_counter() - start) * 1000)
            p95 = statistics.quantiles(times, n=20)[-1]
            print(f"{name:24} {statistics.median(times):8.1f} {p95:8.1f} {statements:11d}")

    measure("demo organization (7 components, 12 past incidents)")
    seconds = add_past_incidents(tenant_id, page_id, args.incidents)
    print(f"\nadded {args.incidents} past incidents in {seconds:.1f} s")
    measure(f"with {args.incidents} more past incidents")
    if not os.environ.get("REDIS_URL"):
        stop_embedded_redis(folder)


if __name__ == "__main__":
    main()
