"""How a notification event reads on each channel: loaded once, narrowed per sight, rendered per recipient.

The delivery worker loads an event once (a LoadedNotice), narrows it to each sight among its
recipients (the public's, an audience's: only the components that sight may see are named, and
the page's status counts only those), and renders each sight's Notice for thousands of
recipients. Everything that does not depend on the recipient (the JSON bodies, the email's text
and HTML, its parsed headers) is built once per Notice; a render only signs the recipient's
manage token and splices the recipient's links into what was prepared.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import html
import json
import re
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, MIMEPart
from email.utils import formataddr, formatdate, parseaddr
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import nh3
import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.config import Settings
from status_platform.text import render_markdown
from status_platform.timeutil import local_with_utc
from tenants.audiences.visibility import PUBLIC, Sight, incident_is_visible, visible_component_ids
from tenants.components.models import Component, ComponentGroup, ComponentStatus, ComponentVisibility
from tenants.components.status import overall_status
from tenants.incidents.models import (
    CLOSED_STATUSES,
    Impact,
    Incident,
    IncidentComponent,
    IncidentKind,
    IncidentStatus,
    IncidentUpdate,
    IncidentUpdateComponent,
)
from tenants.pages.models import Page, PageVisibility
from tenants.pages.snapshot import iso
from tenants.subscribers.confirmation import SubscriberMail, page_public_url
from tenants.subscribers.links import MANAGE_PATH, UNSUBSCRIBE_PATH, Recipient, manage_token
from tenants.subscribers.models import Channel, EventKind, NotificationEvent

# Where a webhook's `meta.documentation` points: the platform's page on payloads and signatures.
WEBHOOK_DOCUMENTATION_PATH = "/docs/webhooks"
SIGNATURE_VERSION = "v1"
SMS_MAX_LENGTH = 320
QUARANTINE_FAILURES = 10

# --- which channels hear of what -------------------------------------------------------------------

_EVERY_CHANNEL = frozenset(Channel)
_WITHOUT_SMS = frozenset({Channel.EMAIL, Channel.WEBHOOK, Channel.SLACK, Channel.TEAMS})
# Statuspage's rules: SMS only for the start and end of incidents and maintenance; component
# status changes only for webhooks.
_SMS_KINDS = frozenset(
    {
        EventKind.INCIDENT_CREATED,
        EventKind.INCIDENT_RESOLVED,
        EventKind.MAINTENANCE_STARTED,
        EventKind.MAINTENANCE_COMPLETED,
    }
)
RECEIVING_CHANNELS: dict[EventKind, frozenset[Channel]] = {
    kind: (
        frozenset({Channel.WEBHOOK})
        if kind is EventKind.COMPONENT_UPDATED
        else _EVERY_CHANNEL
        if kind in _SMS_KINDS
        else _WITHOUT_SMS
    )
    for kind in EventKind
}


def channel_receives(kind: EventKind, channel: Channel) -> bool:
    """Whether subscribers on `channel` are told of events of `kind`."""
    return channel in RECEIVING_CHANNELS[kind]


# --- the notice ------------------------------------------------------------------------------------


class NoticeGone(LookupError):
    """The event's page, incident or component no longer exists: there is nothing left to tell."""


@dataclass(frozen=True)
class NoticeComponent:
    """An affected (or covered) component as the page shows it: "Group - Name" and its status now."""

    id: str
    name: str
    status: ComponentStatus


@dataclass(frozen=True)
class NoticeUpdate:
    """The incident update that triggered the event; its body as Markdown, safe HTML and plain text."""

    id: str
    status: IncidentStatus
    body: str
    body_html: str
    body_text: str
    display_at: datetime


@dataclass(frozen=True)
class NoticeIncident:
    """The incident or maintenance window an event is about, as it stood when the notice was loaded."""

    id: str
    name: str
    kind: IncidentKind
    status: IncidentStatus
    impact: Impact
    url: str
    update: NoticeUpdate | None = None
    components: tuple[NoticeComponent, ...] = ()
    scheduled_for: datetime | None = None
    scheduled_until: datetime | None = None
    # The window's times before a reschedule (MAINTENANCE_RESCHEDULED).
    previous_scheduled_for: datetime | None = None
    previous_scheduled_until: datetime | None = None
    # How long before the start a reminder goes out (MAINTENANCE_REMINDER).
    reminder_minutes: int | None = None
    postmortem_html: str = ""
    postmortem_text: str = ""
    is_cancelled: bool = False

    @property
    def is_maintenance(self) -> bool:
        return self.kind is IncidentKind.MAINTENANCE


@dataclass(frozen=True)
class NoticeComponentChange:
    """A component's status change (COMPONENT_UPDATED)."""

    id: str
    name: str
    old_status: ComponentStatus | None
    new_status: ComponentStatus
    changed_at: datetime
    created_at: datetime
    # A hidden component is shown nowhere outside the admin: its changes are for nobody outside.
    is_hidden: bool = False


