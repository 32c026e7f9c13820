"""Statuspage's own example requests (reference/statuspage/manage/*.request.json), sent to the API as a
client would send them, are accepted and answered with every field of Statuspage's answer.

The examples' ids are Statuspage's; each distinct id is mapped to a real object of the same kind of
organization A. Times that must be in the future stay in the future, past ones in the past.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from admin_ui.api.spec import OPERATIONS
from status_platform.db.session import tenant_session
from status_platform.tenancy.models import Tenant
from status_platform.timeutil import utcnow
from tenants.incidents.models import IncidentUpdate
from tenants.pages.models import Page, PageVisibility
from tenants.pages.services import update_page_settings
from tests.api.sweep import auth
from tests.factories import ACTOR, Organization

# The Manage API examples and field tables, copied from the shared reference (see its README).
REFERENCE = Path(__file__).resolve().parent / "statuspage"
# The shared reference itself, where it is beside the checkout (../shared).
SHARED = Path(__file__).resolve().parents[3] / "shared" / "reference" / "statuspage"
EXAMPLES = REFERENCE / "manage"

# Objects with no response example in the reference: their fields come from the reference's tables.
TABLES = {
    "IncidentTemplate": "incident-template-create",
    "PageAccessGroup": "page-access-group-create",
    "PageAccessUser": "page-access-user-create",
    "Subscriber": "subscriber-create",
}


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # the operation's Flask path
    answer: str  # a *.response.json example, or an object of the reference's tables


CASES = {
    "component-create": Case("POST", "/pages/<page_id>/components", "component"),
    "component-update": Case("PATCH", "/pages/<page_id>/components/<component_id>", "component"),
    "component-group-create": Case("POST", "/pages/<page_id>/component-groups", "component-group"),
    "incident-create-realtime": Case("POST", "/pages/<page_id>/incidents", "incident"),
    "incident-create-scheduled": Case("POST", "/pages/<page_id>/incidents", "incident"),
    "incident-create-backfilled": Case("POST", "/pages/<page_id>/incidents", "incident"),
    "incident-update": Case("PATCH", "/pages/<page_id>/incidents/<incident_id>", "incident"),
    "incident-update-previous-update": Case(
        "PATCH",
        "/pages/<page_id>/incidents/<incident_id>/incident_updates/<incident_update_id>",
        "incident-update",
    ),
    "incident-template-create": Case("POST", "/pages/<page_id>/incident_templates", "IncidentTemplate"),
    "page-access-group-create": Case("POST", "/pages/<page_id>/page_access_groups", "PageAccessGroup"),
    "page-access-user-create": Case("POST", "/pages/<page_id>/page_access_users", "PageAccessUser"),
    "subscriber-create": Case("POST", "/pages/<page_id>/subscribers", "Subscriber"),
}
# Statuspage's metrics (providers, metrics and their data points) are a feature the platform does
# not have, so its one example request has no operation to go to.
OUT_OF_SCOPE = {"metrics-data"}

# Fields of the examples that name objects, and the kind of object each names.
ID_FIELDS = {
    "components": "component",  # a map {component_id: status} or a group's list of ids
    "component_ids": "component",
    "page_access_group_ids": "audience",
    "page_access_user_ids": "viewer",
    "page_access_group_id": "audience",
}
# Request fields that say what to do now rather than what to keep: the answer's field of the same
# name describes the object (a webhook subscriber is active at once, so it answers
# skip_confirmation_notification true whatever the request asked).
INSTRUCTIONS = {"skip_confirmation_notification"}
FUTURE_TIMES = ("scheduled_for", "scheduled_until")
PAST_TIMES = ("backfill_date", "display_at")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


def _example(name: str) -> Any:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def _table_fields(object_name: str) -> set[str]:
    """The fields of `object_name`'s table in manage-api-reference.md."""
    text = (REFERENCE / "manage-api-reference.md").read_text()
    match = re.search(rf"^### {object_name}\n(.*?)(?=^#)", text, re.S | re.M)
    assert match, f"the reference has no table of {object_name}"
    fields = set(re.findall(r"^\| `([a-z_]+)` \|", match.group(1), re.M))
    assert fields, object_name
    return fields


def _expected_keys(answer: str) -> set[str]:
    if answer in TABLES:
        return _table_fields(answer)
    return set(_example(f"{answer}.response"))


def test_every_reference_request_has_a_case():
    names = {path.name.removesuffix(".request.json") for path in EXAMPLES.glob("*.request.json")}
    assert names == set(CASES) | OUT_OF_SCOPE
    assert set(TABLES.values()) <= set(CASES)


def test_metrics_have_no_operation():
    # The metrics example stays out of the sweep because no part of the API serves metrics.
    assert not [op for op in OPERATIONS if "metric" in op.path]


