"""A page's custom domain, end to end against a real DNS server on loopback: pending, failed, verified."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from sqlalchemy import select

from status_platform import config
from status_platform.db.session import platform_session, tenant_session
from status_platform.identity.actor import Actor
from status_platform.jobs import queues
from status_platform.tenancy.models import DomainStatus, PageRoute, Role, Tenant
from status_platform.timeutil import utcnow
from tenants.audit.models import AuditEvent
from tenants.pages import domains
from tenants.pages.domains import verify_custom_domain
from tenants.pages.jobs import recheck_domain, sweep_unverified_domains
from tenants.pages.models import Page
from tests.conftest import fingerprint, post_form

DOMAIN = "status.acme-example.com"
CHALLENGE = f"_statusplatform-challenge.{DOMAIN}"


@dataclass
class DnsServer:
    """TXT records by name (an empty list: the name exists without one); names not listed answer
    NXDOMAIN; `silent` drops every query (a timeout); `rcode` answers every query with that error."""

    port: int = 0
    txt: dict[str, list[str]] = field(default_factory=dict)
    silent: bool = False
    rcode: dns.rcode.Rcode | None = None
    queries: list[str] = field(default_factory=list)

    @property
    def nameserver(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    server = DnsServer()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    server.port = sock.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                wire, client = sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(wire)
            question = query.question[0]
            name = question.name.to_text(omit_final_dot=True).lower()
            server.queries.append(name)
            if server.silent:
                continue
            response = dns.message.make_response(query)
            response.flags |= dns.flags.AA
            if server.rcode is not None:
                response.set_rcode(server.rcode)
            elif server.txt.get(name) and question.rdtype == dns.rdatatype.TXT:
                values = [f'"{value}"' for value in server.txt[name]]
                response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "TXT", *values))
            elif name not in server.txt:
                response.set_rcode(dns.rcode.NXDOMAIN)
            sock.sendto(response.to_wire(), client)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server
    stop.set()
    thread.join()
    sock.close()


@pytest.fixture
def resolving(admin_app: Any, dns_server: DnsServer, monkeypatch: pytest.MonkeyPatch) -> DnsServer:
    """The admin app (and jobs) ask the test's DNS server."""
    settings = dataclasses.replace(admin_app.config["SETTINGS"], DNS_NAMESERVERS=(dns_server.nameserver,))
    monkeypatch.setitem(admin_app.config, "SETTINGS", settings)
    monkeypatch.setattr(config, "_active", [settings])
    return dns_server


def on_plan(org: Any, plan_code: str) -> None:
    with platform_session() as s:
        s.get(Tenant, org.tenant_id).plan_code = plan_code
        s.commit()


@pytest.fixture
def paid(org_a: Any, org_b: Any) -> None:
    on_plan(org_a, "business")
    on_plan(org_b, "business")


def domain_url(org: Any, rest: str = "") -> str:
    return f"/t/{org.slug}/p/{org.page_id}/settings/domain{rest}"


def route_of(org: Any) -> PageRoute:
    with platform_session() as s:
        route = s.get(PageRoute, org.page_id)
        assert route is not None
        return route


def served_on(web: Any, host: str) -> tuple[int, str]:
    response = web.get("/", headers={"Host": host})
    return response.status_code, response.get_data(as_text=True)


def field_is_marked(html: str, message: str) -> bool:
    return (
        'class="field invalid"' in html
        and 'aria-invalid="true" aria-describedby="domain-error"' in html
        and message in html.split('id="domain-error">')[1].split("</p>")[0]
    )


