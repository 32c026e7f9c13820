"""Who performs a write: a staff user (with their role), an API key, or the system (CLI, clock)."""

from __future__ import annotations

from dataclasses import dataclass

from status_platform.tenancy.models import Role


@dataclass(frozen=True)
class Actor:
    """The author of a write, as the audit log records it and the services authorize it.

    A staff user or API key carries `role`, its role in the organization written to; the
    platform's own processes set `is_system` instead. An actor with neither may write nothing.
    """

    label: str
    user_id: str | None = None
    api_key_id: str | None = None
    ip_address: str | None = None
    role: Role | None = None
    is_system: bool = False


SYSTEM = Actor(label="system", is_system=True)
CLI = Actor(label="command line", is_system=True)
