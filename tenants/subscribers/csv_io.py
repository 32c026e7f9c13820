"""Subscribers in CSV: reading an import file into checked rows, and writing the manager's list out.

An import file is UTF-8 text whose first line names its columns: `email`, `phone_number`,
`endpoint`, `channel` and `components` (names or ids, separated by `;` or `|`); other columns are
ignored, so an export can be read back. A row's channel is its `channel` cell, else the address
it gives (an endpoint is a webhook, a phone number SMS, else email); a webhook's `email`, which
it needs, is the contact told when it keeps failing. Every row is checked against the page as
it is now; the file is never trusted to have been checked before.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.csv_import import (
    FORMULA_STARTS,
    CheckedLine,
    CsvFormat,
    ImportPreview,
    cell,
    refuse_repeats,
)
from status_platform.errors import ValidationError
from status_platform.tenancy.plans import plan_of
from status_platform.validation import clean_email
from tenants.components.models import Component
from tenants.pages.models import Page
from tenants.subscribers.models import Channel
from tenants.subscribers.queries import SubscriberRow, subscribed_addresses
from tenants.subscribers.schemas import ADDRESS_FIELDS, check_channel_allowed, clean_address

ADDRESS_COLUMNS = ("email", "phone_number", "endpoint")
FORMAT = CsvFormat(
    kind="subscriber",
    items="subscribers",
    columns=(*ADDRESS_COLUMNS, "channel", "components"),
    required=ADDRESS_COLUMNS,
    example="email,phone_number,endpoint,channel,components",
    aliases={
        "email_address": "email",
        "e_mail": "email",
        "phone": "phone_number",
        "sms": "phone_number",
        "url": "endpoint",
        "webhook": "endpoint",
        "webhook_url": "endpoint",
        "type": "channel",
        "mode": "channel",
        "component": "components",
        "component_ids": "components",
    },
)
_COMPONENT_SEPARATORS = re.compile(r"[;|]")
EXPORT_COLUMNS = (
    "channel",
    "email",
    "phone_number",
    "endpoint",
    "components",
    "incident",
    "state",
    "created_at",
    "confirmed_at",
    "last_notified_at",
    "quarantine_reason",
)


@dataclass(frozen=True)
class ImportRow(CheckedLine):
    """One line of an import file: what it would add, or why it cannot be added."""

    channel: Channel | None = None
    address: str = ""  # the clean address: a lower-cased email, an E.164 number, a URL
    contact_email: str | None = None
    component_ids: tuple[str, ...] = ()
    component_names: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[Channel | None, str]:
        """What makes two rows the same subscription."""
        return self.channel, self.address.lower() if self.channel is Channel.EMAIL else self.address


class _Components:
    """The page's components, found by id or by name (without case)."""

    def __init__(self, session: Session, page_id: str) -> None:
        self.by_id: dict[str, Component] = {}
        self.by_name: dict[str, list[Component]] = {}
        for component in session.scalars(select(Component).where(Component.page_id == page_id)):
            self.by_id[component.id] = component
            self.by_name.setdefault(component.name.strip().lower(), []).append(component)

    def find(self, cell: str) -> list[Component]:
        """The components a cell names, or ValidationError naming the first unknown or ambiguous one."""
        if not cell:
            return []
        whole = self._one(cell, strict=False)
        if whole is not None:
            return [whole]
        found: list[Component] = []
        for part in _COMPONENT_SEPARATORS.split(cell):
            if part.strip():
                component = self._one(part.strip(), strict=True)
                assert component is not None
                if component not in found:
                    found.append(component)
        return found

    def _one(self, text: str, *, strict: bool) -> Component | None:
        if text in self.by_id:
            return self.by_id[text]
        named = self.by_name.get(text.lower(), [])
        if len(named) > 1:
            raise ValidationError(f"Several components are called “{text}”: name it by its id.")
        if named:
            return named[0]
        if strict:
            raise ValidationError(f"Unknown component: “{text}”.")
        return None


def _channel_of(record: dict[str, str]) -> Channel:
    given = cell(record, "channel").lower()
    if given:
        try:
            return Channel(given)
        except ValueError:
            names = ", ".join(channel.value for channel in Channel)
            raise ValidationError(f"Unknown channel “{given}” (use {names}).") from None
    if cell(record, "endpoint"):
        return Channel.WEBHOOK
    if cell(record, "phone_number"):
        return Channel.SMS
    return Channel.EMAIL


