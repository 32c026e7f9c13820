"""Statuspage's public Status API v2, path for path and key for key, from the snapshot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, json

from public_site import documents

bp = Blueprint("api_v2", __name__, url_prefix="/api/v2")

UNRESOLVED = ("investigating", "identified", "monitoring")
UPCOMING_OR_ACTIVE = ("scheduled", "in_progress", "verifying")


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if not key.startswith("_")}


def _incidents(snapshot: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The page's incidents (or maintenances), newest first, cancelled windows left out."""
    found = [i for i in snapshot["incidents"].values() if i["_kind"] == kind and not i["_cancelled"]]
    key = "scheduled_for" if kind == "maintenance" else "started_at"
    return sorted(found, key=lambda i: i[key] or "", reverse=True)


def _with_reminders(incident: dict[str, Any]) -> dict[str, Any]:
    return {**_public(incident), "reminder_intervals": incident["_reminder_intervals"]}


def _json(body: Callable[[], dict[str, Any]], *parts: object) -> Response:
    return documents.respond(
        lambda: json.dumps(body(), separators=(",", ":")), *parts, content_type="application/json", cors=True
    )


def _upcoming(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(
        (_public(i) for i in _incidents(snapshot, "maintenance") if i["status"] == "scheduled"),
        key=lambda i: i["scheduled_for"] or "",
    )


@bp.get("/summary.json")
def summary() -> Response:
    s = documents.snapshot()
    return _json(
        lambda: {
            "page": s["page"],
            "components": s["components"],
            "incidents": [_public(i) for i in _incidents(s, "incident") if i["status"] in UNRESOLVED],
            "scheduled_maintenances": [
                _public(i)
                for i in sorted(_incidents(s, "maintenance"), key=lambda i: i["scheduled_for"] or "")
                if i["status"] in UPCOMING_OR_ACTIVE
            ],
            "status": s["status"],
        },
        "summary",
    )


@bp.get("/status.json")
def status() -> Response:
    s = documents.snapshot()
    return _json(lambda: {"page": s["page"], "status": s["status"]}, "status")


@bp.get("/components.json")
def components() -> Response:
    s = documents.snapshot()
    return _json(lambda: {"page": s["page"], "components": s["components"]}, "components")


@bp.get("/incidents.json")
def incidents() -> Response:
    s = documents.snapshot()
    return _json(
        lambda: {
            "page": s["page"],
            "incidents": [_with_reminders(i) for i in _incidents(s, "incident")][:50],
        },
        "incidents",
    )


@bp.get("/incidents/unresolved.json")
def unresolved() -> Response:
    s = documents.snapshot()
    return _json(
        lambda: {
            "page": s["page"],
            "incidents": [_public(i) for i in _incidents(s, "incident") if i["status"] in UNRESOLVED],
        },
        "unresolved",
    )


@bp.get("/scheduled-maintenances.json")
def scheduled_maintenances() -> Response:
    s = documents.snapshot()
    return _json(
        lambda: {
            "page": s["page"],
            "scheduled_maintenances": [_public(i) for i in _incidents(s, "maintenance")][:50],
        },
        "maintenances",
    )


@bp.get("/scheduled-maintenances/upcoming.json")
def upcoming() -> Response:
    s = documents.snapshot()
    return _json(lambda: {"page": s["page"], "scheduled_maintenances": _upcoming(s)}, "upcoming")


@bp.get("/scheduled-maintenances/active.json")
def active() -> Response:
    s = documents.snapshot()
    found = [_public(i) for i in _incidents(s, "maintenance") if i["status"] in ("in_progress", "verifying")]
    return _json(lambda: {"page": s["page"], "scheduled_maintenances": found}, "active")
