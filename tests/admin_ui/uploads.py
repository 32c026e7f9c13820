"""Helpers of the CSV import tests: posting a file to a preview and reading the preview's lines."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Any

from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.conftest import csrf_token


def upload_csv(client: FlaskClient, url: str, content: bytes, name: str) -> Any:
    """POST `content` as the CSV file `name` to `url`, as the signed-in browser would."""
    token = csrf_token(client.get("/login").get_data(as_text=True))
    # Encoded here, in memory: the test client would spool a large body to a file it never closes.
    boundary, body = encode_multipart(
        {
            "csrf_token": token,
            "file": FileStorage(io.BytesIO(content), filename=name, content_type="text/csv"),
        }
    )
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def preview_line(html: str, line: int) -> str:
    """The cells of one line of the file in an import preview, after its number."""
    match = re.search(rf"<tr[^>]*>\s*<td>{line}</td>(.*?)</tr>", html, re.S)
    assert match, f"line {line} is not in the preview"
    return match.group(1)


def assert_preview_lines(html: str, expected: Mapping[int, str | tuple[str, ...]]) -> None:
    """Each numbered line of an import preview shows every text expected of it."""
    for line, texts in expected.items():
        cells = preview_line(html, line)
        for text in (texts,) if isinstance(texts, str) else texts:
            assert text in cells, (line, text, cells)


def preview_token(html: str) -> str:
    """The token naming the file an import preview kept for its import."""
    match = re.search(r'name="token" value="([0-9a-f]{32})"', html)
    assert match, "the preview has no import form"
    return match.group(1)