@dataclass(frozen=True)
class Notice:
    """Everything a notification event needs on every channel, for every recipient.

    `wire` holds the webhook's objects after `meta` (`page`, then `incident` or
    `component_update` and `component`), in Statuspage's shape. The bodies prepared for all
    recipients are cached on the instance the first time a channel renders it.
    """

    event_id: str
    kind: EventKind
    occurred_at: datetime
    page_id: str
    page_name: str
    page_url: str
    time_zone: str
    from_name: str
    from_address: str
    email_footer: str
    # The page's own address: replies go there. Mail is always sent from the platform's address
    # (MAIL_FROM), which passes SPF and DMARC, and which no organization can set to anyone's.
    reply_to: str | None
    status_indicator: str
    status_description: str
    documentation_url: str
    incident: NoticeIncident | None = None
    component_change: NoticeComponentChange | None = None
    wire: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def local_time(self, value: datetime) -> str:
        """'Jan 12, 2027 09:00 EST (14:00 UTC)': the page's time zone first, UTC beside it."""
        return local_with_utc(value, self.time_zone)

    @cached_property
    def _headline(self) -> tuple[str, str, str]:
        return _headline_parts(self)

    @property
    def headline(self) -> str:
        """'Investigating: API errors', 'Scheduled maintenance: Database upgrade', ..."""
        return "".join(self._headline)

    @property
    def subject(self) -> str:
        """'[Acme] Investigating: API errors': the page's name first, so one page's notices group."""
        return f"[{self.page_name}] {self.headline}"

    @property
    def link_url(self) -> str:
        """Where the notice sends its reader: the incident's page, else the status page."""
        return self.incident.url if self.incident is not None else self.page_url

    @cached_property
    def _email_prepared(self) -> _PreparedEmail:
        return _prepare_email(self)

    @cached_property
    def _webhook_body(self) -> _Spliced:
        document = {
            "meta": {"unsubscribe": _hole("unsubscribe"), "documentation": self.documentation_url},
            **self.wire,
        }
        return _Spliced(document)

    @cached_property
    def _slack_body(self) -> _Spliced:
        return _Spliced(_slack_document(self))

    @cached_property
    def _teams_body(self) -> _Spliced:
        return _Spliced(_teams_document(self))


# --- loading ---------------------------------------------------------------------------------------


def load_notice(
    session: Session, event: NotificationEvent, settings: Settings, *, sight: Sight = PUBLIC
) -> Notice:
    """The Notice of `event` as `sight` (the public's by default) would read it. Reads only.

    The public's notice is read in at most eight statements, another sight's in up to three
    more. Whether a reader hears of the event at all is decided by the fan-out and the delivery
    (`LoadedNotice.for_visible`). Raises NoticeGone as load_event does.
    """
    loaded = load_event(session, event, settings)
    visible = loaded.public_ids if sight.is_public else visible_component_ids(session, event.page_id, sight)
    return loaded.narrowed(visible)


@dataclass(frozen=True)
class LoadedNotice:
    """An event as staff would read it (hidden components named nowhere), with what it takes to
    narrow it to one reader's sight without reading the database again.

    `notice` names every component the event touches that is not hidden. `for_visible` makes the
    Notice of a reader who may see `visible_ids`: only those components named (in the text, the
    lists and every webhook object), and the page's status counted over those components and the
    open incidents that reader may see. The incident's title and messages are shared.
    """

    notice: Notice
    # What the event is about: the incident's components (hidden ones too), or the changed one.
    about_ids: frozenset[str]
    # Every component's status (hidden ones left out) and the open incidents raising the indicator.
    statuses: Mapping[str, ComponentStatus]
    open_incidents: tuple[tuple[str, frozenset[str]], ...]
    # The components (and groups) everyone may see: the public's sight, without another query.
    public_ids: frozenset[str]
    # On a private page only subscribers bound to a viewer or an audience are told anything.
    page_is_private: bool = False

    def is_visible(self, visible_ids: Collection[str]) -> bool:
        """Whether a reader who may see `visible_ids` is to hear of the event at all: not of an
        incident only about others' components, nor of another's component change."""
        return incident_is_visible(self.about_ids, visible_ids)

    def for_visible(self, visible_ids: Collection[str]) -> Notice | None:
        """The notice of a reader who may see `visible_ids`; None when it is not to hear of it."""
        return self.narrowed(visible_ids) if self.is_visible(visible_ids) else None

    def narrowed(self, visible_ids: Collection[str]) -> Notice:
        """The notice naming only the components in `visible_ids`, with the page's status as a
        reader who may see them sees it."""
        visible = visible_ids if isinstance(visible_ids, (set, frozenset)) else set(visible_ids)
        status = overall_status(
            [state for component_id, state in self.statuses.items() if component_id in visible],
            [impact for impact, ids in self.open_incidents if incident_is_visible(ids, visible)],
        )
        notice = self.notice
        wire = dict(notice.wire)
        wire["page"] = {
            **wire["page"],
            "status_indicator": status.indicator.value,
            "status_description": status.description,
        }
        incident = notice.incident
        if incident is not None:
            incident = replace(incident, components=tuple(c for c in incident.components if c.id in visible))
            document = dict(wire["incident"])
            document["components"] = [c for c in document["components"] if c["id"] in visible]
            document["incident_updates"] = [
                {
                    **update,
                    "affected_components": [
                        change for change in update["affected_components"] or () if change["code"] in visible
                    ]
                    or None,
                }
                for update in document["incident_updates"]
            ]
            wire["incident"] = document
        return replace(
            notice,
            status_indicator=status.indicator.value,
            status_description=status.description,
            incident=incident,
            wire=wire,
        )


