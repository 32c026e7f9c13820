"""The Manage API's model of visibility, end to end: what it sets is what the page host shows."""

from __future__ import annotations

from werkzeug.test import Client

from status_platform.db.session import tenant_session
from status_platform.identity.passwords import hash_password
from status_platform.tenancy.models import Tenant
from tenants.audiences.models import Viewer


def _auth(org) -> dict[str, str]:  # noqa: ANN001
    return {"Authorization": f"OAuth {org.api_key}"}


def test_page_component_group_and_user_set_through_the_api_decide_what_a_viewer_sees(
    admin_client, router, org_a
):
    with tenant_session(org_a.tenant_id) as s:
        s.get(Tenant, org_a.tenant_id).plan_code = "business"  # a plan with audience-specific pages
        s.commit()
    base = f"/v1/pages/{org_a.page_id}"
    page = admin_client.patch(base, json={"page": {"visibility": "audience_specific"}}, headers=_auth(org_a))
    assert page.status_code == 200 and page.get_json()["visibility"] == "audience_specific"
    created = admin_client.post(
        f"{base}/components",
        json={"component": {"name": "Pier Nine", "visibility": "audience"}},
        headers=_auth(org_a),
    )
    assert created.status_code == 201 and created.get_json()["visibility"] == "audience"
    component_id = created.get_json()["id"]
    group = admin_client.post(
        f"{base}/page_access_groups",
        json={"page_access_group": {"name": "Pier client", "component_ids": [component_id]}},
        headers=_auth(org_a),
    )
    assert group.status_code == 201 and group.get_json()["component_ids"] == [component_id]
    user = admin_client.post(
        f"{base}/page_access_users",
        json={
            "page_access_user": {
                "email": "pier@client.test",
                "page_access_group_ids": [group.get_json()["id"]],
            }
        },
        headers=_auth(org_a),
    )
    assert user.status_code == 201
    with tenant_session(org_a.tenant_id) as s:
        s.get(Viewer, user.get_json()["id"]).password_hash = hash_password("pier password 99")
        s.commit()

    host = {"Host": org_a.host}
    anonymous = Client(router).get("/api/v2/components.json", headers=host).get_data(as_text=True)
    assert "Pier Nine" not in anonymous
    viewer = Client(router)
    signed_in = viewer.post(
        "/login",
        data={"email": "pier@client.test", "password": "pier password 99"},
        headers={**host, "Origin": f"http://{org_a.host}"},
    )
    assert signed_in.status_code == 302
    assert "Pier Nine" in viewer.get("/api/v2/components.json", headers=host).get_data(as_text=True)

    # Taking the component from the group through the API takes it from the viewer at once.
    removed = admin_client.delete(
        f"{base}/page_access_groups/{group.get_json()['id']}/components/{component_id}", headers=_auth(org_a)
    )
    assert removed.status_code == 200
    assert "Pier Nine" not in viewer.get("/api/v2/components.json", headers=host).get_data(as_text=True)
    hidden = admin_client.patch(
        f"{base}/components/{component_id}",
        json={"component": {"visibility": "public"}},
        headers=_auth(org_a),
    )
    assert hidden.get_json()["visibility"] == "public"
    assert "Pier Nine" in Client(router).get("/api/v2/components.json", headers=host).get_data(as_text=True)
