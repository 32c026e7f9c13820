"""The status page's colours keep WCAG AA contrast (4.5:1) for text, in the light and the dark theme."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[2] / "public_site" / "static" / "status.css").read_text()


def variables(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", block))


LIGHT = variables(CSS[CSS.index(":root {") : CSS.index("}", CSS.index(":root {"))])
DARK_START = CSS.index("@media (prefers-color-scheme: dark)")
DARK = {**LIGHT, **variables(CSS[DARK_START : CSS.index("}", CSS.index(":root", DARK_START))])}
TEXT_COLOURS = ("ok", "degraded", "partial", "major", "maint", "fg", "muted")


def luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(("theme", "colours"), [("light", LIGHT), ("dark", DARK)])
@pytest.mark.parametrize("name", TEXT_COLOURS)
def test_status_text_is_readable_on_the_page_and_on_cards(theme, colours, name):
    for background in ("bg", "card"):
        assert contrast(colours[name], colours[background]) >= 4.5, (theme, name, background)


@pytest.mark.parametrize(
    "banner", re.findall(r"\.indicator-[a-z]+ \{ background: (#[0-9a-fA-F]{6}); \}", CSS)
)
def test_white_banner_text_is_readable_on_every_status_colour(banner):
    assert contrast("#ffffff", banner) >= 4.5
