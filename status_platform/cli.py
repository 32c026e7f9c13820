"""The `statusplatform` command: database, organizations, API keys, and the processes.

Every failure is one line on stderr and a non-zero exit; nothing is half-written.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import sqlalchemy.exc

from status_platform.config import ConfigError, Settings, activate
from status_platform.errors import DomainError

Handler = Callable[[argparse.Namespace, Settings], int]


class CliError(Exception):
    """A failure to report as one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


# --- database --------------------------------------------------------------------------------


def _db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from status_platform.db import migrate

    migrate.upgrade(settings, args.revision)
    print(f"database at revision {args.revision}")
    return 0


def _db_downgrade(args: argparse.Namespace, settings: Settings) -> int:
    from status_platform.db import migrate

    migrate.downgrade(settings, args.revision)
    print(f"database at revision {args.revision}")
    return 0


def _connect(settings: Settings) -> None:
    import tenants  # noqa: F401  (every model registered before the first query)
    from status_platform.db import session
    from status_platform.jobs import queues

    activate(settings)  # signed links and egress checks of the services read the active settings
    session.configure(settings)
    queues.configure(settings)  # writes invalidate the cached public pages


# --- organizations and keys ------------------------------------------------------------------


def _org_json(settings: Settings, org: Any) -> dict[str, Any]:
    return {
        "tenant_id": org.tenant.id,
        "slug": org.tenant.slug,
        "name": org.tenant.name,
        "page_id": org.page.id,
        "page_url": settings.page_url(org.page.route.slug if org.page.route else org.tenant.slug),
        "owner_email": org.owner.email,
        "admin_url": settings.admin_url(f"/t/{org.tenant.slug}/"),
    }


def _create_org(args: argparse.Namespace, settings: Settings) -> int:
    from status_platform.db.session import tenant_session
    from status_platform.identity.actor import CLI
    from status_platform.ids import new_id
    from tenants.organizations.services import create_organization

    _connect(settings)
    with tenant_session(new_id()) as session:
        org = create_organization(
            session,
            name=args.name,
            slug=args.slug,
            owner_email=args.owner_email,
            owner_password=args.owner_password,
            page_name=args.page_name,
            page_slug=args.page_slug,
            actor=CLI,
        )
        session.commit()
        session.refresh(org.page, ["route"])
        print(json.dumps(_org_json(settings, org)))
    return 0


def _create_api_key(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import select

    from status_platform.db.session import platform_session, tenant_session
    from status_platform.identity.apikeys import issue_api_key
    from status_platform.tenancy.models import Tenant
    from status_platform.validation import clean_text
    from tenants.pages.models import Page

    _connect(settings)
    name = clean_text(args.name, field="name", label="Key name", max_length=255)
    with platform_session() as session:
        tenant = session.scalar(select(Tenant).where(Tenant.slug == args.org.strip().lower()))
    if tenant is None:
        raise CliError(f"no organization with the slug {args.org!r}")
    with tenant_session(tenant.id) as session:
        if args.page and session.get(Page, args.page) is None:
            raise CliError(f"organization {tenant.slug!r} has no page {args.page!r}")
        issued = issue_api_key(
            session, tenant_id=tenant.id, name=name, page_id=args.page, is_read_only=args.read_only
        )
        session.commit()
    scope = f"page {args.page}" if args.page else "every page"
    access = "read-only" if args.read_only else "read and write"
    print(f"API key {issued.api_key.id} for {tenant.slug} ({access}, {scope}); it is shown only once:")
    print(issued.secret)
    return 0


def _seed_demo(args: argparse.Namespace, settings: Settings) -> int:
    from status_platform.db.session import tenant_session
    from status_platform.ids import new_id
    from tenants.organizations import demo

    _connect(settings)
    with tenant_session(new_id()) as session:
        org = demo.seed_demo(session)
        session.commit()
        session.refresh(org.page, ["route"])
        print(json.dumps({**_org_json(settings, org), "owner_password": demo.DEMO_OWNER_PASSWORD}))
    return 0


def demo_exists(settings: Settings) -> bool:
    from sqlalchemy import select

    from status_platform.db.session import platform_session
    from status_platform.tenancy.models import Tenant
    from tenants.organizations.demo import DEMO_SLUG

    _connect(settings)
    with platform_session() as session:
        return session.scalar(select(Tenant.id).where(Tenant.slug == DEMO_SLUG)) is not None


# --- processes ---------------------------------------------------------------------------------


def _export_redis(settings: Settings) -> Settings:
    """Start (or find) the embedded Redis once, and hand its URL to every child process."""
    from dataclasses import replace

    from status_platform.jobs.queues import redis_url

    url = redis_url(settings)
    os.environ["REDIS_URL"] = url
    return replace(settings, REDIS_URL=url)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from gunicorn.app.base import BaseApplication

    from status_platform.wsgi import create_wsgi_app

    settings = _export_redis(settings)

    class Application(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", args.workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", args.threads)
            self.cfg.set("timeout", 60)
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("accesslog", "-" if args.access_log else None)
            self.cfg.set("proc_name", "statusplatform-web")

        def load(self) -> Any:
            return create_wsgi_app(settings)

    Application().run()
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from status_platform.jobs.worker import run_worker

    settings = _export_redis(settings)
    _connect(settings)
    run_worker(settings, args.queues or ("notifications", "default"), burst=args.burst)
    return 0


def _clock(args: argparse.Namespace, settings: Settings) -> int:
    import threading

    import tenants
    from status_platform.jobs.clock import run_clock

    _connect(_export_redis(settings))
    tenants.register_periodic_tasks()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        run_clock(stop)
    return 0


def _free_port(preferred: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])


