"""Platform mail (password resets, invitations): built here, sent by a job after the commit."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy.orm import Session

from status_platform.config import Settings, active_settings
from status_platform.jobs.enqueue import enqueue_after_commit


def build_message(
    settings: Settings, *, to: str, subject: str, text: str, html: str | None = None
) -> EmailMessage:
    """A message from MAIL_FROM with a plain-text part and, when given, an HTML alternative."""
    message = EmailMessage()
    message["From"] = settings.MAIL_FROM
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.PLATFORM_HOST)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def send_messages(settings: Settings, messages: list[EmailMessage]) -> None:
    """Send `messages` over one SMTP session (STARTTLS and login when configured)."""
    with smtplib.SMTP(settings.SMTP_HOST, settings.SMTP_PORT, timeout=30) as smtp:
        if settings.SMTP_STARTTLS:
            smtp.starttls(context=ssl.create_default_context())
        if settings.SMTP_USERNAME:
            smtp.login(settings.SMTP_USERNAME, settings.SMTP_PASSWORD)
        for message in messages:
            smtp.send_message(message)


def deliver_platform_mail(to: str, subject: str, text: str, html: str | None = None) -> None:
    """Job: send one platform message with the process's settings. RQ retries it on failure."""
    settings = active_settings()
    send_messages(settings, [build_message(settings, to=to, subject=subject, text=text, html=html)])


def send_after_commit(session: Session, *, to: str, subject: str, text: str, html: str | None = None) -> None:
    """Send a platform message once `session` commits (never for a write that rolls back)."""
    enqueue_after_commit(session, deliver_platform_mail, to, subject, text, html, retries=3)