def load_event(session: Session, event: NotificationEvent, settings: Settings) -> LoadedNotice:
    """`event` loaded once for every reader, with the event's tenant session, in a fixed number of
    statements (at most eight, whatever the number of components or updates). Reads only.

    The page's status is the one it has now, which is the status after the change unless later
    changes were made since. Raises NoticeGone when the page, the incident or the component the
    event is about has been deleted since.
    """
    page = session.get(Page, event.page_id)
    if page is None:
        raise NoticeGone(f"page {event.page_id} no longer exists")
    page_url = page_public_url(session, page, settings)
    components = _page_components(session, page.id)
    open_incidents = _open_incidents(session, page.id)
    public_ids = frozenset(
        {cid for cid, row in components.items() if row.is_public}
        | {row.component.group_id for row in components.values() if row.is_public and row.component.group_id}
    )
    status = overall_status(
        [row.status for row in components.values() if not row.is_hidden],
        [impact for impact, _ in open_incidents],
    )
    incident: NoticeIncident | None = None
    change: NoticeComponentChange | None = None
    wire: dict[str, Any] = {
        "page": {
            "id": page.id,
            "status_indicator": status.indicator.value,
            "status_description": status.description,
        }
    }
    occurred_at = event.created_at
    if event.kind is EventKind.COMPONENT_UPDATED:
        change = _component_change(event, components)
        about = frozenset({change.id})
        occurred_at = change.changed_at
        wire["component_update"] = {
            "created_at": iso(change.changed_at),
            "new_status": change.new_status.value,
            "old_status": change.old_status.value if change.old_status else None,
            "id": event.id,
            "component_id": change.id,
        }
        wire["component"] = {
            "created_at": iso(change.created_at),
            "id": change.id,
            "name": components[change.id].component.name,
            "status": change.new_status.value,
        }
    else:
        incident, wire["incident"], about = _incident_notice(session, event, page, page_url, components)
        if incident.update is not None and event.incident_update_id == incident.update.id:
            occurred_at = incident.update.display_at
    _, mail_from = parseaddr(settings.MAIL_FROM)
    notice = Notice(
        event_id=event.id,
        kind=event.kind,
        occurred_at=occurred_at,
        page_id=page.id,
        page_name=page.name,
        page_url=page_url,
        time_zone=page.time_zone or "UTC",
        from_name=page.notifications_from_name.strip() or page.name,
        from_address=mail_from,
        reply_to=page.notifications_from_email.strip() or None,
        email_footer=page.notifications_email_footer.strip(),
        status_indicator=status.indicator.value,
        status_description=status.description,
        documentation_url=settings.admin_url(WEBHOOK_DOCUMENTATION_PATH),
        incident=incident,
        component_change=change,
        wire=wire,
    )
    return LoadedNotice(
        notice=notice,
        about_ids=about,
        statuses={cid: row.status for cid, row in components.items() if not row.is_hidden},
        open_incidents=tuple(open_incidents),
        public_ids=public_ids,
        page_is_private=page.visibility is PageVisibility.PRIVATE,
    )


@dataclass(frozen=True)
class _PageComponent:
    component: Component
    group_name: str | None
    group_visibility: ComponentVisibility | None

    @property
    def status(self) -> ComponentStatus:
        return self.component.status

    @property
    def is_public(self) -> bool:
        """Shown on the public page (so counted in its overall status): as the snapshot decides."""
        return self.component.visibility is ComponentVisibility.PUBLIC and (
            self.component.group_id is None or self.group_visibility is ComponentVisibility.PUBLIC
        )

    @property
    def is_hidden(self) -> bool:
        return (
            self.component.visibility is ComponentVisibility.HIDDEN
            or self.group_visibility is ComponentVisibility.HIDDEN
        )

    @property
    def display_name(self) -> str:
        name = self.component.name
        return f"{self.group_name} - {name}" if self.group_name else name


def _page_components(session: Session, page_id: str) -> dict[str, _PageComponent]:
    rows = session.execute(
        select(Component, ComponentGroup.name, ComponentGroup.visibility)
        .outerjoin(
            ComponentGroup,
            sa.and_(ComponentGroup.id == Component.group_id, ComponentGroup.tenant_id == Component.tenant_id),
        )
        .where(Component.page_id == page_id)
        .order_by(Component.position, Component.created_at, Component.id)
    ).all()
    return {row[0].id: _PageComponent(row[0], row[1], row[2]) for row in rows}


def _open_incidents(session: Session, page_id: str) -> list[tuple[str, frozenset[str]]]:
    """The impacts that raise the page's indicator, each with its incident's components: open
    incidents, and maintenance in progress (one statement)."""
    rows = session.execute(
        select(Incident.id, Incident.kind, Incident.impact, IncidentComponent.component_id)
        .outerjoin(
            IncidentComponent,
            sa.and_(
                IncidentComponent.incident_id == Incident.id,
                IncidentComponent.tenant_id == Incident.tenant_id,
            ),
        )
        .where(
            Incident.page_id == page_id,
            sa.or_(
                sa.and_(
                    Incident.kind == IncidentKind.INCIDENT,
                    Incident.status.not_in(list(CLOSED_STATUSES)),
                ),
                sa.and_(
                    Incident.kind == IncidentKind.MAINTENANCE,
                    Incident.status.in_([IncidentStatus.IN_PROGRESS, IncidentStatus.VERIFYING]),
                    Incident.cancelled_at.is_(None),
                ),
            ),
        )
        .order_by(Incident.id)
    ).all()
    impacts: dict[str, str] = {}
    linked: dict[str, set[str]] = {}
    for incident_id, kind, impact, component_id in rows:
        impacts[incident_id] = Impact.MAINTENANCE.value if kind is IncidentKind.MAINTENANCE else impact.value
        ids = linked.setdefault(incident_id, set())
        if component_id:
            ids.add(component_id)
    return [(impacts[incident_id], frozenset(linked[incident_id])) for incident_id in impacts]


def _component_change(
    event: NotificationEvent, components: dict[str, _PageComponent]
) -> NoticeComponentChange:
    row = components.get(event.component_id or "")
    if row is None:
        raise NoticeGone(f"the component of event {event.id} no longer exists")
    payload = event.payload or {}
    old = payload.get("old_status")
    new = payload.get("new_status")
    changed = payload.get("changed_at")
    return NoticeComponentChange(
        id=row.component.id,
        name=row.display_name,
        old_status=ComponentStatus(old) if old else None,
        new_status=ComponentStatus(new) if new else row.status,
        changed_at=_parse_time(changed) if isinstance(changed, str) else event.created_at,
        created_at=row.component.created_at,
        is_hidden=row.is_hidden,
    )


