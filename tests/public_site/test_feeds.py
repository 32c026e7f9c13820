"""The history feeds (/history.atom, /history.rss) in the shape of Statuspage's (reference README, A.3)."""

from __future__ import annotations

import calendar
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import pytest

from status_platform.db.session import tenant_session
from status_platform.timeutil import utcnow
from tenants.incidents.models import Incident, IncidentStatus
from tenants.incidents.services import open_incident, post_update
from tenants.maintenance.services import schedule_window, start_window
from tenants.pages.models import Page
from tenants.pages.services import bump_version
from tests.factories import ACTOR

ATOM = "{http://www.w3.org/2005/Atom}"
FEEDS = ("/history.atom", "/history.rss")
LABEL = re.compile(r"<strong>([^<]+)</strong> - ")


# --- helpers -----------------------------------------------------------------------------------


def fetch(web, org, path: str) -> str:
    response = web.get(path, headers={"Host": org.host})
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def parsed(web, org, path: str) -> Any:
    result = feedparser.parse(fetch(web, org, path))
    assert not result.bozo, result.get("bozo_exception")
    return result


def raw_entries(text: str) -> dict[str, dict[str, str]]:
    """Each entry (or item) of a feed by incident id, with its content HTML as the feed carries it."""
    root = ET.fromstring(text)
    found: dict[str, dict[str, str]] = {}
    if root.tag == f"{ATOM}feed":
        for entry in root.iter(f"{ATOM}entry"):
            link = entry.find(f"{ATOM}link").get("href")
            found[link.rsplit("/", 1)[1]] = {
                "title": entry.findtext(f"{ATOM}title"),
                "link": link,
                "html": entry.findtext(f"{ATOM}content"),
            }
    else:
        for item in root.iter("item"):
            link = item.findtext("link")
            found[link.rsplit("/", 1)[1]] = {
                "title": item.findtext("title"),
                "link": link,
                "guid": item.findtext("guid"),
                "html": item.findtext("description"),
            }
    return found


def api(web, org) -> dict[str, dict[str, Any]]:
    """The page's incidents and windows by id, as the v2 API gives them."""
    incidents = fetch_json(web, org, "/api/v2/incidents.json")["incidents"]
    windows = fetch_json(web, org, "/api/v2/scheduled-maintenances.json")["scheduled_maintenances"]
    return {i["id"]: i for i in incidents + windows}


def fetch_json(web, org, path: str) -> dict[str, Any]:
    response = web.get(path, headers={"Host": org.host})
    assert response.status_code == 200
    return response.get_json()


def seconds(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())


def stamp(value: datetime) -> str:
    return (
        f"{value.strftime('%b')} <var data-var='date'>{value.day:2d}</var>, "
        f"<var data-var='time'>{value.strftime('%H:%M')}</var>"
    )


def history(org) -> dict[str, str]:
    """The fixture incident resolved through an update without a status change, a resolved incident,
    and a cancelled window besides the fixture's scheduled one."""
    now = utcnow()
    ids: dict[str, str] = {}
    with tenant_session(org.tenant_id) as s:
        page = s.get(Page, org.page_id)
        incident = s.get(Incident, org.ids["incident"])
        post_update(s, incident, actor=ACTOR, body="Still working on it")
        post_update(s, incident, actor=ACTOR, status=IncidentStatus.RESOLVED, body="All fixed")
        short = open_incident(s, page, name="Short blip", actor=ACTOR, body="Errors")
        post_update(s, short, actor=ACTOR, status=IncidentStatus.RESOLVED, body="Gone")
        ids["short"] = short.id
        cancelled = schedule_window(
            s,
            page,
            name="Cancelled window",
            actor=ACTOR,
            scheduled_for=now + timedelta(days=3),
            scheduled_until=now + timedelta(days=3, hours=2),
        )
        cancelled.cancelled_at = now
        bump_version(s, page.id)
        ids["cancelled"] = cancelled.id
        s.commit()
    return ids


def backfill_github_incident(org) -> str:
    """GitHub's "Incident with Issues" of the RSS capture, recorded after the fact."""
    began = datetime(2024, 6, 5, 17, 22, 10, tzinfo=UTC)
    with tenant_session(org.tenant_id) as s:
        page = s.get(Page, org.page_id)
        incident = open_incident(
            s,
            page,
            name="Incident with Issues",
            actor=ACTOR,
            body="We are investigating reports of degraded availability for Issues",
            backfill_at=began,
        )
        post_update(
            s,
            incident,
            actor=ACTOR,
            status=IncidentStatus.RESOLVED,
            body="This incident has been resolved.",
            display_at=datetime(2024, 6, 5, 19, 27, 21, tzinfo=UTC),
        )
        s.commit()
        return incident.id


# --- the feed itself ---------------------------------------------------------------------------


