"""The clock process: enqueues each registered periodic task once per interval.

Features register their periodic tasks with ``@periodic(seconds)`` in their jobs.py; the
clock only decides when. A Redis key per (task, time slot), set with NX, makes a task run at
most once per interval however many clocks run. RQ's own cron scheduler is not used because
it enqueues through a pickling queue, and every job here is JSON.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from status_platform.jobs import queues

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicTask:
    func: Callable[[], Any]
    seconds: int
    queue: str

    @property
    def name(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"


PERIODIC_TASKS: dict[str, PeriodicTask] = {}


def periodic(seconds: int, *, queue: str = "default") -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Register a module-level, argument-free function to be enqueued every `seconds`."""

    def register(func: Callable[[], Any]) -> Callable[[], Any]:
        task = PeriodicTask(func, seconds, queue)
        PERIODIC_TASKS[task.name] = task
        return func

    return register


def tick(now: float | None = None) -> list[str]:
    """Enqueue every task whose current slot has not been claimed yet; return their names."""
    now = time.time() if now is None else now
    redis = queues.get_redis()
    enqueued = []
    for task in PERIODIC_TASKS.values():
        slot = int(now // task.seconds)
        key = f"{queues.queue_name('clock')}:{task.name}:{slot}"
        if redis.set(key, "1", nx=True, ex=task.seconds * 2):
            queues.get_queue(task.queue).enqueue(task.func, job_timeout=max(task.seconds * 5, 60))
            enqueued.append(task.name)
    return enqueued


def run_clock(stop: threading.Event | None = None, *, resolution: float = 1.0) -> None:
    """Tick until `stop` is set (or forever)."""
    stop = stop or threading.Event()
    log.info("clock running %d periodic task(s): %s", len(PERIODIC_TASKS), ", ".join(sorted(PERIODIC_TASKS)))
    while not stop.is_set():
        for name in tick():
            log.info("enqueued %s", name)
        stop.wait(resolution)
