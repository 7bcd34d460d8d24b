"""What responders do on an incident besides acknowledging: change severity with a reason, resolve
with a note and a hypothesis, page more people (SMEs), merge duplicates and write notes — through the
services and the REST API, with the engine ticking and pages delivered to a local webhook receiver."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from incidents.models import Alert, EscalationRun, Incident, Integration, MaintenanceWindow, Role, SeverityLevel
from incidents.services.declaring import incident_declare
from incidents.services.errors import InvalidInput
from incidents.services.responding import ActionRefused, incident_merge
from incidents.services.roles import role_holders
from incidents.services.severity import incident_severity_change
from incidents.signals import severity_changed
from incidents.tests.factories import make_integration, make_person, make_policy, make_service, paged, trigger_over_http
from incidents.tests.factories import timeline_messages as messages
from irp_site import engine
from irp_site.testing.receivers import HttpReceiver
from oncall import deliveries
from oncall.models import Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def deliver_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deliveries, "enqueue", lambda ids: [deliveries.deliver(pk) for pk in ids])


@pytest.fixture
def tick(django_capture_on_commit_callbacks: Any) -> Callable[..., None]:
    def run(now: Any = None) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            engine.tick(now)

    return run


@pytest.fixture
def people(http: HttpReceiver) -> dict[str, User]:
    return {
        name: make_person(name, methods={"webhook": http.url(f"/hooks/{name}")})
        for name in ("alice", "bob", "carol", "dave")
    }


@pytest.fixture
def integration(people: dict[str, User]) -> Integration:
    """Checkout pages Alice, then Bob once the acknowledgement window has passed."""
    policy = make_policy("Checkout on-call", {"users": [people["alice"]]}, {"users": [people["bob"]]})
    return make_integration(service=make_service(escalation_policy=policy), rate_limit_per_minute=10_000)


def level(name: str) -> SeverityLevel:
    return SeverityLevel.objects.get(name=name)


def trigger(client: Client, integration: Integration, key: str, severity: str = "critical") -> Incident:
    return trigger_over_http(client, integration, key, summary=f"{key} on lb-1", severity=severity)


# --- Severity ------------------------------------------------------------------------------------


def test_raising_the_severity_needs_a_reason_and_shortens_the_running_escalation(
    client: Client,
    integration: Integration,
    responder: User,
    api_client_for: Callable[[User], APIClient],
    tick: Callable[..., None],
    http: HttpReceiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    incident = trigger(client, integration, "checkout-slow", severity="warning")  # P3: 30 minutes to ack
    tick()
    http.wait_for(1, "/hooks/alice")
    run = EscalationRun.objects.get(incident=incident)
    assert run.next_action_at is not None
    assert run.next_action_at > timezone.now() + timedelta(minutes=25)
    api = api_client_for(responder)
    heard: list[dict[str, Any]] = []
    severity_changed.connect(lambda **kwargs: heard.append(kwargs), weak=False, dispatch_uid="test-heard")

    try:
        refused = api.post(f"/api/v1/incidents/{incident.pk}/change-severity/", {"severity": "P1", "reason": " "})
        with pytest.raises(InvalidInput) as error:
            incident_severity_change(incident, level("P1"), reason="", actor=responder)
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(
                f"/api/v1/incidents/{incident.pk}/change-severity/",
                {"severity": "P1", "reason": "Card payments fail for every customer"},
            )
    finally:
        severity_changed.disconnect(dispatch_uid="test-heard")

    assert refused.status_code == 400
    assert "reason" in refused.json()
    assert error.value.field == "reason"
    assert "reason" in str(error.value)
    assert response.status_code == 200, response.content
    assert response.json()["severity"] == "P1"
    assert messages(incident, "severity_changed") == [
        "Severity raised from P3 to P1 by Rui Responder: Card payments fail for every customer "
        "The next escalation step is now due within P1's acknowledgement window (5 min)."
    ]
    entry = incident.timeline.get(kind="severity_changed")
    assert entry.data == {"from": "P3", "to": "P1", "reason": "Card payments fail for every customer"}
    assert [(kw["incident_id"], kw["old"], kw["new"]) for kw in heard] == [(incident.pk, "P3", "P1")]
    assert heard[0]["at"] == entry.at
    run.refresh_from_db()
    assert run.next_action_at <= timezone.now() + timedelta(minutes=5)
    assert (run.ack_window, run.urgency) == (timedelta(minutes=5), "high")
    # Bob is paged when P1's window runs out, not P3's.
    tick(timezone.now() + timedelta(minutes=6))
    assert "bob" in {delivery.user.username for delivery in Delivery.objects.filter(subject=f"incident:{incident.pk}")}


def test_a_downgrade_never_loosens_the_escalation_under_way(
    client: Client, integration: Integration, responder: User, tick: Callable[..., None], http: HttpReceiver
) -> None:
    incident = trigger(client, integration, "checkout-down")  # P1: Bob in 5 minutes
    tick()
    http.wait_for(1, "/hooks/alice")
    before = EscalationRun.objects.get(incident=incident)

    incident_severity_change(incident, level("P3"), reason="Only the legacy checkout", actor=responder)

    run = EscalationRun.objects.get(incident=incident)
    assert (run.next_action_at, run.ack_window, run.urgency, run.depth) == (
        before.next_action_at,
        timedelta(minutes=5),
        "high",
        None,
    )
    assert messages(incident, "severity_changed") == [
        "Severity lowered from P1 to P3 by Rui Responder: Only the legacy checkout"
    ]


def test_upgrading_an_incident_whose_severity_paged_nobody_starts_paging(
    integration: Integration, responder: User, tick: Callable[..., None], http: HttpReceiver
) -> None:
    incident = incident_declare(
        service=integration.service, severity=level("P4"), title="Odd refunds", started_at=None, actor=responder
    )
    tick()
    assert not EscalationRun.objects.filter(incident=incident).exists()

    incident_severity_change(incident, level("P2"), reason="Refunds are going to the wrong cards", actor=responder)

    assert incident.paging_suppressed_reason == ""
    assert messages(incident, "severity_changed")[0].endswith("P2 pages responders: paging starts now.")
    tick()
    http.wait_for(1, "/hooks/alice")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"severity": "P7", "reason": "x"}, "severity"),
        ({"severity": "P1"}, "reason"),
        ({"severity": "P3", "reason": "same"}, "severity"),
        ({"severity": 1, "reason": "x"}, "severity"),
        ({"severity": None, "reason": "x"}, "severity"),
        ({"severity": "\x00", "reason": "x"}, "severity"),
        ({"severity": "P1", "reason": ["worse"]}, "reason"),
        ({"severity": "P1", "reason": "x" * 2001}, "reason"),
    ],
)
def test_bad_severity_changes_are_400s_naming_the_field(
    body: dict[str, str], field: str, responder: User, api_client_for: Callable[[User], APIClient]
) -> None:
    incident = incident_declare(
        service=make_service(), severity=level("P3"), title="Slow search", started_at=None, actor=responder
    )

    response = api_client_for(responder).post(f"/api/v1/incidents/{incident.pk}/change-severity/", body, format="json")

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not incident.timeline.filter(kind="severity_changed").exists()


def test_upgrading_during_a_maintenance_window_does_not_start_paging(
    integration: Integration, responder: User, tick: Callable[..., None]
) -> None:
    incident = incident_declare(
        service=integration.service, severity=level("P4"), title="Odd refunds", started_at=None, actor=responder
    )
    window = MaintenanceWindow.objects.create(
        title="Payment provider switch", starts_at=timezone.now(), ends_at=timezone.now() + timedelta(hours=1)
    )
    window.services.add(integration.service)

    incident_severity_change(incident, level("P2"), reason="Refunds are going to the wrong cards", actor=responder)

    incident.refresh_from_db()
    assert incident.pages_at is None
    assert incident.paging_suppressed_reason.startswith("Checkout API is in maintenance window 'Payment provider")
    assert (
        "P2 pages responders, but not now: Checkout API is in maintenance window"
        in (messages(incident, "severity_changed")[0])
    )
    tick()
    assert not EscalationRun.objects.filter(incident=incident).exists()
    assert not Delivery.objects.exists()


# --- Resolve with a note -------------------------------------------------------------------------


def test_resolving_with_a_note_and_a_hypothesis_keeps_both(
    client: Client, integration: Integration, responder: User, api_client_for: Callable[[User], APIClient]
) -> None:
    incident = trigger(client, integration, "checkout-down")

    response = api_client_for(responder).post(
        f"/api/v1/incidents/{incident.pk}/resolve/",
        {"note": "Rolled back release 4.2.", "hypothesis": "Connection pool exhausted by the new retry loop."},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "resolved"
    assert body["resolution_note"] == "Rolled back release 4.2."
    assert body["root_cause_hypothesis"] == "Connection pool exhausted by the new retry loop."
    assert messages(incident, "resolved") == [
        "Resolved by Rui Responder: Rolled back release 4.2. "
        "First root-cause hypothesis: Connection pool exhausted by the new retry loop."
    ]
    again = api_client_for(responder).post(f"/api/v1/incidents/{incident.pk}/resolve/", {"note": "twice"})
    assert again.status_code == 409
    assert Incident.objects.get(pk=incident.pk).resolution_note == "Rolled back release 4.2."


@pytest.mark.parametrize(
    ("body", "field"),
    [({"note": ["Rolled back"]}, "note"), ({"note": "x" * 10_001}, "note"), ({"hypothesis": {"a": 1}}, "hypothesis")],
)
def test_bad_resolve_input_is_a_400_naming_the_field(
    body: dict[str, Any], field: str, responder: User, api_client_for: Callable[[User], APIClient]
) -> None:
    incident = incident_declare(
        service=make_service(), severity=level("P2"), title="Slow search", started_at=None, actor=responder
    )

    response = api_client_for(responder).post(f"/api/v1/incidents/{incident.pk}/resolve/", body, format="json")

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert Incident.objects.get(pk=incident.pk).status == "triggered"


# --- Adding responders ---------------------------------------------------------------------------


def test_adding_subject_matter_experts_pages_them_and_gives_them_the_role(
    client: Client,
    integration: Integration,
    people: dict[str, User],
    responder: User,
    api_client_for: Callable[[User], APIClient],
    tick: Callable[..., None],
    http: HttpReceiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    incident = trigger(client, integration, "db-locks")
    tick()
    http.wait_for(1, "/hooks/alice")
    api = api_client_for(responder)
    assert api.post(f"/api/v1/incidents/{incident.pk}/acknowledge/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/incidents/{incident.pk}/add-responders/",
            {
                "users": [people["carol"].pk, people["dave"].pk],
                "message": "Database locks",
                "as_role": "subject-matter-expert",
            },
            format="json",
        )

    assert response.status_code == 200, response.content
    http.wait_for(1, "/hooks/carol")
    http.wait_for(1, "/hooks/dave")
    assert sorted(paged(http)) == ["alice", "carol", "dave"]
    carol_page = http.received("/hooks/carol")[0].json
    assert carol_page["incident"]["id"] == incident.pk
    # Adding people replaces nobody: still acknowledged, and Bob is never paged.
    assert response.json()["status"] == "acknowledged"
    assert [user["username"] for user in response.json()["roles"]["subject-matter-expert"]] == ["carol", "dave"]
    assert messages(incident, "responder_added") == [
        "Rui Responder paged Carol, Dave to join as Subject Matter Expert: Database locks"
    ]
    assert len(messages(incident, "role_assigned")) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"users": []}, "users"),
        ({"users": [987_654]}, "users"),
        ({"users": ["carol"]}, "users"),
        ({"users": "CAROL"}, "users"),
        ({"users": ["CAROL"], "as_role": "wizard"}, "as_role"),
        ({"users": ["CAROL"], "as_role": "subject-matter-expert\x00"}, "as_role"),
        ({"users": ["CAROL", "DAVE"], "as_role": "incident-commander"}, "as_role"),
    ],
)
def test_bad_responder_input_is_a_400_naming_the_field(
    body: dict[str, Any],
    field: str,
    people: dict[str, User],
    responder: User,
    api_client_for: Callable[[User], APIClient],
) -> None:
    incident = incident_declare(
        service=make_service(), severity=level("P2"), title="Slow search", started_at=None, actor=responder
    )

    def fill(value: Any) -> Any:
        if isinstance(value, list):
            return [fill(item) for item in value]
        return people[value.lower()].pk if isinstance(value, str) and value.isupper() else value

    body = {key: fill(value) for key, value in body.items()}

    response = api_client_for(responder).post(f"/api/v1/incidents/{incident.pk}/add-responders/", body, format="json")

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Delivery.objects.exists()
    assert role_holders(incident) == {}


def test_nobody_is_paged_for_a_resolved_incident(
    people: dict[str, User], responder: User, api_client_for: Callable[[User], APIClient]
) -> None:
    incident = incident_declare(
        service=make_service(), severity=level("P2"), title="Slow search", started_at=None, actor=responder
    )
    api = api_client_for(responder)
    api.post(f"/api/v1/incidents/{incident.pk}/resolve/")

    response = api.post(
        f"/api/v1/incidents/{incident.pk}/add-responders/", {"users": [people["carol"].pk]}, format="json"
    )

    assert response.status_code == 409
    assert not Delivery.objects.exists()


# --- Merge ---------------------------------------------------------------------------------------


def test_merging_moves_the_alerts_and_resolves_the_duplicate(
    client: Client, integration: Integration, responder: User, api_client_for: Callable[[User], APIClient]
) -> None:
    target = trigger(client, integration, "checkout-down")
    source = trigger(client, integration, "payments-5xx")

    response = api_client_for(responder).post(f"/api/v1/incidents/{source.pk}/merge/", {"target": target.pk})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["merged_into"]) == ("resolved", target.pk)
    assert body["resolution_note"] == f"Merged into #{target.pk}"
    assert list(Alert.objects.filter(incident=target).order_by("key").values_list("key", flat=True)) == [
        "checkout-down",
        "payments-5xx",
    ]
    assert not Alert.objects.filter(incident=source).exists()
    assert Incident.objects.get(pk=target.pk).alert_count == 2
    assert messages(source, "merged") == [
        f"Merged into #{target.pk} (checkout-down on lb-1) by Rui Responder; 1 alert moved there."
    ]
    assert messages(target, "merged") == [
        f"#{source.pk} (payments-5xx on lb-1) was merged into this incident by Rui Responder; 1 alert moved here."
    ]
    assert messages(source, "resolved") == [f"Merged into #{target.pk} by Rui Responder."]
    assert not EscalationRun.objects.filter(incident=source, ended_at__isnull=True).exists()


def test_an_alert_the_target_has_already_stays_with_the_merged_incident(
    client: Client, integration: Integration, responder: User
) -> None:
    target = trigger(client, integration, "checkout-down")
    source = trigger(client, integration, "checkout-down-again")
    # The same alert in both (as one Alertmanager fingerprint can be in two groups).
    Alert.objects.filter(incident=source).update(key="checkout-down")

    incident_merge(source, target, actor=responder)

    assert Alert.objects.filter(incident=source).count() == 1
    assert Alert.objects.filter(incident=target).count() == 1
    assert messages(target, "merged")[0].endswith("0 alerts moved here.")


def test_merges_that_make_no_sense_are_refused(
    client: Client, integration: Integration, responder: User, api_client_for: Callable[[User], APIClient]
) -> None:
    first = trigger(client, integration, "one")
    second = trigger(client, integration, "two")
    closed = trigger(client, integration, "three")
    api = api_client_for(responder)
    api.post(f"/api/v1/incidents/{closed.pk}/resolve/")

    into_itself = api.post(f"/api/v1/incidents/{first.pk}/merge/", {"target": first.pk})
    into_resolved = api.post(f"/api/v1/incidents/{first.pk}/merge/", {"target": closed.pk})
    into_nothing = api.post(f"/api/v1/incidents/{first.pk}/merge/", {"target": 987_654})
    from_resolved = api.post(f"/api/v1/incidents/{closed.pk}/merge/", {"target": first.pk})

    assert into_itself.status_code == 400
    assert "into itself" in into_itself.json()["target"][0]
    assert into_resolved.status_code == 400
    assert "is resolved" in into_resolved.json()["target"][0]
    assert into_nothing.status_code == 400
    assert "target" in into_nothing.json()
    assert from_resolved.status_code == 409
    # A loop: the second incident says it was merged into the first (as an admin edit could leave it).
    Incident.objects.filter(pk=second.pk).update(merged_into=first)
    with pytest.raises(InvalidInput, match="loop") as error:
        incident_merge(first, Incident.objects.get(pk=second.pk), actor=responder)
    assert error.value.field == "target"
    assert Incident.objects.get(pk=first.pk).status == "triggered"
    assert not Incident.objects.get(pk=first.pk).timeline.filter(kind="merged").exists()
    with pytest.raises(ActionRefused):
        incident_merge(closed, first, actor=responder)


@pytest.mark.parametrize(
    "body", [{"target": "two"}, {"target": -1}, {"target": 2**64}, {"target": None}, {"target": [1]}, {}]
)
def test_merging_with_a_bogus_target_is_a_400_naming_it(
    body: dict[str, Any], responder: User, api_client_for: Callable[[User], APIClient]
) -> None:
    incident = incident_declare(
        service=make_service(), severity=level("P2"), title="Slow search", started_at=None, actor=responder
    )

    response = api_client_for(responder).post(f"/api/v1/incidents/{incident.pk}/merge/", body, format="json")

    assert response.status_code == 400
    assert "target" in response.json(), response.json()
    assert Incident.objects.get(pk=incident.pk).status == "triggered"


def test_a_drill_and_a_real_incident_are_not_merged(
    client: Client, integration: Integration, responder: User, api_client_for: Callable[[User], APIClient]
) -> None:
    real = trigger(client, integration, "checkout-down")
    drill = trigger(client, integration, "game-day")
    Incident.objects.filter(pk=drill.pk).update(is_drill=True)
    api = api_client_for(responder)

    for source, target in ((drill, real), (real, drill)):
        response = api.post(f"/api/v1/incidents/{source.pk}/merge/", {"target": target.pk})
        assert response.status_code == 400
        assert response.json()["target"] == [f"#{drill.pk} is a drill and #{real.pk} is not; they cannot be merged."]
    assert list(Incident.objects.order_by("pk").values_list("status", "alert_count")) == [
        ("triggered", 1),
        ("triggered", 1),
    ]


# --- Notes ---------------------------------------------------------------------------------------


def test_notes_go_on_the_timeline(responder: User, api_client_for: Callable[[User], APIClient]) -> None:
    incident = incident_declare(
        service=make_service(), severity=level("P2"), title="Slow search", started_at=None, actor=responder
    )
    api = api_client_for(responder)

    response = api.post(f"/api/v1/incidents/{incident.pk}/notes/", {"text": "Index rebuild running on db-2."})
    empty = api.post(f"/api/v1/incidents/{incident.pk}/notes/", {"text": "   "})

    assert response.status_code == 201
    assert response.json()["kind"] == "note"
    assert response.json()["actor"] == responder.pk
    assert messages(incident, "note") == ["Index rebuild running on db-2."]
    assert empty.status_code == 400
    assert "text" in empty.json()
    for bad in ({"text": ["a", "b"]}, {"text": None}, {"text": "x" * 10_001}, {}):
        refused = api.post(f"/api/v1/incidents/{incident.pk}/notes/", bad, format="json")
        assert refused.status_code == 400, bad
        assert "text" in refused.json(), bad
    assert messages(incident, "note") == ["Index rebuild running on db-2."]


# --- Who may act ---------------------------------------------------------------------------------

ACTIONS = ("change-severity", "assign-role", "release-role", "add-responders", "merge", "notes", "resolve")


def valid_body(action: str, *, person: User, other: Incident) -> dict[str, Any]:
    """A body the action would accept from a responder, so that only the person is wrong."""
    bodies: dict[str, dict[str, Any]] = {
        "change-severity": {"severity": "P2", "reason": "worse"},
        "assign-role": {"role": "incident-commander", "user": person.pk},
        "release-role": {"role": "incident-commander", "user": person.pk},
        "add-responders": {"users": [person.pk]},
        "merge": {"target": other.pk},
        "notes": {"text": "hello"},
        "resolve": {"note": "done"},
    }
    return bodies[action]


@pytest.mark.parametrize("action", ACTIONS)
def test_stakeholders_cannot_act_and_outsiders_see_nothing(
    action: str,
    client: Client,
    integration: Integration,
    stakeholder: User,
    outsider: User,
    api_client_for: Callable[[User], APIClient],
) -> None:
    incident = trigger(client, integration, "checkout-down")
    other = trigger(client, integration, "other")
    body = valid_body(action, person=stakeholder, other=other)
    timeline = incident.timeline.count()

    for person in (stakeholder, outsider):
        response = api_client_for(person).post(f"/api/v1/incidents/{incident.pk}/{action}/", body, format="json")
        assert response.status_code == 403, (person.username, response.content)

    assert incident.timeline.count() == timeline
    assert Incident.objects.get(pk=incident.pk).status == "triggered"
    assert Incident.objects.get(pk=incident.pk).severity.name == "P1"
    assert not Role.objects.filter(assignments__incident=incident).exists()
    assert not Delivery.objects.filter(user=stakeholder).exists()
