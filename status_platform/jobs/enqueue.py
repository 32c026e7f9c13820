"""Enqueue RQ jobs only once the surrounding database transaction has committed.

A job pushed before the commit could run before its rows exist, and one pushed by a
transaction that then rolls back would act on nothing; both are prevented here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rq import Retry
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from status_platform.jobs.queues import get_queue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingJob:
    func: Callable[..., Any]
    args: tuple[Any, ...]
    queue: str
    options: dict[str, Any] = field(default_factory=dict)


def enqueue_after_commit(
    session: Session, func: Callable[..., Any], *args: Any, queue: str = "default", **options: Any
) -> None:
    """Queue ``func(*args)`` for RQ if, and only if, `session` commits.

    Arguments must be JSON values (ids and short strings, tenant_id first): the worker reloads
    rows itself. Outbox-backed work survives a failed push because a sweeper re-enqueues it.
    """
    if not session.in_transaction():
        session.begin()  # so that a rollback before any statement still drops the job
    session.info.setdefault("pending_jobs", []).append(PendingJob(func, args, queue, options))


def push(job: PendingJob) -> None:
    """The single place that talks to Redis for after-commit jobs.

    ``retries=N`` in the options retries a failed job N times, after 10 s, 1 min, then 5 min.
    """
    options = dict(job.options)
    retries = options.pop("retries", 0)
    if retries:
        options["retry"] = Retry(max=retries, interval=[10, 60, 300][:retries])
    get_queue(job.queue).enqueue(job.func, *job.args, **options)


@event.listens_for(Session, "after_commit")
def _push_pending(session: Session) -> None:
    for job in session.info.pop("pending_jobs", ()):
        try:
            push(job)
        except Exception:  # the commit stands; outbox sweepers pick up what was not pushed
            log.exception("could not enqueue %s after commit", job.func.__qualname__)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    # Soft: also when rollback() is called before any statement began a database transaction.
    if not previous_transaction.nested:
        session.info.pop("pending_jobs", None)


def enqueue_now(func: Callable[..., Any], *args: Any, queue: str = "default", **options: Any) -> None:
    """Enqueue at once, for callers with no transaction of their own (the clock's sweeps)."""
    push(PendingJob(func, args, queue, options))
