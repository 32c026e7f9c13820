"""The admin's URL map, read the way the route sweeps need it: every route, its ids, its minimum role."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from flask import Flask

import tenants  # noqa: F401  (every model registered)
from tests.factories import Organization

# URL parameters that name an object, and which of a factory organization's objects fills them.
OBJECT_PARAMS = {
    "page_id": "page",
    "component_id": "component",
    "group_id": "group",
    "incident_id": "incident",
    "update_id": "update",
    "template_id": "template",
    "type_id": "type",
    "member_id": "member",
    "invitation_id": "invitation",
    "key_id": "api_key",
    "subscriber_id": "subscriber",
    "event_id": "event",
    "audience_id": "audience",
    "viewer_id": "viewer",
}


@dataclass(frozen=True)
class Route:
    rule: str
    endpoint: str
    methods: frozenset[str]
    params: tuple[str, ...]
    min_role: str | None

    @property
    def id(self) -> str:
        return f"{sorted(self.methods)[0]} {self.rule}"

    @property
    def is_write(self) -> bool:
        return bool(self.methods - {"GET", "HEAD", "OPTIONS"})

    @property
    def object_params(self) -> tuple[str, ...]:
        return tuple(p for p in self.params if p != "tenant_slug")

    def url(self, org: Organization, *, objects_of: Organization | None = None) -> str:
        """The route's path for `org`, naming the objects of `objects_of` (default: `org`'s own)."""
        owner = objects_of or org
        path = self.rule.replace("<tenant_slug>", org.slug)
        for param in self.object_params:
            path = path.replace(f"<{param}>", object_id(owner, param, self.endpoint))
        return path


def object_id(org: Organization, param: str, endpoint: str) -> str:
    if param not in OBJECT_PARAMS:
        raise AssertionError(f"the route sweeps do not know which object <{param}> names; add it here")
    kind = OBJECT_PARAMS[param]
    if kind == "page":
        return org.page_id
    if ".maintenance." in endpoint and kind in ("incident", "update"):
        kind = "maintenance" if kind == "incident" else "maintenance_update"
    return org.ids[kind]


@cache
def admin_routes() -> tuple[Route, ...]:
    """Every route of the staff app below /t/<tenant_slug>/ (the app itself is not started)."""
    from admin_ui.auth import bp as auth_bp
    from admin_ui.routes import tenant_bp

    app = Flask("admin_ui")
    app.register_blueprint(auth_bp)
    app.register_blueprint(tenant_bp)
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("tenant."):
            continue
        view = app.view_functions[rule.endpoint]
        role = getattr(view, "min_role", None)
        routes.append(
            Route(
                rule=rule.rule,
                endpoint=rule.endpoint,
                methods=frozenset(rule.methods or ()) - {"HEAD", "OPTIONS"},
                params=tuple(sorted(rule.arguments)),
                min_role=role.value if role is not None else None,
            )
        )
    return tuple(sorted(routes, key=lambda r: r.id))