def _wait_for_web(port: int, host: str, deadline: float) -> bool:
    import http.client

    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/login", headers={"Host": host})
            if conn.getresponse().status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def _run(args: argparse.Namespace, settings: Settings) -> int:
    """Everything for a demo on one machine: SQLite, embedded Redis, web, worker, clock, mail catcher."""
    from dataclasses import replace

    from status_platform.db import migrate
    from status_platform.jobs.redis_server import stop_embedded_redis
    from status_platform.mail.catcher import MailCatcher

    # Ctrl-C and SIGTERM both stop everything, even when started with SIGINT ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    instance = Path(settings.INSTANCE_PATH).resolve()
    smtp_port, mail_web_port = _free_port(1025), _free_port(8025)
    settings = replace(
        settings,
        INSTANCE_PATH=str(instance),
        PUBLIC_URL_PORT=str(args.port),
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp_port,
    )
    embedded_redis = not settings.REDIS_URL
    settings = _export_redis(settings)
    migrate.upgrade(settings)
    if not demo_exists(settings):
        _seed_demo(args, settings)
    catcher = MailCatcher(instance / "mail", smtp_port=smtp_port, web_port=mail_web_port)
    catcher.start()
    env = {
        **os.environ,
        "DATABASE_URL": settings.DATABASE_URL,
        "REDIS_URL": settings.REDIS_URL,
        "INSTANCE_PATH": str(instance),
        "PUBLIC_URL_PORT": str(args.port),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
    }
    command = [sys.executable, "-m", "status_platform.cli"]
    children = {
        "web": subprocess.Popen(
            [*command, "serve", "--host", args.host, "--port", str(args.port), "--workers", "2"], env=env
        ),
        "worker": subprocess.Popen([*command, "worker"], env=env),
        "clock": subprocess.Popen([*command, "clock"], env=env),
    }
    try:
        if not _wait_for_web(args.port, settings.PLATFORM_HOST, time.monotonic() + 60):
            raise CliError(f"the web server did not answer on port {args.port}")
        from tenants.organizations.demo import (
            DEMO_OWNER_EMAIL,
            DEMO_OWNER_PASSWORD,
            DEMO_SLUG,
            DEMO_VIEWER_PASSWORD,
            RETAILERS,
        )

        viewer = f"buyer@{RETAILERS[0][1]}"
        print(
            "\nStatus Platform is running. Ctrl-C stops everything.\n"
            f"  Admin:        {settings.admin_url('/login')}  ({DEMO_OWNER_EMAIL} / {DEMO_OWNER_PASSWORD})\n"
            f"  Public page:  {settings.page_url(DEMO_SLUG)}/\n"
            f"  Client login: {settings.page_url(DEMO_SLUG)}/login  ({viewer} / {DEMO_VIEWER_PASSWORD})\n"
            f"  Caught mail:  {catcher.web_url}\n",
            flush=True,
        )
        while True:
            for name, child in children.items():
                if child.poll() is not None:
                    raise CliError(f"the {name} process stopped (exit {child.returncode})")
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping...", file=sys.stderr)
        return 0
    finally:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children.values():
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        catcher.stop()
        if embedded_redis:
            stop_embedded_redis(instance)


