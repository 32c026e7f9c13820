"""Outbound HTTP for notifications and single sign-on, refusing private and internal targets.

A subscriber types the URL we will call, so without care a notification could be aimed at the
platform's own network: loopback services, the cloud metadata endpoint, private ranges. These
checks keep it out:

- `check_url` runs when the URL is typed (public form, admin, API) and gives a message the person
  can act on. It resolves the name once, so it cannot stop a name that changes its answer later.
- At send time, `EgressResolver` sits inside aiohttp's connector and drops forbidden addresses
  from every lookup, so a name that resolves to a public address when subscribed and to
  127.0.0.1 when we send (DNS rebinding) still cannot connect. aiohttp never asks the resolver
  about IP-literal hosts, so `post` checks those itself before the request.
- `fetch`, the synchronous requests of single sign-on (an identity provider's discovery
  document, key set and token endpoint, typed by tenant staff), resolves and checks addresses
  in httpcore's connect step the same way.

EGRESS_ALLOWLIST lets an operator open specific CIDRs or exact host names (tests allow loopback
to reach their receivers). Cloud metadata addresses stay refused even inside an allowed range.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp
import httpcore
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from status_platform.config import Settings

USER_AGENT: Final = "StatusPlatform-Notifications/1.0"
# The most of a response body we read: enough for an error message, never a download.
MAX_RESPONSE_BYTES: Final = 64 * 1024
# How long a subscribe form waits for DNS; an answer that does not come in time is checked at send time.
LOOKUP_TIMEOUT: Final = 2.0
TOTAL_TIMEOUT: Final = 30.0
CONNECT_TIMEOUT: Final = 10.0
_MAX_ERROR = 300
_PUBLIC_ONLY = "notifications can only be sent to public addresses."
_INVALID = "not a valid IP address"

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Instance metadata services (AWS, GCP, Azure, OpenStack: 169.254.169.254; ECS tasks; AWS over
# IPv6; Alibaba Cloud). Refused even when an allowed range covers them: they hand out credentials.
METADATA_ADDRESSES: Final = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
METADATA_HOSTS: Final = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"}
)
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_PRIVATE: tuple[_Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10")
)
# IPv6 ranges that carry an IPv4 address in their last 32 bits (NAT64); the IPv4 address decides.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class EgressRefused(Exception):
    """A URL or address notifications must not be sent to.

    `message` is for the person who typed the URL; `short` is the one-line form kept with a
    failed delivery ("refused: 10.0.0.5 is a private network address").
    """

    def __init__(self, message: str, *, short: str) -> None:
        super().__init__(message)
        self.message = message
        self.short = short


class RefusedAddressError(OSError):
    """Every address a host resolved to is forbidden; aiohttp reports it as a ClientConnectorError."""

    def __init__(self, refusal: EgressRefused) -> None:
        super().__init__(None, refusal.short)
        self.refusal = refusal


@dataclass(frozen=True)
class _Refusal:
    message: str
    short: str

    def error(self) -> EgressRefused:
        return EgressRefused(self.message, short=self.short)


@lru_cache(maxsize=64)
def _parse_allowlist(allowlist: tuple[str, ...]) -> tuple[tuple[_Network, ...], frozenset[str]]:
    """The allow-list as networks (CIDRs and bare addresses) and exact host names."""
    networks: list[_Network] = []
    names: set[str] = set()
    for entry in allowlist:
        value = entry.strip().lower()
        if not value:
            continue
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            names.add(value.rstrip("."))
    return tuple(networks), frozenset(names)


def _classify(address: _Address) -> str | None:
    """What kind of non-public address this is (for messages), or None for a public one."""
    if address.is_unspecified or address in _THIS_NETWORK:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if any(address in network for network in _PRIVATE):
        return "a private network address"
    if address in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if address.is_reserved or not address.is_global:
        return "a reserved address"
    return None


def _embedded_ipv4(address: _Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (IPv4-mapped, NAT64, 6to4), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


@lru_cache(maxsize=4096)
def refusal_reason(ip: str, allowlist: tuple[str, ...]) -> str | None:
    """Why notifications must not connect to `ip` ("a loopback address"), or None if they may.

    A string that is not an IP address is refused ("not a valid IP address"): this check fails
    closed. An address inside an allow-listed CIDR is allowed, except cloud metadata addresses.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return _INVALID
    embedded = _embedded_ipv4(address)
    if address in METADATA_ADDRESSES or embedded in METADATA_ADDRESSES:
        return "a cloud metadata address"
    networks, _names = _parse_allowlist(allowlist)
    for candidate in (address, embedded):
        if candidate is not None and any(candidate in network for network in networks):
            return None
    return _classify(embedded) if embedded is not None else _classify(address)


