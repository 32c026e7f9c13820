"""Jobs: the only package that talks to RQ (queues, enqueue-after-commit, worker, clock)."""
