"""The `statusplatform` command: organizations, API keys, the demo, one-line errors that change nothing."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from sqlalchemy import func, select

from status_platform.cli import main
from status_platform.db.session import platform_session, tenant_session
from status_platform.identity.apikeys import find_api_key
from status_platform.identity.models import ApiKey, User
from status_platform.tenancy.models import Membership, PageRoute, Role, Tenant
from tenants.audiences.models import Viewer
from tenants.components.models import Component, ComponentGroup, ComponentVisibility
from tenants.incidents.models import Incident, IncidentKind, IncidentStatus, IncidentType
from tenants.pages.models import Page
from tenants.subscribers.models import Subscriber


@pytest.fixture
def cli(settings, monkeypatch, capsys):
    """Run the CLI in this process with the test settings; returns (exit code, stdout, stderr)."""
    for name, value in asdict(settings).items():
        monkeypatch.setenv(name, ",".join(value) if isinstance(value, tuple) else str(value))

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse's own exits
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def counts() -> tuple[int, int, int]:
    with platform_session() as s:
        return (
            s.scalar(select(func.count()).select_from(Tenant)),
            s.scalar(select(func.count()).select_from(User)),
            s.scalar(select(func.count()).select_from(ApiKey)),
        )


CREATE_GLOBEX = (
    "create-org",
    "--name",
    "Globex",
    "--slug",
    "globex",
    "--owner-email",
    "Hank@Globex.test",
    "--owner-password",
    "long enough secret",
)


def test_create_org_creates_organization_owner_and_first_page(cli):
    code, out, err = cli(*CREATE_GLOBEX)
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert result["page_url"] == "http://globex.pages.test"
    with tenant_session(result["tenant_id"]) as s:
        tenant = s.get(Tenant, result["tenant_id"])
        assert (tenant.name, tenant.slug) == ("Globex", "globex")
        page = s.get(Page, result["page_id"])
        assert page.name == "Globex" and s.get(PageRoute, page.id).slug == "globex"
        membership = s.scalar(select(Membership).where(Membership.tenant_id == tenant.id))
        assert membership.role is Role.OWNER and membership.user.email == "hank@globex.test"
        assert [t.name for t in s.scalars(select(IncidentType).order_by(IncidentType.position))] == [
            "Minor",
            "Major",
        ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--slug", "acme"), "already exists"),
        (("--owner-email", "not-an-email"), "Owner email is not valid"),
        (("--slug", "Bad_Slug"), "lowercase letters"),
        (("--slug", "www"), "reserved"),
        (("--owner-password", "short"), "at least 8 characters"),
        (("--name", "   "), "Organization name is required"),
    ],
)
def test_create_org_bad_arguments_print_one_line_and_change_nothing(cli, org_a, argv, message):
    base = dict(zip(CREATE_GLOBEX[1::2], CREATE_GLOBEX[2::2], strict=True))
    base.update(dict(zip(argv[::2], argv[1::2], strict=True)))
    before = counts()
    code, out, err = cli("create-org", *[part for pair in base.items() for part in pair])
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("statusplatform: error: ") and message in err
    assert counts() == before


def test_an_existing_user_becomes_owner_only_with_their_password(cli, org_a):
    code, _, err = cli(
        "create-org",
        "--name",
        "Second",
        "--slug",
        "second",
        "--owner-email",
        org_a.owner_email,
        "--owner-password",
        "someone else's guess",
    )
    assert code == 1 and "different password" in err
    code, out, _ = cli(
        "create-org",
        "--name",
        "Second",
        "--slug",
        "second",
        "--owner-email",
        org_a.owner_email,
        "--owner-password",
        org_a.owner_password,
    )
    assert code == 0
    with platform_session() as s:
        user = s.scalar(select(User).where(User.email == org_a.owner_email))
        assert {m.tenant.slug for m in user.memberships} == {"acme", "second"}


def test_create_api_key_prints_the_key_once_on_its_last_line(cli, org_a):
    code, out, err = cli("create-api-key", "--org", org_a.slug, "--name", "release pipeline", "--read-only")
    assert (code, err) == (0, "")
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("sp_") and " " not in secret
    with platform_session() as s:
        key = find_api_key(s, secret)
        assert (
            key is not None and key.tenant_id == org_a.tenant_id and key.is_read_only and key.page_id is None
        )
        assert secret not in {key.key_hash, key.prefix}


def test_create_api_key_can_be_limited_to_one_page(cli, org_a, org_b):
    code, out, _ = cli("create-api-key", "--org", org_a.slug, "--name", "page key", "--page", org_a.page_id)
    assert code == 0
    with platform_session() as s:
        assert find_api_key(s, out.strip().splitlines()[-1]).page_id == org_a.page_id
    before = counts()
    code, out, err = cli("create-api-key", "--org", org_a.slug, "--name", "x", "--page", org_b.page_id)
    assert code == 1 and "has no page" in err and err.count("\n") == 1
    assert counts() == before


def test_create_api_key_for_an_unknown_org_fails_cleanly(cli):
    before = counts()
    code, out, err = cli("create-api-key", "--org", "nowhere", "--name", "ci")
    assert (code, out) == (
        1,
        "",
    ) and err == "statusplatform: error: no organization with the slug 'nowhere'\n"
    assert counts() == before


def test_argument_errors_are_one_line(cli):
    code, out, err = cli("create-org", "--name")
    assert code == 2 and out == "" and err.count("\n") == 1 and "expected one argument" in err
    code, _, err = cli("no-such-verb")
    assert code == 2 and err.count("\n") == 1


@pytest.mark.parametrize(
    "verb", ["db", "create-org", "create-api-key", "serve", "worker", "clock", "seed-demo", "run"]
)
def test_every_verb_has_help(cli, verb):
    code, out, _ = cli(verb, "--help")
    assert code == 0 and out.startswith("usage: statusplatform " + verb)


def test_seed_demo_creates_the_acme_organization(cli):
    code, out, err = cli("seed-demo")
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert result["slug"] == "acme" and result["page_url"] == "http://acme.pages.test"
    with tenant_session(result["tenant_id"]) as s:
        assert [g.name for g in s.scalars(select(ComponentGroup).order_by(ComponentGroup.position))] == [
            "API",
            "Web",
            "Northwind Stores sites",
            "Contoso Retail sites",
        ]
        public = (
            select(func.count())
            .select_from(Component)
            .where(Component.visibility == ComponentVisibility.PUBLIC)
        )
        assert s.scalar(public) == 7 and s.scalar(select(func.count()).select_from(Component)) == 11
        assert (
            s.scalar(select(func.count()).select_from(Viewer).where(Viewer.password_hash.is_not(None))) == 2
        )
        incidents = s.scalars(select(Incident).where(Incident.kind == IncidentKind.INCIDENT)).all()
        resolved = [i for i in incidents if i.status is IncidentStatus.RESOLVED]
        assert len(resolved) == 3 and all(len(i.updates) >= 3 for i in resolved)
        assert all(i.resolved_at is not None and i.is_backfilled for i in resolved)
        assert [i.name for i in incidents if i.is_open] == ["Slow dashboard loading for some users"]
        (window,) = s.scalars(select(Incident).where(Incident.kind == IncidentKind.MAINTENANCE)).all()
        assert window.status is IncidentStatus.SCHEDULED and window.scheduled_for > window.created_at
        assert s.scalar(select(func.count()).select_from(Subscriber)) >= 5
    code, _, err = cli("seed-demo")
    assert code == 1 and "already exists" in err
