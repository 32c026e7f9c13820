"""User text to safe HTML: Markdown through markdown-it-py, then sanitized with nh3."""

from __future__ import annotations

import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "td": {"align"}, "th": {"align"}}

_markdown = (
    MarkdownIt("commonmark", {"breaks": True, "html": True, "linkify": False})
    .enable("table")
    .enable("strikethrough")
)


@lru_cache(maxsize=4096)
def render_markdown(text: str) -> str:
    """Markdown (or the simple HTML Statuspage bodies carry, like <br />) as sanitized HTML.

    Links keep only http, https and mailto, and open with rel="nofollow noopener noreferrer".
    """
    if not text:
        return ""
    html = _markdown.render(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    ).strip()


def render_markdown_inline(text: str) -> str:
    """The body as Statuspage writes it inside a feed paragraph: paragraphs joined by <br /><br />."""
    html = render_markdown(text)
    if html.startswith("<p>") and html.endswith("</p>"):
        html = html[3:-4]
    return re.sub(r"</p>\s*<p>", "<br /><br />", html)