def test_a_custom_domain_goes_from_pending_to_failed_to_verified_and_then_serves_the_page(
    staff_client, org_a, org_b, paid, resolving, web
):
    response = post_form(staff_client, domain_url(org_a), {"domain": "Status.Acme-Example.COM."})
    assert response.status_code == 302
    route = route_of(org_a)
    assert (route.custom_domain, route.domain_status) == (DOMAIN, DomainStatus.PENDING)
    assert route.domain_token and len(route.domain_token) >= 24
    html = staff_client.get(domain_url(org_a)).get_data(as_text=True)
    assert "Add the two DNS records below" in html and "Status: Pending" in html
    assert f"<td>CNAME</td><td><code>{DOMAIN}</code></td><td><code>acme.pages.test</code></td>" in html
    txt_value = f"statusplatform-verification={route.domain_token}"
    assert f"<td>TXT</td><td><code>{CHALLENGE}</code></td><td><code>{txt_value}</code></td>" in html
    assert "Not checked yet." in html
    assert served_on(web, DOMAIN)[0] == 404

    # No record yet: failed, with the reason and the time of the check.
    assert post_form(staff_client, domain_url(org_a, "/verify")).status_code == 302
    assert resolving.queries == [CHALLENGE]
    route = route_of(org_a)
    assert route.domain_status is DomainStatus.FAILED and route.domain_checked_at is not None
    html = staff_client.get(domain_url(org_a)).get_data(as_text=True)
    assert "Status: Failed" in html and "Last checked" in html
    assert f"No TXT record was found: {CHALLENGE} does not exist in DNS yet." in html
    assert served_on(web, DOMAIN)[0] == 404

    # A record with another value is not a proof either.
    resolving.txt[CHALLENGE] = ["statusplatform-verification=someone-else", "v=spf1 -all"]
    post_form(staff_client, domain_url(org_a, "/verify"))
    html = staff_client.get(domain_url(org_a)).get_data(as_text=True)
    assert f"does not hold {txt_value}" in html and route_of(org_a).domain_status is DomainStatus.FAILED
    assert served_on(web, DOMAIN)[0] == 404

    resolving.txt[CHALLENGE] = ["v=spf1 -all", txt_value]
    post_form(staff_client, domain_url(org_a, "/verify"))
    route = route_of(org_a)
    assert route.domain_status is DomainStatus.VERIFIED and route.domain_verified_at is not None
    assert route.domain_failure_reason is None
    html = staff_client.get(domain_url(org_a)).get_data(as_text=True)
    assert f"Verified {DOMAIN}: the page now answers at http://{DOMAIN}." in html
    assert "Status: Verified" in html and ">Check now<" not in html

    status, page = served_on(web, DOMAIN)
    assert status == 200 and "Acme REST" in page and "Globex" not in page
    assert served_on(web, org_a.host)[0] == 200
    with tenant_session(org_a.tenant_id) as s:
        actions = list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.like("page.domain_%"))
                .order_by(AuditEvent.created_at)
            )
        )
    assert actions == [
        "page.domain_set",
        "page.domain_check_failed",
        "page.domain_check_failed",
        "page.domain_verified",
    ]
    with tenant_session(org_b.tenant_id) as s:
        assert not list(s.scalars(select(AuditEvent).where(AuditEvent.action.like("page.domain_%"))))


def test_a_dns_timeout_is_a_readable_failure(org_a, paid, resolving):
    resolving.silent = True
    admin = Actor(label="admin@acme.test", role=Role.ADMIN)
    with tenant_session(org_a.tenant_id) as s:
        route = s.get(PageRoute, org_a.page_id)
        route.custom_domain, route.domain_status, route.domain_token = DOMAIN, DomainStatus.PENDING, "t0ken"
        verified = verify_custom_domain(
            s, s.get(Page, org_a.page_id), actor=admin, settings=config.active_settings(), lifetime=0.5
        )
        assert verified is False
        assert route.domain_status is DomainStatus.FAILED
        assert (
            route.domain_failure_reason
            == f"The DNS lookup of {CHALLENGE} timed out; try again in a few minutes."
        )


def test_changing_the_domain_starts_the_proof_again(staff_client, org_a, paid, resolving, web):
    post_form(staff_client, domain_url(org_a), {"domain": DOMAIN})
    resolving.txt[CHALLENGE] = [f"statusplatform-verification={route_of(org_a).domain_token}"]
    post_form(staff_client, domain_url(org_a, "/verify"))
    first = route_of(org_a)
    assert first.domain_status is DomainStatus.VERIFIED

    # The same domain again keeps it verified.
    post_form(staff_client, domain_url(org_a), {"domain": DOMAIN.upper()})
    assert route_of(org_a).domain_status is DomainStatus.VERIFIED

    assert post_form(staff_client, domain_url(org_a), {"domain": "status.acme-other.com"}).status_code == 302
    route = route_of(org_a)
    assert (route.custom_domain, route.domain_status) == ("status.acme-other.com", DomainStatus.PENDING)
    assert route.domain_token != first.domain_token
    assert route.domain_verified_at is None and route.domain_checked_at is None
    assert served_on(web, DOMAIN)[0] == 404 and served_on(web, "status.acme-other.com")[0] == 404