def test_atom_feed_parses_with_the_page_title_link_and_tag_id(web, org_a):
    response = web.get("/history.atom", headers={"Host": org_a.host})
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    feed = parsed(web, org_a, "/history.atom").feed
    assert feed.title == "Acme Status - Incident History"
    assert feed.link == "http://acme.pages.test"
    assert feed.id == "tag:acme.pages.test,2005:/history"
    assert feed.author == "Acme"
    assert feed.updated_parsed is not None
    links = {link["rel"]: link["href"] for link in feed.links}
    assert links == {"alternate": "http://acme.pages.test", "self": "http://acme.pages.test/history.atom"}


def test_rss_feed_parses_with_the_page_title_link_and_statuspage_description(web, org_a):
    response = web.get("/history.rss", headers={"Host": org_a.host})
    assert response.status_code == 200
    assert response.mimetype == "application/rss+xml"
    result = parsed(web, org_a, "/history.rss")
    assert result.version == "rss20"
    assert result.feed.title == "Acme Status - Incident History"
    assert result.feed.link == "http://acme.pages.test"
    assert result.feed.published_parsed is not None
    channel = ET.fromstring(response.get_data(as_text=True)).find("channel")
    assert channel.findtext("description") == "Statuspage"


# --- entries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FEEDS)
def test_one_entry_per_incident_and_window_except_cancelled_ones(web, org_a, path):
    ids = history(org_a)
    entries = parsed(web, org_a, path).entries
    expected = {
        org_a.ids["incident"]: "Acme outage",
        org_a.ids["maintenance"]: "Acme upgrade",
        ids["short"]: "Short blip",
    }
    by_id = {e.link.rsplit("/", 1)[1]: e for e in entries}
    assert len(entries) == len(by_id) == 3
    assert {key: e.title for key, e in by_id.items()} == expected
    for incident_id, entry in by_id.items():
        assert entry.link == f"http://acme.pages.test/incidents/{incident_id}"
    assert ids["cancelled"] not in fetch(web, org_a, path)
    assert "Cancelled window" not in fetch(web, org_a, path)


def test_rss_guid_is_the_incident_url(web, org_a):
    history(org_a)
    for incident_id, item in raw_entries(fetch(web, org_a, "/history.rss")).items():
        assert item["guid"] == item["link"] == f"http://acme.pages.test/incidents/{incident_id}"


def test_incident_entries_come_newest_first(web, org_a):
    history(org_a)
    backfilled = backfill_github_incident(org_a)
    order = [i["id"] for i in fetch_json(web, org_a, "/api/v2/incidents.json")["incidents"]]
    assert order[-1] == backfilled
    for path in FEEDS:
        links = [e.link.rsplit("/", 1)[1] for e in parsed(web, org_a, path).entries]
        assert [link for link in links if link in order] == order


@pytest.mark.parametrize("path", FEEDS)
def test_entry_dates_parse_and_match_the_incident_times(web, org_a, path):
    history(org_a)
    backfill_github_incident(org_a)
    objects = api(web, org_a)
    entries = parsed(web, org_a, path).entries
    assert len(entries) == 4
    for entry in entries:
        incident = objects[entry.link.rsplit("/", 1)[1]]
        # published: the resolution time once resolved, else the first publication
        published = incident["resolved_at"] or incident["created_at"]
        assert calendar.timegm(entry.published_parsed) == seconds(published), incident["name"]
        if path.endswith(".atom"):
            assert calendar.timegm(entry.updated_parsed) == seconds(incident["updated_at"])
    resolved = next(e for e in entries if e.title == "Incident with Issues")
    assert calendar.timegm(resolved.published_parsed) == calendar.timegm((2024, 6, 5, 19, 27, 21))


@pytest.mark.parametrize("path", FEEDS)
def test_content_labels_each_update_newest_first_and_update_when_the_status_did_not_change(web, org_a, path):
    history(org_a)
    html = raw_entries(fetch(web, org_a, path))[org_a.ids["incident"]]["html"]
    assert LABEL.findall(html) == ["Resolved", "Update", "Identified", "Investigating"]
    bodies = ["All fixed", "Still working on it", "Acme cause found", "Acme is down"]
    positions = [html.index(body) for body in bodies]
    assert positions == sorted(positions)
    assert re.search(r"<strong>Update</strong> - (<p>)?Still working on it", html)
    assert html.strip().startswith("<p><small>")


@pytest.mark.parametrize("path", FEEDS)
def test_content_is_one_paragraph_per_update_as_in_the_capture(web, org_a, path):
    # GitHub's "Incident with Issues" (feeds/history.rss, 2nd item), rebuilt and compared verbatim.
    incident_id = backfill_github_incident(org_a)
    html = raw_entries(fetch(web, org_a, path))[incident_id]["html"]
    assert html.strip() == (
        "<p><small>Jun <var data-var='date'> 5</var>, <var data-var='time'>19:27</var> UTC</small><br>"
        "<strong>Resolved</strong> - This incident has been resolved.</p>"
        "<p><small>Jun <var data-var='date'> 5</var>, <var data-var='time'>17:22</var> UTC</small><br>"
        "<strong>Investigating</strong> - "
        "We are investigating reports of degraded availability for Issues</p>"
    )
    assert html.count("<p>") == 2


