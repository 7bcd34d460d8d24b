"""What a tired or hostile person can send the workspace pages: bogus ids, wrong methods, huge
values, unknown filters, hostile Markdown and alert links; and the viewer's own time zone. Each
answers 4xx or a message naming the field, never a 500, and nothing sent becomes markup."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from incidents.models import Alert, Incident, Role, TimelineEntry
from incidents.services.timeline import timeline_add
from incidents.tests.factories import make_service
from incidents.tests.test_workspace_pages import flash, level, make_incident, signed_in
from oncall.models import Profile

pytestmark = pytest.mark.django_db

HUGE = "9" * 30  # beyond any database integer
ACTIONS = (
    "acknowledge",
    "resolve",
    "escalate",
    "reassign",
    "severity",
    "roles",
    "roles/release",
    "responders",
    "merge",
    "notes",
    "updates",
)


@pytest.mark.parametrize("action", ACTIONS)
def test_an_unknown_incident_is_404_and_a_get_is_405(responder: User, action: str) -> None:
    incident = make_incident()
    client = signed_in(responder)

    assert client.post(f"/incidents/{HUGE}/{action}/", {"text": "x"}).status_code == 404
    assert client.post(f"/incidents/999999/{action}/", {"text": "x"}).status_code == 404
    assert client.get(f"/incidents/{incident.pk}/{action}/").status_code == 405
    assert list(incident.timeline.values_list("kind", flat=True)) == ["triggered"]


def test_pages_answer_404_for_unknown_incidents_and_405_for_other_methods(responder: User) -> None:
    incident = make_incident()
    client = signed_in(responder)

    assert client.get(f"/incidents/{HUGE}/").status_code == 404
    assert client.get(f"/incidents/{HUGE}/timeline/", headers={"HX-Request": "true"}).status_code == 404
    assert client.post("/incidents/").status_code == 405
    assert client.post(f"/incidents/{incident.pk}/").status_code == 405
    assert client.put(f"/incidents/{incident.pk}/notes/").status_code == 405
    assert client.delete("/incidents/declare/").status_code == 405
    assert client.head(f"/incidents/{incident.pk}/").status_code == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (f"service={HUGE}", "Service"),
        (f"team={HUGE}", "Team"),
        ("severity=" + "x" * 5000, "Severity"),
        ("q=" + "x" * 5000, "Search"),
        ("q=%00", "Search"),
        ("status=sleeping", "Status"),
    ],
)
def test_bad_list_filters_answer_400_naming_the_field(responder: User, query: str, field: str) -> None:
    make_incident()
    client = signed_in(responder)

    full = client.get(f"/incidents/?{query}")
    partial = client.get(f"/incidents/?{query}", headers={"HX-Request": "true"})

    assert (full.status_code, partial.status_code) == (400, 400)
    for response in (full, partial):
        problems = re.findall(r'<li class="message error">(.*?)</li>', response.content.decode())
        assert [problem for problem in problems if problem.startswith(f"{field}:")], problems
        assert '<tr id="incident-' not in response.content.decode()


@pytest.mark.parametrize("page", ["-1", "0", HUGE, "abc", "１"])
def test_a_bogus_page_number_shows_the_first_page(responder: User, page: str) -> None:
    incident = make_incident()

    response = signed_in(responder).get(f"/incidents/?page={page}")

    assert response.status_code == 200
    assert f'<tr id="incident-{incident.pk}"' in response.content.decode()


def test_a_huge_number_searched_finds_nothing_instead_of_failing(responder: User) -> None:
    make_incident()

    response = signed_in(responder).get(f"/incidents/?q=%23{HUGE}")

    assert response.status_code == 200
    assert "No incidents match these filters." in response.content.decode()


@pytest.mark.parametrize(
    ("action", "data", "problem"),
    [
        ("responders", {"users": [HUGE]}, f"People to page: “{HUGE}” is not a valid value."),
        ("responders", {"users": ["1x"]}, "People to page: “1x” is not a valid value."),
        ("reassign", {"users": [HUGE]}, f"People: “{HUGE}” is not a valid value."),
        ("reassign", {"escalation_policy": HUGE}, "Escalation policy: Select a valid choice."),
        ("merge", {"target": HUGE}, "Merge into incident number: Ensure this value is less than or equal to"),
        ("merge", {"target": "-5"}, "Merge into incident number: Ensure this value is greater than or equal to 1."),
        ("roles", {"role": HUGE, "user": HUGE}, "Role: Select a valid choice."),
        ("roles/release", {"role": "abc", "user": "x"}, "Role: Select a valid choice."),
        ("severity", {"severity": HUGE, "reason": "x"}, "New severity: Select a valid choice."),
        ("updates", {"kind": "internal_update", "text": "x", "stakeholder_group": HUGE}, "Stakeholder group:"),
        ("updates", {"kind": "internal_update", "text": "x" * 20_000}, "Update: Ensure this value has at most"),
        ("notes", {"text": "x" * 20_000}, "Note: Ensure this value has at most 10000 characters"),
        ("notes", {"text": "a\x00b"}, "Note: Null characters are not allowed."),
        ("resolve", {"note": "x" * 20_000}, "Resolution note: Ensure this value has at most"),
    ],
)
def test_bad_action_input_says_which_field_and_changes_nothing(
    responder: User, action: str, data: dict[str, Any], problem: str
) -> None:
    incident = make_incident()

    response = signed_in(responder).post(f"/incidents/{incident.pk}/{action}/", data, follow=True)

    assert response.status_code == 200
    messages = flash(response)
    assert messages, "no message"
    assert messages[0].startswith(problem), messages
    incident.refresh_from_db()
    assert incident.status == "triggered"
    assert list(incident.timeline.values_list("kind", flat=True)) == ["triggered"]


def test_a_note_with_a_null_character_sent_by_htmx_comes_back_as_400(responder: User) -> None:
    incident = make_incident()

    response = signed_in(responder).post(
        f"/incidents/{incident.pk}/notes/", {"text": "a\x00b"}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 400
    assert "Note: Null characters are not allowed." in response.content.decode()
    assert response.content.decode().lstrip().startswith('<div id="timeline-entries"')


def test_an_empty_declare_post_is_400_naming_each_required_field(responder: User) -> None:
    response = signed_in(responder).post("/incidents/declare/")

    assert response.status_code == 400
    problems = re.findall(r'<li class="message error">(.*?)</li>', response.content.decode())
    assert {problem.split(":")[0] for problem in problems} >= {"Service", "Severity", "Title", "What is seen"}
    assert not Incident.objects.exists()


@pytest.mark.parametrize("started_at", ["garbage", "0001-01-01T00:00", "1999-12-31T23:59", "99999-01-01T00:00"])
def test_a_bad_start_time_is_400_naming_the_field(responder: User, started_at: str) -> None:
    # Far east of UTC, year 1 at midnight is year 0 in UTC: no database can store it.
    Profile.objects.create(user=responder, time_zone="Asia/Tokyo")

    service = make_service("Checkout")
    form = {"service": service.pk, "severity": level("P3").pk, "title": "x", "description": "y"}

    response = signed_in(responder).post("/incidents/declare/", {**form, "started_at": started_at})

    assert response.status_code == 400
    problems = re.findall(r'<li class="message error">(.*?)</li>', response.content.decode())
    assert [problem.split(":")[0] for problem in problems] == ["When it started"], problems
    assert not Incident.objects.exists()


# --- Nothing sent becomes markup ------------------------------------------------------------------


class Markup(HTMLParser):
    """Every tag with its attributes, as a browser would see them (entities decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))