def _incident_notice(
    session: Session,
    event: NotificationEvent,
    page: Page,
    page_url: str,
    components: dict[str, _PageComponent],
) -> tuple[NoticeIncident, dict[str, Any], frozenset[str]]:
    incident = session.get(Incident, event.incident_id) if event.incident_id else None
    if incident is None:
        raise NoticeGone(f"the incident of event {event.id} no longer exists")
    updates = list(
        session.scalars(
            select(IncidentUpdate)
            .where(IncidentUpdate.incident_id == incident.id)
            .order_by(
                IncidentUpdate.display_at.desc(), IncidentUpdate.created_at.desc(), IncidentUpdate.id.desc()
            )
        )
    )
    changes: dict[str, list[IncidentUpdateComponent]] = {u.id: [] for u in updates}
    if updates:
        for change in session.scalars(
            select(IncidentUpdateComponent)
            .where(IncidentUpdateComponent.update_id.in_(list(changes)))
            .order_by(IncidentUpdateComponent.id)
        ):
            changes[change.update_id].append(change)
    affected_ids = set(
        session.scalars(
            select(IncidentComponent.component_id).where(IncidentComponent.incident_id == incident.id)
        )
    )
    # Hidden components are named nowhere outside the admin, notices included.
    affected = [row for cid, row in components.items() if cid in affected_ids and not row.is_hidden]
    trigger = next((u for u in updates if u.id == event.incident_update_id), None)
    if trigger is None and event.kind is not EventKind.POSTMORTEM_PUBLISHED and updates:
        # Reminders and reschedules carry no update of their own: the window's latest message says what it is.
        trigger = updates[0]
    payload = event.payload or {}
    before = payload.get("before") if isinstance(payload.get("before"), Mapping) else {}
    published = incident.postmortem_published_at is not None
    postmortem = (incident.postmortem_body or "") if published else ""
    url = f"{page_url}/incidents/{incident.id}"
    statuses = _statuses_as_of(updates, changes, trigger) if event.incident_update_id else {}
    notice = NoticeIncident(
        id=incident.id,
        name=incident.name,
        kind=incident.kind,
        status=incident.status,
        impact=incident.impact,
        url=url,
        update=_notice_update(trigger) if trigger is not None else None,
        components=tuple(
            NoticeComponent(r.component.id, r.display_name, statuses.get(r.component.id, r.status))
            for r in affected
        ),
        scheduled_for=incident.scheduled_for,
        scheduled_until=incident.scheduled_until,
        previous_scheduled_for=_parse_time(before.get("scheduled_for")),
        previous_scheduled_until=_parse_time(before.get("scheduled_until")),
        reminder_minutes=_reminder_minutes(event, incident, page)
        if event.kind is EventKind.MAINTENANCE_REMINDER
        else None,
        postmortem_html=render_markdown(postmortem),
        postmortem_text=plain_text(postmortem),
        is_cancelled=incident.cancelled_at is not None,
    )
    is_window = incident.kind is IncidentKind.MAINTENANCE
    wire = {
        "id": incident.id,
        "name": incident.name,
        "status": incident.status.value,
        "impact": incident.impact.value,
        "impact_override": incident.impact_override.value if incident.impact_override else None,
        "created_at": iso(incident.created_at),
        "updated_at": iso(incident.updated_at),
        "monitoring_at": iso(incident.monitoring_at),
        "resolved_at": iso(incident.resolved_at),
        "shortlink": url,
        "backfilled": incident.is_backfilled,
        "scheduled_for": iso(incident.scheduled_for),
        "scheduled_until": iso(incident.scheduled_until),
        "scheduled_remind_prior": is_window and incident.scheduled_remind_prior,
        "scheduled_reminded_at": iso(incident.scheduled_reminded_at),
        "scheduled_auto_transition": is_window and incident.scheduled_auto_in_progress,
        "postmortem_body": incident.postmortem_body if published else None,
        "postmortem_body_last_updated_at": iso(incident.postmortem_body_updated_at) if published else None,
        "postmortem_ignored": incident.postmortem_is_ignored,
        "postmortem_notified_subscribers": incident.postmortem_notified_subscribers,
        "postmortem_notified_twitter": False,
        "postmortem_published_at": iso(incident.postmortem_published_at),
        "organization_id": page.id,
        "incident_updates": [_wire_update(u, changes[u.id]) for u in updates],
        "components": [_wire_component(row, page.id) for row in affected],
    }
    return notice, wire, frozenset(affected_ids)


def _statuses_as_of(
    updates: list[IncidentUpdate],
    changes: dict[str, list[IncidentUpdateComponent]],
    trigger: IncidentUpdate | None,
) -> dict[str, ComponentStatus]:
    """The component statuses the timeline had set by `trigger` (`updates` newest first), so a notice
    delivered late, or retried, still says what its update said."""
    if trigger is None:
        return {}
    statuses: dict[str, ComponentStatus] = {}
    for update in reversed(updates[updates.index(trigger) :]):
        for change in changes[update.id]:
            if change.component_id:
                statuses[change.component_id] = change.new_status
    return statuses


def _notice_update(update: IncidentUpdate) -> NoticeUpdate:
    return NoticeUpdate(
        id=update.id,
        status=update.status,
        body=update.body,
        body_html=render_markdown(update.body),
        body_text=plain_text(update.body),
        display_at=update.display_at,
    )


def _wire_update(update: IncidentUpdate, changes: list[IncidentUpdateComponent]) -> dict[str, Any]:
    return {
        "id": update.id,
        "incident_id": update.incident_id,
        "body": update.body,
        "status": update.status.value,
        "created_at": iso(update.created_at),
        "updated_at": iso(update.updated_at),
        "display_at": iso(update.display_at),
        "twitter_updated_at": None,
        "wants_twitter_update": False,
        "affected_components": [
            {
                "code": change.component_id or "",
                "name": change.component_name,
                "old_status": change.old_status.value if change.old_status else None,
                "new_status": change.new_status.value,
            }
            for change in changes
        ]
        or None,
    }


def _wire_component(row: _PageComponent, page_id: str) -> dict[str, Any]:
    component = row.component
    return {
        "id": component.id,
        "page_id": page_id,
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
        "start_date": component.start_date.isoformat() if component.start_date else None,
    }


