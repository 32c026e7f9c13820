"""A local SMTP server that keeps every message, and a small web page to read them.

Used by `statusplatform run`, so the double opt-in, magic links and notices of a demo can be
opened in a browser without any real mail server.
"""

from __future__ import annotations

import email
import email.policy
import html
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response


class _SaveHandler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        name = f"{time.time_ns()}.eml"
        (self.folder / name).write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


class MailCatcher:
    """SMTP on `smtp_port`, a web viewer on `web_port`, messages under `folder`."""

    def __init__(
        self, folder: Path, *, host: str = "127.0.0.1", smtp_port: int = 1025, web_port: int = 8025
    ) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.controller = Controller(_SaveHandler(folder), hostname=host, port=smtp_port)
        self.web: BaseWSGIServer = make_server(host, web_port, self._viewer, threaded=True)
        self._thread = threading.Thread(target=self.web.serve_forever, daemon=True)

    @property
    def web_url(self) -> str:
        return f"http://{self.web.host}:{self.web.port}/"

    def start(self) -> None:
        self.controller.start()
        self._thread.start()

    def stop(self) -> None:
        self.web.shutdown()
        self.controller.stop()

    def messages(self) -> list[tuple[str, email.message.EmailMessage]]:
        found = []
        for path in sorted(self.folder.glob("*.eml"), reverse=True):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            found.append((path.stem, message))  # type: ignore[arg-type]
        return found

    def _viewer(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        ident = request.args.get("id", "")
        if ident:
            path = self.folder / f"{ident}.eml"
            if not ident.isdigit() or not path.exists():
                return Response("No such message", status=404)(environ, start_response)
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            part = message.get_body(preferencelist=("plain", "html"))
            text = part.get_content() if part is not None else ""
            body = (
                f"<p><a href='/'>All messages</a></p><h1>{html.escape(str(message['Subject']))}</h1>"
                f"<p>From {html.escape(str(message['From']))} to {html.escape(str(message['To']))}</p>"
                f"<pre style='white-space:pre-wrap'>{html.escape(text)}</pre>"
            )
        else:
            rows = "".join(
                f"<li><a href='/?id={ident}'>{html.escape(str(m['Subject']))}</a> "
                f"<small>to {html.escape(str(m['To']))}, {html.escape(str(m['Date']))}</small></li>"
                for ident, m in self.messages()
            )
            body = f"<h1>Caught mail</h1><ul>{rows or '<li>No messages yet.</li>'}</ul>"
        page = (
            f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Mail catcher</title></head>"
            f"<body style='font-family:system-ui;max-width:900px;margin:2em auto'>{body}</body></html>"
        )
        return Response(page, content_type="text/html; charset=utf-8")(environ, start_response)
