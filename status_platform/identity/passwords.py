"""Password hashing with argon2id."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from status_platform.errors import ValidationError

_hasher = PasswordHasher()
MIN_LENGTH = 8
MAX_LENGTH = 1024


def check_password_rules(password: str, *, field: str = "password") -> None:
    """Raise ValidationError unless `password` is acceptable for a new account."""
    if len(password) < MIN_LENGTH:
        raise ValidationError(f"The password must be at least {MIN_LENGTH} characters long.", field=field)
    if len(password) > MAX_LENGTH:
        raise ValidationError(f"The password must be at most {MAX_LENGTH} characters long.", field=field)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; False for a wrong password or an account without one."""
    if not password_hash or len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
