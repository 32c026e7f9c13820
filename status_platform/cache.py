"""Versioned JSON documents in Redis, rebuilt once per version (single flight), invalidated after commit.

The public side reads every representation of a page from one such document. A write deletes
the page's version marker after its transaction commits, so the next read sees the change; if
the database cannot be reached, readers keep getting the last document that was built.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import redis
from sqlalchemy import event
from sqlalchemy.orm import Session

from status_platform.jobs.queues import get_redis, queue_name

log = logging.getLogger(__name__)

VERSION_TTL = 300  # seconds a version marker is trusted without asking the database
LOCK_TTL = 30
WAIT_FOR_BUILDER = 5.0


def _key(*parts: str) -> str:
    return queue_name("cache:" + ":".join(parts))


def invalidate_after_commit(session: Session, *parts: str) -> None:
    """Forget the version marker `parts` once `session` commits (nothing happens on rollback)."""
    session.info.setdefault("cache_invalidations", set()).add(_key("version", *parts))


@event.listens_for(Session, "after_commit")
def _invalidate(session: Session) -> None:
    keys = session.info.pop("cache_invalidations", None)
    if keys:
        try:
            get_redis().delete(*keys)
        except (redis.RedisError, RuntimeError) as exc:
            # The markers expire by themselves (VERSION_TTL); the page catches up then.
            log.warning("could not invalidate %s: %s", ", ".join(keys), exc)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction: Any) -> None:
    if not previous_transaction.nested:
        session.info.pop("cache_invalidations", None)


def versioned_document(
    parts: tuple[str, ...],
    *,
    current_version: Callable[[], int | None],
    build: Callable[[], dict[str, Any] | None],
    max_age: float = 60.0,
) -> dict[str, Any] | None:
    """The document for `parts` at the current version, building it at most once per version.

    `current_version` asks the database (only when the marker is missing); `build` makes the
    document. A document older than `max_age` seconds is rebuilt too, since what a page shows
    also moves with the clock (today's uptime, the days of history). None when the thing does
    not exist. When the database fails, the last document built is returned, whatever its
    version or age.
    """
    client = get_redis()
    version_key, document_key, lock_key = _key("version", *parts), _key("doc", *parts), _key("lock", *parts)
    cached_raw = client.get(document_key)
    cached = json.loads(cached_raw) if cached_raw else None
    marker = client.get(version_key)
    try:
        if marker is None:
            version = current_version()
            if version is None:
                return None
            client.set(version_key, str(version), ex=VERSION_TTL)
        else:
            version = int(marker)
        if (
            cached is not None
            and cached.get("_version") == version
            and time.time() - cached["_built"] < max_age
        ):
            return cached  # type: ignore[no-any-return]
        if not client.set(lock_key, "1", nx=True, ex=LOCK_TTL):
            waited = _wait_for_other_builder(client, document_key, version)
            if waited is not None:
                return waited
        try:
            document = build()
            if document is None:
                return None
            document["_version"] = version
            document["_built"] = time.time()
            client.set(document_key, json.dumps(document, separators=(",", ":")))
            return document
        finally:
            client.delete(lock_key)
    except Exception as exc:  # the database (or the builder) failed: serve the last good document
        if cached is not None and _is_database_error(exc):
            log.warning("serving the last snapshot of %s: %s", ":".join(parts), exc)
            return cached  # type: ignore[no-any-return]
        raise


def _wait_for_other_builder(client: redis.Redis, document_key: str, version: int) -> dict[str, Any] | None:
    """Another process is building this version: wait a little for its result rather than build twice."""
    deadline = time.monotonic() + WAIT_FOR_BUILDER
    while time.monotonic() < deadline:
        time.sleep(0.02)
        raw = client.get(document_key)
        if raw:
            document = json.loads(raw)
            if document.get("_version") == version:
                return document  # type: ignore[no-any-return]
    return None


def _is_database_error(exc: BaseException) -> bool:
    from sqlalchemy.exc import InterfaceError, OperationalError

    return isinstance(exc, OperationalError | InterfaceError)
