"""Public identifiers: short random strings in Statuspage's form, never sequential numbers."""

from __future__ import annotations

import secrets

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
ID_LENGTH = 12


def new_id() -> str:
    """A fresh 12-character lowercase base36 identifier, e.g. ``2ds8xwm5rnyc``."""
    return "".join(secrets.choice(ALPHABET) for _ in range(ID_LENGTH))


def new_ids(count: int) -> list[str]:
    """`count` fresh identifiers of new_id's form, drawn fast enough for batches of thousands.

    Each is 62 random bits written in base36 (36**12 > 2**62), padded to ID_LENGTH.
    """
    ids = []
    for _ in range(count):
        value = secrets.randbits(62)
        chars = []
        while value:
            value, digit = divmod(value, 36)
            chars.append(ALPHABET[digit])
        ids.append("".join(reversed(chars)).rjust(ID_LENGTH, ALPHABET[0]))
    return ids