def is_forbidden_address(ip: str, allowlist: tuple[str, ...]) -> bool:
    """True if notifications must not connect to `ip` under EGRESS_ALLOWLIST `allowlist`.

    Refused: loopback, private (RFC 1918, fc00::/7), link-local (169.254/16, fe80::/10),
    unspecified and 0.0.0.0/8, multicast, reserved and other special-purpose ranges, shared
    100.64/10, IPv6 forms carrying any of these, and cloud metadata addresses.
    """
    return refusal_reason(ip, allowlist) is not None


def _looks_like_ip(host: str) -> bool:
    # The test aiohttp uses to skip resolution; anything it would connect to directly is checked here.
    return ":" in host or host.replace(".", "").isdigit()


@lru_cache(maxsize=8192)
def _host_refusal(host: str, allowlist: tuple[str, ...]) -> tuple[_Refusal | None, bool]:
    """What can be said of a URL's host without DNS: (a refusal or None, whether to resolve it)."""
    name = host.strip("[]").rstrip(".").lower()
    _networks, names = _parse_allowlist(allowlist)
    if name in names:
        return None, False
    if _looks_like_ip(name):
        reason = refusal_reason(name, allowlist)
        if reason is None:
            return None, False
        if reason == _INVALID:
            return _Refusal(f"The host {name} is {_INVALID}.", f"refused: {name} is {_INVALID}"), False
    elif name == "localhost" or name.endswith(".localhost"):
        reason = "a loopback address"
    elif name in METADATA_HOSTS:
        reason = "a cloud metadata host"
    else:
        return None, True
    message = f"This URL points at {reason} ({name}); {_PUBLIC_ONLY}"
    return _Refusal(message, f"refused: {name} is {reason}"), False


def _resolved_refusal(host: str, address: str, reason: str) -> EgressRefused:
    return EgressRefused(
        f"The host {host} resolves to {reason} ({address}); {_PUBLIC_ONLY}",
        short=f"refused: {host} resolves to {reason} ({address})",
    )


def _lookup(host: str, timeout: float) -> list[str]:
    """The addresses `host` resolves to now, or [] if it does not resolve within `timeout`."""
    found: list[str] = []

    def run() -> None:
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return
        found.extend(str(info[4][0]) for info in infos)

    # A thread of its own rather than a pool: a pool inherited across a worker's fork can hang.
    lookup = threading.Thread(target=run, name="egress-lookup", daemon=True)
    lookup.start()
    lookup.join(timeout)
    return [] if lookup.is_alive() else found


def check_url(url: str, settings: Settings) -> None:
    """Refuse a URL that points at a private, loopback, link-local or metadata address.

    For subscribe forms and the API, with a message the person can act on. IP literals are
    checked as written; `localhost` and `*.localhost` are loopback; other names are resolved now
    and refused if any address is forbidden. A name that does not resolve (yet) is accepted: every
    send checks again at connection time. Host names and CIDRs in EGRESS_ALLOWLIST pass.
    Raises EgressRefused.
    """
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        host = None
    if not host:
        raise EgressRefused("This URL does not name a host.", short="refused: no host")
    allowlist = settings.EGRESS_ALLOWLIST
    refusal, resolve = _host_refusal(host, allowlist)
    if refusal is not None:
        raise refusal.error()
    if not resolve:
        return
    for address in _lookup(host, LOOKUP_TIMEOUT):
        reason = refusal_reason(address, allowlist)
        if reason is not None:
            raise _resolved_refusal(host.rstrip("."), address, reason)