def _reminder_minutes(event: NotificationEvent, incident: Incident, page: Page) -> int:
    """The reminder's lead time: as the event says, else from its delivery time, else the page's setting."""
    given = (event.payload or {}).get("minutes_before")
    if isinstance(given, int) and not isinstance(given, bool) and given >= 0:
        return given
    if event.not_before is not None and incident.scheduled_for is not None:
        return max(0, round((incident.scheduled_for - event.not_before).total_seconds() / 60))
    return page.maintenance_reminder_minutes


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


# --- text helpers ----------------------------------------------------------------------------------

_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n{3,}")


def plain_text(body: str) -> str:
    """An update body (Markdown, or the simple HTML Statuspage bodies carry) as plain text.

    Every tag goes (script and style with their content); the Markdown itself stays, as it
    reads well as text.
    """
    if not body:
        return ""
    text = nh3.clean(_BREAK.sub("\n", body), tags=set())
    return _BLANK_LINES.sub("\n\n", html.unescape(text)).strip()


def _minutes_label(minutes: int) -> str:
    """60 -> '60 minutes', 90 -> '90 minutes', 120 -> '2 hours', 1500 -> '1 day 1 hour'."""
    if minutes < 120:
        return f"{minutes} minute" + ("" if minutes == 1 else "s")
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    return " ".join(
        f"{n} {unit}" + ("" if n == 1 else "s")
        for n, unit in ((days, "day"), (hours, "hour"), (mins, "minute"))
        if n
    )


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 3)].rstrip() + "..."


_IMPACT_LABELS = {
    Impact.NONE: "None",
    Impact.MINOR: "Minor",
    Impact.MAJOR: "Major",
    Impact.CRITICAL: "Critical",
    Impact.MAINTENANCE: "Maintenance",
}
# The impact colours of the public page (none grey, minor yellow, major orange, critical red,
# maintenance blue); a component change takes the colour of its new status.
_IMPACT_COLORS = {
    Impact.NONE: "6E7781",
    Impact.MINOR: "D4A72C",
    Impact.MAJOR: "E16F24",
    Impact.CRITICAL: "CF222E",
    Impact.MAINTENANCE: "0969DA",
}
_STATUS_COLORS = {
    ComponentStatus.OPERATIONAL: "1A7F37",
    ComponentStatus.UNDER_MAINTENANCE: "0969DA",
    ComponentStatus.DEGRADED_PERFORMANCE: "D4A72C",
    ComponentStatus.PARTIAL_OUTAGE: "E16F24",
    ComponentStatus.MAJOR_OUTAGE: "CF222E",
}


def _accent(notice: Notice) -> str:
    if notice.component_change is not None:
        return _STATUS_COLORS[notice.component_change.new_status]
    if notice.incident is not None:
        if notice.kind in (EventKind.INCIDENT_RESOLVED, EventKind.MAINTENANCE_COMPLETED):
            return _STATUS_COLORS[ComponentStatus.OPERATIONAL]
        return _IMPACT_COLORS[notice.incident.impact]
    return _IMPACT_COLORS[Impact.NONE]


def _status_word(notice: Notice) -> str:
    incident = notice.incident
    if incident is None:
        return ""
    status = incident.update.status if incident.update is not None else incident.status
    return status.label


def _headline_parts(notice: Notice) -> tuple[str, str, str]:
    """The headline around the name it is about, so short channels can shorten the name alone."""
    change = notice.component_change
    if change is not None:
        return "", change.name, f": {change.new_status.label}"
    incident = notice.incident
    assert incident is not None
    name, kind = incident.name, notice.kind
    if kind is EventKind.POSTMORTEM_PUBLISHED:
        return "Postmortem: ", name, ""
    if kind is EventKind.MAINTENANCE_SCHEDULED:
        return "Scheduled maintenance: ", name, ""
    if kind is EventKind.MAINTENANCE_REMINDER:
        return "Reminder: ", name, f" begins in {_minutes_label(incident.reminder_minutes or 0)}"
    if kind is EventKind.MAINTENANCE_STARTED:
        return "Maintenance in progress: ", name, ""
    if kind is EventKind.MAINTENANCE_COMPLETED:
        return "Maintenance completed: ", name, ""
    if kind is EventKind.MAINTENANCE_RESCHEDULED:
        return "Rescheduled maintenance: ", name, ""
    if kind is EventKind.MAINTENANCE_CANCELLED:
        return "Cancelled maintenance: ", name, ""
    if kind is EventKind.MAINTENANCE_UPDATED and _status_word(notice) == IncidentStatus.SCHEDULED.label:
        return "Maintenance update: ", name, ""
    return f"{_status_word(notice)}: ", name, ""


def _lead(notice: Notice) -> str:
    """The line above the message: what happened, in Statuspage's words."""
    word = _status_word(notice)
    return {
        EventKind.INCIDENT_CREATED: f"New incident: {word}",
        EventKind.INCIDENT_UPDATED: f"Incident update: {word}",
        EventKind.INCIDENT_RESOLVED: "Resolved",
        EventKind.POSTMORTEM_PUBLISHED: "Postmortem published",
        EventKind.MAINTENANCE_SCHEDULED: "Scheduled maintenance",
        EventKind.MAINTENANCE_REMINDER: "Maintenance reminder",
        EventKind.MAINTENANCE_STARTED: "Maintenance in progress",
        EventKind.MAINTENANCE_UPDATED: f"Maintenance update: {word}",
        EventKind.MAINTENANCE_COMPLETED: "Maintenance completed",
        EventKind.MAINTENANCE_RESCHEDULED: "Maintenance rescheduled",
        EventKind.MAINTENANCE_CANCELLED: "Maintenance cancelled",
        EventKind.COMPONENT_UPDATED: "Component status change",
    }[notice.kind]


def _message(notice: Notice) -> tuple[str, str]:
    """The notice's message as (plain text, safe HTML): the update, or the postmortem."""
    incident = notice.incident
    if incident is None:
        return "", ""
    if notice.kind is EventKind.POSTMORTEM_PUBLISHED:
        return incident.postmortem_text, incident.postmortem_html
    if incident.update is None:
        return "", ""
    return incident.update.body_text, incident.update.body_html


