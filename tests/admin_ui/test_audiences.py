"""The audience and viewer screens: lists, forms, invitations, CSV import, viewer single sign-on,
roles and plans, and the warning of an incident that spans audiences."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from sqlalchemy import select

from status_platform.db.session import platform_session, tenant_session
from status_platform.errors import ValidationError
from status_platform.identity.oidc import clean_issuer
from status_platform.identity.passwords import verify_password
from status_platform.tenancy.models import Tenant
from tenants.audiences.models import Audience, AudienceComponent, AudienceViewer, Viewer
from tenants.audit.models import AuditEvent
from tenants.pages.models import Page
from tests.admin_ui.uploads import assert_preview_lines, preview_token, upload_csv
from tests.conftest import fingerprint, post_form


def _base(org) -> str:
    return f"/t/{org.slug}/p/{org.page_id}"


def _business(org) -> None:
    """The factory's organizations are on the free plan, which has no audiences."""
    with platform_session() as s:
        s.get(Tenant, org.tenant_id).plan_code = "business"
        s.commit()


def _audience(org, **where) -> Audience | None:
    with tenant_session(org.tenant_id) as s:
        return s.scalars(select(Audience).filter_by(page_id=org.page_id, **where)).first()


def _viewer(org, **where) -> Viewer | None:
    with tenant_session(org.tenant_id) as s:
        return s.scalars(select(Viewer).filter_by(page_id=org.page_id, **where)).first()


def _component_ids(org, audience_id: str) -> set[str]:
    with tenant_session(org.tenant_id) as s:
        return set(s.scalars(select(AudienceComponent.component_id).filter_by(audience_id=audience_id)))


def _audience_ids(org, viewer_id: str) -> set[str]:
    with tenant_session(org.tenant_id) as s:
        return set(s.scalars(select(AudienceViewer.audience_id).filter_by(viewer_id=viewer_id)))


def _events(org, action: str) -> list[AuditEvent]:
    with tenant_session(org.tenant_id) as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _mails_to(mail, address: str) -> list:
    return [message for message in mail.messages if message["To"] == address]