class EgressResolver(AbstractResolver):
    """aiohttp's threaded resolver, less every address notifications must not connect to.

    aiohttp caches what this returns (ttl_dns_cache), so its cache only ever holds allowed
    addresses. When none remain the lookup fails with RefusedAddressError, which aiohttp raises
    as a ClientConnectorError whose `os_error` it is.
    """

    def __init__(self, allowlist: tuple[str, ...], *, resolver: AbstractResolver | None = None) -> None:
        self._allowlist = allowlist
        self._resolver = resolver or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        refusal, resolve = _host_refusal(host, self._allowlist)
        if refusal is not None:
            raise RefusedAddressError(refusal.error())
        results = await self._resolver.resolve(host, port, family)
        if not resolve:
            return results
        allowed: list[ResolveResult] = []
        first_refusal: EgressRefused | None = None
        for result in results:
            reason = refusal_reason(result["host"], self._allowlist)
            if reason is None:
                allowed.append(result)
            elif first_refusal is None:
                first_refusal = _resolved_refusal(host.rstrip("."), result["host"], reason)
        if not allowed and first_refusal is not None:
            raise RefusedAddressError(first_refusal)
        return allowed

    async def close(self) -> None:
        await self._resolver.close()


def open_http(settings: Settings, *, limit: int = 100) -> aiohttp.ClientSession:
    """One pooled HTTP session for a batch of deliveries; call inside a running event loop.

    Connections are checked by EgressResolver, kept alive between requests and capped at
    `limit`; 30 s per request (10 s to connect); no cookies kept, no proxy from the environment,
    bodies not decompressed (we only read the start of them). Use as `async with`.
    """
    connector = aiohttp.TCPConnector(
        limit=limit,
        resolver=EgressResolver(settings.EGRESS_ALLOWLIST),
        keepalive_timeout=30,
        ttl_dns_cache=10,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=TOTAL_TIMEOUT, connect=CONNECT_TIMEOUT),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
    )


@dataclass(frozen=True)
class PostResult:
    """How one POST went: the status code if an answer came, a short readable error if it failed."""

    status: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