# --- parser ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="statusplatform", description="A multi-tenant hosted status-page platform.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND", parser_class=_Parser)

    db = verbs.add_parser("db", help="migrate the database schema")
    db_verbs = db.add_subparsers(dest="db_verb", required=True, metavar="ACTION", parser_class=_Parser)
    up = db_verbs.add_parser("upgrade", help="apply migrations up to a revision (default: head)")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(handler=_db_upgrade)
    down = db_verbs.add_parser("downgrade", help="revert migrations down to a revision (default: base)")
    down.add_argument("revision", nargs="?", default="base")
    down.set_defaults(handler=_db_downgrade)

    org = verbs.add_parser("create-org", help="create an organization, its owner and its first page")
    org.add_argument("--name", required=True, help="the organization's name")
    org.add_argument("--slug", required=True, help="short name in URLs; also the first page's address")
    org.add_argument("--owner-email", required=True)
    org.add_argument("--owner-password", required=True)
    org.add_argument("--page-name", help="the first page's name (default: the organization's)")
    org.add_argument("--page-slug", help="the first page's address (default: --slug)")
    org.set_defaults(handler=_create_org)

    key = verbs.add_parser(
        "create-api-key", help="make a management API key; prints it once, on the last line"
    )
    key.add_argument("--org", required=True, help="the organization's slug")
    key.add_argument("--name", required=True, help="what the key is for")
    key.add_argument("--page", help="limit the key to one page (its id)")
    key.add_argument("--read-only", action="store_true", help="the key can read but not write")
    key.set_defaults(handler=_create_api_key)

    serve = verbs.add_parser("serve", help="run the web server (gunicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=2)
    serve.add_argument("--threads", type=int, default=4)
    serve.add_argument("--access-log", action="store_true", help="log every request to stdout")
    serve.set_defaults(handler=_serve)

    worker = verbs.add_parser("worker", help="run a job worker (RQ)")
    worker.add_argument("queues", nargs="*", help="queues to listen on (default: notifications default)")
    worker.add_argument("--burst", action="store_true", help="exit once the queues are empty")
    worker.set_defaults(handler=_worker)

    clock = verbs.add_parser("clock", help="run the periodic scheduler")
    clock.set_defaults(handler=_clock)

    seed = verbs.add_parser("seed-demo", help="create the demo organization Acme (slug acme)")
    seed.set_defaults(handler=_seed_demo)

    run = verbs.add_parser(
        "run", help="run everything locally: SQLite, embedded Redis, web, worker, clock, mail"
    )
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.set_defaults(handler=_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args, Settings.from_env())
    except (ConfigError, CliError) as exc:
        return _fail(str(exc))
    except DomainError as exc:
        return _fail(exc.message)
    except sqlalchemy.exc.OperationalError as exc:
        return _fail(f"database error: {_first_line(exc.orig)}")
    except sqlalchemy.exc.ProgrammingError as exc:
        return _fail(f"database error: {_first_line(exc.orig)} (has `statusplatform db upgrade` run?)")


def _first_line(exc: BaseException | None) -> str:
    return str(exc).strip().splitlines()[0] if exc and str(exc).strip() else type(exc).__name__


def _fail(message: str) -> int:
    print(f"statusplatform: error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
