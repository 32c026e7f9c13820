"""Public identifiers: short random strings in Statuspage's form, never sequential numbers."""

from __future__ import annotations

import secrets

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
ID_LENGTH = 12


def new_id() -> str:
    """A fresh 12-character lowercase base36 identifier, e.g. ``2ds8xwm5rnyc``."""
    return "".join(secrets.choice(ALPHABET) for _ in range(ID_LENGTH))