def test_removing_the_domain_stops_serving_the_page_there(staff_client, org_a, paid, resolving, web):
    post_form(staff_client, domain_url(org_a), {"domain": DOMAIN})
    resolving.txt[CHALLENGE] = [f"statusplatform-verification={route_of(org_a).domain_token}"]
    post_form(staff_client, domain_url(org_a, "/verify"))
    assert served_on(web, DOMAIN)[0] == 200
    assert post_form(staff_client, domain_url(org_a, "/remove")).status_code == 302
    html = staff_client.get(domain_url(org_a)).get_data(as_text=True)
    assert f"Removed {DOMAIN}; the page answers only at http://acme.pages.test now." in html
    route = route_of(org_a)
    assert (route.custom_domain, route.domain_status, route.domain_token) == (None, DomainStatus.NONE, None)
    assert served_on(web, DOMAIN)[0] == 404
    assert served_on(web, org_a.host)[0] == 200
    with tenant_session(org_a.tenant_id) as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "page.domain_removed")).one()
        assert event.before["custom_domain"] == DOMAIN and event.after["custom_domain"] is None


def verify_now(client: Any, org: Any, resolving: DnsServer) -> PageRoute:
    """Publish the page's TXT record and press "Check now": the domain is verified."""
    resolving.txt[CHALLENGE] = [f"statusplatform-verification={route_of(org).domain_token}"]
    assert post_form(client, domain_url(org, "/verify")).status_code == 302
    route = route_of(org)
    assert route.domain_status is DomainStatus.VERIFIED
    return route


def test_a_verified_domain_is_one_pages_on_the_whole_platform(
    staff_client, client_as, org_a, org_b, paid, resolving
):
    post_form(staff_client, domain_url(org_a), {"domain": DOMAIN})
    verify_now(staff_client, org_a, resolving)
    globex = client_as("owner", org_b)
    before = fingerprint(org_b.tenant_id)
    response = post_form(globex, domain_url(org_b), {"domain": DOMAIN})
    assert response.status_code == 200
    assert field_is_marked(
        response.get_data(as_text=True), f"{DOMAIN} is already used by another status page."
    )
    assert fingerprint(org_b.tenant_id) == before
    assert route_of(org_a).domain_status is DomainStatus.VERIFIED


@pytest.mark.parametrize("squatter_checked", [False, True], ids=["pending", "failed"])
def test_an_unproved_claim_moves_to_the_next_page_that_claims_the_domain(
    staff_client, client_as, org_a, org_b, paid, resolving, web, squatter_checked
):
    globex = client_as("owner", org_b)
    assert post_form(globex, domain_url(org_b), {"domain": DOMAIN}).status_code == 302
    if squatter_checked:
        post_form(globex, domain_url(org_b, "/verify"))
        assert route_of(org_b).domain_status is DomainStatus.FAILED

    response = post_form(staff_client, domain_url(org_a), {"domain": DOMAIN})
    assert response.status_code == 302
    route = route_of(org_a)
    assert (route.custom_domain, route.domain_status) == (DOMAIN, DomainStatus.PENDING)
    released = route_of(org_b)
    assert (released.custom_domain, released.domain_token, released.domain_status) == (
        None,
        None,
        DomainStatus.NONE,
    )
    assert released.domain_verified_at is None and released.domain_checked_at is None
    reason = f"Another page claimed {DOMAIN} without proof yet"
    assert released.domain_failure_reason.startswith(reason)
    assert reason in globex.get(domain_url(org_b)).get_data(as_text=True)
    with tenant_session(org_a.tenant_id) as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "page.domain_set")).one()
        assert "another page's unproved claim of it was released" in event.summary
        assert "Globex" not in event.summary and org_b.page_id not in str(event.after)

    # The owner proves it; the domain is then taken for good.
    verify_now(staff_client, org_a, resolving)
    assert served_on(web, DOMAIN)[0] == 200
    before = fingerprint(org_b.tenant_id)
    response = post_form(globex, domain_url(org_b), {"domain": DOMAIN})
    assert response.status_code == 200 and field_is_marked(
        response.get_data(as_text=True), f"{DOMAIN} is already used by another status page."
    )
    assert fingerprint(org_b.tenant_id) == before


