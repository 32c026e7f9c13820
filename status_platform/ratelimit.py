"""Fixed-window attempt counters in Redis, to refuse bursts of sign-in, sign-up and reset attempts.

A window opens at the first attempt counted for a subject and lasts `window_seconds`. An
attempt is counted before it is judged (`attempt`, or `hit` and a comparison with `attempts`):
checking first and counting afterwards would let parallel requests all pass the check. A
success that should not count is given back with `forgive` (or `reset` for the whole window).
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass

import redis

from status_platform.config import Settings, active_settings
from status_platform.jobs.queues import get_redis

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """At most `attempts` counted attempts per subject in `window_seconds`."""

    name: str  # what is counted, e.g. "login-account"; part of the Redis key
    attempts: int
    window_seconds: int


def login_limits(settings: Settings, scope: str = "login") -> tuple[Limit, Limit]:
    """Sign-in attempts allowed per account and per network (LOGIN_* settings), named by `scope`."""
    return (
        Limit(f"{scope}-account", settings.LOGIN_ATTEMPTS_PER_ACCOUNT, settings.LOGIN_WINDOW_SECONDS),
        Limit(f"{scope}-ip", settings.LOGIN_ATTEMPTS_PER_IP, settings.LOGIN_WINDOW_SECONDS),
    )


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


def attempt(limit: Limit, subject: str) -> int:
    """Count one attempt of `subject`, then judge it: 0 when it is within the limit, else the wait.

    The wait is the number of seconds until the window closes. Redis being unreachable allows
    the attempt (see `seconds_left`).
    """
    if hit(limit, subject) <= limit.attempts:
        return 0
    return seconds_left(limit, subject) or limit.window_seconds


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


# Decrements a live counter only: DECR on a missing key would create one without expiry, and a
# counter below zero would hand out extra attempts.
_FORGIVE = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then
    return redis.call('DECR', KEYS[1])
end
return 0
"""


def forgive(limit: Limit, subject: str) -> None:
    """Give back one counted attempt of `subject` (never below 0; the window keeps its end)."""
    key = _key(limit, subject)
    try:
        pipe = get_redis().pipeline(transaction=True)
        pipe.eval(_FORGIVE, 1, key)
        pipe.execute()
    except redis.RedisError:
        log.exception("could not give back an attempt for %s", limit.name)


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


# --- request rates (the management API) ---------------------------------------------------------

# The generic cell rate algorithm: one timestamp per subject, the theoretical arrival time (TAT)
# of its next request. A request is let through while the TAT is at most `tolerance` ahead of
# now, which allows `burst` requests at once and then one per `interval` on average.
_GCRA = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then
    tat = now
end
if tat - now > tolerance then
    return tat - now - tolerance
end
local next_tat = tat + interval
redis.call('SET', KEYS[1], next_tat, 'PX', math.max(1, next_tat - now))
return 0
"""


@dataclass(frozen=True)
class Rate:
    """`per_minute` requests per minute on average, `burst` of them at once."""

    name: str
    per_minute: int
    burst: int


def throttle(rate: Rate, subject: str) -> float:
    """Count one request of `subject`: 0 when it may go on, else the seconds to wait.

    Redis being unreachable lets the request through: the API must not stop with the limiter.
    """
    import time

    interval = 60_000 / max(rate.per_minute, 1)
    tolerance = interval * (max(rate.burst, 1) - 1)
    key = f"{active_settings().RQ_QUEUE_PREFIX}:rate:{rate.name}:{subject}"
    try:
        wait_ms = get_redis().eval(_GCRA, 1, key, int(time.time() * 1000), int(interval), int(tolerance))
    except redis.RedisError:
        log.exception("could not count a request for %s", rate.name)
        return 0.0
    return float(wait_ms) / 1000
