"""A live server of the whole router in a thread, and headless Chromium (Debian's) driven by Playwright."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest
from werkzeug.serving import make_server

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
def env(settings) -> dict[str, str]:
    """The environment of a child process (`statusplatform ...`) started with the test's settings."""
    values = {name: ",".join(v) if isinstance(v, tuple) else str(v) for name, v in asdict(settings).items()}
    return {**os.environ, **values}


@pytest.fixture
def live_server(router, committed_db) -> Iterator[int]:
    server = make_server("127.0.0.1", 0, router, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.port
    server.shutdown()
    server.server_close()


# Per module, not per session: while Playwright's sync API runs, the main thread has an asyncio
# loop marked running, and later in-process tests that use asyncio (the webhook sender) could not.
@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
                # test hosts resolve to this machine, as *.localhost does by itself
                "--host-resolver-rules=MAP *.pages.test 127.0.0.1, MAP platform.test 127.0.0.1",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page_factory(chromium) -> Iterator[object]:
    contexts = []
    errors: list[str] = []

    def new_page(width: int = 1280, height: int = 900, timezone: str = "America/New_York"):  # noqa: ANN202
        # A visitor in another zone than the page's (UTC), so local times are shown beside them.
        context = chromium.new_context(  # type: ignore[attr-defined]
            viewport={"width": width, "height": height}, timezone_id=timezone
        )
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    new_page.errors = errors  # type: ignore[attr-defined]
    yield new_page
    for context in contexts:
        context.close()


def screenshot(page: object, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
