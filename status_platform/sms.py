"""Text messages through Twilio's Messages API: sent by a job after the commit, like platform mail."""

from __future__ import annotations

import httpx

from status_platform.config import Settings

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


# Twilio error codes that refuse the number itself (invalid, not a mobile, opted out with STOP):
# sending again cannot succeed. https://www.twilio.com/docs/api/errors
PERMANENT_TWILIO_CODES = frozenset({21211, 21214, 21407, 21610, 21614})


class SmsError(RuntimeError):
    """Twilio refused the message, could not be reached, or is not configured.

    `status_code` is Twilio's HTTP status (None when it was not reached); `is_permanent` says
    the number itself is refused, so a retry would fail the same way.
    """

    def __init__(
        self, message: str, *, status_code: int | None = None, twilio_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.twilio_code = twilio_code

    @property
    def is_permanent(self) -> bool:
        return self.twilio_code in PERMANENT_TWILIO_CODES


def messages_url(settings: Settings) -> str:
    """The Messages resource of the configured account (TWILIO_API_BASE makes it testable)."""
    base = settings.TWILIO_API_BASE.rstrip("/")
    return f"{base}/2010-04-01/Accounts/{settings.TWILIO_ACCOUNT_SID}/Messages.json"


def send_sms(settings: Settings, *, to: str, body: str, client: httpx.Client | None = None) -> str:
    """Send `body` to the E.164 number `to`; returns the message's Twilio sid.

    TWILIO_FROM is a sending number, or a Messaging Service sid (`MG…`). Raises SmsError when
    the settings are incomplete, Twilio cannot be reached, or it answers other than 2xx (its
    error code and message are kept in the error).
    """
    if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN and settings.TWILIO_FROM):
        raise SmsError("SMS is not configured: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM.")
    sender = "MessagingServiceSid" if settings.TWILIO_FROM.startswith("MG") else "From"
    form = {"To": to, sender: settings.TWILIO_FROM, "Body": body}
    auth = (settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    try:
        if client is not None:
            response = client.post(messages_url(settings), data=form, auth=auth, timeout=TIMEOUT)
        else:
            with httpx.Client(timeout=TIMEOUT, trust_env=False) as own:
                response = own.post(messages_url(settings), data=form, auth=auth)
    except httpx.HTTPError as error:
        raise SmsError(f"Twilio could not be reached: {error}") from error
    if not response.is_success:
        raise SmsError(
            f"Twilio refused the message to {to} (HTTP {response.status_code}): {_reason(response)}",
            status_code=response.status_code,
            twilio_code=_code(response),
        )
    try:
        sid = response.json().get("sid")
    except ValueError:
        sid = None
    return sid if isinstance(sid, str) else ""


def _reason(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(data, dict) and data.get("message"):
        code = f" (Twilio error {data['code']})" if data.get("code") else ""
        return f"{str(data['message']).rstrip('.')}{code}"
    return response.reason_phrase


def _code(response: httpx.Response) -> int | None:
    try:
        data = response.json()
    except ValueError:
        return None
    code = data.get("code") if isinstance(data, dict) else None
    return code if isinstance(code, int) else None
