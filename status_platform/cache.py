"""Versioned JSON documents in Redis, rebuilt once per version (single flight), invalidated after commit.

The public side reads every representation of a page from one such document. A write deletes
the page's version marker after its transaction commits, so the next read sees the change; if
the database cannot be reached, readers keep getting the last document that was built.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import redis
from sqlalchemy import event
from sqlalchemy.orm import Session

from status_platform.jobs.queues import get_redis, queue_name

log = logging.getLogger(__name__)

VERSION_TTL = 300  # seconds a version marker is trusted without asking the database
LOCK_TTL = 30
WAIT_FOR_BUILDER = 5.0
LOCAL_DOCUMENTS = 512


K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A small thread-safe least-recently-used map."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def remove_where(self, predicate: Callable[[V], bool]) -> list[V]:
        with self._lock:
            doomed = [key for key, value in self._items.items() if predicate(value)]
            return [self._items.pop(key) for key in doomed]

    def clear(self) -> list[V]:
        with self._lock:
            values = list(self._items.values())
            self._items.clear()
            return values


class _LocalCopies:
    """Parsed documents this process has read, dropped when their version marker is invalidated.

    Every invalidation bumps a generation counter per marker; a copy is kept only if no
    invalidation arrived since the request that fetched it started, so a read racing a write
    can never pin the old document.
    """

    def __init__(self, size: int) -> None:
        self.items: LRU[str, tuple[str, dict[str, Any]]] = LRU(size)
        self.generations: dict[str, int] = {}
        self.lock = threading.Lock()  # a generation check and the insert it guards are one step

    def generation(self, version_key: str) -> int:
        with self.lock:
            return self.generations.get(version_key, 0)

    def get(self, key: str) -> dict[str, Any] | None:
        found = self.items.get(key)
        return found[1] if found is not None else None

    def put(self, key: str, version_key: str, document: dict[str, Any], generation: int) -> None:
        with self.lock:
            if self.generations.get(version_key, 0) == generation:
                self.items.put(key, (version_key, document))

    def invalidate(self, version_key: str) -> None:
        with self.lock:
            self.generations[version_key] = self.generations.get(version_key, 0) + 1
            self.items.remove_where(lambda entry: entry[0] == version_key)

    def clear(self) -> None:
        with self.lock:
            for version_key, _ in self.items.clear():
                self.generations[version_key] = self.generations.get(version_key, 0) + 1


_local = _LocalCopies(LOCAL_DOCUMENTS)


class _Listener:
    """A thread per process that hears invalidations (Redis pub/sub) and drops local copies.

    While it is subscribed, a local copy is trusted without asking Redis; when the subscription
    breaks, every copy is dropped and requests check the version marker again until it is back.
    """

    def __init__(self) -> None:
        self.pid = 0
        self.healthy = threading.Event()
        self.lock = threading.Lock()

    def ensure_running(self) -> None:
        if self.pid == os.getpid():
            return
        with self.lock:
            if self.pid == os.getpid():
                return
            self.pid = os.getpid()  # a forked worker starts its own listener
            self.healthy.clear()
            threading.Thread(target=self._run, name="cache-invalidations", daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                pubsub = get_redis().pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(_channel())
                # Copies read before the subscription could have missed an invalidation.
                _local.clear()
                self.healthy.set()
                while True:
                    message = pubsub.get_message(timeout=5.0)
                    if message and message.get("type") == "message":
                        sender, _, key = message["data"].decode().partition(" ")
                        if sender != _process_token():  # this process applied its own already
                            _local.invalidate(key)
            except Exception as exc:  # Redis went away: distrust every copy, retry shortly
                self.healthy.clear()
                _local.clear()
                log.warning("cache invalidation listener lost Redis (%s); retrying", exc)
                time.sleep(1.0)


_listener = _Listener()


def _channel() -> str:
    return _key("invalidations")


_token: tuple[int, str] = (0, "")


def _process_token() -> str:
    """An id of this process (a forked child gets its own), to recognise its own messages."""
    global _token
    if _token[0] != os.getpid():
        _token = (os.getpid(), uuid.uuid4().hex)
    return _token[1]


def _key(*parts: str) -> str:
    return queue_name("cache:" + ":".join(parts))


def invalidate_after_commit(session: Session, *parts: str) -> None:
    """Forget the version marker `parts` once `session` commits (nothing happens on rollback)."""
    session.info.setdefault("cache_invalidations", set()).add(_key("version", *parts))


@event.listens_for(Session, "after_commit")
def _invalidate(session: Session) -> None:
    keys = session.info.pop("cache_invalidations", None)
    if keys:
        for key in keys:
            _local.invalidate(key)  # this process sees the write at once, listener or not
        try:
            client = get_redis()
            client.delete(*keys)
            for key in keys:
                client.publish(_channel(), f"{_process_token()} {key}")
        except (redis.RedisError, RuntimeError) as exc:
            # The markers expire by themselves (VERSION_TTL); the page catches up then.
            log.warning("could not invalidate %s: %s", ", ".join(keys), exc)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction: Any) -> None:
    if not previous_transaction.nested:
        session.info.pop("cache_invalidations", None)


def generation(version_of: tuple[str, ...]) -> int:
    """How many invalidations of `version_of` this process has heard (see ResponseCache)."""
    return _local.generation(_key("version", *version_of))


def versioned_document(
    parts: tuple[str, ...],
    *,
    current_version: Callable[[], int | None],
    build: Callable[[], dict[str, Any] | None],
    max_age: float = 60.0,
    version_of: tuple[str, ...] | None = None,
) -> dict[str, Any] | None:
    """The document for `parts` at the current version, building it at most once per version.

    `current_version` asks the database (only when the marker is missing); `build` makes the
    document. A document older than `max_age` seconds is rebuilt too, since what a page shows
    also moves with the clock (today's uptime, the days of history). None when the thing does
    not exist. `version_of` names the thing whose version the document follows (default: the
    document itself), so several documents of one page go stale together. When the database
    fails, the last document built is returned, whatever its
    version or age.
    """
    client = get_redis()
    _listener.ensure_running()
    version_key, document_key = _key("version", *(version_of or parts)), _key("doc", *parts)
    lock_key = _key("lock", *parts)
    generation = _local.generation(version_key)
    local = _local.get(document_key)
    if local is not None and _listener.healthy.is_set() and time.time() - local["_built"] < max_age:
        return local  # nothing was invalidated since it was read: no need to ask Redis
    marker = client.get(version_key)
    if marker is not None and local is not None and _fresh(local, int(marker), max_age):
        return local
    cached_raw = client.get(document_key)
    cached = json.loads(cached_raw) if cached_raw else local
    try:
        if marker is None:
            version = current_version()
            if version is None:
                return None
            client.set(version_key, str(version), ex=VERSION_TTL)
        else:
            version = int(marker)
        if cached is not None and _fresh(cached, version, max_age):
            _local.put(document_key, version_key, cached, generation)
            return cached
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
            _local.put(document_key, version_key, document, generation)
            return document
        finally:
            client.delete(lock_key)
    except Exception as exc:  # the database (or the builder) failed: serve the last good document
        if cached is not None and _is_database_error(exc):
            log.warning("serving the last snapshot of %s: %s", ":".join(parts), exc)
            return cached  # type: ignore[no-any-return]
        raise


def _fresh(document: dict[str, Any], version: int, max_age: float) -> bool:
    return bool(document.get("_version") == version and time.time() - document["_built"] < max_age)


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


class ResponseCache:
    """Whole responses made from documents, served without entering the app while still current.

    An entry is current while its document's version marker has had no invalidation since the
    entry was made (this process's listener is subscribed) and it is younger than its max age.
    Only anonymous, public responses are ever stored (the caller decides which).
    """

    def __init__(self, size: int = 2048) -> None:
        self.items: LRU[str, tuple[str, int, float, str, list[tuple[str, str]], bytes]] = LRU(size)

    def put(
        self,
        key: str,
        *,
        version_of: tuple[str, ...],
        generation_seen: int,
        expires_at: float,
        etag: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> None:
        version_key = _key("version", *version_of)
        self.items.put(key, (version_key, generation_seen, expires_at, etag, headers, body))

    def get(self, key: str) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """(etag, headers, body) if the entry for `key` is still current, else None."""
        if not _listener.healthy.is_set():
            return None
        entry = self.items.get(key)
        if entry is None:
            return None
        version_key, generation_seen, expires_at, etag, headers, body = entry
        if _local.generation(version_key) != generation_seen or time.time() >= expires_at:
            return None
        return etag, headers, body


responses = ResponseCache()


def is_anonymous(environ: dict[str, Any]) -> bool:
    """A request the shared response cache may answer: a plain GET or HEAD with no credentials."""
    return (
        environ.get("REQUEST_METHOD") in ("GET", "HEAD")
        and not environ.get("HTTP_COOKIE")
        and not environ.get("HTTP_AUTHORIZATION")
    )


def response_key(page_id: str, environ: dict[str, Any]) -> str:
    host = environ.get("HTTP_HOST", "").lower()
    return "\n".join((page_id, host, environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")))


def etag_matches(environ: dict[str, Any], tag: str) -> bool:
    """Whether If-None-Match names `tag`; a malformed or absurdly long header matches nothing."""
    raw = environ.get("HTTP_IF_NONE_MATCH", "")
    if not raw or len(raw) > 2000:
        return False
    return tag in {part.strip() for part in raw.split(",")}
