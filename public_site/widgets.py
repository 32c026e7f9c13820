"""The status badge (SVG) and the embeddable notice script, both from the snapshot."""

from __future__ import annotations

from flask import Blueprint, Response, make_response, render_template, request

from public_site import documents

bp = Blueprint("widgets", __name__)

INDICATOR_COLORS = {
    "none": "#2e7d32",
    "minor": "#8a6d00",
    "major": "#c25e00",
    "critical": "#c62828",
    "maintenance": "#1565c0",
}
STATUS_COLORS = {
    "operational": "#2e7d32",
    "degraded_performance": "#8a6d00",
    "partial_outage": "#c25e00",
    "major_outage": "#c62828",
    "under_maintenance": "#1565c0",
}
STATUS_WORDS = {
    "operational": "Operational",
    "degraded_performance": "Degraded Performance",
    "partial_outage": "Partial Outage",
    "major_outage": "Major Outage",
    "under_maintenance": "Under Maintenance",
}


def _text_width(text: str) -> int:
    # About 6.5 px per character at 11 px Verdana, enough for a badge that never clips.
    return int(len(text) * 6.5) + 12


@bp.get("/badge.svg")
def badge() -> Response:
    snapshot = documents.snapshot()
    label, message, color = snapshot["page"]["name"], snapshot["status"]["description"], None
    component_id = request.args.get("component", "")
    if component_id:
        component = next((c for c in snapshot["components"] if c["id"] == component_id), None)
        if component is None:
            return make_response(("Unknown component", 404, {"Content-Type": "text/plain; charset=utf-8"}))
        label, message, color = (
            component["name"],
            STATUS_WORDS[component["status"]],
            STATUS_COLORS[component["status"]],
        )
    color = color or INDICATOR_COLORS.get(snapshot["status"]["indicator"], "#52606d")
    left, right = _text_width(label), _text_width(message)
    return documents.respond(
        lambda: render_template(
            "public/badge.svg", label=label, message=message, color=color, left=left, right=right
        ),
        "badge",
        content_type="image/svg+xml; charset=utf-8",
        cors=True,
        extra_headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )


@bp.get("/embed.js")
def embed() -> Response:
    documents.snapshot()  # the page must exist; the script itself reads summary.json
    return documents.respond(
        lambda: render_template(
            "public/embed.js",
            page_url=documents.page_url(),
        ),
        "embed",
        content_type="text/javascript; charset=utf-8",
        cors=True,
    )
