"""Senders per channel, each holding its connections for a whole delivery job.

Webhook, Slack and Teams share one pooled aiohttp client (status_platform.egress: addresses are
checked when connecting, redirects are failures, 2xx within 30 s is success) and send a batch
concurrently. Email opens one SMTP session per batch. SMS reuses one HTTP client to Twilio.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Protocol

import httpx

from status_platform import egress
from status_platform.config import Settings
from status_platform.sms import SmsError, send_sms
from tenants.subscribers.links import Recipient
from tenants.subscribers.messages import (
    Notice,
    render_email,
    render_slack,
    render_sms,
    render_teams,
    render_webhook,
    webhook_headers,
)
from tenants.subscribers.models import Channel

JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one delivery attempt."""

    recipient: Recipient
    ok: bool
    status_code: int | None = None
    error: str | None = None
    duration_ms: int | None = None
    # The address itself is refused (no retry): a mailbox that does not exist, a number Twilio refuses.
    permanent: bool = False
    # Not attempted at all (the subscriber left, the event is gone).
    cancelled: bool = False
    # Not attempted this time (the batch ran out of time): due again at once, no attempt spent.
    released: bool = False
    # Not worth retrying, but no fault of the address (the message could not be built).
    give_up: bool = False


Item = tuple[Notice, Recipient]


class Sender(Protocol):
    batch_size: int

    def send(self, items: Sequence[Item], *, deadline: float) -> list[Outcome]:
        """Send each item, starting none after `deadline` (time.monotonic()): those are released."""
        ...


def _released(recipient: Recipient) -> Outcome:
    return Outcome(recipient, ok=False, error="not sent in time; released for the next batch", released=True)


def _unrenderable(recipient: Recipient, error: Exception) -> Outcome:
    # A notice that cannot be built for this subscriber fails alone, for good.
    return Outcome(recipient, ok=False, error=f"the message could not be built: {error}", give_up=True)


class HttpSender:
    """Webhook, Slack and Teams: concurrent POSTs over one pooled, egress-checked client."""

    def __init__(self, channel: Channel, settings: Settings) -> None:
        self.channel = channel
        self.settings = settings
        self.concurrency = settings.DELIVERY_CONCURRENCY
        self.batch_size = max(self.concurrency * 5, 50)
        self.loop = asyncio.new_event_loop()
        self.session = self.loop.run_until_complete(self._open())

    async def _open(self) -> object:
        return egress.open_http(self.settings, limit=self.concurrency)

    def _request(self, notice: Notice, recipient: Recipient) -> tuple[bytes, dict[str, str]]:
        if self.channel is Channel.WEBHOOK:
            body = render_webhook(notice, recipient)
            return body, webhook_headers(notice, recipient, body, timestamp=int(time.time()))
        if self.channel is Channel.SLACK:
            return render_slack(notice, recipient), JSON_HEADERS
        return render_teams(notice, recipient), JSON_HEADERS

    async def _send_all(self, items: Sequence[Item], deadline: float) -> list[Outcome]:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(notice: Notice, recipient: Recipient) -> Outcome:
            try:
                body, headers = self._request(notice, recipient)
            except (ValueError, KeyError, TypeError) as error:
                return _unrenderable(recipient, error)
            async with gate:
                if time.monotonic() > deadline:
                    return _released(recipient)
                result = await egress.post(
                    self.session,  # type: ignore[arg-type]
                    recipient.endpoint or "",
                    body,
                    headers,
                    settings=self.settings,
                )
            return Outcome(
                recipient,
                ok=result.ok,
                status_code=result.status,
                error=None if result.ok else (result.error or f"HTTP {result.status}"),
                duration_ms=result.duration_ms,
            )

        return list(await asyncio.gather(*(one(notice, recipient) for notice, recipient in items)))

    def send(self, items: Sequence[Item], *, deadline: float) -> list[Outcome]:
        if not items:
            return []
        return self.loop.run_until_complete(self._send_all(items, deadline))

    def close(self) -> None:
        self.loop.run_until_complete(self.session.close())  # type: ignore[attr-defined]
        self.loop.close()