def test_claiming_a_domain_again_asks_for_the_same_txt_record(
    staff_client, client_as, org_a, org_b, paid, resolving, admin_app
):
    secret = admin_app.config["SETTINGS"].SECRET_KEY.encode()

    def expected(page_id: str, domain: str) -> str:
        return hmac.new(secret, f"{page_id}:{domain}".encode(), hashlib.sha256).hexdigest()[:32]

    post_form(staff_client, domain_url(org_a), {"domain": DOMAIN})
    first = route_of(org_a).domain_token
    assert first == expected(org_a.page_id, DOMAIN)
    post_form(staff_client, domain_url(org_a), {"domain": "status.acme-other.com"})
    assert route_of(org_a).domain_token == expected(org_a.page_id, "status.acme-other.com") != first
    post_form(staff_client, domain_url(org_a), {"domain": DOMAIN})
    assert route_of(org_a).domain_token == first

    # Another page, of another organization, is asked for its own value.
    post_form(staff_client, domain_url(org_a, "/remove"))
    globex = client_as("owner", org_b)
    post_form(globex, domain_url(org_b), {"domain": DOMAIN})
    assert route_of(org_b).domain_token == expected(org_b.page_id, DOMAIN) != first


def test_a_domain_taken_at_the_same_moment_is_refused_on_the_domain_field(
    staff_client, org_a, org_b, paid, resolving, monkeypatch
):
    with platform_session() as s:
        route = s.get(PageRoute, org_b.page_id)
        route.custom_domain, route.domain_status, route.domain_token = DOMAIN, DomainStatus.VERIFIED, "b"
        s.commit()
    # As if Globex's claim committed after Acme's request looked: only the database can refuse it now.
    monkeypatch.setattr(domains, "domain_holder", lambda *args, **kwargs: None)
    before = fingerprint(org_a.tenant_id)
    response = post_form(staff_client, domain_url(org_a), {"domain": DOMAIN.upper()})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert field_is_marked(html, f"{DOMAIN} is already used by another status page.")
    assert f'value="{DOMAIN.upper()}"' in html
    assert fingerprint(org_a.tenant_id) == before


def test_a_free_plan_organization_is_refused_a_custom_domain(staff_client, org_a, org_b, resolving):
    html = staff_client.get(domain_url(org_a)).get_data(as_text=True)
    assert "The Free plan does not include a custom domain." in html
    before = fingerprint(org_a.tenant_id)
    response = post_form(staff_client, domain_url(org_a), {"domain": DOMAIN})
    assert response.status_code == 200
    assert field_is_marked(
        response.get_data(as_text=True),
        "The Free plan does not include a custom domain; change to the Startup plan or above to use one.",
    )
    assert fingerprint(org_a.tenant_id) == before


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("", "Enter the domain, such as status.example.com."),
        ("intranet", "Enter a full domain with a dot"),
        ("203.0.113.7", "Enter a domain name, not an IP address."),
        ("globex.pages.test", "belongs to the platform itself"),
        ("platform.test", "belongs to the platform itself"),
        ("status_page.example.com", "is not a valid domain name"),
    ],
)
def test_a_bad_domain_is_refused_with_the_field_marked_and_nothing_changed(
    staff_client, org_a, paid, resolving, domain, message
):
    before = fingerprint(org_a.tenant_id)
    response = post_form(staff_client, domain_url(org_a), {"domain": domain})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and field_is_marked(html, message)
    assert f'value="{domain}"' in html
    assert fingerprint(org_a.tenant_id) == before


def test_checking_without_a_domain_says_to_add_one(staff_client, org_a, paid):
    before = fingerprint(org_a.tenant_id)
    response = post_form(staff_client, domain_url(org_a, "/verify"))
    assert response.status_code == 200 and field_is_marked(
        response.get_data(as_text=True), "Add a custom domain first."
    )
    assert fingerprint(org_a.tenant_id) == before


def test_an_editor_cannot_change_the_domain(client_as, org_a, paid, resolving):
    editor = client_as("editor")
    assert "Only admins and owners can change the custom domain." in editor.get(domain_url(org_a)).get_data(
        as_text=True
    )
    before = fingerprint(org_a.tenant_id)
    for rest in ("", "/verify", "/remove"):
        assert post_form(editor, domain_url(org_a, rest), {"domain": DOMAIN}).status_code == 403
    assert fingerprint(org_a.tenant_id) == before


def test_another_organizations_domain_screen_is_404(client_as, org_a, org_b, paid):
    globex = client_as("owner", org_b)
    assert globex.get(domain_url(org_a)).status_code == 404
    assert globex.get(f"/t/{org_b.slug}/p/{org_a.page_id}/settings/domain").status_code == 404
    before = fingerprint(org_a.tenant_id)
    response = post_form(globex, f"/t/{org_b.slug}/p/{org_a.page_id}/settings/domain", {"domain": DOMAIN})
    assert response.status_code == 404
    assert fingerprint(org_a.tenant_id) == before


