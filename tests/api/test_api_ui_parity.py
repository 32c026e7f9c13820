"""The API and the admin screens are two doors to the same services: the same incident, and the same
update of it, posted through each on two identical pages give the same public page, the same
notifications and the same audit trail but for who acted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from status_platform.db.session import tenant_session
from status_platform.tenancy.models import Tenant
from tenants.audit.models import AuditEvent
from tenants.components.services import create_component, create_group
from tenants.incidents.models import Incident, IncidentUpdate
from tenants.pages.services import create_page
from tenants.subscribers.models import NotificationEvent
from tests.api.sweep import auth
from tests.conftest import PAGES_DOMAIN, post_form
from tests.factories import ACTOR

PUBLIC_OUTPUTS = ("/api/v2/summary.json", "/api/v2/incidents.json", "/api/v2/components.json")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?")
ID_KEYS = re.compile(r"^(id|code|.*_id)$")
# Who acted: the only columns in which an action through the API and through the screens may differ.
ACTOR_COLUMNS = ("actor_user_id", "actor_api_key_id", "actor_label", "ip_address")

INCIDENT = {"name": "Checkout errors", "body": "We are looking into failed payments."}
UPDATE = {"status": "identified", "body": "A faulty deploy of the payment service; rolling it back."}


class Normaliser:
    """Replaces ids by their order of appearance (or a given label) and timestamps by a token."""

    def __init__(self, labels: dict[str, str] | None = None) -> None:
        self.ids: dict[str, str] = dict(labels or {})

    def _collect(self, data: Any, key: str = "") -> None:
        if isinstance(data, dict):
            for name, value in data.items():
                if ID_KEYS.match(name) and isinstance(value, str) and value:
                    self.ids.setdefault(value, f"<id {len(self.ids)}>")
                self._collect(value, name)
        elif isinstance(data, list):
            for item in data:
                if key in ("components", "component_ids") and isinstance(item, str):
                    self.ids.setdefault(item, f"<id {len(self.ids)}>")
                self._collect(item, key)

    def _text(self, value: str) -> str:
        value = TIMESTAMP.sub("<time>", value)
        for known in sorted(self.ids, key=len, reverse=True):
            value = value.replace(known, self.ids[known])
        return value

    def _apply(self, data: Any) -> Any:
        if isinstance(data, dict):
            return {self._text(name): self._apply(value) for name, value in data.items()}
        if isinstance(data, list):
            return [self._apply(item) for item in data]
        if isinstance(data, str):
            return self._text(data)
        return data

    def __call__(self, data: Any) -> Any:
        self._collect(data)
        return self._apply(data)


def test_the_normaliser_numbers_ids_in_order_and_hides_times():
    first = {"id": "aaaaaaaaaaaa", "at": "2026-12-01T10:00:00.123Z", "components": ["bbbbbbbbbbbb"]}
    second = {"id": "cccccccccccc", "at": "2027-01-02T11:30:00Z", "components": ["dddddddddddd"]}
    assert Normaliser()(first) == Normaliser()(second)
    assert Normaliser()({"url": "https://x.test/incidents/aaaaaaaaaaaa", "id": "aaaaaaaaaaaa"}) == {
        "url": "https://x.test/incidents/<id 0>",
        "id": "<id 0>",
    }
    assert Normaliser()(first) != Normaliser()({**first, "components": ["aaaaaaaaaaaa"]})


# --- two identical pages ---------------------------------------------------------------------------


@dataclass
class Twin:
    page_id: str
    slug: str
    components: dict[str, str] = field(default_factory=dict)  # name -> id
    group_id: str = ""

    @property
    def host(self) -> str:
        return f"{self.slug}.{PAGES_DOMAIN}"

    def labels(self, tenant_id: str) -> dict[str, str]:
        """Names for this page's ids that mean the same on its twin (its incident, its updates)."""
        labels = {self.page_id: "<page>", self.slug: "<slug>", self.group_id: "<group>"}
        labels.update({component_id: f"<component {name}>" for name, component_id in self.components.items()})
        with tenant_session(tenant_id) as s:
            incidents = s.scalars(select(Incident.id).where(Incident.page_id == self.page_id)).all()
            for number, incident_id in enumerate(incidents):
                labels[incident_id] = f"<incident {number}>"
                updates = s.scalars(
                    select(IncidentUpdate.id)
                    .where(IncidentUpdate.incident_id == incident_id)
                    .order_by(IncidentUpdate.display_at, IncidentUpdate.created_at)
                ).all()
                labels.update({update_id: f"<update {n}>" for n, update_id in enumerate(updates)})
        return labels


