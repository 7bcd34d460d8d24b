"""The responder workspace as people see it (without a browser): the incident list, the war-room
page and its actions, declaring an incident, who may do what, and bad input."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from incidents.models import Alert, Incident, IncidentRole, Role, Service, SeverityLevel, TimelineEntry
from incidents.services import comms
from incidents.services.roles import role_assign
from incidents.services.timeline import timeline_add
from incidents.tests.factories import make_service, make_team
from oncall.models import Delivery

pytestmark = pytest.mark.django_db


def level(name: str) -> SeverityLevel:
    return SeverityLevel.objects.get(name=name)


def make_incident(
    title: str = "Checkout is down",
    *,
    severity: str = "P1",
    service: Service | None = None,
    status: str = Incident.Status.TRIGGERED,
    age: timedelta = timedelta(minutes=2),
    **extra: Any,
) -> Incident:
    created = timezone.now() - age
    incident = Incident.objects.create(
        title=title,
        severity=level(severity),
        service=service or Service.objects.first() or make_service(),
        status=status,
        created_at=created,
        detected_at=created,
        **extra,
    )
    timeline_add(incident, TimelineEntry.Kind.TRIGGERED, "Opened.", at=created, actor_label="test")
    return incident


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def row_numbers(html: str) -> list[int]:
    return [int(number) for number in re.findall(r'<tr id="incident-(\d+)"', html)]


def flash(response: Any) -> list[str]:
    return re.findall(r'<li class="message (?:error|success)">(.*?)</li>', response.content.decode())


# --- The list ------------------------------------------------------------------------------------


def test_the_list_puts_open_incidents_first_then_newest(responder: User) -> None:
    old_open = make_incident("Old but open", age=timedelta(days=3))
    resolved = make_incident("Resolved lately", status=Incident.Status.RESOLVED, age=timedelta(minutes=1))
    acked = make_incident("Acked", status=Incident.Status.ACKNOWLEDGED, age=timedelta(hours=1))

    html = signed_in(responder).get("/incidents/").content.decode()

    assert row_numbers(html) == [acked.pk, old_open.pk, resolved.pk]


def test_the_list_filters_by_status_severity_service_team_search_and_mine(responder: User) -> None:
    payments = make_team("Payments")
    checkout = make_service("Checkout", team=payments)
    search = make_service("Search", team=make_team("Discovery"))
    p1 = make_incident("Card payments failing", service=checkout)
    p2 = make_incident("Slow search", severity="P2", service=search)
    done = make_incident("Old outage", service=checkout, status=Incident.Status.RESOLVED)
    paged_me = make_incident("Paged me", severity="P3", service=search)
    Delivery.objects.create(
        key="t:1", page_key="t:1", subject=f"incident:{paged_me.pk}", user=responder, channel="email", urgency="high"
    )
    role_assign(p2, Role.objects.get(key="technical-lead"), responder, actor=None)
    client = signed_in(responder)

    def rows(query: str) -> set[int]:
        response = client.get(f"/incidents/?{query}")
        assert response.status_code == 200, query
        return set(row_numbers(response.content.decode()))

    assert rows("status=open") == {p1.pk, p2.pk, paged_me.pk}
    assert rows("status=resolved") == {done.pk}
    assert rows("severity=P2") == {p2.pk}
    assert rows(f"service={checkout.pk}") == {p1.pk, done.pk}
    assert rows(f"team={payments.pk}") == {p1.pk, done.pk}
    assert rows("q=card") == {p1.pk}
    assert rows(f"q=%23{p2.pk}") == {p2.pk}
    assert rows("mine=on") == {p2.pk, paged_me.pk}


def test_the_list_counts_open_incidents_per_severity(responder: User) -> None:
    make_incident(severity="P1")
    make_incident(severity="P1", status=Incident.Status.ACKNOWLEDGED)
    make_incident(severity="P1", status=Incident.Status.RESOLVED)
    make_incident(severity="P3")

    html = signed_in(responder).get("/incidents/").content.decode()

    counts = dict(re.findall(r'data-severity="(P\d)">.*?<span class="count">(\d+)</span>', html))
    assert counts == {"P1": "2", "P2": "0", "P3": "1", "P4": "0"}


def test_the_list_shows_the_clocks_against_the_severity_targets(responder: User) -> None:
    # Half minutes: the clocks round what is due up and what has passed down, whatever the test's speed.
    fresh = make_incident("Fresh", age=timedelta(minutes=2, seconds=30))
    late = make_incident("Late", age=timedelta(minutes=12, seconds=30))
    acked = make_incident("Acked", age=timedelta(minutes=30, seconds=30), status=Incident.Status.ACKNOWLEDGED)
    Incident.objects.filter(pk=acked.pk).update(acknowledged_at=acked.created_at + timedelta(minutes=3))
    sprint = make_incident("Cosmetic", severity="P4")

    html = signed_in(responder).get("/incidents/").content.decode()

    def clocks(incident: Incident) -> list[str]:
        row = html.split(f'<tr id="incident-{incident.pk}"', 1)[1].split("</tr>", 1)[0]
        return re.findall(r'<span class="clock clock-(\w+)" data-clock="\w+">(.*?)</span>', row)

    # P1: acknowledge within 5 minutes, resolve within an hour.
    assert clocks(fresh) == [("due", "Ack due in 3 min"), ("due", "Resolve due in 58 min")]
    assert clocks(late) == [("overdue", "Ack overdue by 7 min"), ("due", "Resolve due in 48 min")]
    assert clocks(acked) == [("met", "Ack acknowledged in 3 min"), ("due", "Resolve due in 30 min")]
    assert clocks(sprint) == [("none", "Resolve scheduled sprint")]


def test_the_list_pages_through_open_then_resolved_incidents(responder: User) -> None:
    resolved = [make_incident(f"R{n}", status="resolved", age=timedelta(hours=n + 1)) for n in range(30)]
    opened = [make_incident(f"O{n}", age=timedelta(minutes=n + 1)) for n in range(40)]
    client = signed_in(responder)

    first = client.get("/incidents/").content.decode()
    second = client.get("/incidents/?page=2").content.decode()

    expected = [incident.pk for incident in opened] + [incident.pk for incident in resolved]
    assert row_numbers(first) == expected[:50]
    assert row_numbers(second) == expected[50:]
    assert 'rel="next"' in first
    assert 'rel="next"' not in second
    assert 'href="?page=1" rel="prev"' in second


def test_the_list_refreshes_itself_with_a_partial(responder: User) -> None:
    incident = make_incident()
    client = signed_in(responder)

    full = client.get("/incidents/?severity=P1").content.decode()
    partial = client.get("/incidents/?severity=P1", headers={"HX-Request": "true"}).content.decode()

    # The same URL is a page or a partial: the browser's cache must keep them apart.
    assert "HX-Request" in client.get("/incidents/?severity=P1")["Vary"]
    assert 'hx-trigger="every 10s"' in full
    assert 'hx-get="/incidents/?severity=P1&amp;page=1"' in full
    assert "<html" not in partial
    assert partial.lstrip().startswith('<div id="incident-results"')
    assert row_numbers(partial) == [incident.pk]


def test_a_bad_filter_says_which_field_and_answers_400(responder: User) -> None:
    response = signed_in(responder).get("/incidents/?severity=P9&status=sleeping")

    assert response.status_code == 400
    problems = re.findall(r'<li class="message error">(.*?)</li>', response.content.decode())
    assert any(problem.startswith("Severity:") for problem in problems)
    assert any(problem.startswith("Status:") for problem in problems)


# --- The incident page ---------------------------------------------------------------------------


def test_the_page_shows_header_clocks_roles_with_duties_and_warnings(responder: User) -> None:
    incident = make_incident(age=timedelta(minutes=7, seconds=30))
    role_assign(incident, Role.objects.get(key="incident-commander"), responder, actor=responder)
    role_assign(incident, Role.objects.get(key="technical-lead"), responder, actor=responder)

    html = signed_in(responder).get(f"/incidents/{incident.pk}/").content.decode()

    assert f"#{incident.number} Checkout is down</h1>" in html
    assert 'data-field="open-for">7 min</span>' in html
    assert 'Ack <span class="clock-text">overdue by 2 min</span>' in html
    commander = html.split('id="role-incident-commander"', 1)[1].split("</article>", 1)[0]
    assert '<span class="holder">Rui Responder</span>' in commander
    assert "Owns response coordination. Declares incident severity." in commander
    assert "Hand over Incident Commander" in commander
    assert "No Communications Lead yet" in html
    assert "Incident Commander and Technical Lead are the same person" in html


def test_the_timeline_filters_by_kind_and_the_partial_polls(responder: User) -> None:
    incident = make_incident()
    timeline_add(incident, TimelineEntry.Kind.NOTE, "Looking at the load balancer.", actor=responder)
    client = signed_in(responder)

    notes = client.get(f"/incidents/{incident.pk}/timeline/?kind=note", headers={"HX-Request": "true"})
    plain = client.get(f"/incidents/{incident.pk}/timeline/?kind=note")
    assert "HX-Request" in notes["Vary"]
    assert "HX-Request" in plain["Vary"]
    page = client.get(f"/incidents/{incident.pk}/?kind=note").content.decode()

    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.ACKNOWLEDGED)
    polled = client.get(f"/incidents/{incident.pk}/timeline/", headers={"HX-Request": "true"}).content.decode()

    # The header's status and clocks come along out of band, so the page stays current.
    assert (
        '<span id="incident-status" class="status status-acknowledged" data-field="status" hx-swap-oob="true">'
        in polled
    )
    assert '<p class="clocks" id="incident-clocks" hx-swap-oob="true">' in polled
    assert "hx-swap-oob" not in page
    kinds = re.findall(r'data-kind="(\w+)"', notes.content.decode())
    assert kinds == ["note"]
    assert "<html" not in notes.content.decode()
    assert f'hx-get="/incidents/{incident.pk}/timeline/?kind=note" hx-trigger="every 10s"' in notes.content.decode()
    assert plain.status_code == 302
    assert plain["Location"] == f"/incidents/{incident.pk}/?kind=note#timeline"
    assert re.findall(r'data-kind="(\w+)"', page) == ["note"]


def test_a_note_added_inline_comes_back_in_the_timeline(responder: User) -> None:
    incident = make_incident()
    client = signed_in(responder)

    htmx = client.post(
        f"/incidents/{incident.pk}/notes/", {"text": "Rolled back v2.3.1"}, headers={"HX-Request": "true"}
    )
    empty = client.post(f"/incidents/{incident.pk}/notes/", {"text": "  "}, headers={"HX-Request": "true"})
    plain = client.post(f"/incidents/{incident.pk}/notes/", {"text": "Error rate falling"}, follow=True)

    assert htmx.status_code == 200
    assert "Rolled back v2.3.1" in htmx.content.decode()
    assert 'data-kind="note"' in htmx.content.decode()
    assert empty.status_code == 400
    assert "Note: This field is required." in empty.content.decode()
    assert "Error rate falling" in plain.content.decode()
    assert list(incident.timeline.filter(kind="note").values_list("message", "actor")) == [
        ("Rolled back v2.3.1", responder.pk),
        ("Error rate falling", responder.pk),
    ]


def test_resolve_needs_a_note_and_keeps_it_with_the_hypothesis(responder: User) -> None:
    incident = make_incident()
    client = signed_in(responder)
    url = f"/incidents/{incident.pk}/resolve/"

    refused = client.post(url, {"note": ""}, follow=True)
    resolved = client.post(url, {"note": "Rolled back", "hypothesis": "Bad deploy"}, follow=True)

    assert flash(refused) == ["Resolution note: This field is required."]
    assert flash(resolved) == ["Resolved."]
    incident.refresh_from_db()
    assert (incident.status, incident.resolution_note, incident.root_cause_hypothesis) == (
        "resolved",
        "Rolled back",
        "Bad deploy",
    )
    assert "<strong>Resolution:</strong> Rolled back" in resolved.content.decode()
    assert incident.timeline.filter(kind="resolved", message__contains="Rolled back").exists()


def test_changing_severity_shows_the_criteria_and_wants_a_reason(responder: User) -> None:
    incident = make_incident(severity="P2")
    client = signed_in(responder)
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    url = f"/incidents/{incident.pk}/severity/"

    no_reason = client.post(url, {"severity": level("P1").pk, "reason": ""}, follow=True)
    same = client.post(url, {"severity": level("P2").pk, "reason": "x"}, follow=True)
    changed = client.post(url, {"severity": level("P1").pk, "reason": "All regions down"}, follow=True)

    assert "P1 — Critical: Full service down or majority of users impacted" in page
    assert "P3 — Minor: Non-critical feature impacted, workaround available" in page
    assert flash(no_reason) == ["Reason: This field is required."]
    assert flash(same) == ["New severity: The incident is P2 already."]
    assert flash(changed) == ["Severity changed to P1."]
    incident.refresh_from_db()
    assert incident.severity.name == "P1"
    assert incident.timeline.filter(kind="severity_changed", message__contains="All regions down").exists()


def test_assign_hand_over_and_release_roles_from_the_page(responder: User, incident_commander: User) -> None:
    incident = make_incident()
    commander = Role.objects.get(key="incident-commander")
    client = signed_in(responder)
    url = f"/incidents/{incident.pk}/roles/"

    first = client.post(url, {"role": commander.pk, "user": responder.pk}, follow=True)
    handed = client.post(url, {"role": commander.pk, "user": incident_commander.pk}, follow=True)
    released = client.post(f"{url}release/", {"role": commander.pk, "user": incident_commander.pk}, follow=True)
    not_holder = client.post(f"{url}release/", {"role": commander.pk, "user": responder.pk}, follow=True)

    assert flash(first) == ["Rui Responder is Incident Commander."]
    assert flash(handed) == ["Ines Commander is Incident Commander."]
    assert flash(released) == ["Incident Commander released."]
    assert flash(not_holder) == ["Person: Rui Responder is not Incident Commander on this incident."]
    assert not IncidentRole.objects.current().filter(incident=incident).exists()
    messages = list(incident.timeline.filter(kind="role_assigned").values_list("message", flat=True))
    assert messages[1] == "Ines Commander is now Incident Commander (was Rui Responder); assigned by Rui Responder."


def test_merge_into_another_incident_from_the_page(responder: User) -> None:
    duplicate = make_incident("Checkout 500s")
    main = make_incident("Checkout is down")
    client = signed_in(responder)
    url = f"/incidents/{duplicate.pk}/merge/"

    itself = client.post(url, {"target": duplicate.pk}, follow=True)
    missing = client.post(url, {"target": 999_999}, follow=True)
    closed = make_incident("Closed", status=Incident.Status.RESOLVED)
    into_resolved = client.post(url, {"target": closed.pk}, follow=True)
    merged = client.post(url, {"target": main.pk}, follow=True)

    assert flash(itself) == ["Merge into incident number: An incident cannot be merged into itself."]
    assert flash(missing) == ["Merge into incident number: There is no incident #999999."]
    assert flash(into_resolved) == [
        f"Merge into incident number: #{closed.number} is resolved; merge into an open incident."
    ]
    assert flash(merged) == [f"Merged into #{main.number}."]
    duplicate.refresh_from_db()
    assert duplicate.status == "resolved"
    assert duplicate.merged_into == main
    assert f'Merged into <a href="/incidents/{main.pk}/">#{main.number} Checkout is down</a>' in (
        merged.content.decode()
    )


def test_add_responders_pages_them_and_says_so(responder: User, incident_commander: User) -> None:
    incident = make_incident()
    client = signed_in(responder)
    url = f"/incidents/{incident.pk}/responders/"
    sme = Role.objects.get(key="subject-matter-expert")

    nobody = client.post(url, {"message": "db"}, follow=True)
    added = client.post(url, {"users": [incident_commander.pk], "as_role": sme.pk, "message": "DB expert"}, follow=True)

    assert flash(nobody) == ["People to page: This field is required."]
    assert flash(added) == ["Paging them now through their own contact methods."]
    assert incident.timeline.filter(kind="responder_added", message__contains="DB expert").exists()
    assert IncidentRole.objects.current().filter(incident=incident, user=incident_commander, role=sme).exists()


def test_an_alert_payload_with_script_renders_inert(responder: User) -> None:
    incident = make_incident()
    Alert.objects.create(
        incident=incident,
        service=incident.service,
        key="x",
        summary="<script>alert(1)</script>",
        details={"note": "</pre><script>alert(2)</script>"},
        labels={"<b>": "<i>x</i>"},
    )
    timeline_add(incident, TimelineEntry.Kind.NOTE, "<script>alert(3)</script>", actor=responder)

    html = signed_in(responder).get(f"/incidents/{incident.pk}/").content.decode()

    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;/pre&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in html
    assert "<b>" not in html


# --- Declaring an incident -----------------------------------------------------------------------


def test_declare_an_incident_by_hand(responder: User) -> None:
    service = make_service("Checkout")
    client = signed_in(responder)
    form = client.get("/incidents/declare/").content.decode()
    started = (timezone.localtime() - timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M")

    response = client.post(
        "/incidents/declare/",
        {
            "service": service.pk,
            "severity": level("P2").pk,
            "title": "Customers report failed checkouts",
            "description": "Support has 12 tickets",
            "started_at": started,
        },
    )

    assert "P2 — Major: Core feature degraded, subset of users impacted" in form
    incident = Incident.objects.get(title="Customers report failed checkouts")
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{incident.pk}/"
    assert (incident.severity.name, incident.service, incident.declared_by) == ("P2", service, responder)
    assert incident.started_at is not None
    assert timezone.localtime(incident.started_at).strftime("%Y-%m-%dT%H:%M") == started
    assert incident.timeline.filter(kind="declared").exists()
    page = client.get(response["Location"]).content.decode()
    assert "Support has 12 tickets" in page


def test_declare_says_which_field_is_wrong(responder: User) -> None:
    make_service("Checkout")
    future = (timezone.localtime() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")

    response = signed_in(responder).post(
        "/incidents/declare/", {"severity": "999", "title": "", "started_at": future, "description": "x"}
    )

    assert response.status_code == 400
    problems = re.findall(r'<li class="message error">(.*?)</li>', response.content.decode())
    assert "Service: This field is required." in problems
    assert "Title: This field is required." in problems
    assert any(problem.startswith("Severity: Select a valid choice") for problem in problems)
    assert "When it started: It cannot start in the future." in problems
    assert not Incident.objects.exists()


# --- Who may do what ----------------------------------------------------------------------------

WORKSPACE_ACTIONS = ("resolve", "severity", "roles", "roles/release", "responders", "merge", "notes", "updates")


def test_stakeholders_read_the_workspace_but_cannot_act(stakeholder: User, responder: User) -> None:
    incident = make_incident()
    other = make_incident("Other")
    client = signed_in(stakeholder)

    listing = client.get("/incidents/")
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    declare = client.get("/incidents/declare/")
    posts = {
        action: client.post(
            f"/incidents/{incident.pk}/{action}/",
            {
                "note": "x",
                "text": "x",
                "reason": "x",
                "severity": level("P2").pk,
                "role": Role.objects.get(key="incident-commander").pk,
                "user": stakeholder.pk,
                "users": [responder.pk],
                "target": other.pk,
            },
        ).status_code
        for action in WORKSPACE_ACTIONS
    }

    assert listing.status_code == 200
    assert "Declare an incident" not in listing.content.decode()
    assert "Checkout is down" in page
    assert 'method="post" action="/incidents/' not in page
    assert "Add note" not in page
    assert declare.status_code == 403
    assert client.post("/incidents/declare/", {"title": "x"}).status_code == 403
    assert posts == dict.fromkeys(WORKSPACE_ACTIONS, 403)
    incident.refresh_from_db()
    assert incident.status == "triggered"
    assert incident.severity.name == "P1"
    assert list(incident.timeline.values_list("kind", flat=True)) == ["triggered"]


def test_people_in_no_group_see_nothing(outsider: User) -> None:
    incident = make_incident()
    client = signed_in(outsider)

    for path in (
        "/incidents/",
        f"/incidents/{incident.pk}/",
        f"/incidents/{incident.pk}/timeline/",
        "/incidents/declare/",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Checkout is down" not in response.content.decode()
    anonymous = Client().get("/incidents/")
    assert anonymous.status_code == 302
    assert "/login" in anonymous["Location"]


def test_every_workspace_form_needs_its_csrf_token(responder: User) -> None:
    incident = make_incident()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(responder)

    page = browser.get(f"/incidents/{incident.pk}/").content.decode()
    forged = {
        action: browser.post(f"/incidents/{incident.pk}/{action}/", {"text": "x", "note": "x"}).status_code
        for action in WORKSPACE_ACTIONS
    }
    declare = browser.post("/incidents/declare/", {"title": "x"})
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    with_token = browser.post(f"/incidents/{incident.pk}/notes/", {"text": "ok", "csrfmiddlewaretoken": token[1]})

    assert forged == dict.fromkeys(WORKSPACE_ACTIONS, 403)
    assert declare.status_code == 403
    assert with_token.status_code == 302
    forms = re.findall(r'<form method="post"[^>]*>\s*(<input type="hidden" name="csrfmiddlewaretoken")?', page)
    assert len(forms) > 10
    assert all(forms), "a POST form on the incident page lacks its CSRF token"
    assert list(incident.timeline.filter(kind="note").values_list("message", flat=True)) == ["ok"]


# --- Communications and runbooks panels -----------------------------------------------------------


def test_the_comms_panel_counts_down_and_an_update_posted_from_it_fulfils_it(responder: User) -> None:
    incident = make_incident(age=timedelta(minutes=20))
    comms.comms_schedule(incident, base=incident.created_at)
    role_assign(incident, Role.objects.get(key="communications-lead"), responder, actor=responder)
    client = signed_in(responder)

    before = client.get(f"/incidents/{incident.pk}/").content.decode()
    panel = before.split('id="comms"', 1)[1].split("</section>", 1)[0]
    posted = client.post(
        f"/incidents/{incident.pk}/updates/",
        {"kind": "internal_update", "text": "DB failover done; error rate falling."},
        follow=True,
    )
    refused = client.post(f"/incidents/{incident.pk}/updates/", {"kind": "gossip", "text": "x"}, follow=True)
    after = posted.content.decode().split('id="comms"', 1)[1].split("</section>", 1)[0]

    # The P1 cadence: internal update at T+15 (so overdue at T+20), the status page at declaration.
    internal = panel.split("<strong>Internal update</strong>", 1)[1].split("</div>", 1)[0]
    assert "clock-overdue" in internal
    assert "data-due=" in internal
    assert '<span class="clock-text">overdue by 5 min</span>' in internal
    assert "Reminds Rui Responder (Communications Lead)" in internal
    assert "Publish on the status page" in panel
    assert f'href="/status/manage/incidents/{incident.pk}/publish/"' in panel
    assert f"[P1] #{incident.number} Checkout is down" in panel  # the pre-filled internal update
    assert flash(posted) == ["Internal update posted."]
    assert incident.timeline.filter(kind="update_posted", message__contains="error rate falling").exists()
    internal_after = after.split("<strong>Internal update</strong>", 1)[1].split("</div>", 1)[0]
    assert "clock-due" in internal_after
    assert '<span class="clock-text">due in 15 min</span>' in internal_after
    assert flash(refused) == ["Kind of update: Select a valid choice. gossip is not one of the available choices."]


def test_runbooks_show_on_the_page_with_markdown_made_safe(responder: User) -> None:
    from incidents.models.runbooks import Runbook

    incident = make_incident()
    runbook = Runbook.objects.create(
        title="Checkout down",
        body="1. Check the LB\n\n[click](javascript:alert(1)) <script>alert(2)</script> [docs](https://wiki.example/lb)",
        last_reviewed_on=timezone.localdate() - timedelta(days=400),
    )
    runbook.services.add(incident.service)

    html = signed_in(responder).get(f"/incidents/{incident.pk}/").content.decode()

    panel = html.split('id="runbooks"', 1)[1].split("</section>", 1)[0]
    assert "<h3>Checkout down" in panel
    assert "stale: last reviewed" in panel
    assert "<li>Check the LB</li>" in panel
    assert 'href="https://wiki.example/lb"' in panel
    assert 'href="javascript:' not in panel
    assert "<script>" not in panel