def test_the_clock_verifies_a_waiting_domain_once_its_record_appears(
    staff_client, org_a, org_b, paid, resolving
):
    post_form(staff_client, domain_url(org_a), {"domain": DOMAIN})
    queue = queues.get_queue("default")
    assert sweep_unverified_domains() == 1 and queue.count == 1

    # A miss leaves it waiting (the customer may add the record later).
    assert recheck_domain(org_a.tenant_id, org_a.page_id) is False
    route = route_of(org_a)
    assert route.domain_status is DomainStatus.PENDING and route.domain_checked_at is not None
    assert "does not exist in DNS yet" in route.domain_failure_reason

    resolving.txt[CHALLENGE] = [f"statusplatform-verification={route.domain_token}"]
    assert recheck_domain(org_a.tenant_id, org_a.page_id) is True
    assert route_of(org_a).domain_status is DomainStatus.VERIFIED
    assert recheck_domain(org_a.tenant_id, org_a.page_id) is False  # done: nothing to do again
    assert recheck_domain(org_b.tenant_id, org_a.page_id) is False  # another organization's page is not found


def age_claim(org: Any, days: float) -> None:
    with platform_session() as s:
        s.get(PageRoute, org.page_id).updated_at = utcnow() - timedelta(days=days)
        s.commit()


def test_the_clock_rechecks_an_unproved_claim_for_seven_days_then_leaves_it_until_checked_again(
    staff_client, org_a, org_b, paid, resolving
):
    post_form(staff_client, domain_url(org_a), {"domain": DOMAIN})
    age_claim(org_a, 6)
    six_days_old = route_of(org_a).updated_at
    assert sweep_unverified_domains() == 1
    assert recheck_domain(org_a.tenant_id, org_a.page_id) is False
    route = route_of(org_a)
    assert route.domain_checked_at is not None and resolving.queries == [CHALLENGE]
    assert route.updated_at == six_days_old  # the clock's own check does not renew the claim

    age_claim(org_a, 8)
    assert sweep_unverified_domains() == 1
    assert recheck_domain(org_a.tenant_id, org_a.page_id) is False
    route = route_of(org_a)
    assert resolving.queries == [CHALLENGE]  # not looked up any more
    assert route.domain_status is DomainStatus.FAILED and route.custom_domain == DOMAIN
    assert "not verified within 7 days; check again to retry" in route.domain_failure_reason
    assert route.updated_at < utcnow() - timedelta(days=7)
    assert sweep_unverified_domains() == 0
    assert recheck_domain(org_a.tenant_id, org_a.page_id) is False
    html = staff_client.get(domain_url(org_a)).get_data(as_text=True)
    assert "not verified within 7 days; check again to retry" in html
    with tenant_session(org_a.tenant_id) as s:
        events = list(
            s.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "page.domain_check_failed")
                .order_by(AuditEvent.created_at)
            )
        )
        assert [event.actor_label for event in events] == ["system", "system"]
        assert "not verified within 7 days" in events[-1].summary

    # "Check now" renews the claim: the clock looks again.
    post_form(staff_client, domain_url(org_a, "/verify"))
    assert resolving.queries == [CHALLENGE, CHALLENGE]
    assert route_of(org_a).updated_at > utcnow() - timedelta(minutes=5)
    assert sweep_unverified_domains() == 1


def test_a_stale_claim_can_still_be_taken_by_the_domains_owner(
    staff_client, client_as, org_a, org_b, paid, resolving
):
    globex = client_as("owner", org_b)
    post_form(globex, domain_url(org_b), {"domain": DOMAIN})
    age_claim(org_b, 30)
    recheck_domain(org_b.tenant_id, org_b.page_id)
    assert post_form(staff_client, domain_url(org_a), {"domain": DOMAIN}).status_code == 302
    assert route_of(org_a).custom_domain == DOMAIN and route_of(org_b).custom_domain is None


# --- checking a domain that is already verified --------------------------------------------------


def no_answer(server: DnsServer, kind: str) -> str:
    """Make `server` fail the lookup of the challenge in one way; the reason the page shows."""
    if kind == "timeout":
        server.silent = True
        return f"The DNS lookup of {CHALLENGE} timed out; try again in a few minutes."
    if kind == "nxdomain":
        server.txt.pop(CHALLENGE)
        return f"No TXT record was found: {CHALLENGE} does not exist in DNS yet."
    if kind == "no_txt":
        server.txt[CHALLENGE] = []
        return f"{CHALLENGE} exists in DNS but has no TXT record."
    server.rcode = dns.rcode.SERVFAIL
    return f"No DNS server could answer for {CHALLENGE}; check the domain's DNS setup."


