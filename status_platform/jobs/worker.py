"""The RQ worker process: forks a work horse per job, never sharing database connections."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rq import SimpleWorker, Worker
from rq.serializers import JSONSerializer

from status_platform.config import Settings, activate
from status_platform.db import session as db_session
from status_platform.db.engine import dispose_all
from status_platform.jobs import queues

log = logging.getLogger(__name__)


class ForkingWorker(Worker):
    def execute_job(self, job: Any, queue: Any) -> Any:
        # A forked work horse must not reuse the parent's pooled sockets (SQLite or PostgreSQL).
        dispose_all()
        return super().execute_job(job, queue)


def build_worker(
    settings: Settings, queue_names: Sequence[str] = queues.QUEUE_NAMES, *, forking: bool = True
) -> Worker | SimpleWorker:
    """A worker listening on `queue_names`, with the database and Redis of `settings`."""
    activate(settings)
    db_session.configure(settings)
    connection = queues.configure(settings)
    worker_class = ForkingWorker if forking else SimpleWorker
    return worker_class(
        [queues.get_queue(name) for name in queue_names],
        connection=connection,
        serializer=JSONSerializer,
    )


def run_worker(
    settings: Settings, queue_names: Sequence[str] = queues.QUEUE_NAMES, *, burst: bool = False
) -> bool:
    """Work until stopped (or, with burst, until the queues are empty). True if any job ran."""
    worker = build_worker(settings, queue_names)
    log.info("worker %s listening on %s", worker.name, ", ".join(queue_names))
    return worker.work(burst=burst, with_scheduler=not burst, logging_level="INFO")