def _make_twin(s, slug: str) -> Twin:
    page = create_page(s, name="Acme Cloud", slug=slug, actor=ACTOR, time_zone="Europe/Paris")
    group = create_group(s, page, name="Platform", actor=ACTOR)
    twin = Twin(page_id=page.id, slug=slug, group_id=group.id)
    for name, in_group in (("API", True), ("Payments", True), ("Website", False)):
        component = create_component(s, page, name=name, group=group if in_group else None, actor=ACTOR)
        twin.components[name] = component.id
    return twin


@pytest.fixture
def twins(org_a) -> tuple[Twin, Twin]:
    """Two new pages of organization A with the same name, time zone, group and components."""
    with tenant_session(org_a.tenant_id) as s:
        s.get(Tenant, org_a.tenant_id).plan_code = "business"
        s.flush()
        pair = (_make_twin(s, "acme-cloud-one"), _make_twin(s, "acme-cloud-two"))
        s.commit()
    return pair


# --- what each side produced ---------------------------------------------------------------------


def _public(web, twin: Twin) -> dict[str, Any]:
    outputs = {}
    for path in PUBLIC_OUTPUTS:
        response = web.get(path, headers={"Host": twin.host})
        assert response.status_code == 200, (path, response.get_data(as_text=True))
        outputs[path] = Normaliser({twin.slug: "<slug>"})(response.get_json())
    return outputs


def _rows(tenant_id: str, twin: Twin, model: Any, seen: set[str]) -> list[Any]:
    with tenant_session(tenant_id) as s:
        rows = s.scalars(
            select(model)
            .where(model.page_id == twin.page_id, model.id.not_in(seen))
            .order_by(model.created_at)
        ).all()
        s.expunge_all()
        return list(rows)


def _notifications(tenant_id: str, twin: Twin, seen: set[str]) -> list[dict[str, Any]]:
    normalise = Normaliser(twin.labels(tenant_id))
    return [
        normalise(
            {
                "kind": event.kind.value,
                "incident_id": event.incident_id,
                "incident_update_id": event.incident_update_id,
                "component_id": event.component_id,
                "component_ids": sorted(event.component_ids),
                "payload": event.payload,
                "not_before": str(event.not_before),
                "fanout_status": event.fanout_status.value,
            }
        )
        for event in _rows(tenant_id, twin, NotificationEvent, seen)
    ]


def _audit(tenant_id: str, twin: Twin, seen: set[str]) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    """The audit events of the page since `seen`: what was done (normalised) and who did it."""
    normalise = Normaliser(twin.labels(tenant_id))
    what, who = [], []
    for event in _rows(tenant_id, twin, AuditEvent, seen):
        what.append(
            normalise(
                {
                    "action": event.action,
                    "object_type": event.object_type,
                    "object_id": event.object_id,
                    "summary": event.summary,
                    "before": event.before,
                    "after": event.after,
                }
            )
        )
        who.append(tuple(getattr(event, column) for column in ACTOR_COLUMNS))
    return sorted(what, key=repr), who


def _seen(tenant_id: str) -> set[str]:
    with tenant_session(tenant_id) as s:
        return set(s.scalars(select(AuditEvent.id))) | set(s.scalars(select(NotificationEvent.id)))