def _details(notice: Notice) -> list[str]:
    """Sentences about times and changes: the window, its old times, the reminder, a component change."""
    lines: list[str] = []
    change = notice.component_change
    if change is not None:
        before = change.old_status.label if change.old_status else "no status"
        lines.append(f"{change.name} changed from {before} to {change.new_status.label}.")
        return lines
    incident = notice.incident
    if incident is None or not incident.is_maintenance:
        return lines
    if notice.kind is EventKind.MAINTENANCE_REMINDER:
        lines.append(f"This maintenance begins in {_minutes_label(incident.reminder_minutes or 0)}.")
    if incident.scheduled_for is not None and incident.scheduled_until is not None:
        verb = "Was scheduled" if notice.kind is EventKind.MAINTENANCE_CANCELLED else "Scheduled"
        lines.append(
            f"{verb} for {notice.local_time(incident.scheduled_for)} "
            f"until {notice.local_time(incident.scheduled_until)}."
        )
    if incident.previous_scheduled_for is not None and incident.previous_scheduled_until is not None:
        lines.append(
            f"Previously scheduled for {notice.local_time(incident.previous_scheduled_for)} "
            f"until {notice.local_time(incident.previous_scheduled_until)}."
        )
    return lines


def _posted(notice: Notice) -> str:
    return notice.local_time(notice.occurred_at)


def _components_lines(notice: Notice) -> list[str]:
    incident = notice.incident
    if incident is None:
        return []
    return [f"{c.name} ({c.status.label})" for c in incident.components]


def _components_label(notice: Notice) -> str:
    incident = notice.incident
    return "Components" if incident is not None and incident.is_maintenance else "Affected components"


def _link_label(notice: Notice) -> str:
    incident = notice.incident
    if incident is None:
        return "View the status page"
    return "View maintenance" if incident.is_maintenance else "View incident"


# --- splicing recipients into prepared documents ---------------------------------------------------

# Markers of the per-recipient strings, random per process so no stored text can forge one.
_MARK = "\ue000" + secrets.token_hex(6)
_HOLE = re.compile(re.escape(_MARK) + r":(\w+)\ue000")


def _hole(name: str) -> str:
    return f"{_MARK}:{name}\ue000"


class _Spliced:
    """A JSON document serialized once, with holes where each recipient's strings go.

    A hole may be a whole string value or part of one; the value spliced in is JSON-escaped.
    """

    __slots__ = ("_literals", "_names")

    def __init__(self, document: Any) -> None:
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        pieces = _HOLE.split(text)
        self._literals = [piece.encode() for piece in pieces[0::2]]
        self._names = pieces[1::2]

    def render(self, values: Mapping[str, str]) -> bytes:
        out = [self._literals[0]]
        for name, literal in zip(self._names, self._literals[1:], strict=True):
            out.append(json.dumps(values[name], ensure_ascii=False)[1:-1].encode())
            out.append(literal)
        return b"".join(out)


def _links(notice: Notice, recipient: Recipient) -> tuple[str, str]:
    """The recipient's manage and unsubscribe URLs (one signed token serves both)."""
    token = manage_token(recipient.subscriber_id, notice.page_id)
    return (
        notice.page_url + MANAGE_PATH.format(token=token),
        notice.page_url + UNSUBSCRIBE_PATH.format(token=token),
    )


# --- email -----------------------------------------------------------------------------------------

_TEMPLATES = Path(__file__).parent / "templates" / "mail"


def _nl2br(value: str) -> Markup:
    return Markup("<br>\n").join(escape(line) for line in value.splitlines())


