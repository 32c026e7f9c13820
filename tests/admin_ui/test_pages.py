"""Adding a page: created with its address, a taken address refused on its field, nothing changed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from status_platform.db.session import platform_session, tenant_session
from status_platform.tenancy.models import PageRoute, Tenant
from tenants.pages import services
from tenants.pages.models import Page
from tests.conftest import fingerprint, post_form


def new_page_url(org: Any) -> str:
    return f"/t/{org.slug}/pages/"


def field_is_marked(html: str, field: str, message: str) -> bool:
    return (
        re.search(r'class="field[a-z ]* invalid"', html) is not None
        and f'aria-invalid="true" aria-describedby="{field}-error"' in html
        and re.search(rf'<p class="error" id="{field}-error">[^<]*{re.escape(message)}', html) is not None
    )


@pytest.fixture
def business(org_a: Any) -> None:
    with platform_session() as s:
        s.get(Tenant, org_a.tenant_id).plan_code = "business"
        s.commit()


def test_a_new_page_is_created_at_its_address(staff_client, org_a, org_b, business):
    response = post_form(staff_client, new_page_url(org_a), {"name": "Acme API", "slug": "acme-api"})
    assert response.status_code == 302
    with tenant_session(org_a.tenant_id) as s:
        page = s.scalars(select(Page).where(Page.name == "Acme API")).one()
        assert s.get(PageRoute, page.id).slug == "acme-api"
        assert response.headers["Location"].endswith(f"/t/{org_a.slug}/p/{page.id}/components/")
    with tenant_session(org_b.tenant_id) as s:
        assert not list(s.scalars(select(Page).where(Page.name == "Acme API")))


def test_another_organizations_address_is_refused_on_the_address_field(staff_client, org_a, org_b, business):
    before = fingerprint(org_a.tenant_id)
    response = post_form(staff_client, new_page_url(org_a), {"name": "Acme API", "slug": org_b.slug})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert field_is_marked(html, "slug", "The address &#39;globex&#39; is already taken by another page.")
    assert 'value="Acme API"' in html
    assert fingerprint(org_a.tenant_id) == before


def test_an_address_taken_at_the_same_moment_is_refused_on_the_address_field(
    staff_client, org_a, org_b, business, monkeypatch
):
    # As if Globex's page committed after this request looked: only the database can refuse it now.
    monkeypatch.setattr(services, "slug_is_taken", lambda *args, **kwargs: False)
    before = fingerprint(org_a.tenant_id)
    response = post_form(staff_client, new_page_url(org_a), {"name": "Acme API", "slug": " Globex "})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert field_is_marked(html, "slug", "The address &#39;globex&#39; is already taken by another page.")
    assert 'value="Acme API"' in html
    assert fingerprint(org_a.tenant_id) == before