@lru_cache(maxsize=32)
def _timeout(seconds: float) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=seconds, connect=min(CONNECT_TIMEOUT, seconds))


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _clip(text: str, limit: int = _MAX_ERROR) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def _read_at_most(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, or its first `limit` bytes (one more is read to know it goes on)."""
    length = response.content_length
    if length is not None and length <= limit:
        return await response.read()
    body = bytearray()
    while len(body) <= limit:
        chunk = await response.content.read(limit + 1 - len(body))
        if not chunk:
            break
        body += chunk
    return bytes(body[:limit])


def _answer_error(response: aiohttp.ClientResponse, body: bytes) -> str:
    """A non-2xx answer in words, with the start of a plain-text body (Slack says why in it)."""
    text = f"answered {response.status} {response.reason or ''}".rstrip()
    encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
    if body and not encoded and "html" not in response.headers.get("Content-Type", "").lower():
        detail = _clip(body[:500].decode("utf-8", errors="replace"), 200)
        if detail:
            text += f": {detail}"
    return text


def _network_error(exc: BaseException, target: URL, timeout: float) -> str:
    """A network failure in a few words a person can read."""
    host = target.raw_host or "?"
    where = f"{host}:{target.port}" if target.port else host
    if isinstance(exc, aiohttp.ClientConnectorError):
        cause = exc.os_error
        if isinstance(cause, RefusedAddressError):
            return cause.refusal.short
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            problem = exc.certificate_error
            detail = getattr(problem, "verify_message", None) or str(problem)
            return _clip(f"TLS certificate of {host} not accepted: {detail}")
        if isinstance(exc, aiohttp.ClientSSLError) or isinstance(cause, ssl.SSLError):
            detail = str(getattr(cause, "reason", None) or cause).replace("_", " ").lower()
            return _clip(f"TLS handshake with {host} failed: {detail}")
        if isinstance(exc, aiohttp.ClientConnectorDNSError):
            return f"could not resolve {host}"
        if isinstance(cause, ConnectionRefusedError):
            return f"connection refused by {where}"
        if isinstance(cause, TimeoutError):
            return f"could not connect to {where} within {_seconds(min(CONNECT_TIMEOUT, timeout))}"
        return _clip(f"could not connect to {where}: {cause.strerror or cause}")
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return f"could not connect to {where} within {_seconds(min(CONNECT_TIMEOUT, timeout))}"
    if isinstance(exc, TimeoutError):
        return f"no answer within {_seconds(timeout)}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without answering"
    if isinstance(exc, aiohttp.ClientResponseError):
        return _clip(f"invalid HTTP answer: {exc.message}")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the answer's body was cut off or malformed"
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return "not a valid http(s) URL"
    if isinstance(exc, ValueError):
        return _clip(f"the request could not be sent: {exc}")
    if isinstance(exc, OSError) and exc.strerror:
        return _clip(f"network error talking to {where}: {exc.strerror}")
    return _clip(f"network error talking to {where}: {exc or type(exc).__name__}")


async def post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    settings: Settings,
    timeout: float = TOTAL_TIMEOUT,
) -> PostResult:
    """POST `body` to `url` on a session from `open_http(settings)`; never raises for network problems.

    Redirects are not followed (a 3xx is a failure naming its Location), at most 64 KB of the
    answer is read, and every failure (refused address, DNS, timeout, connection, TLS, a non-2xx
    answer) comes back as a PostResult with a short error.
    """
    started = time.perf_counter()

    def result(status: int | None, error: str | None) -> PostResult:
        return PostResult(status, error, int((time.perf_counter() - started) * 1000))

    try:
        target = URL(url)
    except (ValueError, TypeError):
        return result(None, "not a valid http(s) URL")
    refusal, _resolve = _host_refusal(target.raw_host or "", settings.EGRESS_ALLOWLIST)
    if refusal is not None:
        return result(None, refusal.short)
    try:
        response = await session.post(
            target,
            data=body,
            headers=headers,
            allow_redirects=False,
            timeout=_timeout(float(timeout)),
        )
        try:
            content = await _read_at_most(response, MAX_RESPONSE_BYTES)
        finally:
            # A body left unread would make the pooled connection unusable; drop it instead.
            if response.content.is_eof():
                response.release()
            else:
                response.close()
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return result(None, _network_error(exc, target, float(timeout)))
    status = response.status
    if 300 <= status < 400:
        location = _clip(response.headers.get("Location", ""), 200)
        if location:
            return result(status, f"redirected to {location} (redirects are not followed)")
        return result(status, f"redirected ({status} without a Location; redirects are not followed)")
    if not 200 <= status < 300:
        return result(status, _answer_error(response, content))
    return result(status, None)


# --- synchronous requests: single sign-on discovery, key sets and token exchanges -------------------

# The identity provider of a single sign-on is typed by tenant staff: its discovery document, key
# set and token endpoint are fetched under the same rules as notifications (addresses checked at
# connect time, no redirects, no proxy from the environment), from a request thread.
FETCH_TIMEOUT: Final = 10.0
FETCH_USER_AGENT: Final = "StatusPlatform-SSO/1.0"


@dataclass(frozen=True)
class FetchResult:
    """How one synchronous request went: the answer's status and body, or a short readable error.

    `error` is set for every failure (refused address, DNS, timeout, connection, TLS, a redirect,
    a body over the limit, a non-2xx answer); `body` holds what was read of a non-2xx answer,
    since an OAuth error response says why in it.
    """

    status: int | None
    body: bytes
    error: str | None
    content_type: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    # Loading the system's certificates takes tens of milliseconds: once per process will do.
    return ssl.create_default_context()


class _EgressNetwork(httpcore.NetworkBackend):
    """httpcore's socket backend, connecting only to addresses notifications may reach.

    The name is resolved here and each allowed address tried in turn, so the address checked is
    the address connected to; TLS still verifies the certificate against the URL's host name.
    """

    def __init__(self, allowlist: tuple[str, ...]) -> None:
        self._allowlist = allowlist
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        refusal, resolve = _host_refusal(host, self._allowlist)
        if refusal is not None:
            raise RefusedAddressError(refusal.error())
        candidates = [host]
        if resolve:
            found = list(dict.fromkeys(_lookup(host, timeout or CONNECT_TIMEOUT)))
            if not found:
                raise httpcore.ConnectError(f"could not resolve {host}")
            candidates = []
            first_refusal: EgressRefused | None = None
            for address in found:
                reason = refusal_reason(address, self._allowlist)
                if reason is None:
                    candidates.append(address)
                elif first_refusal is None:
                    first_refusal = _resolved_refusal(host.rstrip("."), address, reason)
            if not candidates and first_refusal is not None:
                raise RefusedAddressError(first_refusal)
        failure: Exception | None = None
        for address in candidates:
            try:
                return self._sockets.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _fetch_error(exc: BaseException, host: str, timeout: float) -> str:
    if isinstance(exc, RefusedAddressError):
        return exc.refusal.short
    if isinstance(exc, httpcore.ConnectTimeout):
        return f"could not connect to {host} within {_seconds(min(CONNECT_TIMEOUT, timeout))}"
    if isinstance(exc, httpcore.TimeoutException):
        return f"no answer within {_seconds(timeout)}"
    if isinstance(exc, httpcore.ConnectError):
        detail = str(exc)
        if detail.startswith("could not resolve"):
            return detail
        if isinstance(exc.__context__, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in detail:
            return _clip(f"TLS certificate of {host} not accepted: {detail}")
        if "refused" in detail.lower():
            return f"connection refused by {host}"
        return _clip(f"could not connect to {host}: {detail or type(exc).__name__}")
    if isinstance(exc, httpcore.RemoteProtocolError):
        return _clip(f"invalid HTTP answer: {exc}")
    return _clip(f"network error talking to {host}: {exc or type(exc).__name__}")


def fetch(
    url: str,
    *,
    settings: Settings,
    method: str = "GET",
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = FETCH_TIMEOUT,
    max_bytes: int = MAX_RESPONSE_BYTES,
) -> FetchResult:
    """One synchronous GET or POST to `url` under the egress rules; never raises for network problems.

    Only http(s) URLs; addresses are checked when connecting (EGRESS_ALLOWLIST opens ranges and
    names, never cloud metadata); redirects are not followed (a 3xx is a failure naming its
    Location); no proxy or other setting is read from the environment; `timeout` applies to
    connecting and to each read; at most `max_bytes` of the answer are read, a longer one fails.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return FetchResult(None, b"", "not a valid http(s) URL")
    if parts.scheme not in {"http", "https"} or not host:
        return FetchResult(None, b"", "not a valid http(s) URL")
    refusal, _resolve = _host_refusal(host, settings.EGRESS_ALLOWLIST)
    if refusal is not None:
        return FetchResult(None, b"", refusal.short)
    sent = {"User-Agent": FETCH_USER_AGENT, "Accept-Encoding": "identity", **(headers or {})}
    limits = {"connect": min(CONNECT_TIMEOUT, timeout), "read": timeout, "write": timeout, "pool": timeout}
    content = bytearray()
    try:
        with (
            httpcore.ConnectionPool(
                ssl_context=_tls_context(),
                network_backend=_EgressNetwork(settings.EGRESS_ALLOWLIST),
                max_connections=1,
            ) as pool,
            pool.stream(
                method, url, headers=list(sent.items()), content=body, extensions={"timeout": limits}
            ) as response,
        ):
            status = response.status
            answer_headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers}
            for chunk in response.iter_stream():
                content += chunk
                if len(content) > max_bytes:
                    return FetchResult(status, b"", f"the answer is larger than {max_bytes // 1024} KB")
    except (httpcore.ConnectError, httpcore.TimeoutException, httpcore.NetworkError, OSError) as exc:
        return FetchResult(None, b"", _fetch_error(exc, host, timeout))
    except httpcore.ProtocolError as exc:
        return FetchResult(None, b"", _fetch_error(exc, host, timeout))
    except (httpcore.UnsupportedProtocol, ValueError):
        return FetchResult(None, b"", "not a valid http(s) URL")
    data = bytes(content)
    content_type = answer_headers.get("content-type", "")
    if 300 <= status < 400:
        location = _clip(answer_headers.get("location", ""), 200)
        if location:
            return FetchResult(status, b"", f"redirected to {location} (redirects are not followed)")
        return FetchResult(
            status, b"", f"redirected ({status} without a Location; redirects are not followed)"
        )
    if not 200 <= status < 300:
        text = f"answered {status}"
        if data and "html" not in content_type.lower():
            detail = _clip(data[:500].decode("utf-8", errors="replace"), 200)
            if detail:
                text += f": {detail}"
        return FetchResult(status, data, text, content_type)
    return FetchResult(status, data, None, content_type)
