"""The Redis connection and the RQ queues, always with RQ's JSON serializer."""

from __future__ import annotations

import threading

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from status_platform.config import Settings
from status_platform.jobs.redis_server import ensure_embedded_redis

QUEUE_NAMES = ("notifications", "default")

_lock = threading.Lock()
_state: dict[str, object] = {}


def redis_url(settings: Settings) -> str:
    """REDIS_URL, or the embedded server of this instance (started on first use)."""
    return settings.REDIS_URL or ensure_embedded_redis(settings.INSTANCE_PATH)


def configure(settings: Settings) -> redis.Redis:
    """Connect this process to Redis; later calls with the same URL reuse the connection pool."""
    url = redis_url(settings)
    with _lock:
        if _state.get("url") != url:
            _state["url"] = url
            _state["redis"] = redis.Redis.from_url(url)
            _state["prefix"] = settings.RQ_QUEUE_PREFIX
        return _state["redis"]  # type: ignore[return-value]


def get_redis() -> redis.Redis:
    connection = _state.get("redis")
    if connection is None:
        raise RuntimeError("Redis is not configured in this process; call queues.configure(settings)")
    return connection  # type: ignore[return-value]


def queue_name(name: str) -> str:
    """Queue names carry a prefix, so several instances can share one Redis."""
    return f"{_state.get('prefix', 'statusplatform')}:{name}"


def get_queue(name: str) -> Queue:
    return Queue(queue_name(name), connection=get_redis(), serializer=JSONSerializer)