_env = Environment(
    loader=FileSystemLoader(_TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_env.filters["nl2br"] = _nl2br

# Long unbreakable header values (List-Unsubscribe URLs) must stay literal, not become encoded
# words, so lines may run to RFC 5322's hard limit.
MAIL_POLICY = policy.SMTP.clone(max_line_length=998)
_ROOT_KINDS = frozenset({EventKind.INCIDENT_CREATED, EventKind.MAINTENANCE_SCHEDULED})


@dataclass(frozen=True)
class _PreparedEmail:
    text: str
    html: str
    headers: tuple[tuple[str, Any], ...]
    text_type: Any
    html_type: Any
    encoding: Any
    multipart_type: Any


def _header(name: str, value: str) -> Any:
    """A header parsed once, shared by every message of the notice (parsing is most of the cost).

    The header factory does not check for line breaks as assigning a header does, so they are
    replaced here: no text of a page or an incident can add a header to its notices.
    """
    return MAIL_POLICY.header_factory(name, " ".join(value.splitlines()))


def _prepare_email(notice: Notice) -> _PreparedEmail:
    text_body, html_body = _message(notice)
    context = {
        "subject": notice.subject,
        "page_name": notice.page_name,
        "title": notice.incident.name if notice.incident is not None else notice.headline,
        "lead": _lead(notice),
        "posted": _posted(notice),
        "body": text_body,
        "body_html": Markup(html_body),
        "details": _details(notice),
        "components": _components_lines(notice),
        "components_label": _components_label(notice),
        "link_label": _link_label(notice),
        "link_url": notice.link_url,
        "status_description": notice.status_description,
        "footer": notice.email_footer,
        "accent": "#" + _accent(notice),
        "manage_url": _hole("manage"),
        "unsubscribe_url": _hole("unsubscribe"),
    }
    boundary = "=_" + secrets.token_hex(16)  # "=_" never occurs in quoted-printable text
    return _PreparedEmail(
        text=_env.get_template("notice.txt").render(context),
        html=_env.get_template("notice.html").render(context),
        headers=(
            ("From", _header("From", formataddr((notice.from_name, notice.from_address)))),
            *((("Reply-To", _header("Reply-To", notice.reply_to)),) if notice.reply_to else ()),
            ("Subject", _header("Subject", notice.subject)),
            ("List-Unsubscribe-Post", _header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")),
            ("Auto-Submitted", _header("Auto-Submitted", "auto-generated")),
            ("MIME-Version", _header("MIME-Version", "1.0")),
        ),
        text_type=_header("Content-Type", 'text/plain; charset="utf-8"'),
        html_type=_header("Content-Type", 'text/html; charset="utf-8"'),
        encoding=_header("Content-Transfer-Encoding", "quoted-printable"),
        multipart_type=_header("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
    )


@lru_cache(maxsize=256)
def _list_id(page_name: str, page_id: str, host: str) -> Any:
    """RFC 2919's List-Id of a page's notices: '"Acme status" <page-id.platform-host>'."""
    phrase = re.sub(r'[\\"\r\n]', "", page_name)
    return _header("List-Id", f'"{phrase} status" <{page_id}.{host}>')


def thread_id(incident_id: str, subscriber_id: str, settings: Settings) -> str:
    """The Message-ID every notice of one incident refers to for one subscriber (its thread's root)."""
    return f"<incident.{incident_id}.{subscriber_id}@{settings.PLATFORM_HOST}>"


def _splice_text(template: str, values: Mapping[str, str]) -> str:
    return _HOLE.sub(lambda match: values[match.group(1)], template)


def _part(content_type: Any, encoding: Any, body: str) -> MIMEPart:
    part = MIMEPart(policy=MAIL_POLICY)
    part["Content-Type"] = content_type
    part["Content-Transfer-Encoding"] = encoding
    part.set_payload(binascii.b2a_qp(body.encode(), istext=True).decode("ascii"))
    return part


def render_email(notice: Notice, recipient: Recipient, settings: Settings) -> EmailMessage:
    """The notice as an email to `recipient`: text and HTML parts, threaded per incident.

    The first notice of an incident (or the announcement of a window) is its thread's root for
    this subscriber; later ones reply to it. The Message-ID of the others is the delivery's, so
    a retried delivery is the same message. Raises ValueError when the recipient has no address.
    """
    if not recipient.email:
        raise ValueError(f"delivery {recipient.delivery_id} has no email address")
    prepared = notice._email_prepared
    manage, unsubscribe = _links(notice, recipient)
    message = EmailMessage(policy=MAIL_POLICY)
    for name, value in prepared.headers:
        message[name] = value
    message["To"] = recipient.email
    message["List-Id"] = _list_id(notice.page_name, notice.page_id, settings.PLATFORM_HOST)
    message["Date"] = formatdate(usegmt=True)
    incident = notice.incident
    if incident is not None:
        root = thread_id(incident.id, recipient.subscriber_id, settings)
        if notice.kind in _ROOT_KINDS:
            message["Message-ID"] = root
        else:
            message["Message-ID"] = f"<{recipient.delivery_id}@{settings.PLATFORM_HOST}>"
            message["In-Reply-To"] = root
            message["References"] = root
    else:
        message["Message-ID"] = f"<{recipient.delivery_id}@{settings.PLATFORM_HOST}>"
    message["List-Unsubscribe"] = f"<{unsubscribe}>"
    message["Content-Type"] = prepared.multipart_type
    text = _splice_text(prepared.text, {"manage": manage, "unsubscribe": unsubscribe})
    markup = _splice_text(
        prepared.html, {"manage": str(escape(manage)), "unsubscribe": str(escape(unsubscribe))}
    )
    message.set_payload(
        [
            _part(prepared.text_type, prepared.encoding, text),
            _part(prepared.html_type, prepared.encoding, markup),
        ]
    )
    return message


# --- webhooks --------------------------------------------------------------------------------------


def render_webhook(notice: Notice, recipient: Recipient) -> bytes:
    """The notice in Statuspage's webhook payload shape, with the recipient's unsubscribe URL."""
    _, unsubscribe = _links(notice, recipient)
    return notice._webhook_body.render({"unsubscribe": unsubscribe})


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`v1=` and the hex HMAC-SHA256, keyed by the subscriber's secret, of "<timestamp>." and the body."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def webhook_headers(notice: Notice, recipient: Recipient, body: bytes, *, timestamp: int) -> dict[str, str]:
    """The headers of a webhook POST: event kind, the delivery id (stable across retries, so a
    receiver can drop a duplicate), the time of signing and the signature. Raises ValueError when
    the subscriber has no signing secret."""
    if not recipient.secret:
        raise ValueError(f"delivery {recipient.delivery_id} has no webhook signing secret")
    return {
        "Content-Type": "application/json",
        "User-Agent": "StatusPlatform-Webhooks/1",
        "X-StatusPlatform-Event": notice.kind.value,
        "X-StatusPlatform-Delivery": recipient.delivery_id,
        "X-StatusPlatform-Timestamp": str(timestamp),
        "X-StatusPlatform-Signature": signature(recipient.secret, timestamp, body),
    }


def verify_signature(secret: str, timestamp: int | str, body: bytes, header: str) -> bool:
    """Whether `header` (X-StatusPlatform-Signature) signs `body` at `timestamp` with `secret`.

    Compares in constant time; a header may list several comma-separated signatures (one per
    secret during a rotation), any of which may match. Receivers should also refuse timestamps
    far from their clock, so a captured request cannot be replayed later.
    """
    try:
        expected = signature(secret, int(timestamp), body)
    except (TypeError, ValueError):
        return False
    return any(
        hmac.compare_digest(candidate.strip().encode(), expected.encode()) for candidate in header.split(",")
    )


# --- Slack and Teams -------------------------------------------------------------------------------

_SLACK_HEADER_MAX = 150
_SLACK_TEXT_MAX = 3000


def slack_escape(text: str) -> str:
    """Text safe inside Slack mrkdwn: &, < and > are the only characters Slack wants escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_MD_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_MD_LINK = re.compile(r"\[([^\]\n|]+)\]\((https?://[^\s)|]+)\)")


def slack_mrkdwn(text: str) -> str:
    """Markdown as Slack's mrkdwn: escaped, with bold as *bold* and links as <url|text>."""
    text = _MD_BOLD.sub(lambda m: f"*{m.group(1) or m.group(2)}*", slack_escape(text))
    return _MD_LINK.sub(r"<\2|\1>", text)


def _slack_document(notice: Notice) -> dict[str, Any]:
    text_body, _ = _message(notice)
    summary = f"*{slack_escape(_lead(notice))}*"
    if text_body:
        summary += "\n" + slack_mrkdwn(text_body)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _truncate(notice.headline, _SLACK_HEADER_MAX),
                "emoji": False,
            },
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": _truncate(summary, _SLACK_TEXT_MAX)}},
    ]
    extra = [slack_escape(line) for line in _details(notice)]
    components = _components_lines(notice)
    if components:
        extra.append(f"*{_components_label(notice)}:* " + slack_escape(", ".join(components)))
    if extra:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _truncate("\n".join(extra), _SLACK_TEXT_MAX)},
            }
        )
    blocks += [
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": slack_escape(
                        f"{notice.page_name} · {_posted(notice)} · Now: {notice.status_description}"
                    ),
                }
            ],
        },
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "view",
                    "text": {"type": "plain_text", "text": _link_label(notice)},
                    "url": notice.link_url,
                },
                {
                    "type": "button",
                    "action_id": "manage",
                    "text": {"type": "plain_text", "text": "Manage subscription"},
                    "url": _hole("manage"),
                },
            ],
        },
    ]
    return {
        "text": slack_escape(notice.subject) + f" <{notice.link_url}>",
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }


