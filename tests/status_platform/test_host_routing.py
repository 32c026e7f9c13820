"""One WSGI entry: the platform host gets the admin app, page hosts their page, anything else a 404."""

from __future__ import annotations

import pytest

from status_platform.db.session import platform_session, tenant_session
from status_platform.tenancy.models import DomainStatus, PageRoute, Tenant
from status_platform.tenancy.resolve import normalize_host
from status_platform.timeutil import utcnow
from tests.conftest import PLATFORM_HOST


def set_custom_domain(org, domain: str, status: DomainStatus) -> None:
    with tenant_session(org.tenant_id) as s:
        route = s.get(PageRoute, org.page_id)
        route.custom_domain = domain
        route.domain_status = status
        route.domain_verified_at = utcnow() if status is DomainStatus.VERIFIED else None
        s.commit()


def test_a_page_host_serves_its_page(web, org_a, org_b):
    body = web.get("/", headers={"Host": org_a.host}).get_data(as_text=True)
    assert org_a.name in body and org_b.name not in body


@pytest.mark.parametrize("host", ["acme.pages.test:8000", "ACME.Pages.Test", "acme.pages.test."])
def test_host_matching_ignores_port_case_and_trailing_dot(web, org_a, host):
    response = web.get("/", headers={"Host": host})
    assert response.status_code == 200
    assert org_a.name in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "host",
    ["unknown.pages.test", "deep.acme.pages.test", "pages.test", "status.acme.example", "127.0.0.1", "[::1]"],
)
def test_unknown_hosts_get_a_plain_404(web, org_a, host):
    response = web.get("/", headers={"Host": host})
    assert response.status_code == 404
    assert org_a.name not in response.get_data(as_text=True)


def test_a_custom_domain_that_is_not_verified_gets_404(web, org_a, org_b):
    set_custom_domain(org_b, "status.globex.example", DomainStatus.PENDING)
    assert web.get("/", headers={"Host": "status.globex.example"}).status_code == 404
    set_custom_domain(org_b, "status.globex.example", DomainStatus.FAILED)
    assert web.get("/", headers={"Host": "status.globex.example"}).status_code == 404


def test_a_verified_custom_domain_serves_its_page(web, org_a, org_b):
    set_custom_domain(org_b, "status.globex.example", DomainStatus.VERIFIED)
    response = web.get("/", headers={"Host": "status.globex.example"})
    assert response.status_code == 200
    assert org_b.name in response.get_data(as_text=True) and org_a.name not in response.get_data(as_text=True)


def test_an_inactive_organizations_pages_get_404(web, org_a):
    with platform_session() as s:
        s.get(Tenant, org_a.tenant_id).is_active = False
        s.commit()
    assert web.get("/", headers={"Host": org_a.host}).status_code == 404


@pytest.mark.parametrize("path", ["/login", "/orgs", "/logout", "/t/acme/"])
def test_no_admin_route_answers_on_a_page_host(web, org_a, path):
    # A page host has a sign-out of its own (POST /logout, for viewers): a GET is refused there.
    expected = (404, 405) if path == "/logout" else (404,)
    assert web.get(path, headers={"Host": org_a.host}).status_code in expected
    assert web.post(path, headers={"Host": org_a.host}).status_code in (404, 405)


def test_the_platform_host_serves_the_admin_not_a_page(web, org_a):
    login = web.get("/login", headers={"Host": PLATFORM_HOST})
    assert login.status_code == 200 and "Sign in" in login.get_data(as_text=True)
    home = web.get("/", headers={"Host": PLATFORM_HOST})
    assert home.status_code == 302 and home.headers["Location"].endswith("/login")


def test_the_proxy_can_ask_which_hosts_get_a_certificate(web, org_a, org_b):
    set_custom_domain(org_b, "status.globex.example", DomainStatus.VERIFIED)
    ask = "/_internal/tls-ask?domain="
    loopback = {"REMOTE_ADDR": "127.0.0.1"}
    assert web.get(ask + org_a.host, environ_base=loopback).status_code == 200
    assert web.get(ask + "status.globex.example", environ_base=loopback).status_code == 200
    assert web.get(ask + PLATFORM_HOST, environ_base=loopback).status_code == 200
    assert web.get(ask + "evil.example", environ_base=loopback).status_code == 404
    assert web.get(ask + org_a.host, environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 404


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Status.Acme.COM.:443", "status.acme.com"),
        ("acme.localhost:8000", "acme.localhost"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("[::1]:80", None),
        ("", None),
        ("a b", None),
        (None, None),
    ],
)
def test_normalize_host(raw, expected):
    assert normalize_host(raw) == expected