def _parse_row(
    line: int, record: dict[str, str], components: _Components, refused: dict[Channel, str]
) -> ImportRow:
    try:
        channel = _channel_of(record)
    except ValidationError as error:
        return ImportRow(line=line, error=error.message)
    column = ADDRESS_FIELDS[channel]
    raw = cell(record, column)
    if channel in refused:
        return ImportRow(line=line, channel=channel, address=raw, error=refused[channel])
    if not raw:
        what = {"email": "email address", "phone_number": "phone number", "endpoint": "URL"}[column]
        return ImportRow(line=line, channel=channel, error=f"This {channel.value} line has no {what}.")
    try:
        address = clean_address(channel, raw)[column]
        contact = None
        if channel is Channel.WEBHOOK:
            if not cell(record, "email"):
                raise ValidationError("A webhook needs an email address to tell if it keeps failing.")
            contact = clean_email(cell(record, "email"), label="The contact email")
        found = components.find(cell(record, "components"))
    except ValidationError as error:
        return ImportRow(line=line, channel=channel, address=raw, error=error.message)
    return ImportRow(
        line=line,
        channel=channel,
        address=address,
        contact_email=contact,
        component_ids=tuple(component.id for component in found),
        component_names=tuple(component.name for component in found),
    )


def _refused_channels(session: Session, page: Page) -> dict[Channel, str]:
    """The channels the page (or the organization's plan) does not take subscribers on, and why."""
    refused: dict[Channel, str] = {}
    for channel in Channel:
        try:
            check_channel_allowed(page, channel, for_incident=False)
        except ValidationError as error:
            refused[channel] = error.message
    if Channel.SMS not in refused:
        plan = plan_of(session, page.tenant_id)
        if not plan.allows_sms:
            refused[Channel.SMS] = f"The {plan.name} plan does not include SMS notifications."
    return refused


def preview_import(session: Session, page: Page, text: str) -> ImportPreview[ImportRow]:
    """Every line of an import file checked against `page`: what it adds, or why it cannot.

    A line is refused for a channel the page does not take, an invalid address, a component
    the page does not have, a repeat of an earlier line, or an address already subscribed to
    the whole page. Raises ValidationError (field `file`) for a file that is not a subscriber
    CSV or holds more than MAX_ROWS lines. Reads only.
    """
    records = FORMAT.records(text)
    components = _Components(session, page.id)
    refused = _refused_channels(session, page)
    rows = refuse_repeats(
        (_parse_row(line, record, components, refused) for line, record in records),
        lambda row: row.key,
        _refuse,
    )
    for channel in Channel:
        addresses = [row.address for row in rows if row.is_valid and row.channel is channel]
        if not addresses:
            continue
        taken = subscribed_addresses(session, page.id, channel, addresses)
        rows = [
            _refuse(row, "Already subscribed to this page.")
            if row.is_valid and row.channel is channel and row.key[1] in taken
            else row
            for row in rows
        ]
    return ImportPreview(rows=tuple(rows))


def _refuse(row: ImportRow, reason: str) -> ImportRow:
    return ImportRow(line=row.line, channel=row.channel, address=row.address, error=reason)


# --- export ---------------------------------------------------------------------------------------


def safe_cell(value: object) -> str:
    """A cell's text, quoted with a leading ' when a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _stamp(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _export_line(row: SubscriberRow) -> list[str]:
    subscriber = row.subscriber

    return [
        subscriber.channel.value,
        subscriber.email or "",
        subscriber.phone_number or "",
        subscriber.endpoint or "",
        "; ".join(row.component_names),
        row.incident_name or "",
        subscriber.state.value,
        _stamp(subscriber.created_at),
        _stamp(subscriber.confirmed_at),
        _stamp(subscriber.last_notified_at),
        subscriber.quarantine_reason or "",
    ]


def export_csv(rows: Iterable[SubscriberRow]) -> str:
    """The subscribers as CSV text with a header line, every cell guarded against formulas."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in _export_line(row)])
    return out.getvalue()
