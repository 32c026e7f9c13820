"""Benchmark of the staff screens: time and SQL statements per page, for a small and a long history.

Run on demand (not part of the suite):

    .venv/bin/python -m tests.bench.bench_admin_pages [--requests 40] [--incidents 2000]

Builds the demo organization in a temporary folder (SQLite and an embedded Redis unless
DATABASE_URL / REDIS_URL are set), signs its owner in, and requests each screen in process
through the WSGI app (no network): the figures are the app's own cost per request. Then adds
past incidents and maintenance windows and measures again.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time

import sqlalchemy as sa

from tests.bench.history import add_past_incidents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--incidents", type=int, default=2000)
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="sp-bench-admin-")
    import tenants  # noqa: F401
    from status_platform.config import Settings
    from status_platform.db import migrate
    from status_platform.db.session import tenant_session
    from status_platform.ids import new_id
    from status_platform.jobs.redis_server import stop_embedded_redis
    from status_platform.wsgi import HostRouter
    from tenants.organizations import demo

    settings = Settings.from_env(
        {k: v for k, v in os.environ.items() if k in ("DATABASE_URL", "REDIS_URL")},
        STATUSPLATFORM_ENV="test",
        INSTANCE_PATH=folder,
    )
    migrate.upgrade(settings)
    router = HostRouter(settings)
    with tenant_session(new_id()) as s:
        org = demo.seed_demo(s)
        s.commit()
    tenant_id, page_id, slug = org.tenant.id, org.page.id, org.tenant.slug
    client = router.admin_app.test_client()
    login = client.get("/login", base_url="http://localhost").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)  # type: ignore[union-attr]
    client.post(
        "/login",
        base_url="http://localhost",
        data={"email": demo.DEMO_OWNER_EMAIL, "password": demo.DEMO_OWNER_PASSWORD, "csrf_token": token},
    )
    engine = router.admin_app.extensions["db_engine"]

    def screens() -> dict[str, str]:
        from sqlalchemy import select

        from tenants.incidents.models import Incident, IncidentKind

        with tenant_session(tenant_id) as s:
            incident_id = s.scalars(
                select(Incident.id)
                .where(Incident.kind == IncidentKind.INCIDENT)
                .order_by(Incident.started_at)
            ).first()
        base = f"/t/{slug}/p/{page_id}"
        return {
            "dashboard": f"{base}/",
            "incidents list": f"{base}/incidents/",
            "incidents list, page 10": f"{base}/incidents/?p=10",
            "one incident": f"{base}/incidents/{incident_id}",
            "new incident form": f"{base}/incidents/new",
            "maintenance list": f"{base}/maintenance/",
            "components": f"{base}/components/",
            "page settings": f"{base}/settings/",
            "audit log": f"/t/{slug}/audit/",
            "team": f"/t/{slug}/team/",
        }

    def measure(label: str) -> None:
        print(f"\n{label}")
        print(f"{'screen':26} {'p50 ms':>8} {'p95 ms':>8} {'statements':>11}")
        for name, path in screens().items():
            statements = 0

            def count(*_a: object) -> None:
                nonlocal statements
                statements += 1

            sa.event.listen(engine, "before_cursor_execute", count)
            response = client.get(path, base_url="http://localhost")
            sa.event.remove(engine, "before_cursor_execute", count)
            if response.status_code != 200:
                raise SystemExit(f"GET {path} answered {response.status_code}")
            times = []
            for _ in range(args.requests):
                start = time.perf_counter()
                client.get(path, base_url="http://localhost")
                times.append((time.perf_counter() - start) * 1000)
            p95 = statistics.quantiles(times, n=20)[-1]
            print(f"{name:26} {statistics.median(times):8.1f} {p95:8.1f} {statements:11d}")

    measure("demo organization (7 components, 12 past incidents)")
    seconds = add_past_incidents(tenant_id, page_id, args.incidents)
    print(f"\nadded {args.incidents} past incidents in {seconds:.1f} s")
    measure(f"with {args.incidents} more past incidents")
    if not os.environ.get("REDIS_URL"):
        stop_embedded_redis(folder)


if __name__ == "__main__":
    main()