def test_rss_description_starts_with_a_newline_as_in_the_capture(web, org_a):
    incident_id = backfill_github_incident(org_a)
    html = raw_entries(fetch(web, org_a, "/history.rss"))[incident_id]["html"]
    assert html.startswith("\n<p><small>Jun <var data-var='date'> 5</var>")


def test_update_times_are_shown_in_the_pages_time_zone(web, org_a):
    incident_id = backfill_github_incident(org_a)
    with tenant_session(org_a.tenant_id) as s:
        s.get(Page, org_a.page_id).time_zone = "America/New_York"
        bump_version(s, org_a.page_id)
        s.commit()
    for path in FEEDS:
        html = raw_entries(fetch(web, org_a, path))[incident_id]["html"]
        assert "<var data-var='time'>15:27</var> EDT</small>" in html
        assert "<var data-var='time'>13:22</var> EDT</small>" in html
        assert " UTC" not in html


@pytest.mark.parametrize("path", FEEDS)
def test_window_entries_begin_with_the_scheduled_event_line(web, org_a, path):
    window = api(web, org_a)[org_a.ids["maintenance"]]
    starts = datetime.fromisoformat(window["scheduled_for"].replace("Z", "+00:00"))
    ends = datetime.fromisoformat(window["scheduled_until"].replace("Z", "+00:00"))
    html = raw_entries(fetch(web, org_a, path))[org_a.ids["maintenance"]]["html"]
    header = (
        f"<p><strong>THIS IS A SCHEDULED EVENT {stamp(starts)} - "
        f"<var data-var='time'>{ends.strftime('%H:%M')}</var> UTC</strong></p>"
    )
    assert html.strip().startswith(header)
    assert LABEL.findall(html) == ["Scheduled"]
    incident_html = raw_entries(fetch(web, org_a, path))[org_a.ids["incident"]]["html"]
    assert "THIS IS A SCHEDULED EVENT" not in incident_html


def test_a_started_window_lists_in_progress_above_scheduled(web, org_a):
    with tenant_session(org_a.tenant_id) as s:
        start_window(s, s.get(Incident, org_a.ids["maintenance"]), actor=ACTOR, body="Upgrading now")
        s.commit()
    for path in FEEDS:
        html = raw_entries(fetch(web, org_a, path))[org_a.ids["maintenance"]]["html"]
        assert html.strip().startswith("<p><strong>THIS IS A SCHEDULED EVENT ")
        assert LABEL.findall(html) == ["In progress", "Scheduled"]
        assert "Upgrading now" in html


# --- escaping, switching off, isolation --------------------------------------------------------


def test_names_and_bodies_are_escaped(web, org_a):
    name = '<script>alert(1)</script> & "quotes"'
    with tenant_session(org_a.tenant_id) as s:
        page = s.get(Page, org_a.page_id)
        incident = open_incident(s, page, name=name, actor=ACTOR, body="<script>alert(2)</script> Ok & fine")
        s.commit()
        incident_id = incident.id
    for path in FEEDS:
        text = fetch(web, org_a, path)
        assert "<script" not in text.lower()
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in text
        entries = {e.link.rsplit("/", 1)[1]: e for e in parsed(web, org_a, path).entries}
        assert entries[incident_id].title == name
        assert "<script" not in entries[incident_id].summary.lower()
        assert "Ok &amp; fine" in entries[incident_id].summary
        assert raw_entries(text)[incident_id]["title"] == name


def test_feeds_answer_404_when_the_page_turns_them_off(web, org_a):
    for path in FEEDS:
        assert web.get(path, headers={"Host": org_a.host}).status_code == 200
    with tenant_session(org_a.tenant_id) as s:
        s.get(Page, org_a.page_id).allow_rss_atom_feeds = False
        bump_version(s, org_a.page_id)
        s.commit()
    for path in FEEDS:
        response = web.get(path, headers={"Host": org_a.host})
        assert response.status_code == 404
        assert "Acme outage" not in response.get_data(as_text=True)
    assert web.get("/api/v2/status.json", headers={"Host": org_a.host}).status_code == 200


@pytest.mark.parametrize("path", FEEDS)
def test_another_organizations_incidents_never_appear(web, org_a, org_b, path):
    text = fetch(web, org_a, path)
    assert "Acme outage" in text
    assert "Globex" not in text and "globex" not in text
    for object_id in (org_b.ids["incident"], org_b.ids["maintenance"]):
        assert object_id not in text
    assert "Acme" not in fetch(web, org_b, path)