def render_slack(notice: Notice, recipient: Recipient) -> bytes:
    """The notice as a Slack incoming-webhook message: a fallback `text` and Block Kit blocks."""
    manage, _ = _links(notice, recipient)
    return notice._slack_body.render({"manage": manage})


def _teams_text(text: str) -> str:
    # Teams renders a card's text as Markdown with some HTML: tags in user text must stay text.
    return html.escape(text, quote=False).replace("\n", "\n\n")


def _teams_document(notice: Notice) -> dict[str, Any]:
    text_body, _ = _message(notice)
    facts: list[dict[str, str]] = []
    incident = notice.incident
    if incident is not None:
        facts.append({"name": "Status", "value": _status_word(notice)})
        if not incident.is_maintenance:
            facts.append({"name": "Impact", "value": _IMPACT_LABELS[incident.impact]})
        components = _components_lines(notice)
        if components:
            facts.append({"name": _components_label(notice), "value": _teams_text(", ".join(components))})
    change = notice.component_change
    if change is not None:
        facts.append({"name": "Component", "value": _teams_text(change.name)})
        facts.append({"name": "Was", "value": change.old_status.label if change.old_status else "No status"})
        facts.append({"name": "Now", "value": change.new_status.label})
    facts.append({"name": "Page status", "value": notice.status_description})
    section: dict[str, Any] = {
        "activityTitle": _teams_text(_lead(notice)),
        "activitySubtitle": _posted(notice),
        "facts": facts,
        "markdown": True,
    }
    paragraphs = ([_teams_text(text_body)] if text_body else []) + [_teams_text(d) for d in _details(notice)]
    text = "\n\n".join(paragraphs)
    if text:
        section["text"] = text
    return {
        "@type": "MessageCard",
        "@context": "http://schema.org/extensions",
        "summary": notice.subject,
        "themeColor": _accent(notice),
        "title": _teams_text(notice.subject),
        "sections": [section],
        "potentialAction": [
            {
                "@type": "OpenUri",
                "name": _link_label(notice),
                "targets": [{"os": "default", "uri": notice.link_url}],
            },
            {
                "@type": "OpenUri",
                "name": "Manage subscription",
                "targets": [{"os": "default", "uri": _hole("manage")}],
            },
        ],
    }


def render_teams(notice: Notice, recipient: Recipient) -> bytes:
    """The notice as a Microsoft Teams incoming-webhook MessageCard."""
    manage, _ = _links(notice, recipient)
    return notice._teams_body.render({"manage": manage})


# --- SMS -------------------------------------------------------------------------------------------

_SMS_PAGE_NAME_MAX = 30


def render_sms(notice: Notice, recipient: Recipient) -> str:
    """'[Acme] Investigating: API errors. <incident URL> Manage: <manage URL>', at most
    SMS_MAX_LENGTH characters: the page's and the incident's names are shortened to fit (the
    links never are, so a page whose links alone are longer than that would go over)."""
    manage, _ = _links(notice, recipient)
    before, name, after = notice._headline
    page = _truncate(notice.page_name, _SMS_PAGE_NAME_MAX)
    links = f"{notice.link_url} Manage: {manage}"
    room = SMS_MAX_LENGTH - len(f"[{page}] {before}{after}. {links}")
    headline = f"[{page}] {before}{_truncate(name, max(8, room))}{after}"
    return f"{headline}{' ' if headline.endswith('...') else '. '}{links}"


# --- the quarantine notice -------------------------------------------------------------------------


def quarantine_mail(
    *,
    page_name: str,
    page_url: str,
    endpoint: str,
    reason: str,
    failures: int = QUARANTINE_FAILURES,
    purge_days: int | None = None,
) -> SubscriberMail:
    """The message to a webhook subscriber's contact address: its endpoint failed `failures` times
    within an hour and gets nothing more until it subscribes again or the page's owner reactivates
    it. `reason` is the last failure ("HTTP 500", "timed out after 30 s"); with `purge_days` the
    message says when the subscription will be removed."""
    context = {
        "subject": f"[{page_name}] Webhook notifications stopped",
        "page_name": page_name,
        "page_url": page_url,
        "endpoint": endpoint,
        "reason": reason,
        "failures": failures,
        "purge_days": purge_days,
    }
    return SubscriberMail(
        subject=context["subject"],
        text=_env.get_template("quarantine.txt").render(context),
        html=_env.get_template("quarantine.html").render(context),
    )
