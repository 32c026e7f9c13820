"""Gunicorn settings for the web process in production.

    gunicorn -c infra/gunicorn.conf.py 'status_platform.wsgi:create_wsgi_app()'

The application reads its own settings (DATABASE_URL, REDIS_URL, PLATFORM_HOST, ...) from the
environment; this file only shapes the server. Every value here can be changed through the
environment as well, so systemd, compose and Kubernetes share this one file:

    BIND_HOST             address to listen on (127.0.0.1: only the local reverse proxy)
    PORT                  port to listen on (8000)
    WEB_CONCURRENCY       worker processes (2 x available cores + 1)
    THREADS               threads per worker process (4)
    GUNICORN_TIMEOUT      seconds before a silent worker is killed and replaced (60)
    GRACEFUL_TIMEOUT      seconds a stopping worker gets to finish its requests (30)
    KEEPALIVE             seconds an idle proxy connection stays open (75)
    MAX_REQUESTS          requests before a worker is recycled, 0 for never (2000)
    FORWARDED_ALLOW_IPS   proxies whose X-Forwarded-Proto gunicorn trusts (127.0.0.1,::1)
    LOG_LEVEL             gunicorn's own log level (info)
"""

import math
import os


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None


def _available_cores() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup v2 CPU quota.

    os.cpu_count() sees every core of the host, which in a container limited to one CPU would
    start dozens of workers.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        with open("/sys/fs/cgroup/cpu.max") as handle:
            quota, period = handle.read().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


# --- listening ----------------------------------------------------------------------------
bind = [f"{os.environ.get('BIND_HOST', '127.0.0.1').strip() or '127.0.0.1'}:{_env_int('PORT', 8000)}"]
backlog = 2048

# --- processes ----------------------------------------------------------------------------
# gthread: each worker process serves THREADS requests at once. Requests mostly wait on
# PostgreSQL and Redis, so threads add concurrency cheaply; processes add CPU parallelism.
worker_class = "gthread"
workers = _env_int("WEB_CONCURRENCY", 2 * _available_cores() + 1)
threads = _env_int("THREADS", 4)
# Idle keep-alive connections wait in the worker's poller, not in a thread.
worker_connections = 1000

# Each worker builds the application itself, after the fork, so no database or Redis
# connection is ever shared between processes. It also lets `kill -HUP` load new code.
preload_app = False

# A worker whose main loop stays silent this long is killed and replaced.
timeout = _env_int("GUNICORN_TIMEOUT", 60)
# On SIGTERM (systemd stop, Kubernetes pod deletion) workers finish in-flight requests first.
graceful_timeout = _env_int("GRACEFUL_TIMEOUT", 30)
# Longer than the reverse proxy's own idle timeout (Caddy: 60 s in infra/Caddyfile), so the
# proxy, not gunicorn, closes idle upstream connections and never reuses a closing one.
keepalive = _env_int("KEEPALIVE", 75)

# Recycle workers now and then (staggered by the jitter) to bound slow memory growth.
max_requests = _env_int("MAX_REQUESTS", 2000)
max_requests_jitter = max(0, max_requests // 10)

# The workers' heartbeat files: on tmpfs when there is one, never on a slow overlay disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None

# Request-size limits (gunicorn's defaults, stated): the proxy in front enforces its own.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# --- behind the reverse proxy -------------------------------------------------------------
# gunicorn takes X-Forwarded-Proto only from these peers. The application itself trusts
# X-Forwarded-For/-Proto/-Host when PROXY_FIX_HOPS=1 (werkzeug's ProxyFix).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# --- logging: everything to stdout/stderr, for journald or the container runtime ----------
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
# Client address (the real client's once PROXY_FIX_HOPS lets the app trust the proxy), host
# (which page, or the admin), request, status, bytes, duration in milliseconds, user agent.
access_log_format = '%(h)s "%({host}i)s" "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'

proc_name = "statusplatform-web"

# gunicorn 25.1+ opens a control socket under $HOME by default. Signals do the same work
# (HUP reload, TTIN/TTOU more or fewer workers), and two servers of one user would contend
# for that one path. Older versions ignore the setting.
control_socket_disable = True