# --- building a request on organization A ----------------------------------------------------------


def _objects_of_kind(org: Organization, kind: str) -> list[str]:
    if kind == "component":
        return [org.ids["component"], org.ids["component_web"]]
    return [org.ids[kind]]


def _example_ids(data: Any, found: dict[str, str]) -> dict[str, str]:
    """The examples' ids by the field that names them: {example id: kind}, in order of appearance."""
    if isinstance(data, dict):
        for key, value in data.items():
            kind = ID_FIELDS.get(key)
            if kind is not None:
                names = value if isinstance(value, (list, dict)) else [value]
                for example_id in names:
                    if isinstance(example_id, str):
                        found.setdefault(example_id, kind)
            _example_ids(value, found)
    elif isinstance(data, list):
        for item in data:
            _example_ids(item, found)
    return found


def _replace(data: Any, ids: dict[str, str]) -> Any:
    if isinstance(data, dict):
        return {ids.get(key, key): _replace(value, ids) for key, value in data.items()}
    if isinstance(data, list):
        return [_replace(item, ids) for item in data]
    if isinstance(data, str):
        return ids.get(data, data)
    return data


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _wire(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _keep_times_possible(envelope: dict[str, Any]) -> None:
    now = utcnow()
    future = [name for name in FUTURE_TIMES if name in envelope]
    if future and min(_parse(envelope[name]) for name in future) <= now:
        shift = now - min(_parse(envelope[name]) for name in future) + timedelta(days=30)
        for name in future:
            envelope[name] = _wire(_parse(envelope[name]) + shift)
    for name in PAST_TIMES:
        if name in envelope and _parse(envelope[name]) >= now:
            envelope[name] = _wire(now - timedelta(days=1))


def build_request(name: str, org: Organization) -> tuple[dict[str, Any], dict[str, str]]:
    """The example request `name` for `org`, and how its ids were mapped to `org`'s objects."""
    data = _example(f"{name}.request")
    by_kind: dict[str, list[str]] = {}
    ids: dict[str, str] = {}
    for example_id, kind in _example_ids(data, {}).items():
        taken = by_kind.setdefault(kind, [])
        available = [real for real in _objects_of_kind(org, kind) if real not in taken]
        assert available, f"{name}: organization A has too few objects of kind {kind}"
        ids[example_id] = available[0]
        taken.append(available[0])
    data = _replace(data, ids)
    for value in data.values():
        if isinstance(value, dict):
            _keep_times_possible(value)
    return data, ids


def _oldest_update(org: Organization) -> str:
    with tenant_session(org.tenant_id) as s:
        return s.scalars(
            select(IncidentUpdate.id)
            .where(IncidentUpdate.incident_id == org.ids["incident"])
            .order_by(IncidentUpdate.display_at, IncidentUpdate.created_at)
        ).first()


def _path(case: Case, org: Organization) -> str:
    values = {
        "page_id": org.page_id,
        "component_id": org.ids["component"],
        "incident_id": org.ids["incident"],
    }
    path = case.path
    if "<incident_update_id>" in path:
        # Statuspage's example moves the update back to 2024: only the incident's first update may go there.
        values["incident_update_id"] = _oldest_update(org)
    for param, value in values.items():
        path = path.replace(f"<{param}>", value)
    assert "<" not in path, path
    return f"/v1{path}"


def _prepare(name: str, org: Organization) -> None:
    with tenant_session(org.tenant_id) as s:
        # Page access groups and users belong to audience-specific pages, which the business plan allows.
        s.get(Tenant, org.tenant_id).plan_code = "business"
        s.flush()
        if name.startswith("page-access-"):
            page = s.get(Page, org.page_id)
            update_page_settings(s, page, actor=ACTOR, visibility=PageVisibility.AUDIENCE_SPECIFIC)
        s.commit()


# --- comparing the answer with the request ---------------------------------------------------------


def _ids_in(value: Any) -> list[str]:
    """Ids of a list of ids or of objects with an `id`."""
    assert isinstance(value, list), value
    return sorted(item["id"] if isinstance(item, dict) else item for item in value)


def _same(sent: Any, got: Any) -> bool:
    if isinstance(sent, str) and isinstance(got, str) and TIMESTAMP.match(sent) and TIMESTAMP.match(got):
        return _parse(sent) == _parse(got)
    if isinstance(sent, list) and isinstance(got, list):
        return _ids_in(sent) == _ids_in(got) if all(isinstance(i, str) for i in sent) else sent == got
    return bool(sent == got)


def _assert_echoed(name: str, envelope: dict[str, Any], answer: dict[str, Any]) -> None:
    for field, sent in envelope.items():
        if field not in answer or field in INSTRUCTIONS:
            continue
        got = answer[field]
        if isinstance(sent, dict) and isinstance(got, list):
            # {component_id: status} is answered with the components, each in its new status
            statuses = {item["id"]: item["status"] for item in got}
            for component_id, status in sent.items():
                assert statuses.get(component_id) == status, (name, field, component_id, statuses)
            continue
        assert _same(sent, got), (name, field, sent, got)
    if "component_ids" in envelope and "component_ids" not in answer:
        # a template's, a subscriber's or an incident's components are answered as `components`
        assert set(envelope["component_ids"]) == set(_ids_in(answer["components"])), (
            name,
            answer["components"],
        )


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_reference_request_is_accepted_and_answered_with_statuspages_fields(name, admin_client, org_a):
    case = CASES[name]
    assert any(op.method == case.method.lower() and op.path == case.path for op in OPERATIONS), (
        f"no operation {case.method} {case.path}"
    )
    _prepare(name, org_a)
    body, _ = build_request(name, org_a)
    response = admin_client.open(
        _path(case, org_a), method=case.method, headers=auth(org_a.api_key), json=body
    )
    expected_status = 201 if case.method == "POST" else 200
    assert response.status_code == expected_status, response.get_data(as_text=True)
    answer = response.get_json()
    missing = _expected_keys(case.answer) - set(answer)
    assert not missing, f"{name}: the answer lacks {sorted(missing)}"

    envelope_name = next(key for key, value in body.items() if isinstance(value, dict))
    envelope = body[envelope_name]
    _assert_echoed(name, envelope, answer)
    for field, value in body.items():
        if field != envelope_name:  # fields beside the envelope (a group's description)
            assert _same(value, answer[field]), (name, field, value, answer.get(field))

    if case.answer == "incident":
        update_keys = set(_example("incident-update.response"))
        component_keys = set(_example("component.response"))
        affected_keys = {"code", "name", "old_status", "new_status"}
        assert answer["incident_updates"], name
        for update in answer["incident_updates"]:
            assert not update_keys - set(update), (
                f"{name}: an update lacks {sorted(update_keys - set(update))}"
            )
            for affected in update["affected_components"] or []:
                assert not affected_keys - set(affected), (name, affected)
        for component in answer["components"]:
            assert not component_keys - set(component), (
                f"{name}: a component lacks {component_keys - set(component)}"
            )
        if "body" in envelope:
            bodies = [update["body"] for update in answer["incident_updates"]]
            # an update's message is its newest update; a created incident may also carry a resolution
            assert envelope["body"] == bodies[0] if case.method == "PATCH" else envelope["body"] in bodies


def test_get_page_is_answered_with_every_field_of_statuspages_page(admin_client, org_a):
    response = admin_client.get(f"/v1/pages/{org_a.page_id}", headers=auth(org_a.api_key))
    assert response.status_code == 200
    missing = set(_example("page.response")) - set(response.get_json())
    assert not missing, sorted(missing)


def test_the_reference_tables_are_read_as_field_lists():
    assert _table_fields("PageAccessGroup") == {
        "id",
        "page_id",
        "name",
        "page_access_user_ids",
        "external_identifier",
        "metric_ids",
        "component_ids",
        "created_at",
        "updated_at",
    }
    assert {"id", "mode", "email", "endpoint", "components", "created_at"} <= _table_fields("Subscriber")


def test_an_examples_ids_map_to_distinct_objects_of_organization_a(org_a):
    body, ids = build_request("incident-create-realtime", org_a)
    assert ids == {"7ddtptqkb02y": org_a.ids["component"], "kvpxtsp2k1lf": org_a.ids["component_web"]}
    assert body["incident"]["components"] == {
        org_a.ids["component"]: "degraded_performance",
        org_a.ids["component_web"]: "partial_outage",
    }
    _body, ids = build_request("page-access-user-create", org_a)
    assert ids == {"pagrp1": org_a.ids["audience"]}


def test_the_copy_is_the_shared_reference():
    copied = sorted(path.name for path in EXAMPLES.glob("*.json"))
    assert "incident.response.json" in copied and len(copied) >= 19
    for name in copied:
        json.loads((EXAMPLES / name).read_text())
    # Where the shared reference is beside the checkout (as in CI), the copy is byte for byte the same.
    if SHARED.is_dir():
        shared = sorted(path.name for path in (SHARED / "manage").glob("*.json"))
        assert copied == shared
        for name in copied:
            assert (EXAMPLES / name).read_bytes() == (SHARED / "manage" / name).read_bytes(), name
        reference = "manage-api-reference.md"
        assert (REFERENCE / reference).read_bytes() == (SHARED / reference).read_bytes()
