"""The management API's URL map as the sweeps read it: every operation, its ids, whether it writes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

import tenants  # noqa: F401  (every model registered)
from admin_ui.api import routes  # noqa: F401  (every operation registered)
from admin_ui.api.spec import Operation, bp, operation_for
from status_platform.db.session import tenant_session
from status_platform.identity.apikeys import issue_api_key
from tests.factories import Organization

# Path parameters of the API, and which of a factory organization's objects fills each.
OBJECT_PARAMS = {
    "page_id": "page",
    "component_id": "component",
    "group_id": "group",
    "incident_id": "incident",
    "incident_update_id": "update",
    "template_id": "template",
    "subscriber_id": "subscriber",
    "page_access_group_id": "audience",
    "page_access_user_id": "viewer",
}

# Strings a write's body fills in, so a write that is wrongly let through would change something.
PLAUSIBLE_TEXT = {
    "name": "Taken over",
    "title": "Taken over",
    "body": "Taken over",
    "body_draft": "Taken over",
    "description": "Taken over",
    "email": "taken-over@example.com",
}

# Lists of ids a write's body fills with the objects of the organization the path names.
PLAUSIBLE_IDS = {
    "component_ids": "component",
    "page_access_group_ids": "audience",
    "page_access_user_ids": "viewer",
    "subscribers": "subscriber",
}


@dataclass(frozen=True)
class ApiRoute:
    rule: str
    endpoint: str
    method: str
    params: tuple[str, ...]
    operation: Operation | None

    @property
    def id(self) -> str:
        return f"{self.method} {self.rule}"

    @property
    def is_write(self) -> bool:
        return self.method not in ("GET", "HEAD", "OPTIONS")

    @property
    def object_params(self) -> tuple[str, ...]:
        return tuple(p for p in self.params if p != "page_id")

    def url(self, page_of: Organization, objects_of: Organization | None = None, **given: str) -> str:
        """The operation's path on `page_of`'s page naming `objects_of`'s objects (default: the same
        organization's); `given` names ids explicitly (`page_id=...`, `incident_update_id=...`)."""
        owner = objects_of or page_of
        path = self.rule
        for param in self.params:
            if param in given:
                value = given[param]
            elif param == "page_id":
                value = object_id(page_of, "page_id")
            else:
                value = object_id(owner, param)
            path = path.replace(f"<{param}>", value)
        return path

    @property
    def body_names_objects(self) -> bool:
        """Whether the operation's body takes lists of object ids (top level or in its envelope)."""
        schema = self.operation.body if self.operation is not None else None
        properties = dict((schema or {}).get("properties") or {})
        for prop in list(properties.values()):
            properties.update(prop.get("properties") or {})
        return bool(set(properties) & set(PLAUSIBLE_IDS))

    def body(self, owner: Organization) -> dict[str, Any] | None:
        """A body of the operation's envelope with plausible strings and `owner`'s ids (None when it
        takes no body)."""
        schema = self.operation.body if self.operation is not None else None
        if schema is None:
            return None
        body: dict[str, Any] = {}
        for name, prop in (schema.get("properties") or {}).items():
            if prop.get("type") == "object":
                body[name] = {
                    field: value
                    for field, spec in (prop.get("properties") or {}).items()
                    if (value := _plausible(field, spec, owner)) is not None
                }
            elif (value := _plausible(name, prop, owner)) is not None:
                body[name] = value
        return body


def _plausible(name: str, spec: dict[str, Any], owner: Organization) -> Any:
    kinds: set[str] = set()
    for option in (spec, *spec.get("anyOf", [])):
        kind = option.get("type") or []
        kinds.update([kind] if isinstance(kind, str) else kind)
    if name in PLAUSIBLE_TEXT and "string" in kinds and "enum" not in spec:
        return PLAUSIBLE_TEXT[name]
    if name in PLAUSIBLE_IDS and "array" in kinds:
        return [owner.ids[PLAUSIBLE_IDS[name]]]
    return None


def object_id(org: Organization, param: str) -> str:
    if param not in OBJECT_PARAMS:
        raise AssertionError(
            f"the API sweeps do not know which object <{param}> names; add it to OBJECT_PARAMS"
        )
    kind = OBJECT_PARAMS[param]
    return org.page_id if kind == "page" else org.ids[kind]


def api_url_map() -> Flask:
    """An app serving only the API's blueprint (the app is never started)."""
    app = Flask("admin_ui_api_sweep")
    app.register_blueprint(bp)
    return app


@cache
def api_routes() -> tuple[ApiRoute, ...]:
    """Every (rule, method) of the API under /v1, with its registered operation."""
    routes_: list[ApiRoute] = []
    for rule in api_url_map().url_map.iter_rules():
        if not rule.endpoint.startswith(f"{bp.name}."):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes_.append(
                ApiRoute(
                    rule=rule.rule,
                    endpoint=rule.endpoint,
                    method=method,
                    params=tuple(sorted(rule.arguments)),
                    operation=operation_for(rule.endpoint, method),
                )
            )
    return tuple(sorted(routes_, key=lambda r: r.id))


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"OAuth {key}"}


def call(client: FlaskClient, route: ApiRoute, url: str, key: str, owner: Organization) -> TestResponse:
    """Send `route`'s method to `url` with `key`, and a plausible body naming `owner`'s objects when it
    writes."""
    body = route.body(owner) if route.is_write else None
    if body is None:
        return client.open(url, method=route.method, headers=auth(key))
    return client.open(url, method=route.method, headers=auth(key), json=body)


def issue_key(org: Organization, *, page_id: str | None = None, read_only: bool = False) -> str:
    """A new API key of `org` (limited to `page_id`, read-only when asked); returns its secret."""
    with tenant_session(org.tenant_id) as s:
        issued = issue_api_key(
            s, tenant_id=org.tenant_id, name="sweep key", page_id=page_id, is_read_only=read_only
        )
        s.commit()
        return issued.secret
