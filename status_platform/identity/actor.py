"""Who performs a write: a staff user, an API key, or the system (CLI, clock)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    label: str
    user_id: str | None = None
    api_key_id: str | None = None
    ip_address: str | None = None


SYSTEM = Actor(label="system")
CLI = Actor(label="command line")
