"""`statusplatform run` on a fresh instance: embedded SQLite and Redis, the demo, every process, Ctrl-C."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.test_processes import STATUSPLATFORM, free_port, get

SETTINGS_THAT_WOULD_LEAK = (
    "DATABASE_URL",
    "DATABASE_APP_URL",
    "REDIS_URL",
    "PLATFORM_HOST",
    "PAGES_DOMAIN",
    "PUBLIC_URL_PORT",
    "STATUSPLATFORM_ENV",
    "RQ_QUEUE_PREFIX",
)


def read_until(process: subprocess.Popen[str], pattern: str, seconds: float) -> str:
    seen = ""
    deadline = time.monotonic() + seconds
    assert process.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            seen += line
            if re.search(pattern, seen):
                return seen
        elif process.poll() is not None:
            break
    raise AssertionError(f"{pattern!r} did not appear; output so far:\n{seen}")


def test_run_serves_the_demo_and_stops_everything_on_ctrl_c(tmp_path: Path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_THAT_WOULD_LEAK}
    env["INSTANCE_PATH"] = str(tmp_path / "instance")
    started = time.monotonic()
    process = subprocess.Popen(
        [STATUSPLATFORM, "run", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output = read_until(process, r"Caught mail: +http://\S+", seconds=110)
        ready_after = time.monotonic() - started
        assert ready_after < 120
        assert "owner@acme.test / acme-demo-password" in output
        assert f"http://acme.localhost:{port}/" in output

        status, body = get(port, "acme.localhost")
        assert status == 200 and "Acme Cloud" in body and "Slow dashboard loading" in body
        status, body = get(port, "localhost", "/login")
        assert status == 200 and "Sign in" in body
        mail_url = re.search(r"Caught mail: +(http://\S+)", output).group(1)  # type: ignore[union-attr]
        mail_port = int(mail_url.rstrip("/").rsplit(":", 1)[1])
        assert get(mail_port, "127.0.0.1")[0] == 200
        assert (tmp_path / "instance" / "statusplatform.db").exists()
        assert (tmp_path / "instance" / "redis" / "redis.sock").exists()
        print(f"statusplatform run was ready after {ready_after:.1f} s", file=sys.stderr)
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        process.wait(timeout=40)
        assert process.stdout is not None
        process.stdout.close()
    assert process.returncode == 0
    # Nothing it started is left: no web server, no embedded Redis.
    assert not (tmp_path / "instance" / "redis" / "redis.sock").exists()
    try:
        get(port, "acme.localhost")
    except OSError:
        pass
    else:
        raise AssertionError("the web server still answers after Ctrl-C")