def _follow(client, response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return client.get(response.headers["Location"]).get_data(as_text=True)


def _marked(html: str, field: str) -> bool:
    return bool(re.search(rf'<div class="field invalid">\s*<label for="f-{field}"', html)) and bool(
        re.search(rf'id="f-{field}" name="{field}"[^>]*aria-invalid="true"', html)
    )


def _names(html: str) -> list[str]:
    return re.findall(r'class="audience-name">([^<]+)</a>', html)


def _addresses(html: str) -> list[str]:
    return re.findall(r'class="address">([^<]+)</a>', html)


def test_audiences_are_listed_searched_paged_created_from_groups_edited_deactivated_and_deleted(
    staff_client, org_a, org_b
):
    _business(org_a)
    base = f"{_base(org_a)}/audiences"
    listing = staff_client.get(f"{base}/")
    html = listing.get_data(as_text=True)
    assert listing.status_code == 200 and _names(html) == ["Acme client"]
    row = html[html.index("Acme client") :].split("</tr>")[0]
    assert re.findall(r"<td>(\d+)</td>", row) == ["1"] and ">1</a>" in row and "Active" in row
    assert "Create audience" in html and "Globex client" not in html

    # a group offered as a whole gives all its components; the stored model is components
    created = post_form(
        staff_client,
        f"{base}/",
        {
            "name": "Initech",
            "external_identifier": "initech-staff",
            "email_domain": "@Initech.example",
            "group_ids": [org_a.ids["group"]],
            "component_ids": [org_a.ids["component_web"]],
        },
    )
    page = _follow(staff_client, created)
    assert "Created the audience Initech, which sees 2 components." in page
    initech = _audience(org_a, name="Initech")
    assert initech.email_domain == "initech.example" and initech.external_identifier == "initech-staff"
    assert _component_ids(org_a, initech.id) == {org_a.ids["component"], org_a.ids["component_web"]}
    assert 'name="group_ids" value="{}" data-group-box checked'.format(org_a.ids["group"]) in page
    [event] = _events(org_a, "audience.created")
    assert event.object_id == initech.id

    assert _names(staff_client.get(f"{base}/?q=INITECH").get_data(as_text=True)) == ["Initech"]
    assert _names(staff_client.get(f"{base}/?q=initech.example").get_data(as_text=True)) == ["Initech"]
    assert "No audience matches." in staff_client.get(f"{base}/?q=nothing%25").get_data(as_text=True)

    # edit: only the web component now
    edited = post_form(
        staff_client,
        f"{base}/{initech.id}",
        {
            "name": "Initech Corp",
            "external_identifier": "",
            "email_domain": "",
            "component_ids": [org_a.ids["component_web"]],
        },
    )
    assert "Saved the audience Initech Corp." in _follow(staff_client, edited)
    assert _component_ids(org_a, initech.id) == {org_a.ids["component_web"]}
    assert _audience(org_a, id=initech.id).external_identifier is None

    # deactivating ends the sessions of its viewers at once
    client_audience = org_a.ids["audience"]
    version = _viewer(org_a, id=org_a.ids["viewer"]).session_version
    off = post_form(staff_client, f"{base}/{client_audience}/deactivate")
    assert "Deactivated the audience Acme client: its 1 viewer no longer see" in _follow(staff_client, off)
    assert _audience(org_a, id=client_audience).is_active is False
    assert _viewer(org_a, id=org_a.ids["viewer"]).session_version == version + 1
    listed = staff_client.get(f"{base}/").get_data(as_text=True)
    assert "Deactivated" in listed.split("Acme client")[1].split("</tr>")[0]
    on = post_form(staff_client, f"{base}/{client_audience}/reactivate")
    assert "Reactivated the audience Acme client" in _follow(staff_client, on)
    assert _audience(org_a, id=client_audience).is_active is True

    # deleting asks once, naming the viewers and the components affected
    shown = staff_client.get(f"{base}/{client_audience}").get_data(as_text=True)
    confirm = re.search(r'data-confirm="(Delete the audience Acme client\?[^"]*)"', shown).group(1)
    assert "1 viewer (viewer@acme.test)" in confirm and "Acme REST" in confirm
    removed = post_form(staff_client, f"{base}/{client_audience}/delete")
    assert removed.headers["Location"].endswith("/audiences/")
    assert "Deleted the audience Acme client. Its 1 viewer keep their accounts" in _follow(
        staff_client, removed
    )
    assert _audience(org_a, id=client_audience) is None
    assert _viewer(org_a, id=org_a.ids["viewer"]) is not None

    # another organization's audience is not found
    assert staff_client.get(f"{base}/{org_b.ids['audience']}").status_code == 404
    assert post_form(staff_client, f"{base}/{org_b.ids['audience']}/delete").status_code == 404

    # 50 rows a page
    with tenant_session(org_a.tenant_id) as s:
        s.add_all(Audience(page_id=org_a.page_id, name=f"Bulk {number:02d}") for number in range(55))
        s.commit()
    first = staff_client.get(f"{base}/").get_data(as_text=True)
    assert len(_names(first)) == 50 and _names(first)[0] == "Bulk 00" and "Next →" in first
    second = staff_client.get(f"{base}/?p=2").get_data(as_text=True)
    assert _names(second) == ["Bulk 50", "Bulk 51", "Bulk 52", "Bulk 53", "Bulk 54", "Initech Corp"]
    assert "← Previous" in second and "Next →" not in second


def test_bad_audience_input_is_marked_and_changes_nothing(staff_client, org_a, org_b):
    _business(org_a)
    base = f"{_base(org_a)}/audiences"
    before = fingerprint(org_a.tenant_id)
    cases = [
        ({"name": ""}, "name", "Audience name is required.", 422),
        ({"name": "Acme client"}, "name", "already has an audience named", 409),
        ({"name": "New", "email_domain": "not a domain"}, "email_domain", "must be a domain name", 422),
        ({"name": "New", "component_ids": [org_b.ids["component"]]}, "components", "no component", 422),
        ({"name": "New", "group_ids": [org_b.ids["group"]]}, "components", "no group", 422),
    ]
    for data, field, message, status in cases:
        for url in (f"{base}/", f"{base}/{org_a.ids['audience']}"):
            if url != f"{base}/" and data["name"] == "Acme client":
                continue  # its own name is no conflict
            response = post_form(staff_client, url, data)
            html = response.get_data(as_text=True)
            assert response.status_code == status, (data, url, response.status_code)
            assert message in html, (data, html[:2000])
            if field == "components":
                assert 'class="field components invalid" aria-invalid="true"' in html
            else:
                assert _marked(html, field), data
            if data.get(field):
                assert f'value="{data[field]}"' in html
    assert fingerprint(org_a.tenant_id) == before


def _invite(client, org, **data):
    data.setdefault("send_invitation__present", "1")
    return post_form(client, f"{_base(org)}/viewers/", data)


def test_a_viewer_is_invited_by_email_and_its_link_leads_to_the_pages_own_host(
    staff_client, org_a, org_b, mail, run_jobs
):
    _business(org_a)
    invited = _invite(
        staff_client,
        org_a,
        email="Ana@Client.example",
        audience_ids=[org_a.ids["audience"]],
        password="a long password",
        send_invitation="1",
    )
    page = _follow(staff_client, invited)
    assert "Invited ana@client.example: an email with a sign-in link" in page and "Acme client" in page
    ana = _viewer(org_a, email="ana@client.example")
    assert ana.password_hash.startswith("$argon2id$") and verify_password(
        ana.password_hash, "a long password"
    )
    assert _audience_ids(org_a, ana.id) == {org_a.ids["audience"]}
    run_jobs()
    [message] = _mails_to(mail, "ana@client.example")
    assert "invited" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert re.search(r"http://acme\.pages\.test(:\d+)?/login/link/\S+", body)
    assert "platform.test" not in body
    [event] = _events(org_a, "viewer.invited")
    assert event.object_id == ana.id

    # without the invitation: no mail, no password
    quiet = _invite(staff_client, org_a, email="quiet@client.example")
    assert "Added quiet@client.example; no invitation was sent." in _follow(staff_client, quiet)
    quiet_viewer = _viewer(org_a, email="quiet@client.example")
    assert quiet_viewer.password_hash is None and _audience_ids(org_a, quiet_viewer.id) == set()
    run_jobs()
    assert _mails_to(mail, "quiet@client.example") == []

    # resend
    resent = post_form(staff_client, f"{_base(org_a)}/viewers/{quiet_viewer.id}/resend")
    assert "Sent quiet@client.example a new invitation" in _follow(staff_client, resent)
    run_jobs()
    assert len(_mails_to(mail, "quiet@client.example")) == 1

    # change a viewer's audiences
    with tenant_session(org_a.tenant_id) as s:
        other = Audience(page_id=org_a.page_id, name="Acme partner")
        s.add(other)
        s.commit()
        other_id = other.id
    changed = post_form(
        staff_client,
        f"{_base(org_a)}/viewers/{ana.id}",
        {"audience_ids": ["", other_id, org_a.ids["audience"]]},
    )
    assert "Saved the audiences of ana@client.example: Acme client and Acme partner." in _follow(
        staff_client, changed
    )
    assert _audience_ids(org_a, ana.id) == {other_id, org_a.ids["audience"]}
    emptied = post_form(staff_client, f"{_base(org_a)}/viewers/{ana.id}", {"audience_ids": [""]})
    assert "no audience (only public components)" in _follow(staff_client, emptied)
    assert _audience_ids(org_a, ana.id) == set()

    # deactivating ends its sessions; a deactivated viewer gets no invitation
    version = _viewer(org_a, id=ana.id).session_version
    off = post_form(staff_client, f"{_base(org_a)}/viewers/{ana.id}/deactivate")
    assert "Deactivated ana@client.example: it is signed out everywhere" in _follow(staff_client, off)
    after = _viewer(org_a, id=ana.id)
    assert after.is_active is False and after.session_version == version + 1
    refused = post_form(staff_client, f"{_base(org_a)}/viewers/{ana.id}/resend")
    assert refused.status_code == 409 and "reactivate the viewer" in refused.get_data(as_text=True)
    on = post_form(staff_client, f"{_base(org_a)}/viewers/{ana.id}/reactivate")
    assert "Reactivated ana@client.example" in _follow(staff_client, on)
    assert _viewer(org_a, id=ana.id).is_active is True

    # deleting asks once, naming the audiences it leaves
    shown = staff_client.get(f"{_base(org_a)}/viewers/{org_a.ids['viewer']}").get_data(as_text=True)
    assert re.search(r'data-confirm="Delete the viewer viewer@acme.test\?[^"]*It leaves Acme client\.', shown)
    removed = post_form(staff_client, f"{_base(org_a)}/viewers/{org_a.ids['viewer']}/delete")
    assert "Deleted the viewer viewer@acme.test" in _follow(staff_client, removed)
    assert _viewer(org_a, id=org_a.ids["viewer"]) is None
    assert staff_client.get(f"{_base(org_a)}/viewers/{org_b.ids['viewer']}").status_code == 404


def test_the_viewer_list_searches_filters_and_pages(staff_client, org_a):
    base = f"{_base(org_a)}/viewers"
    with tenant_session(org_a.tenant_id) as s:
        s.add_all(Viewer(page_id=org_a.page_id, email=f"bulk{number:02d}@acme.test") for number in range(55))
        s.add(Viewer(page_id=org_a.page_id, email="gone@acme.test", is_active=False))
        s.commit()
    first = staff_client.get(f"{base}/").get_data(as_text=True)
    assert len(_addresses(first)) == 50 and _addresses(first)[0] == "bulk00@acme.test" and "Next →" in first
    second = staff_client.get(f"{base}/?p=2").get_data(as_text=True)
    assert _addresses(second) == [f"bulk{n}@acme.test" for n in range(50, 55)] + [
        "gone@acme.test",
        "viewer@acme.test",
    ]
    assert "Acme client" in second.split("viewer@acme.test")[1] and "never" in second
    assert _addresses(staff_client.get(f"{base}/?q=VIEWER@").get_data(as_text=True)) == ["viewer@acme.test"]
    assert _addresses(staff_client.get(f"{base}/?state=inactive").get_data(as_text=True)) == [
        "gone@acme.test"
    ]
    assert _addresses(
        staff_client.get(f"{base}/?audience={org_a.ids['audience']}").get_data(as_text=True)
    ) == ["viewer@acme.test"]
    bad = staff_client.get(f"{base}/?state=sleeping")
    assert bad.status_code == 400 and 'id="f-state" name="state" aria-invalid="true"' in bad.get_data(
        as_text=True
    )


def test_bad_viewer_input_is_marked_and_changes_nothing(staff_client, org_a, org_b):
    _business(org_a)
    before = fingerprint(org_a.tenant_id)
    cases = [
        ({"email": "not an address"}, "email", "is not valid", 422),
        ({"email": ""}, "email", "is required", 422),
        ({"email": "VIEWER@acme.test"}, "email", "already has a viewer", 409),
        ({"email": "x@client.example", "password": "short"}, "password", "at least 8 characters", 422),
        (
            {"email": "x@client.example", "audience_ids": [org_b.ids["audience"]]},
            "audiences",
            "no audience",
            422,
        ),
    ]
    for data, field, message, status in cases:
        response = _invite(staff_client, org_a, send_invitation="1", **data)
        html = response.get_data(as_text=True)
        assert response.status_code == status, (data, response.status_code)
        assert message in html, (data, html[:2000])
        if field == "audiences":
            assert 'class="field components invalid" aria-invalid="true"' in html
        else:
            assert _marked(html, field), data
        assert 'value="short"' not in html  # a password is never shown back
    refused = post_form(
        staff_client,
        f"{_base(org_a)}/viewers/{org_a.ids['viewer']}",
        {"audience_ids": [org_b.ids["audience"]]},
    )
    assert refused.status_code == 422 and 'class="field components invalid"' in refused.get_data(as_text=True)
    assert fingerprint(org_a.tenant_id) == before


def _upload(client, org, content: bytes):
    return upload_csv(client, f"{_base(org)}/viewers/import/preview", content, "viewers.csv")


def test_a_viewer_csv_import_previews_each_lines_error_then_adds_the_valid_ones(
    staff_client, org_a, org_b, mail, run_jobs
):
    _business(org_a)
    with tenant_session(org_a.tenant_id) as s:
        s.add(Audience(page_id=org_a.page_id, name="Acme partner"))
        s.commit()
    content = "\n".join(
        [
            "Email,Audiences,notes",
            "First@Client.example,Acme client,ignored",  # 2
            "second@client.example,acme CLIENT; Acme partner,",  # 3: two audiences, any case
            "third@client.example,,",  # 4: no audience
            "not-an-address,Acme client,",  # 5
            "first@client.example,,",  # 6: repeats line 2
            "viewer@acme.test,,",  # 7: a viewer already
            "fourth@client.example,Globex client,",  # 8: another organization's audience
            ",Acme client,",  # 9
        ]
    ).encode()
    before = fingerprint(org_a.tenant_id)
    preview = _upload(staff_client, org_a, content)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "3 of 8 lines can be imported; 5 cannot" in html and "Import 3 viewers" in html
    assert_preview_lines(
        html,
        {
            2: ("To be added", "Acme client"),
            3: "Acme client, Acme partner",
            4: "none",
            5: "is not valid",
            6: "Repeats line 2.",
            7: "Already a viewer of this page.",
            8: "Unknown audience: “Globex client”.",
            9: "no email address",
        },
    )
    # invitations only when asked: the box is not ticked
    box = re.search(r'<input type="checkbox" name="send_invitations" value="1"[^>]*>', html).group(0)
    assert "checked" not in box
    assert fingerprint(org_a.tenant_id) == before
    token = preview_token(html)

    forged = post_form(staff_client, f"{_base(org_a)}/viewers/import", {"token": "0" * 32})
    assert forged.status_code == 422 and "This preview has expired" in forged.get_data(as_text=True)
    assert fingerprint(org_a.tenant_id) == before

    done = post_form(
        staff_client,
        f"{_base(org_a)}/viewers/import",
        {"token": token, "send_invitations": "1", "send_invitations__present": "1"},
    )
    assert "Imported 3 viewers. 5 lines could not be added. 3 invitations on the way." in _follow(
        staff_client, done
    )
    second = _viewer(org_a, email="second@client.example")
    assert len(_audience_ids(org_a, second.id)) == 2
    assert _audience_ids(org_a, _viewer(org_a, email="third@client.example").id) == set()
    [event] = _events(org_a, "viewer.imported")
    assert event.after["count"] == 3
    run_jobs()
    assert {m["To"] for m in mail.messages} >= {
        "first@client.example",
        "second@client.example",
        "third@client.example",
    }
    assert "/login/link/" in _mails_to(mail, "third@client.example")[0].get_body(("plain",)).get_content()
    # the same preview cannot import twice
    assert post_form(staff_client, f"{_base(org_a)}/viewers/import", {"token": token}).status_code == 422

    # a quiet import sends nothing
    quiet = _upload(staff_client, org_a, b"email\nfifth@client.example\n").get_data(as_text=True)
    quiet_token = preview_token(quiet)
    done = post_form(
        staff_client,
        f"{_base(org_a)}/viewers/import",
        {"token": quiet_token, "send_invitations__present": "1"},
    )
    assert "Imported 1 viewer. No invitation was sent." in _follow(staff_client, done)
    run_jobs()
    assert _mails_to(mail, "fifth@client.example") == []

    # a file that is not a viewer CSV is refused on the file field
    for bad, message in ((b"name,age\nAda,36\n", "not a viewer CSV file"), (b"", "Choose a CSV file")):
        response = _upload(staff_client, org_a, bad)
        text = response.get_data(as_text=True)
        assert response.status_code == 422 and message in text
        assert '<div class="field invalid">' in text and 'aria-describedby="file-error"' in text


def test_only_admins_and_owners_see_or_change_audiences_and_viewers(client_as, org_a):
    _business(org_a)
    editor = client_as("editor")
    before = fingerprint(org_a.tenant_id)
    for path in (
        "/audiences/",
        "/audiences/new",
        f"/audiences/{org_a.ids['audience']}",
        "/audiences/sign-in",
        "/viewers/",
        "/viewers/new",
        "/viewers/import",
        f"/viewers/{org_a.ids['viewer']}",
    ):
        response = editor.get(_base(org_a) + path)
        assert response.status_code == 403, path
        assert "managed by admins and owners" in response.get_data(as_text=True)
    for path, data in (
        ("/audiences/", {"name": "Editor's"}),
        (f"/audiences/{org_a.ids['audience']}/delete", {}),
        (f"/audiences/{org_a.ids['audience']}/deactivate", {}),
        ("/viewers/", {"email": "e@client.example"}),
        (f"/viewers/{org_a.ids['viewer']}/deactivate", {}),
        ("/audiences/sign-in", {"viewer_oidc_issuer": "https://login.example.com"}),
    ):
        response = post_form(editor, _base(org_a) + path, data)
        assert response.status_code == 403 and "needs the admin role" in response.get_data(as_text=True), path
    assert fingerprint(org_a.tenant_id) == before
    admin = client_as("admin")
    dashboard = admin.get(f"{_base(org_a)}/").get_data(as_text=True)
    assert f'href="{_base(org_a)}/audiences/">Audiences</a>' in dashboard
    assert "/audiences/" not in editor.get(f"{_base(org_a)}/").get_data(as_text=True)
    assert admin.get(f"{_base(org_a)}/viewers/").status_code == 200


def test_a_plan_without_audiences_adds_none_but_keeps_existing_ones_manageable(staff_client, org_a):
    before = fingerprint(org_a.tenant_id)
    listing = staff_client.get(f"{_base(org_a)}/audiences/").get_data(as_text=True)
    assert (
        "The Free plan does not include audiences" in listing
        and "Create audience" not in listing.split("</header>")[0]
    )
    for path, data in (
        ("/audiences/", {"name": "Initech"}),
        ("/viewers/", {"email": "new@client.example"}),
    ):
        response = post_form(staff_client, _base(org_a) + path, data)
        assert (
            response.status_code == 422
            and "The Free plan does not include audiences" in response.get_data(as_text=True)
        )
    assert fingerprint(org_a.tenant_id) == before
    off = post_form(staff_client, f"{_base(org_a)}/audiences/{org_a.ids['audience']}/deactivate")
    assert off.status_code == 302 and _audience(org_a, id=org_a.ids["audience"]).is_active is False


def test_viewer_single_sign_on_is_validated_keeps_its_secret_unseen_and_is_audited(
    staff_client, org_a, settings
):
    _business(org_a)
    url = f"{_base(org_a)}/audiences/sign-in"
    before = fingerprint(org_a.tenant_id)
    good = {
        "viewer_oidc_is_enabled": "1",
        "viewer_oidc_is_enabled__present": "1",
        "viewer_oidc_issuer": "https://login.example.com/realms/clients",
        "viewer_oidc_client_id": "status-page",
        "viewer_oidc_client_secret": "s3cret-value-42",
        "viewer_oidc_audience_claim": "groups",
    }
    cases = [
        ({"viewer_oidc_issuer": "http://10.0.0.5/realm"}, "viewer_oidc_issuer", "private"),
        ({"viewer_oidc_issuer": "http://169.254.169.254/"}, "viewer_oidc_issuer", "metadata"),
        ({"viewer_oidc_issuer": "ftp://login.example.com"}, "viewer_oidc_issuer", "must be an https URL"),
        ({"viewer_oidc_issuer": "https://login.example.com/?x=1"}, "viewer_oidc_issuer", "query"),
        ({"viewer_oidc_issuer": ""}, "viewer_oidc_issuer", "Enter the issuer URL"),
        ({"viewer_oidc_client_id": ""}, "viewer_oidc_client_id", "Enter the client ID"),
        ({"viewer_oidc_client_secret": ""}, "viewer_oidc_client_secret", "Enter the client secret"),
        ({"viewer_oidc_audience_claim": "two words"}, "viewer_oidc_audience_claim", "claim name"),
    ]
    for change, field, message in cases:
        response = post_form(staff_client, url, {**good, **change})
        html = response.get_data(as_text=True)
        assert response.status_code == 422, (change, response.status_code)
        assert message in html, (change, html[:3000])
        assert _marked(html, field), change
        assert "s3cret-value-42" not in html
    assert fingerprint(org_a.tenant_id) == before

    saved = post_form(staff_client, url, good)
    page = _follow(staff_client, saved)
    assert "viewers may sign in with single sign-on" in page and "s3cret-value-42" not in page
    assert "A secret is stored; it is never shown." in page and 'value="status-page"' in page
    with tenant_session(org_a.tenant_id) as s:
        stored = s.get(Page, org_a.page_id)
        assert stored.viewer_oidc_is_enabled and stored.viewer_oidc_client_secret == "s3cret-value-42"
        assert stored.viewer_oidc_audience_claim == "groups"
    # a blank secret keeps the stored one
    kept = post_form(
        staff_client, url, {**good, "viewer_oidc_client_secret": "", "viewer_oidc_client_id": "other"}
    )
    assert kept.status_code == 302
    with tenant_session(org_a.tenant_id) as s:
        stored = s.get(Page, org_a.page_id)
        assert (
            stored.viewer_oidc_client_secret == "s3cret-value-42" and stored.viewer_oidc_client_id == "other"
        )
    events = _events(org_a, "page.viewer_sign_in_updated")
    assert len(events) == 2 and all(
        "s3cret" not in repr(e.before) + repr(e.after) + e.summary for e in events
    )
    replaced = [
        e.after["viewer_oidc_client_secret"] for e in events if "viewer_oidc_client_secret" in e.after
    ]
    assert replaced == ["(replaced)"]
    # turned off: the settings stay for later
    off = post_form(
        staff_client, url, {**good, "viewer_oidc_is_enabled": None, "viewer_oidc_client_secret": ""}
    )
    assert "single sign-on is off" in _follow(staff_client, off)

    # http is for development and tests only
    production = replace(settings, STATUSPLATFORM_ENV="production")
    with pytest.raises(ValidationError, match="must be an https URL"):
        clean_issuer("http://login.example.com", settings=production)
    assert clean_issuer("http://login.example.com", settings=settings) == "http://login.example.com"


def test_an_incident_or_window_spanning_audiences_is_flagged_in_the_form_and_after_saving(
    staff_client, org_a
):
    rest, web = org_a.ids["component"], org_a.ids["component_web"]
    with tenant_session(org_a.tenant_id) as s:
        globex = Audience(page_id=org_a.page_id, name="Globex client")
        s.add(globex)
        s.flush()
        s.add(AudienceComponent(audience_id=globex.id, component_id=web))
        s.commit()
    form = staff_client.get(f"{_base(org_a)}/incidents/new").get_data(as_text=True)
    assert re.search(
        rf'name="component:{rest}" data-current="\w+" data-audiences=\'\["Acme client"\]\'', form
    )
    assert re.search(
        rf'name="component:{web}" data-current="\w+" data-audiences=\'\["Globex client"\]\'', form
    )
    assert "data-audience-warning=" in form and "audiences.js" in form

    created = post_form(
        staff_client,
        f"{_base(org_a)}/incidents/",
        {
            "name": "Both down",
            "status": "investigating",
            "body": "Looking",
            f"component:{rest}": "major_outage",
            f"component:{web}": "partial_outage",
            "impact": "derived",
        },
    )
    page = _follow(staff_client, created)
    assert (
        "This incident names components of Acme client and Globex client; "
        "its title and messages are shown to both audiences." in page
    )
    single = post_form(
        staff_client,
        f"{_base(org_a)}/incidents/",
        {
            "name": "One down",
            "status": "investigating",
            "body": "Looking",
            f"component:{web}": "partial_outage",
            "impact": "derived",
        },
    )
    assert "its title and messages are shown" not in _follow(staff_client, single)

    window_form = staff_client.get(f"{_base(org_a)}/maintenance/new").get_data(as_text=True)
    assert f'value="{web}" data-audiences=\'["Globex client"]\'' in window_form
    scheduled = post_form(
        staff_client,
        f"{_base(org_a)}/maintenance/",
        {
            "name": "Upgrade",
            "scheduled_for": "2031-01-10T10:00",
            "scheduled_until": "2031-01-10T11:00",
            "body": "Upgrading",
            "components": [rest, web],
        },
    )
    assert "This maintenance names components of Acme client and Globex client" in _follow(
        staff_client, scheduled
    )
