"""Fixed-window attempt counters in Redis, to refuse bursts of sign-in, sign-up and reset attempts.

A window opens at the first attempt counted for a subject and lasts `window_seconds`; once
`attempts` have been counted in it, `seconds_left` tells how long the subject must wait.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass

import redis

from status_platform.config import active_settings
from status_platform.jobs.queues import get_redis

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """At most `attempts` counted attempts per subject in `window_seconds`."""

    name: str  # what is counted, e.g. "login-account"; part of the Redis key
    attempts: int
    window_seconds: int


def _key(limit: Limit, subject: str) -> str:
    # Subjects are email and IP addresses: hashed, so Redis holds none of them in clear.
    digest = hashlib.sha256(subject.strip().lower().encode()).hexdigest()[:32]
    return f"{active_settings().RQ_QUEUE_PREFIX}:ratelimit:{limit.name}:{digest}"


def hit(limit: Limit, subject: str) -> int:
    """Count one attempt of `subject`; returns how many the current window holds (0 if Redis is down)."""
    key = _key(limit, subject)
    try:
        pipe = get_redis().pipeline(transaction=True)
        # Creating the counter with its expiry and incrementing it in one MULTI is the
        # INCR + EXPIRE of a fixed window without the gap in which a counter could lose its TTL.
        pipe.set(key, 0, ex=limit.window_seconds, nx=True)
        pipe.incr(key)
        _, count = pipe.execute()
    except redis.RedisError:
        log.exception("could not count an attempt for %s", limit.name)
        return 0
    return int(count)


def seconds_left(limit: Limit, subject: str) -> int:
    """0 while `subject` may try again, else the seconds until its window closes.

    Sign-in must keep working while Redis is unreachable, so an unreadable counter allows the
    attempt (the slow password hash still bounds guessing).
    """
    key = _key(limit, subject)
    try:
        pipe = get_redis().pipeline(transaction=True)
        pipe.get(key)
        pipe.ttl(key)
        count, ttl = pipe.execute()
    except redis.RedisError:
        log.exception("could not read the attempts for %s", limit.name)
        return 0
    if count is None or int(count) < limit.attempts:
        return 0
    return int(ttl) if int(ttl) > 0 else limit.window_seconds


def reset(limit: Limit, subject: str) -> None:
    """Forget the attempts of `subject` (after a successful sign-in or password reset)."""
    try:
        get_redis().delete(_key(limit, subject))
    except redis.RedisError:
        log.exception("could not reset the attempts for %s", limit.name)


def try_again_in(seconds: int) -> str:
    """'Try again in 15 minutes.' for a wait of `seconds` (rounded up to whole minutes)."""
    minutes = max(1, math.ceil(seconds / 60))
    return f"Try again in {minutes} minute{'' if minutes == 1 else 's'}."
