"""Viewers in CSV: reading an import file into checked rows, each a viewer to add or the reason it cannot be.

An import file is UTF-8 text whose first line names its columns: `email`, and optionally
`audiences` (audience names or ids, separated by `;`). Other columns are ignored. Every row is
checked against the page as it is now; the file is never trusted to have been checked before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.csv_import import CheckedLine, CsvFormat, ImportPreview, cell, refuse_repeats
from status_platform.errors import ValidationError
from tenants.audiences.models import Audience, Viewer
from tenants.audiences.schemas import clean_viewer_email
from tenants.pages.models import Page

FORMAT = CsvFormat(
    kind="viewer",
    items="viewers",
    columns=("email", "audiences"),
    required=("email",),
    example="email,audiences",
    aliases={
        "email_address": "email",
        "e_mail": "email",
        "audience": "audiences",
        "audience_names": "audiences",
        "groups": "audiences",
        "page_access_groups": "audiences",
    },
    # A `;` also separates the audiences of a cell, so a tab is tried before it.
    delimiters=(",", "\t", ";"),
)
_SEPARATOR = re.compile(r";")


@dataclass(frozen=True)
class ImportRow(CheckedLine):
    """One line of an import file: the viewer it would add, or why it cannot be added."""

    email: str = ""
    audience_ids: tuple[str, ...] = ()
    audience_names: tuple[str, ...] = ()


class _Audiences:
    """The page's audiences, found by id or by name (without case)."""

    def __init__(self, session: Session, page_id: str) -> None:
        self.by_id: dict[str, Audience] = {}
        self.by_name: dict[str, Audience] = {}
        for audience in session.scalars(select(Audience).where(Audience.page_id == page_id)):
            self.by_id[audience.id] = audience
            self.by_name[audience.name.strip().lower()] = audience

    def find(self, cell: str) -> list[Audience]:
        """The audiences a cell names, or ValidationError naming the first unknown one."""
        found: list[Audience] = []
        for part in _SEPARATOR.split(cell):
            name = part.strip()
            if not name:
                continue
            audience = self.by_id.get(name) or self.by_name.get(name.lower())
            if audience is None:
                raise ValidationError(f"Unknown audience: “{name}”.")
            if audience not in found:
                found.append(audience)
        return found


def _parse_row(line: int, record: dict[str, str], audiences: _Audiences) -> ImportRow:
    raw = cell(record, "email")
    if not raw:
        return ImportRow(line=line, error="This line has no email address.")
    try:
        email = clean_viewer_email(raw)
        found = audiences.find(cell(record, "audiences"))
    except ValidationError as error:
        return ImportRow(line=line, email=raw, error=error.message)
    return ImportRow(
        line=line,
        email=email,
        audience_ids=tuple(audience.id for audience in found),
        audience_names=tuple(audience.name for audience in found),
    )


def preview_import(session: Session, page: Page, text: str) -> ImportPreview[ImportRow]:
    """Every line of an import file checked against `page`: the viewer it adds, or why it cannot.

    A line is refused for a missing or invalid address, an audience the page does not have, a
    repeat of an earlier line, or an address that is a viewer of the page already. Raises
    ValidationError (field `file`) for a file that is not a viewer CSV or holds more than
    MAX_ROWS lines. Reads only.
    """
    records = FORMAT.records(text)
    audiences = _Audiences(session, page.id)
    rows = refuse_repeats(
        (_parse_row(line, record, audiences) for line, record in records), lambda row: row.email, _refuse
    )
    taken = _existing(session, page.id, [row.email for row in rows if row.is_valid])
    return ImportPreview(
        rows=tuple(
            _refuse(row, "Already a viewer of this page.") if row.is_valid and row.email in taken else row
            for row in rows
        )
    )


def _existing(session: Session, page_id: str, emails: list[str]) -> set[str]:
    taken: set[str] = set()
    for start in range(0, len(emails), 500):
        chunk = emails[start : start + 500]
        taken.update(
            session.scalars(select(Viewer.email).where(Viewer.page_id == page_id, Viewer.email.in_(chunk)))
        )
    return taken


def _refuse(row: ImportRow, reason: str) -> ImportRow:
    return ImportRow(line=row.line, email=row.email, error=reason)
