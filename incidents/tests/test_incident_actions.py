"""Escalate now and reassign, from the REST API and from the incident page, with the engine ticking
and deliveries sent to a local webhook receiver; who may act; and the page's escalation panel."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from incidents.models import EscalationRun, Incident, Integration
from incidents.services.lifecycle import incident_transition
from incidents.tests.factories import make_integration, make_person, make_policy, make_service, paged, trigger_over_http
from incidents.tests.factories import timeline_messages as messages
from irp_site import engine
from irp_site.testing.receivers import Answer, HttpReceiver
from oncall import deliveries
from oncall.models import Delivery

pytestmark = pytest.mark.django_db

ACTIONS = ("acknowledge", "resolve", "escalate", "reassign")


@pytest.fixture(autouse=True)
def deliver_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deliveries are sent by the process that enqueues them, once its transaction commits."""
    monkeypatch.setattr(deliveries, "enqueue", lambda ids: [deliveries.deliver(pk) for pk in ids])


@pytest.fixture
def tick(django_capture_on_commit_callbacks: Any) -> Callable[..., None]:
    """One engine tick; what it commits runs as in production (the test's own transaction never
    commits, so the on-commit hand-over to the workers is run here)."""

    def run(now: Any = None) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            engine.tick(now)

    return run


@pytest.fixture
def people(http: HttpReceiver) -> dict[str, User]:
    return {
        name: make_person(name, methods={"webhook": http.url(f"/hooks/{name}")})
        for name in ("alice", "bob", "carol", "dave", "erin")
    }


@pytest.fixture
def integration(people: dict[str, User]) -> Integration:
    """Checkout pages Alice, then Bob after the P1 acknowledgement window (5 minutes)."""
    policy = make_policy("Checkout on-call", {"users": [people["alice"]]}, {"users": [people["bob"]]})
    return make_integration(service=make_service(escalation_policy=policy), rate_limit_per_minute=10_000)


def trigger(client: Client, integration: Integration, key: str = "checkout-down") -> Incident:
    return trigger_over_http(client, integration, key)


@pytest.fixture
def paging(client: Client, integration: Integration, tick: Callable[..., None], http: HttpReceiver) -> Incident:
    """A P1 whose first step has fired: Alice has been paged, Bob is next in five minutes."""
    incident = trigger(client, integration)
    tick()
    http.wait_for(1, "/hooks/alice")
    return incident


# --- REST ----------------------------------------------------------------------------------------


def test_escalate_now_fires_the_next_step_at_once(
    paging: Incident,
    responder: User,
    api_client_for: Callable[[User], APIClient],
    tick: Callable[..., None],
    http: HttpReceiver,
) -> None:
    response = api_client_for(responder).post(f"/api/v1/incidents/{paging.pk}/escalate/")

    assert response.status_code == 200
    assert response.json()["status"] == "triggered"
    tick()
    http.wait_for(1, "/hooks/bob")
    assert paged(http) == ["alice", "bob"]
    assert "Escalated by hand by Rui Responder: the next step fires now." in messages(paging, "escalated")
    assert messages(paging, "escalated")[-1].startswith("Step 2 of 2: notifying Bob")
    run = EscalationRun.objects.get(incident=paging)
    assert (run.step_index, run.round) == (0, 1)


def test_escalating_an_acknowledged_incident_retriggers_it_and_carries_on_from_the_next_step(
    paging: Incident,
    responder: User,
    api_client_for: Callable[[User], APIClient],
    tick: Callable[..., None],
    http: HttpReceiver,
) -> None:
    client = api_client_for(responder)
    assert client.post(f"/api/v1/incidents/{paging.pk}/acknowledge/").status_code == 200
    tick()
    assert paged(http) == ["alice"]

    response = client.post(f"/api/v1/incidents/{paging.pk}/escalate/")

    assert response.status_code == 200
    assert response.json()["status"] == "triggered"
    assert response.json()["acknowledged_at"] is None
    assert messages(paging, "retriggered") == ["Escalated by Rui Responder: paging again."]
    tick()
    http.wait_for(1, "/hooks/bob")
    # Bob, the next step: not Alice again from the top.
    assert paged(http) == ["alice", "bob"]
    assert EscalationRun.objects.filter(incident=paging).count() == 1