def markup(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = Markup()
    parser.feed(html)
    return parser.tags


def scheme(href: str) -> str:
    # What a browser does before it reads a scheme: drop control characters and whitespace.
    cleaned = re.sub(r"[\x00-\x20]", "", href).lower()
    return cleaned.split(":", 1)[0] if re.match(r"^[a-z][a-z0-9+.-]*:", cleaned) else ""


HOSTILE_MARKDOWN = [
    "[a](javascript:alert(1))",
    "[a](JaVaScRiPt:alert(1))",
    "[a](&#106;avascript:alert(1))",
    "[a](java\tscript:alert(1))",
    "[a]( javascript:alert(1))",
    "<a href='javascript:alert(1)'>a</a>",
    "<javascript:alert(1)>",
    "[a](vbscript:msgbox(1))",
    "[a](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![a](javascript:alert(1))",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<iframe src=https://evil.example></iframe>",
    "<details open ontoggle=alert(1)>",
    "[a][r]\n\n[r]: javascript:alert(1)",
    '<a href="https://ok.example" onclick="alert(1)" style="x">a</a>',
    "<form action=https://evil.example><button>b</button></form>",
]


@pytest.mark.parametrize("body", HOSTILE_MARKDOWN)
def test_hostile_runbook_markdown_renders_inert_on_the_page(responder: User, body: str) -> None:
    from incidents.models.runbooks import Runbook

    incident = make_incident()
    runbook = Runbook.objects.create(title="Checkout down", body=f"Step one.\n\n{body}\n\nStep two.")
    runbook.services.add(incident.service)

    html = signed_in(responder).get(f"/incidents/{incident.pk}/").content.decode()

    panel = html.split('<div class="runbook-body">', 1)[1].split("</div>", 1)[0]
    tags = markup(panel)
    assert "Step two." in panel
    assert {tag for tag, _ in tags} <= {"p", "a", "ul", "ol", "li", "strong", "em", "code", "pre", "br"}, tags
    assert all(not name.startswith("on") and name != "style" for _, attrs in tags for name in attrs), tags
    assert all(scheme(attrs.get("href", "")) in ("", "http", "https", "mailto") for _, attrs in tags), tags


@pytest.mark.parametrize(
    "href", [" JavaScript:alert(1)", "java\tscript:alert(1)", "data:text/html,<script>alert(1)</script>", "//evil"]
)
def test_only_web_links_from_alerts_become_links(responder: User, href: str) -> None:
    incident = make_incident()
    Alert.objects.create(
        incident=incident,
        service=incident.service,
        key="x",
        summary="Checkout 500s",
        links=[{"href": href, "text": "dashboard"}],
        images=[{"src": href, "alt": "graph"}],
    )

    html = signed_in(responder).get(f"/incidents/{incident.pk}/").content.decode()

    card = html.split('class="card alert"', 1)[1].split("</article>", 1)[0]
    assert [attrs for tag, attrs in markup(card) if tag in ("a", "img")] == []
    assert "dashboard: <code>" in card


# --- Times in the viewer's zone ---------------------------------------------------------------------


def test_times_show_in_the_viewers_time_zone_and_the_timeline_dates_each_new_day(responder: User) -> None:
    Profile.objects.create(user=responder, time_zone="America/New_York")
    opened = datetime(2026, 1, 15, 4, 55, tzinfo=UTC)  # 23:55 on the 14th in New York
    incident = make_incident()
    Incident.objects.filter(pk=incident.pk).update(created_at=opened, detected_at=opened)
    incident.timeline.update(at=opened)
    timeline_add(incident, TimelineEntry.Kind.NOTE, "Past midnight", at=opened + timedelta(minutes=10), actor=None)
    timeline_add(incident, TimelineEntry.Kind.NOTE, "Later", at=opened + timedelta(minutes=20), actor=None)
    client = signed_in(responder)

    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    listing = client.get("/incidents/").content.decode()
    declared = client.post(
        "/incidents/declare/",
        {
            "service": incident.service.pk,
            "severity": level("P3").pk,
            "title": "Seen by hand",
            "description": "x",
            "started_at": "2026-01-14T23:50",
        },
    )

    assert 'opened <time datetime="2026-01-14T23:55:00-05:00">14 Jan 2026 23:55:00</time>' in page
    times = re.findall(r'data-kind="\w+"><time datetime="[^"]+">([^<]+)</time>', page)
    assert times == ["14 Jan 23:55:00", "15 Jan 00:05:00", "00:15:00"]
    assert '<time datetime="2026-01-14T23:55:00-05:00">14 Jan 23:55</time>' in listing
    assert "times shown in America/New_York" in page
    assert declared.status_code == 302
    assert Incident.objects.get(title="Seen by hand").started_at == datetime(2026, 1, 15, 4, 50, tzinfo=UTC)


# --- After resolving ----------------------------------------------------------------------------------


def test_a_resolved_incident_still_takes_notes_and_updates_but_no_other_action(responder: User) -> None:
    incident = make_incident()
    client = signed_in(responder)
    client.post(f"/incidents/{incident.pk}/resolve/", {"note": "Rolled back"})

    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    posted = client.post(
        f"/incidents/{incident.pk}/updates/", {"kind": "status_page", "text": "Resolved: all fine."}, follow=True
    )
    again = client.post(f"/incidents/{incident.pk}/acknowledge/", follow=True)

    actions = set(re.findall(r'<form method="post" action="/incidents/\d+/([\w/-]+)/"', page))
    assert actions == {"notes", "updates"}
    assert flash(posted) == ["Status page update posted."]
    assert flash(again) == ["The incident is resolved; it cannot be acknowledged now."]
    assert incident.timeline.filter(kind="update_posted", message__contains="all fine").exists()


def test_a_stakeholder_cannot_post_an_update_to_a_resolved_incident_either(stakeholder: User) -> None:
    incident = make_incident(status=Incident.Status.RESOLVED)
    client = Client()
    client.force_login(stakeholder)

    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    response = client.post(f"/incidents/{incident.pk}/updates/", {"kind": "internal_update", "text": "x"})

    assert 'method="post" action="/incidents/' not in page
    assert response.status_code == 403
    assert Role.objects.exists()
    assert list(incident.timeline.values_list("kind", flat=True)) == ["triggered"]


def test_a_stakeholder_cannot_be_given_a_role_or_paged_in(responder: User, stakeholder: User) -> None:
    incident = make_incident()
    commander = Role.objects.get(key="incident-commander")
    client = signed_in(responder)

    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assigned = client.post(
        f"/incidents/{incident.pk}/roles/", {"role": commander.pk, "user": stakeholder.pk}, follow=True
    )
    paged = client.post(f"/incidents/{incident.pk}/responders/", {"users": [stakeholder.pk]}, follow=True)

    for select in ('id="assign-incident-commander"', 'id="responders-users"'):
        options = page.split(select, 1)[1].split("</select>", 1)[0]
        assert "Rui Responder</option>" in options
        assert "Stella Stakeholder</option>" not in options
    assert flash(assigned) == ["Person: Select a valid choice. That choice is not one of the available choices."]
    assert flash(paged)[0].startswith(f"People to page: Select a valid choice. {stakeholder.pk} is not one of")
    assert list(incident.timeline.values_list("kind", flat=True)) == ["triggered"]
