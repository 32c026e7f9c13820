"""The history feeds (/history.atom and /history.rss) in the shape of Statuspage's."""

from __future__ import annotations

from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, render_template, request

from public_site import documents, viewers
from public_site.formatting import in_zone, parse

bp = Blueprint("feeds", __name__)
FEED_SIZE = 50


def _entries(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    zone = snapshot["page"]["time_zone"]
    found = [i for i in snapshot["incidents"].values() if not i["_cancelled"]]
    found.sort(key=lambda i: i["started_at"], reverse=True)
    entries = []
    for incident in found[:FEED_SIZE]:
        entries.append(
            {
                "incident": incident,
                "html": _content_html(incident, zone),
                "published": incident["resolved_at"] or incident["created_at"],
                "updated": incident["updated_at"],
            }
        )
    return entries


def _stamp(value: str, zone: str) -> str:
    local = in_zone(value, zone)
    return (
        f"{local.strftime('%b')} <var data-var='date'>{local.day:2d}</var>, "
        f"<var data-var='time'>{local.strftime('%H:%M')}</var>"
    )


def _content_html(incident: dict[str, Any], zone: str) -> str:
    """One <p> per update, newest first, as Statuspage writes it; maintenance opens with its window."""
    label = in_zone(incident["started_at"], zone).strftime("%Z")
    parts = []
    if (
        incident["_kind"] == "maintenance"
        and incident.get("scheduled_for")
        and incident.get("scheduled_until")
    ):
        until = in_zone(incident["scheduled_until"], zone)
        parts.append(
            f"<p><strong>THIS IS A SCHEDULED EVENT {_stamp(incident['scheduled_for'], zone)} - "
            f"<var data-var='time'>{until.strftime('%H:%M')}</var> {label}</strong></p>"
        )
    for index, update in enumerate(incident["incident_updates"]):
        parts.append(
            f"<p><small>{_stamp(update['display_at'], zone)} {label}</small><br>"
            f"<strong>{incident['_labels'][index]}</strong> - {incident['_bodies_inline'][index]}</p>"
        )
    return "".join(parts)


def _feed(template: str, content_type: str) -> Response:
    """The feed as its reader may see it: a viewer's secret feed URL carries `token`; a private
    page has no feed without one."""
    token = request.args.get("token")
    if token is not None:
        viewers.use_feed_token(token)
    snapshot = documents.snapshot()
    if not snapshot["_page"]["allow_feeds"]:
        abort(404)
    page_url = documents.page_url()

    def render() -> str:
        entries = _entries(snapshot)
        updated = max([snapshot["page"]["updated_at"], *(e["updated"] for e in entries)])
        return render_template(
            template,
            s=snapshot,
            entries=entries,
            page_url=page_url,
            host=urlsplit(page_url).hostname,
            updated=updated,
            rfc822=lambda v: format_datetime(parse(v)).replace("-0000", "+0000"),
        )

    return documents.respond(render, template, content_type=content_type, cors=True)


@bp.get("/history.atom")
def atom() -> Response:
    return _feed("public/history_atom.xml", "application/atom+xml; charset=utf-8")


@bp.get("/history.rss")
def rss() -> Response:
    return _feed("public/history_rss.xml", "application/rss+xml; charset=utf-8")