def _assert_same_effects(web, org_a, via_api: Twin, via_ui: Twin, seen: set[str], api_key_id: str) -> None:
    assert _public(web, via_api) == _public(web, via_ui)

    # The outbox rows are compared, not deliveries: the platform has no fan-out job yet that turns
    # them into deliveries (tenants/subscribers has none), and a fan-out reads nothing else of the change.
    api_events = _notifications(org_a.tenant_id, via_api, seen)
    assert api_events, "the API's change wrote no notification"
    assert api_events == _notifications(org_a.tenant_id, via_ui, seen)

    api_audit, api_actors = _audit(org_a.tenant_id, via_api, seen)
    ui_audit, ui_actors = _audit(org_a.tenant_id, via_ui, seen)
    assert api_audit, "the API's change left no audit event"
    assert api_audit == ui_audit
    assert {actor[1] for actor in api_actors} == {api_key_id}
    assert {actor[0] for actor in api_actors} == {None}
    assert all(actor[0] is not None and actor[1] is None for actor in ui_actors), ui_actors


def _api_key_id(org_a) -> str:
    from status_platform.identity.apikeys import find_api_key

    with tenant_session(org_a.tenant_id) as s:
        return find_api_key(s, org_a.api_key).id


def _screen(twin: Twin, org_a, path: str = "") -> str:
    return f"/t/{org_a.slug}/p/{twin.page_id}/incidents/{path}"


def _component_fields(twin: Twin, statuses: dict[str, str]) -> dict[str, str]:
    """Every component select of the form, as a browser sends it ("" leaves a component alone)."""
    return {
        f"component:{component_id}": statuses.get(name, "") for name, component_id in twin.components.items()
    }


def test_an_incident_and_its_update_through_the_api_and_the_screens_have_the_same_effects(
    web, admin_client, client_as, org_a, twins
):
    via_api, via_ui = twins
    editor = client_as("editor")
    key_id = _api_key_id(org_a)

    # The new-incident screen names its fields as admin_ui/templates/admin/incidents/new.html does.
    form = editor.get(_screen(via_ui, org_a, "new")).get_data(as_text=True)
    for name in (
        "name",
        "status",
        "body",
        "impact",
        "deliver_notifications",
        f"component:{via_ui.components['API']}",
    ):
        assert f'name="{name}"' in form, name

    seen = _seen(org_a.tenant_id)
    created = admin_client.post(
        f"/v1/pages/{via_api.page_id}/incidents",
        headers=auth(org_a.api_key),
        json={
            "incident": {
                **INCIDENT,
                "status": "investigating",
                "components": {via_api.components["API"]: "major_outage"},
                "deliver_notifications": True,
            }
        },
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    api_incident = created.get_json()["id"]
    response = post_form(
        editor,
        _screen(via_ui, org_a),
        {
            **INCIDENT,
            "status": "investigating",
            **_component_fields(via_ui, {"API": "major_outage"}),
            "impact": "derived",
            "incident_type_id": "",
            "deliver_notifications__present": "1",
            "deliver_notifications": "1",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    ui_incident = response.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    _assert_same_effects(web, org_a, via_api, via_ui, seen, key_id)

    seen = _seen(org_a.tenant_id)
    updated = admin_client.patch(
        f"/v1/pages/{via_api.page_id}/incidents/{api_incident}",
        headers=auth(org_a.api_key),
        json={"incident": {**UPDATE, "deliver_notifications": True}},
    )
    assert updated.status_code == 200, updated.get_data(as_text=True)
    # The incident's screen shows the affected components in their current status.
    response = post_form(
        editor,
        _screen(via_ui, org_a, f"{ui_incident}/updates"),
        {
            **UPDATE,
            **_component_fields(via_ui, {"API": "major_outage"}),
            "restore_components__present": "1",
            "restore_components": "1",
            "deliver_notifications__present": "1",
            "deliver_notifications": "1",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    _assert_same_effects(web, org_a, via_api, via_ui, seen, key_id)