def test_reassigning_to_a_person_pages_them_at_once_instead(
    paging: Incident,
    people: dict[str, User],
    responder: User,
    api_client_for: Callable[[User], APIClient],
    tick: Callable[..., None],
    http: HttpReceiver,
) -> None:
    carol = people["carol"]

    response = api_client_for(responder).post(f"/api/v1/incidents/{paging.pk}/reassign/", {"users": [carol.pk]})

    assert response.status_code == 200
    tick()
    http.wait_for(1, "/hooks/carol")
    assert paged(http) == ["alice", "carol"]
    assert messages(paging, "reassigned") == ["Reassigned to Carol by Rui Responder."]
    runs = list(EscalationRun.objects.filter(incident=paging).order_by("started_at", "pk"))
    assert [run.end_reason for run in runs] == ["replaced", ""]
    assert runs[1].snapshot["name"] == "Reassigned to Carol"
    # Bob's turn under the old policy never comes: the whole new run passes without him.
    tick(timezone.now() + timedelta(hours=1))
    assert not Delivery.objects.filter(user=people["bob"]).exists()
    assert EscalationRun.objects.get(pk=runs[1].pk).end_reason == "exhausted"


def test_reassigning_to_a_policy_starts_it_from_its_first_step(
    paging: Incident,
    people: dict[str, User],
    responder: User,
    api_client_for: Callable[[User], APIClient],
    tick: Callable[..., None],
    http: HttpReceiver,
) -> None:
    database = make_policy("Database on-call", {"users": [people["dave"]]}, {"users": [people["erin"]]})
    client = api_client_for(responder)
    # The incident's own policy is past its first step already.
    assert client.post(f"/api/v1/incidents/{paging.pk}/escalate/").status_code == 200
    tick()
    http.wait_for(1, "/hooks/bob")

    response = client.post(f"/api/v1/incidents/{paging.pk}/reassign/", {"escalation_policy": database.pk})

    assert response.status_code == 200
    tick()
    http.wait_for(1, "/hooks/dave")
    assert paged(http) == ["alice", "bob", "dave"]
    run = EscalationRun.objects.get(incident=paging, ended_at__isnull=True)
    assert run.policy == database
    assert run.snapshot["name"] == "Database on-call"
    assert (run.step_index, run.round) == (1, 0)
    assert messages(paging, "reassigned") == ["Reassigned to Database on-call by Rui Responder."]
    assert messages(paging, "escalated")[-1].startswith("Step 1 of 2: notifying Dave")


def test_a_resolved_incident_cannot_be_escalated_or_reassigned(
    paging: Incident, people: dict[str, User], responder: User, api_client_for: Callable[[User], APIClient]
) -> None:
    client = api_client_for(responder)
    assert client.post(f"/api/v1/incidents/{paging.pk}/resolve/").status_code == 200

    escalated = client.post(f"/api/v1/incidents/{paging.pk}/escalate/")
    reassigned = client.post(f"/api/v1/incidents/{paging.pk}/reassign/", {"users": [people["carol"].pk]})

    assert escalated.status_code == 409
    assert escalated.json() == {"status": ["The incident is resolved; nobody can be paged for it."]}
    assert reassigned.status_code == 409
    assert reassigned.json() == {"status": ["The incident is resolved; nobody can be paged for it."]}
    paging.refresh_from_db()
    assert paging.status == Incident.Status.RESOLVED
    assert not EscalationRun.objects.filter(incident=paging, ended_at__isnull=True).exists()
    assert not paging.timeline.filter(kind__in=["reassigned", "retriggered"]).exists()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        pytest.param({}, {"users", "escalation_policy"}, id="neither"),
        pytest.param({"users": []}, {"users", "escalation_policy"}, id="nobody"),
        pytest.param({"users": ["carol"], "escalation_policy": "policy"}, {"users", "escalation_policy"}, id="both"),
        pytest.param({"users": [999_999]}, {"users"}, id="unknown-person"),
        pytest.param({"users": ["inactive"]}, {"users"}, id="inactive-person"),
        pytest.param({"users": "carol"}, {"users"}, id="not-a-list"),
        pytest.param({"users": [2**64]}, {"users"}, id="id-too-big"),
        pytest.param({"escalation_policy": 999_999}, {"escalation_policy"}, id="unknown-policy"),
        pytest.param({"escalation_policy": "x"}, {"escalation_policy"}, id="policy-not-an-id"),
    ],
)
def test_reassign_says_which_field_is_wrong(
    client: Client,
    integration: Integration,
    people: dict[str, User],
    responder: User,
    api_client_for: Callable[[User], APIClient],
    body: dict[str, Any],
    fields: set[str],
) -> None:
    incident = trigger(client, integration)
    inactive = make_person("gone", is_active=False)
    policy = make_policy("Spare")
    names = {"carol": people["carol"].pk, "inactive": inactive.pk, "policy": policy.pk}
    body = {
        key: [names.get(item, item) for item in value] if isinstance(value, list) else names.get(value, value)
        for key, value in body.items()
    }

    response = api_client_for(responder).post(f"/api/v1/incidents/{incident.pk}/reassign/", body)

    assert response.status_code == 400
    assert set(response.json()) == fields
    assert not incident.timeline.filter(kind="reassigned").exists()
    assert not EscalationRun.objects.filter(incident=incident).exists()