@pytest.mark.parametrize("kind", ["timeout", "nxdomain", "no_txt", "servfail"])
def test_a_lookup_without_an_answer_keeps_a_verified_domain_verified(
    staff_client, org_a, org_b, paid, resolving, web, kind
):
    post_form(staff_client, domain_url(org_a), {"domain": DOMAIN})
    verified = verify_now(staff_client, org_a, resolving)
    reason = no_answer(resolving, kind)
    admin = Actor(label="admin@acme.test", role=Role.ADMIN)
    with tenant_session(org_a.tenant_id) as s:
        found = verify_custom_domain(
            s, s.get(Page, org_a.page_id), actor=admin, settings=config.active_settings(), lifetime=0.5
        )
        s.commit()
    assert found is False
    route = route_of(org_a)
    assert route.domain_status is DomainStatus.VERIFIED
    assert route.domain_verified_at == verified.domain_verified_at
    assert route.domain_checked_at > verified.domain_checked_at
    assert route.domain_failure_reason == reason
    assert served_on(web, DOMAIN)[0] == 200
    with tenant_session(org_a.tenant_id) as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.created_at.desc()).limit(1)).one()
        assert event.action == "page.domain_check_failed" and "it stays verified" in event.summary


def test_check_now_without_an_answer_warns_and_the_page_stays_on_its_domain(
    staff_client, org_a, paid, resolving, web
):
    post_form(staff_client, domain_url(org_a), {"domain": DOMAIN})
    verify_now(staff_client, org_a, resolving)
    reason = no_answer(resolving, "nxdomain")
    assert post_form(staff_client, domain_url(org_a, "/verify")).status_code == 302
    html = staff_client.get(domain_url(org_a)).get_data(as_text=True)
    assert f"Could not check {DOMAIN} just now; it stays verified and the page still answers there." in html
    assert "Status: Verified" in html and "Warning: the last check got no answer." in html and reason in html
    assert served_on(web, DOMAIN)[0] == 200

    # The record back: the warning goes.
    resolving.txt[CHALLENGE] = [f"statusplatform-verification={route_of(org_a).domain_token}"]
    post_form(staff_client, domain_url(org_a, "/verify"))
    assert route_of(org_a).domain_failure_reason is None
    assert "Warning" not in staff_client.get(domain_url(org_a)).get_data(as_text=True)


def test_a_txt_record_without_our_value_any_more_fails_a_verified_domain(
    staff_client, org_a, paid, resolving, web
):
    post_form(staff_client, domain_url(org_a), {"domain": DOMAIN})
    verify_now(staff_client, org_a, resolving)
    resolving.txt[CHALLENGE] = ["v=spf1 -all"]
    assert post_form(staff_client, domain_url(org_a, "/verify")).status_code == 302
    route = route_of(org_a)
    assert route.domain_status is DomainStatus.FAILED and route.domain_verified_at is None
    assert f"does not hold statusplatform-verification={route.domain_token}" in route.domain_failure_reason
    assert served_on(web, DOMAIN)[0] == 404
    assert served_on(web, org_a.host)[0] == 200


@pytest.mark.parametrize("entry", ["127.0.0.1:dns", "127.0.0.1:70000", "dns.unknown.example"])
def test_an_unusable_dns_server_setting_is_a_failed_check_with_a_readable_reason(
    staff_client, org_a, org_b, paid, admin_app, monkeypatch, entry
):
    def unknown_host(host: str) -> str:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    settings = dataclasses.replace(admin_app.config["SETTINGS"], DNS_NAMESERVERS=(entry,))
    monkeypatch.setitem(admin_app.config, "SETTINGS", settings)
    monkeypatch.setattr(socket, "gethostbyname", unknown_host)
    post_form(staff_client, domain_url(org_a), {"domain": DOMAIN})
    response = post_form(staff_client, domain_url(org_a, "/verify"))
    assert response.status_code == 302
    route = route_of(org_a)
    assert route.domain_status is DomainStatus.FAILED
    assert route.domain_failure_reason.startswith("The platform's DNS servers are not set up correctly")
    html = staff_client.get(domain_url(org_a)).get_data(as_text=True)
    assert "the record could not be looked up" in html and entry not in html
