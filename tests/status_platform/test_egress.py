"""Outbound notification HTTP: internal addresses are refused when subscribing and when connecting."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from status_platform import config
from status_platform.egress import (
    EgressRefused,
    PostResult,
    check_url,
    is_forbidden_address,
    open_http,
    post,
)
from status_platform.errors import ValidationError
from tenants.subscribers.models import Channel
from tenants.subscribers.schemas import clean_endpoint

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def strict_settings(settings):
    """The test settings with nothing allowed: loopback is refused like any internal address."""
    return replace(settings, EGRESS_ALLOWLIST=())


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> list[str]:
    """Make `socket.getaddrinfo` answer the names in `answers` (one list per lookup, the last repeats).

    Returns the names looked up, in order, so a test can see that a lookup really happened.
    """
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002
        if host not in answers:
            return real(host, port, family, type, proto, flags)
        asked.append(host)
        address = answers[host][0] if len(answers[host]) == 1 else answers[host].pop(0)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port or 0)))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


@contextlib.asynccontextmanager
async def raw_server(answer: bytes | None) -> AsyncIterator[tuple[str, list[bytes]]]:
    """An HTTP server on loopback that answers every request with `answer` (None: never answers)."""
    received: list[bytes] = []
    release = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        received.append(head + await reader.readexactly(length))
        if answer is None:
            await release.wait()
        else:
            writer.write(answer)
            await writer.drain()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", received
    finally:
        release.set()
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("address", "forbidden"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("::ffff:10.0.0.5", True),
        ("169.254.169.254", True),
        ("169.254.1.1", True),
        ("10.0.0.5", True),
        ("172.16.0.1", True),
        ("172.31.255.254", True),
        ("192.168.1.1", True),
        ("100.64.0.1", True),
        ("100.127.255.254", True),
        ("fd00::1", True),
        ("fe80::1", True),
        ("0.0.0.0", True),
        ("0.1.2.3", True),
        ("::", True),
        ("224.0.0.251", True),
        ("ff02::1", True),
        ("240.0.0.1", True),
        ("255.255.255.255", True),
        ("64:ff9b::7f00:1", True),
        ("not an address", True),
        ("93.184.216.34", False),
        ("2606:4700::1111", False),
        ("172.32.0.1", False),
        ("100.128.0.1", False),
        ("::ffff:93.184.216.34", False),
    ],
)
def test_addresses_are_classified_as_public_or_forbidden(address, forbidden):
    assert is_forbidden_address(address, ()) is forbidden


def test_the_allow_list_opens_its_ranges_and_names_but_never_the_metadata_address():
    allowlist = ("127.0.0.1/32", "10.0.0.0/8", "localhost")
    assert not is_forbidden_address("127.0.0.1", allowlist)
    assert not is_forbidden_address("::ffff:127.0.0.1", allowlist)
    assert not is_forbidden_address("10.20.30.40", allowlist)
    assert is_forbidden_address("127.0.0.2", allowlist)
    assert is_forbidden_address("192.168.1.1", allowlist)
    assert is_forbidden_address("169.254.169.254", ("169.254.0.0/16",))


def test_check_url_refuses_internal_targets_with_a_message_naming_them(strict_settings, monkeypatch):
    refused = {
        "http://127.0.0.1/": "loopback address (127.0.0.1)",
        "http://169.254.169.254/latest/meta-data": "metadata address (169.254.169.254)",
        "http://localhost:8080/": "loopback address (localhost)",
        "http://status.localhost/": "loopback address (status.localhost)",
        "http://[::1]/": "loopback address (::1)",
        "http://10.0.0.5/hook": "private network address (10.0.0.5)",
        "http://intranet.test/hook": "intranet.test resolves to a private network address (10.1.2.3)",
    }
    fake_dns(monkeypatch, {"intranet.test": ["10.1.2.3"], "hooks.public.test": ["93.184.216.34"]})
    for url, words in refused.items():
        with pytest.raises(EgressRefused) as refusal:
            check_url(url, strict_settings)
        assert words in refusal.value.message, url
        assert refusal.value.message.endswith("notifications can only be sent to public addresses."), url
    # Legacy numeric forms (2130706433 is 127.0.0.1) would slip past a check of dotted quads.
    with pytest.raises(EgressRefused, match="not a valid IP address"):
        check_url("http://2130706433/", strict_settings)

    # A name that resolves to a public address, and one that does not resolve here, are accepted.
    check_url("https://hooks.public.test/x", strict_settings)
    check_url("https://hooks.example.com/x", strict_settings)


def test_the_allow_list_lets_loopback_through_check_url(settings, strict_settings):
    check_url("http://127.0.0.1:9/hook", settings)
    check_url("http://localhost:9/hook", settings)
    with pytest.raises(EgressRefused):
        check_url("http://127.0.0.1:9/hook", strict_settings)


def test_a_loopback_post_arrives_when_allowed_and_is_refused_otherwise(
    http_receiver, settings, strict_settings
):
    url = http_receiver.url + "/hook"

    async def send(with_settings, target=url) -> PostResult:
        async with open_http(with_settings) as session:
            return await post(session, target, b'{"a": 1}', JSON, settings=with_settings)

    delivered = asyncio.run(send(settings))
    assert delivered.ok and delivered.status == 200 and delivered.error is None
    assert delivered.duration_ms >= 0
    [request] = http_receiver.requests
    assert (request.method, request.path, request.body) == ("POST", "/hook", b'{"a": 1}')
    assert request.headers["User-Agent"] == "StatusPlatform-Notifications/1.0"
    assert request.headers["Content-Type"] == "application/json"

    refused = asyncio.run(send(strict_settings))
    assert not refused.ok and refused.status is None
    assert refused.error == "refused: 127.0.0.1 is a loopback address"
    by_name = asyncio.run(send(strict_settings, url.replace("127.0.0.1", "localhost")))
    assert by_name.error == "refused: localhost is a loopback address"
    assert len(http_receiver.requests) == 1


def test_a_name_that_rebinds_to_loopback_after_subscribing_is_refused_when_connecting(
    http_receiver, settings, strict_settings, monkeypatch
):
    port = http_receiver.url.rsplit(":", 1)[1]
    url = f"http://rebind.test:{port}/hook"
    asked = fake_dns(monkeypatch, {"rebind.test": ["93.184.216.34", "127.0.0.1"]})
    check_url(url, strict_settings)

    async def send_twice(with_settings) -> list[PostResult]:
        async with open_http(with_settings) as session:
            return [await post(session, url, b"{}", JSON, settings=with_settings) for _ in range(2)]

    results = asyncio.run(send_twice(strict_settings))
    assert [r.error for r in results] == [
        "refused: rebind.test resolves to a loopback address (127.0.0.1)"
    ] * 2
    assert all(r.status is None and not r.ok for r in results)
    # Each send looked the name up again: a refused answer is never served from a cache.
    assert asked == ["rebind.test"] * 3
    assert http_receiver.requests == []

    # The same name reaches the receiver once loopback is allowed: the refusal was the address check.
    assert all(r.ok for r in asyncio.run(send_twice(settings)))
    assert len(http_receiver.requests) == 2


def test_redirects_are_not_followed_and_other_answers_are_failures(http_receiver, settings):
    redirect = (
        b"HTTP/1.1 302 Found\r\nLocation: https://elsewhere.example/next\r\n"
        b"Content-Length: 0\r\nConnection: close\r\n\r\n"
    )

    async def scenario() -> tuple[PostResult, list[bytes], PostResult]:
        async with raw_server(redirect) as (base, received), open_http(settings) as session:
            moved = await post(session, base + "/hook", b"{}", JSON, settings=settings)
        http_receiver.responses = [410]
        http_receiver.body = b"no_service"
        async with open_http(settings) as session:
            gone = await post(session, http_receiver.url + "/hook", b"{}", JSON, settings=settings)
        return moved, received, gone

    moved, received, gone = asyncio.run(scenario())
    assert not moved.ok and moved.status == 302
    assert moved.error == "redirected to https://elsewhere.example/next (redirects are not followed)"
    assert len(received) == 1
    assert not gone.ok and gone.status == 410
    assert gone.error == "answered 410 Gone: no_service"


def test_network_failures_come_back_as_results_with_a_readable_error(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    async def scenario() -> tuple[PostResult, list[bytes], PostResult]:
        async with raw_server(None) as (base, received), open_http(settings) as session:
            silent = await post(session, base + "/hook", b"{}", JSON, settings=settings, timeout=0.3)
            refused = await post(session, f"http://127.0.0.1:{closed_port}/", b"{}", JSON, settings=settings)
        return silent, received, refused

    silent, received, refused = asyncio.run(scenario())
    assert silent.status is None and silent.error == "no answer within 0.3 s"
    assert 250 <= silent.duration_ms < 5000
    assert len(received) == 1
    assert refused.status is None and refused.error == f"connection refused by 127.0.0.1:{closed_port}"


def test_clean_endpoint_refuses_internal_urls_when_nothing_is_allowed(strict_settings, monkeypatch):
    monkeypatch.setattr(config, "_active", [strict_settings])
    for url in ("http://169.254.169.254/", "http://localhost/"):
        with pytest.raises(ValidationError) as refusal:
            clean_endpoint(url, channel=Channel.WEBHOOK)
        assert refusal.value.field == "endpoint"
        assert "notifications can only be sent to public addresses" in refusal.value.message
    assert (
        clean_endpoint(" https://hooks.example.com/x ", channel=Channel.SLACK)
        == "https://hooks.example.com/x"
    )