def test_stakeholders_may_not_escalate_or_reassign(
    paging: Incident,
    people: dict[str, User],
    stakeholder: User,
    outsider: User,
    api_client_for: Callable[[User], APIClient],
) -> None:
    for user in (stakeholder, outsider):
        client = api_client_for(user)
        escalated = client.post(f"/api/v1/incidents/{paging.pk}/escalate/")
        reassigned = client.post(f"/api/v1/incidents/{paging.pk}/reassign/", {"users": [people["carol"].pk]})
        assert (escalated.status_code, reassigned.status_code) == (403, 403), user

    run = EscalationRun.objects.get(incident=paging)
    assert (run.step_index, run.ended_at) == (1, None)
    assert run.next_action_at is not None
    assert run.next_action_at > timezone.now() + timedelta(minutes=4)
    assert not paging.timeline.filter(kind="reassigned").exists()


def test_the_actions_are_in_the_schema(client: Client) -> None:
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]

    escalate = paths["/api/v1/incidents/{id}/escalate/"]["post"]
    reassign = paths["/api/v1/incidents/{id}/reassign/"]["post"]

    assert "requestBody" not in escalate
    assert "409" in escalate["responses"]
    request_schema = reassign["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert request_schema.endswith("/IncidentReassignRequest")
    assert "409" in reassign["responses"]


# --- The incident page ---------------------------------------------------------------------------


def action_forms(html: str, incident: Incident) -> set[str]:
    return {action for action in ACTIONS if f'action="/incidents/{incident.pk}/{action}/"' in html}


def test_responders_see_the_actions_that_fit_the_status_and_stakeholders_see_none(
    client: Client, integration: Integration, responder: User, plan_owner: User, stakeholder: User
) -> None:
    incident = trigger(client, integration)

    def page_for(user: User) -> str:
        viewer = Client()
        viewer.force_login(user)
        response = viewer.get(f"/incidents/{incident.pk}/")
        assert response.status_code == 200
        return response.content.decode()

    triggered = page_for(responder)
    assert action_forms(triggered, incident) == set(ACTIONS)
    assert action_forms(page_for(plan_owner), incident) == set(ACTIONS)
    assert ">Escalate now</button>" in triggered
    assert 'name="users"' in triggered
    assert 'name="escalation_policy"' in triggered
    # Every POST form (the actions, the workspace's forms, sign-out) carries its CSRF token.
    assert triggered.count('name="csrfmiddlewaretoken"') == triggered.count('method="post"') > 5
    stakeholder_page = page_for(stakeholder)
    assert action_forms(stakeholder_page, incident) == set()
    assert 'name="users"' not in stakeholder_page
    assert "Escalation</h2>" in stakeholder_page

    incident_transition(incident, Incident.Status.ACKNOWLEDGED, actor=responder)
    assert action_forms(page_for(responder), incident) == {"resolve", "escalate", "reassign"}
    incident_transition(incident, Incident.Status.RESOLVED, actor=responder)
    assert action_forms(page_for(responder), incident) == set()


def test_stakeholders_get_403_from_every_page_action(
    client: Client, integration: Integration, people: dict[str, User], stakeholder: User, outsider: User
) -> None:
    incident = trigger(client, integration)
    for user in (stakeholder, outsider):
        client.force_login(user)
        for action in ACTIONS:
            response = client.post(f"/incidents/{incident.pk}/{action}/", {"users": [people["carol"].pk]})
            assert response.status_code == 403, (user, action)

    incident.refresh_from_db()
    assert incident.status == Incident.Status.TRIGGERED
    assert not incident.timeline.filter(kind__in=["acknowledged", "resolved", "reassigned", "escalated"]).exists()
    client.logout()
    anonymous = client.post(f"/incidents/{incident.pk}/acknowledge/")
    assert anonymous.status_code == 302
    assert "/login" in anonymous["Location"]


def test_acknowledge_and_resolve_from_the_page(client: Client, integration: Integration, responder: User) -> None:
    incident = trigger(client, integration)
    client.force_login(responder)
    page = f"/incidents/{incident.pk}/"

    acknowledged = client.post(f"{page}acknowledge/", follow=True)
    again = client.post(f"{page}acknowledge/", follow=True)
    resolved = client.post(f"{page}resolve/", {"note": "Restarted the pool"}, follow=True)

    assert acknowledged.redirect_chain == [(page, 302)]
    assert '<li class="message success">Acknowledged.</li>' in acknowledged.content.decode()
    assert "The incident is acknowledged; it cannot be acknowledged now." in again.content.decode()
    assert '<li class="message success">Resolved.</li>' in resolved.content.decode()
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED
    entries = list(incident.timeline.filter(kind__in=["acknowledged", "resolved"]).values_list("kind", "actor"))
    assert entries == [("acknowledged", responder.pk), ("resolved", responder.pk)]
    assert client.get(f"{page}acknowledge/").status_code == 405


def test_escalate_now_from_the_page(
    paging: Incident, client: Client, responder: User, tick: Callable[..., None], http: HttpReceiver
) -> None:
    client.force_login(responder)

    response = client.post(f"/incidents/{paging.pk}/escalate/", follow=True)

    assert response.redirect_chain == [(f"/incidents/{paging.pk}/", 302)]
    assert "Escalated: the next step fires now." in response.content.decode()
    tick()
    http.wait_for(1, "/hooks/bob")
    assert paged(http) == ["alice", "bob"]


def test_reassign_from_the_page_to_people_or_to_a_policy(
    paging: Incident,
    client: Client,
    people: dict[str, User],
    responder: User,
    tick: Callable[..., None],
    http: HttpReceiver,
) -> None:
    database = make_policy("Database on-call", {"users": [people["dave"]]}, {"users": [people["erin"]]})
    client.force_login(responder)
    url = f"/incidents/{paging.pk}/reassign/"

    to_people = client.post(url, {"users": [people["carol"].pk, people["erin"].pk]}, follow=True)
    tick()
    http.wait_for(1, "/hooks/erin")
    to_policy = client.post(url, {"escalation_policy": database.pk}, follow=True)
    tick()
    http.wait_for(1, "/hooks/dave")

    assert "Reassigned: paging them now." in to_people.content.decode()
    assert "Reassigned: paging them now." in to_policy.content.decode()
    assert sorted(paged(http)) == ["alice", "carol", "dave", "erin"]
    assert messages(paging, "reassigned") == [
        "Reassigned to Carol, Erin by Rui Responder.",
        "Reassigned to Database on-call by Rui Responder.",
    ]


@pytest.mark.parametrize(
    ("choice", "problem"),
    [
        pytest.param({}, "Choose either people or an escalation policy to reassign to.", id="neither"),
        pytest.param(
            {"users": "carol", "escalation_policy": "policy"},
            "Choose either people or an escalation policy to reassign to.",
            id="both",
        ),
        pytest.param(
            {"users": "999999"},
            "People: Select a valid choice. 999999 is not one of the available choices.",
            id="unknown-person",
        ),
    ],
)
def test_the_reassign_form_wants_people_or_a_policy(
    client: Client,
    integration: Integration,
    people: dict[str, User],
    responder: User,
    choice: dict[str, str],
    problem: str,
) -> None:
    incident = trigger(client, integration)
    names = {"carol": people["carol"].pk, "policy": make_policy("Spare").pk}
    data = {key: names.get(value, value) for key, value in choice.items()}
    client.force_login(responder)

    response = client.post(f"/incidents/{incident.pk}/reassign/", data, follow=True)

    assert response.redirect_chain == [(f"/incidents/{incident.pk}/", 302)]
    assert f'<li class="message error">{problem}</li>' in response.content.decode()
    assert not incident.timeline.filter(kind="reassigned").exists()
    assert not EscalationRun.objects.filter(incident=incident).exists()


def test_a_refused_page_action_shows_why(
    client: Client, integration: Integration, people: dict[str, User], responder: User
) -> None:
    incident = trigger(client, integration)
    incident_transition(incident, Incident.Status.RESOLVED, actor=responder)
    client.force_login(responder)

    escalated = client.post(f"/incidents/{incident.pk}/escalate/", follow=True)
    reassigned = client.post(f"/incidents/{incident.pk}/reassign/", {"users": [people["carol"].pk]}, follow=True)

    for response in (escalated, reassigned):
        assert response.status_code == 200
        assert (
            '<li class="message error">The incident is resolved; nobody can be paged for it.</li>'
            in response.content.decode()
        )
    assert not EscalationRun.objects.filter(incident=incident, ended_at__isnull=True).exists()


def test_page_actions_need_the_csrf_token_the_page_gives(
    client: Client, integration: Integration, responder: User
) -> None:
    incident = trigger(client, integration)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(responder)

    forged = browser.post(f"/incidents/{incident.pk}/acknowledge/")
    page = browser.get(f"/incidents/{incident.pk}/").content.decode()
    form = rf'action="/incidents/{incident.pk}/acknowledge/">'
    token = re.search(form + r'<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    confirmed = browser.post(f"/incidents/{incident.pk}/acknowledge/", {"csrfmiddlewaretoken": token.group(1)})

    assert forged.status_code == 403
    assert confirmed.status_code == 302
    incident.refresh_from_db()
    assert incident.status == Incident.Status.ACKNOWLEDGED


# --- The escalation panel ------------------------------------------------------------------------


def rows(html: str) -> list[list[str]]:
    """The delivery table's rows as lists of cell texts."""
    tbody = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", tbody, re.S)
    ]


def delivery_row(person: str, status: str, attempts: int, last_error: str) -> list[str]:
    return [person, "Webhook (signed JSON)", status, str(attempts), last_error]


def test_the_panel_shows_the_policy_the_next_step_and_the_deliveries(
    paging: Incident,
    client: Client,
    people: dict[str, User],
    stakeholder: User,
    responder: User,
    api_client_for: Callable[[User], APIClient],
    tick: Callable[..., None],
    http: HttpReceiver,
) -> None:
    client.force_login(stakeholder)
    run = EscalationRun.objects.get(incident=paging)
    assert run.next_action_at is not None

    html = client.get(f"/incidents/{paging.pk}/").content.decode()

    assert "Policy: <strong>Checkout on-call</strong>" in html
    when = timezone.localtime(run.next_action_at).isoformat()
    assert f'Next: step 2 of 2, at <time datetime="{when}">' in html
    assert delivery_row("Alice", "Sent", 1, "") in rows(html)

    # Carol's webhook is gone for good; the panel says why her page failed.
    http.respond("/hooks/carol", Answer(410, b"gone"))
    api_client_for(responder).post(f"/api/v1/incidents/{paging.pk}/reassign/", {"users": [people["carol"].pk]})
    tick()
    http.wait_for(1, "/hooks/carol")
    html = client.get(f"/incidents/{paging.pk}/").content.decode()
    assert "Policy: <strong>Reassigned to Carol</strong>" in html
    assert delivery_row("Carol", "Failed", 1, "HTTP 410 gone") in rows(html)

    api_client_for(responder).post(f"/api/v1/incidents/{paging.pk}/acknowledge/")
    html = client.get(f"/incidents/{paging.pk}/").content.decode()
    assert "Paging stopped at <time datetime=" in html
    assert ": Acknowledged.</p>" in html


def test_the_panel_says_when_nobody_has_been_paged_and_when_escalation_ran_out(
    client: Client, integration: Integration, responder: User, tick: Callable[..., None], http: HttpReceiver
) -> None:
    client.force_login(responder)
    incident = trigger(client, integration)

    before = client.get(f"/incidents/{incident.pk}/").content.decode()
    tick()
    http.wait_for(1, "/hooks/alice")
    tick(timezone.now() + timedelta(minutes=6))
    after_last_step = client.get(f"/incidents/{incident.pk}/").content.decode()
    tick(timezone.now() + timedelta(minutes=12))
    ran_out = client.get(f"/incidents/{incident.pk}/").content.decode()

    assert "Paging starts at <time datetime=" in before
    assert "Every step has fired; escalation ends at <time" in after_last_step
    assert ": Nobody acknowledged after every step.</p>" in ran_out


def test_the_page_costs_the_same_queries_for_2_or_20_deliveries(
    client: Client,
    integration: Integration,
    responder: User,
    django_assert_max_num_queries: Any,
) -> None:
    incident = trigger(client, integration)
    client.force_login(responder)

    def add_deliveries(count: int) -> None:
        start = Delivery.objects.count()
        for number in range(start, start + count):
            person = make_person(f"person{number}")
            Delivery.objects.create(
                key=f"test:{number}",
                page_key=f"test:{number}",
                subject=f"incident:{incident.pk}",
                user=person,
                channel="webhook",
                address="http://127.0.0.1:9/hook",
                urgency="high",
                status=Delivery.Status.FAILED,
                attempts=3,
                last_error=f"error {number}",
            )

    add_deliveries(2)
    with CaptureQueriesContext(connection) as two:
        assert client.get(f"/incidents/{incident.pk}/").status_code == 200
    add_deliveries(18)

    with django_assert_max_num_queries(len(two.captured_queries)):
        html = client.get(f"/incidents/{incident.pk}/").content.decode()

    assert [row[0] for row in rows(html)] == [f"Person{number}" for number in range(20)]
    assert rows(html)[-1] == ["Person19", "Webhook (signed JSON)", "Failed", "3", "error 19"]


# --- Corner cases of escalate and reassign --------------------------------------------------------


def test_escalating_after_the_last_step_runs_the_policy_again(
    paging: Incident,
    responder: User,
    api_client_for: Callable[[User], APIClient],
    tick: Callable[..., None],
    http: HttpReceiver,
) -> None:
    client = api_client_for(responder)
    client.post(f"/api/v1/incidents/{paging.pk}/escalate/")
    tick()
    http.wait_for(1, "/hooks/bob")  # the last step has fired; its window is running
    assert client.post(f"/api/v1/incidents/{paging.pk}/acknowledge/").status_code == 200

    assert client.post(f"/api/v1/incidents/{paging.pk}/escalate/").status_code == 200
    tick()

    http.wait_for(3)
    assert paged(http) == ["alice", "bob", "alice"]
    assert EscalationRun.objects.filter(incident=paging, ended_at__isnull=True).count() == 1


def test_a_run_reassigned_to_people_names_no_policy_and_cancels_what_was_still_due(
    paging: Incident,
    people: dict[str, User],
    responder: User,
    api_client_for: Callable[[User], APIClient],
    tick: Callable[..., None],
    http: HttpReceiver,
) -> None:
    later = Delivery.objects.create(
        key="later",
        page_key="later",
        subject=f"incident:{paging.pk}",
        user=people["alice"],
        channel="webhook",
        address=http.url("/hooks/alice"),
        urgency="high",
        due_at=timezone.now() + timedelta(minutes=1),
    )

    response = api_client_for(responder).post(
        f"/api/v1/incidents/{paging.pk}/reassign/", {"users": [people["carol"].pk]}, format="json"
    )

    assert response.status_code == 200
    run = EscalationRun.objects.get(incident=paging, ended_at__isnull=True)
    assert run.policy is None
    assert run.snapshot["name"] == "Reassigned to Carol"
    later.refresh_from_db()
    assert later.status == Delivery.Status.CANCELLED
