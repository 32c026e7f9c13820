"""A CSV import of the admin: the file uploaded for it, kept on the server from its preview to the
import (an hour in Redis, bound to the organization, the page and the member who uploaded it), and
its two screens, the upload form and the preview.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Callable
from typing import Any, Generic

import redis
from flask import current_app, g, render_template, request
from sqlalchemy.orm import Session

from status_platform.csv_import import FILE_FIELD, MAX_BYTES, MAX_ROWS, ImportPreview, LineT, decode_upload
from status_platform.db.session import db
from status_platform.errors import ValidationError
from status_platform.jobs.queues import get_redis
from tenants.pages.models import Page

# An uploaded file waits this long between its preview and the import.
KEEP_SECONDS = 3600
_TOKEN = re.compile(r"[0-9a-f]{32}")


class CsvImport(Generic[LineT]):
    """One kind of import (`kind`, e.g. "viewer-import"): its files, each named by a random token
    and checked against the current page by `check` (a feature's `preview_import`), and its two
    screens, the templates import.html and preview.html in `templates`, each also given what its
    `*_context` function answers.
    """

    def __init__(
        self,
        kind: str,
        check: Callable[[Session, Page, str], ImportPreview[LineT]],
        *,
        templates: str,
        form_context: Callable[[], dict[str, Any]],
        preview_context: Callable[[], dict[str, Any]],
    ) -> None:
        self.kind = kind
        self.check = check
        self.templates = templates
        self.form_context = form_context
        self.preview_context = preview_context

    def form(self, errors: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
        """The upload form, with the file's limits."""
        return render_template(
            f"{self.templates}/import.html",
            errors=errors or {},
            max_bytes=MAX_BYTES,
            max_rows=MAX_ROWS,
            **self.form_context(),
        ), status

    def preview_page(
        self,
        preview: ImportPreview[LineT],
        token: str,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> tuple[str, int]:
        """The preview of a file: each line checked, and the form importing the file kept under `token`."""
        return render_template(
            f"{self.templates}/preview.html",
            preview=preview,
            token=token,
            errors=errors or {},
            **self.preview_context(),
        ), status

    def _key(self, token: str) -> str:
        prefix = current_app.config["SETTINGS"].RQ_QUEUE_PREFIX
        # Bound to the organization, the page and the member who uploaded it.
        return f"{prefix}:{self.kind}:{g.tenant.id}:{g.page.id}:{g.user_id}:{token}"

    def put(self, content: str) -> str:
        """Keep an uploaded file's text on the server until the import; returns the token naming it."""
        token = secrets.token_hex(16)
        try:
            get_redis().set(self._key(token), content.encode(), ex=KEEP_SECONDS)
        except redis.RedisError:
            raise ValidationError(
                "The file cannot be kept for the import right now; try again in a minute.", field=FILE_FIELD
            ) from None
        return token

    def get(self, token: str) -> str:
        """The text kept under `token`; ValidationError (field `file`) once it has expired or gone."""
        expired = ValidationError(
            "This preview has expired (a file waits an hour for its import); upload the file again.",
            field=FILE_FIELD,
        )
        if not _TOKEN.fullmatch(token):
            raise expired
        try:
            content = get_redis().get(self._key(token))
        except redis.RedisError:
            content = None
        if content is None:
            raise expired
        return bytes(content).decode()  # type: ignore[arg-type]

    def drop(self, token: str) -> None:
        """Forget the file kept under `token`, once imported."""
        with contextlib.suppress(redis.RedisError):  # else it expires on its own
            get_redis().delete(self._key(token))

    def check_posted(self) -> tuple[ImportPreview[LineT], str]:
        """The CSV file posted as `file` checked against the page, and the token it is kept under
        ("" when no line of it can be imported: nothing is kept). Raises ValidationError (field
        `file`) for no file or one that is not a CSV file of this kind."""
        upload = request.files.get(FILE_FIELD)
        if upload is None or not upload.filename:
            raise ValidationError("Choose a CSV file to import.", field=FILE_FIELD)
        content = decode_upload(upload.stream.read(MAX_BYTES + 1))
        checked = self.check(db, g.page, content)
        return checked, self.put(content) if checked.valid else ""

    def check_kept(self, token: str) -> ImportPreview[LineT]:
        """The file kept under `token` checked again against the page as it is now: the preview
        the browser saw proves nothing."""
        return self.check(db, g.page, self.get(token))
