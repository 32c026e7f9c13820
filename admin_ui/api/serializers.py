"""Objects shared by several resources, in Statuspage's shape: components and component groups.

Each `*_json` function has its schema beside it; the schemas are closed, so the document's test
fails on a field served but not documented.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from admin_ui.api.common import iso_date
from admin_ui.api.spec import DATE_TIME, nullable, schema
from tenants.components.models import Component, ComponentGroup, ComponentStatus, ComponentVisibility
from tenants.pages.snapshot import iso

COMPONENT_STATUSES = [status.value for status in ComponentStatus]

COMPONENT = schema(
    "Component",
    {
        "id": {"type": "string"},
        "page_id": {"type": "string"},
        "group_id": nullable("string"),
        "created_at": DATE_TIME,
        "updated_at": DATE_TIME,
        "group": {"type": "boolean", "description": "Always false: groups are their own objects."},
        "name": {"type": "string"},
        "description": nullable("string"),
        "position": {"type": "integer"},
        "status": {"type": "string", "enum": COMPONENT_STATUSES},
        "showcase": {"type": "boolean"},
        "only_show_if_degraded": {"type": "boolean"},
        "automation_email": nullable("string"),
        "start_date": nullable("string", format="date"),
        "visibility": {"type": "string", "enum": [v.value for v in ComponentVisibility]},
    },
)

GROUP = schema(
    "GroupComponent",
    {
        "id": {"type": "string"},
        "page_id": {"type": "string"},
        "name": {"type": "string"},
        "description": nullable("string"),
        "components": {"type": "array", "items": {"type": "string"}},
        "position": {"type": "integer"},
        "created_at": DATE_TIME,
        "updated_at": DATE_TIME,
    },
)


def automation_email(component: Component) -> str | None:
    """The component's automation mailbox, on the platform host's mail domain."""
    if not component.automation_token:
        return None
    settings = current_app.config["SETTINGS"]
    return f"component+{component.automation_token}@{settings.PLATFORM_HOST}"


def component_json(component: Component) -> dict[str, Any]:
    return {
        "id": component.id,
        "page_id": component.page_id,
        "group_id": component.group_id,
        "created_at": iso(component.created_at),
        "updated_at": iso(component.updated_at),
        "group": False,
        "name": component.name,
        "description": component.description or None,
        "position": component.position,
        "status": component.status.value,
        "showcase": component.is_showcased,
        "only_show_if_degraded": component.only_show_if_degraded,
        "automation_email": automation_email(component),
        "start_date": iso_date(component.start_date),
        "visibility": component.visibility.value,
    }


def group_json(group: ComponentGroup) -> dict[str, Any]:
    return {
        "id": group.id,
        "page_id": group.page_id,
        "name": group.name,
        "description": group.description or None,
        "components": [component.id for component in group.components],
        "position": group.position,
        "created_at": iso(group.created_at),
        "updated_at": iso(group.updated_at),
    }
