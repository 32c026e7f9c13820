"""Benchmark of notification delivery: one incident to 100,000 webhook and 20,000 email subscribers.

Run on demand (not part of the suite):

    .venv/bin/python -m tests.bench.bench_notifications [--webhooks 100000] [--emails 20000] [--workers 2]

Builds the demo organization in a temporary folder (SQLite and an embedded Redis unless
DATABASE_URL / REDIS_URL are set), adds the subscribers in bulk, starts `--workers` real worker
processes (`statusplatform worker notifications`), opens one incident and times it from the
commit until every delivery is recorded as sent. The webhooks go to a loopback aiohttp receiver
in a process of its own, the emails to an aiosmtpd server in a process of its own. Beside each
figure, in the same run: a plain aiohttp client (concurrency 100, one process) posting the
same webhook body as many times, and smtplib sending the same emails over one connection.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa

STATUSPLATFORM = str(Path(sys.executable).with_name("statusplatform"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_receiver(port: int, counter: Any) -> None:
    """A loopback webhook receiver answering 200 to every POST, counting them."""
    from aiohttp import web

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        with counter.get_lock():
            counter.value += 1
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", hook)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, backlog=1024)


def run_smtp(port: int, counter: Any) -> None:
    """An aiosmtpd server that accepts and counts every message."""
    from aiosmtpd.controller import Controller

    class Count:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            with counter.get_lock():
                counter.value += 1
            return "250 OK"

    controller = Controller(Count(), hostname="127.0.0.1", port=port)
    controller.start()
    while True:
        time.sleep(3600)


def wait_for_port(port: int) -> None:
    for _ in range(200):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def bulk_subscribers(tenant_id: str, page_id: str, channel: str, addresses: list[str]) -> None:
    from status_platform.db.session import tenant_session
    from status_platform.ids import new_ids
    from status_platform.timeutil import utcnow
    from tenants.subscribers.models import FanoutStatus, NotificationEvent, Subscriber

    now = utcnow()
    column = "endpoint" if channel == "webhook" else "email"
    with tenant_session(tenant_id) as s:
        for start in range(0, len(addresses), 10_000):
            chunk = addresses[start : start + 10_000]
            rows = [
                {
                    "id": subscriber_id,
                    "tenant_id": tenant_id,
                    "page_id": page_id,
                    "channel": channel,
                    column: address,
                    "secret": "s" * 64 if channel == "webhook" else None,
                    "confirmed_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for subscriber_id, address in zip(new_ids(len(chunk)), chunk, strict=True)
            ]
            s.execute(sa.insert(Subscriber.__table__), rows)
        # The demo's own notices are not measured.
        s.execute(sa.update(NotificationEvent).values(fanout_status=FanoutStatus.DONE))
        s.commit()


def announce(tenant_id: str, page_id: str, name: str) -> str:
    from status_platform.db.session import tenant_session
    from tenants.incidents.services import open_incident
    from tenants.pages.models import Page
    from tests.factories import ACTOR

    with tenant_session(tenant_id) as s:
        incident = open_incident(s, s.get(Page, page_id), name=name, actor=ACTOR, body="Measuring")
        s.commit()
    return incident.id


def wait_until_sent(tenant_id: str, incident_id: str, expected: int, *, timeout: float) -> dict[str, float]:
    from status_platform.db.session import tenant_session
    from tenants.subscribers.models import Delivery, DeliveryStatus, NotificationEvent

    started = time.perf_counter()
    fanned_out = None
    with tenant_session(tenant_id) as s:
        event_id = s.scalar(
            sa.select(NotificationEvent.id).where(NotificationEvent.incident_id == incident_id)
        )
        while time.perf_counter() - started < timeout:
            sent = s.scalar(
                sa.select(sa.func.count())
                .select_from(Delivery)
                .where(Delivery.event_id == event_id, Delivery.status == DeliveryStatus.SENT)
            )
            if fanned_out is None and s.scalar(
                sa.select(NotificationEvent.fanned_out_at).where(NotificationEvent.id == event_id)
            ):
                fanned_out = time.perf_counter() - started
            s.rollback()
            if sent >= expected:
                return {"seconds": time.perf_counter() - started, "fan_out": fanned_out or 0.0}
            time.sleep(0.25)
    raise SystemExit(f"only {sent} of {expected} sent after {timeout:.0f} s")


async def raw_http(port: int, body: bytes, count: int, concurrency: int = 100) -> float:
    import aiohttp

    gate = asyncio.Semaphore(concurrency)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def one(n: int) -> None:
            async with gate, session.post(f"http://127.0.0.1:{port}/raw/{n}", data=body) as response:
                await response.read()

        await asyncio.gather(*(one(n) for n in range(count)))
    return time.perf_counter() - started


def raw_smtp(port: int, messages: list[Any]) -> float:
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for message in messages:
            smtp.send_message(message)
    return time.perf_counter() - started


def sample_notice(tenant_id: str, incident_id: str, settings: Any) -> tuple[Any, list[Any]]:
    from status_platform.db.session import tenant_session
    from tenants.subscribers.links import Recipient
    from tenants.subscribers.messages import load_notice
    from tenants.subscribers.models import Channel, Delivery, NotificationEvent, Subscriber

    with tenant_session(tenant_id) as s:
        event = s.scalars(
            sa.select(NotificationEvent).where(NotificationEvent.incident_id == incident_id)
        ).one()
        notice = load_notice(s, event, settings)
        rows = s.execute(
            sa.select(Delivery.id, Subscriber.id, Subscriber.channel, Subscriber.email, Subscriber.endpoint)
            .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
            .where(Delivery.event_id == event.id)
        ).all()
    recipients = [
        Recipient(
            delivery_id=row[0],
            subscriber_id=row[1],
            channel=Channel(row[2]),
            email=row[3],
            phone_number=None,
            endpoint=row[4],
            secret="s" * 64,
            incident_id=None,
            attempts=1,
        )
        for row in rows
    ]
    return notice, recipients


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webhooks", type=int, default=100_000)
    parser.add_argument("--emails", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    hook_port, smtp_port = free_port(), free_port()
    hooks, mails = multiprocessing.Value("l", 0), multiprocessing.Value("l", 0)
    servers = [
        multiprocessing.Process(target=run_receiver, args=(hook_port, hooks), daemon=True),
        multiprocessing.Process(target=run_smtp, args=(smtp_port, mails), daemon=True),
    ]
    for server in servers:
        server.start()
    wait_for_port(hook_port)
    wait_for_port(smtp_port)

    folder = tempfile.mkdtemp(prefix="sp-bench-notify-")
    import tenants  # noqa: F401
    from status_platform.config import Settings, activate
    from status_platform.db import migrate
    from status_platform.db import session as db_session
    from status_platform.db.session import tenant_session
    from status_platform.ids import new_id
    from status_platform.jobs import queues
    from status_platform.jobs.redis_server import stop_embedded_redis
    from tenants.organizations import demo
    from tenants.organizations.services import create_organization
    from tenants.subscribers.messages import render_email, render_webhook
    from tests.factories import ACTOR

    settings = Settings.from_env(
        {k: v for k, v in os.environ.items() if k in ("DATABASE_URL", "REDIS_URL")},
        STATUSPLATFORM_ENV="test",
        INSTANCE_PATH=folder,
        SMTP_PORT=smtp_port,
        EGRESS_ALLOWLIST=("127.0.0.1/32",),
    )
    migrate.upgrade(settings)
    activate(settings)
    db_session.configure(settings)
    redis_url = queues.redis_url(settings)
    settings = replace(settings, REDIS_URL=redis_url)
    activate(settings)
    queues.configure(settings)
    with tenant_session(new_id()) as s:
        org = demo.seed_demo(s)
        s.commit()
    tenant_id, page_id = org.tenant.id, org.page.id
    with tenant_session(new_id()) as s:
        mail_org = create_organization(
            s,
            name="Mailers",
            slug="mailers",
            owner_email="owner@mailers.test",
            owner_password="x" * 16,
            actor=ACTOR,
        )
        s.commit()
    mail_tenant, mail_page = mail_org.tenant.id, mail_org.page.id
    bulk_subscribers(
        tenant_id,
        page_id,
        "webhook",
        [f"http://127.0.0.1:{hook_port}/hook/{n}" for n in range(args.webhooks)],
    )
    bulk_subscribers(mail_tenant, mail_page, "email", [f"reader{n}@example.com" for n in range(args.emails)])
    if not settings.is_sqlite:
        # A page does not gain 100,000 subscribers in a second: by the time they are notified,
        # autovacuum has analyzed the table. Bulk-inserted here, they are analyzed by hand.
        from status_platform.db.engine import create_engine

        owner = create_engine(settings.DATABASE_URL)
        with owner.connect() as connection:
            connection.exec_driver_sql("ANALYZE subscribers")
            connection.commit()
        owner.dispose()

    env = {**os.environ}
    env.update(
        {name: ",".join(v) if isinstance(v, tuple) else str(v) for name, v in asdict(settings).items()}
    )
    workers = [
        subprocess.Popen(
            [STATUSPLATFORM, "worker", "notifications"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(args.workers)
    ]
    time.sleep(3)  # the workers are up and listening before the clock starts
    try:
        incident_id = announce(tenant_id, page_id, "Webhook benchmark")
        webhook = wait_until_sent(tenant_id, incident_id, args.webhooks, timeout=600)
        notice, recipients = sample_notice(tenant_id, incident_id, settings)
        body = render_webhook(notice, recipients[0])
        received = hooks.value

        mail_incident = announce(mail_tenant, mail_page, "Email benchmark")
        email = wait_until_sent(mail_tenant, mail_incident, args.emails, timeout=600)
        mail_notice, mail_recipients = sample_notice(mail_tenant, mail_incident, settings)
        messages = [render_email(mail_notice, r, settings) for r in mail_recipients]
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)

    raw_http_seconds = asyncio.run(raw_http(hook_port, body, args.webhooks))
    raw_smtp_seconds = raw_smtp(smtp_port, messages)
    for server in servers:
        server.terminate()
    if not os.environ.get("REDIS_URL"):
        stop_embedded_redis(folder)

    database = "PostgreSQL" if settings.DATABASE_URL.startswith("postgres") else "SQLite"
    print(f"database: {database}, {args.workers} worker processes, {os.cpu_count()} cores")
    print(
        f"webhooks: {args.webhooks:,} delivered in {webhook['seconds']:.1f} s "
        f"({args.webhooks / webhook['seconds']:,.0f}/s; fan-out done after {webhook['fan_out']:.1f} s; "
        f"receiver counted {received:,}; body {len(body):,} bytes)"
    )
    print(
        f"  plain aiohttp client, 1 process, concurrency 100, same body: {args.webhooks:,} in "
        f"{raw_http_seconds:.1f} s ({args.webhooks / raw_http_seconds:,.0f}/s)"
    )
    print(
        f"emails: {args.emails:,} delivered in {email['seconds']:.1f} s "
        f"({args.emails / email['seconds']:,.0f}/s; fan-out done after {email['fan_out']:.1f} s)"
    )
    print(
        f"  smtplib, one connection, same messages: {len(messages):,} in {raw_smtp_seconds:.1f} s "
        f"({len(messages) / raw_smtp_seconds:,.0f}/s)"
    )


if __name__ == "__main__":
    main()