class EmailSender:
    """One SMTP session per batch; a refused recipient fails alone, a lost connection fails the rest."""

    batch_size = 100

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _connect(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self.settings.SMTP_HOST, self.settings.SMTP_PORT, timeout=30)
        if self.settings.SMTP_STARTTLS:
            smtp.starttls(context=ssl.create_default_context())
        if self.settings.SMTP_USERNAME:
            smtp.login(self.settings.SMTP_USERNAME, self.settings.SMTP_PASSWORD)
        return smtp

    def send(self, items: Sequence[Item], *, deadline: float) -> list[Outcome]:
        if not items:
            return []
        outcomes: list[Outcome] = []
        messages: list[tuple[Recipient, EmailMessage]] = []
        for notice, recipient in items:
            try:
                messages.append((recipient, render_email(notice, recipient, self.settings)))
            except (ValueError, KeyError, TypeError) as error:
                outcomes.append(_unrenderable(recipient, error))
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as error:
            reason = f"the mail server could not be reached: {error}"
            return outcomes + [Outcome(recipient, ok=False, error=reason) for recipient, _ in messages]
        envelope_sender = parseaddr(self.settings.MAIL_FROM)[1]
        with smtp:
            for index, (recipient, message) in enumerate(messages):
                if time.monotonic() > deadline:
                    outcomes.extend(_released(r) for r, _ in messages[index:])
                    break
                started = time.perf_counter()
                try:
                    # The envelope is the platform's own address, whatever the page's From says.
                    smtp.send_message(message, from_addr=envelope_sender)
                except smtplib.SMTPRecipientsRefused as error:
                    code, text = next(iter(error.recipients.values()), (550, b""))
                    outcomes.append(_smtp_refused(recipient, code, text, started, for_recipient=True))
                except smtplib.SMTPResponseException as error:
                    # Refused for the sender or the content: the platform's problem, never the address's.
                    outcomes.append(_smtp_refused(recipient, error.smtp_code, error.smtp_error, started))
                except (OSError, smtplib.SMTPException) as error:
                    reason = f"the mail server connection was lost: {error}"
                    outcomes.extend(Outcome(r, ok=False, error=reason) for r, _ in messages[index:])
                    break
                else:
                    outcomes.append(Outcome(recipient, ok=True, status_code=250, duration_ms=_ms(started)))
        return outcomes

    def close(self) -> None:
        pass


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _smtp_refused(
    recipient: Recipient, code: int, text: bytes | str, started: float, *, for_recipient: bool = False
) -> Outcome:
    message = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return Outcome(
        recipient,
        ok=False,
        status_code=code,
        error=f"the mail server refused it ({code} {message})".strip(),
        duration_ms=_ms(started),
        # A 5xx answer to RCPT refuses this address for good (no such mailbox); 4xx is worth a retry.
        permanent=for_recipient and 500 <= code < 600,
    )


class SmsSender:
    """Twilio's Messages API over one reused HTTP client."""

    batch_size = 50

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = httpx.Client(timeout=httpx.Timeout(10.0, connect=5.0), trust_env=False)

    def send(self, items: Sequence[Item], *, deadline: float) -> list[Outcome]:
        outcomes = []
        for notice, recipient in items:
            if time.monotonic() > deadline:
                outcomes.append(_released(recipient))
                continue
            started = time.perf_counter()
            try:
                body = render_sms(notice, recipient)
            except (ValueError, KeyError, TypeError) as error:
                outcomes.append(_unrenderable(recipient, error))
                continue
            try:
                send_sms(self.settings, to=recipient.phone_number or "", body=body, client=self.client)
            except SmsError as error:
                outcomes.append(
                    Outcome(
                        recipient,
                        ok=False,
                        status_code=error.status_code,
                        error=str(error),
                        duration_ms=_ms(started),
                        permanent=error.is_permanent,
                    )
                )
            else:
                outcomes.append(Outcome(recipient, ok=True, status_code=201, duration_ms=_ms(started)))
        return outcomes

    def close(self) -> None:
        self.client.close()


@contextmanager
def open_sender(channel: Channel, settings: Settings) -> Iterator[HttpSender | EmailSender | SmsSender]:
    """The sender of `channel`, its connections closed when the job is done."""
    sender: HttpSender | EmailSender | SmsSender
    if channel is Channel.EMAIL:
        sender = EmailSender(settings)
    elif channel is Channel.SMS:
        sender = SmsSender(settings)
    else:
        sender = HttpSender(channel, settings)
    try:
        yield sender
    finally:
        sender.close()
