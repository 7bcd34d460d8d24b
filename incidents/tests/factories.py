"""Builders for incident tests: small functions with sensible defaults, named for what they make."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.test import Client

from incidents.models import Alert, Incident, Integration, Service, TimelineEntry
from oncall.models import Team


def make_team(name: str = "Payments", **extra: Any) -> Team:
    return Team.objects.create(name=name, **extra)


def make_service(name: str = "Checkout API", *, team: Team | None = None, **extra: Any) -> Service:
    return Service.objects.create(name=name, owner_team=team or make_team(f"{name} team"), **extra)


def make_integration(
    kind: str = Integration.Kind.PAGERDUTY, *, service: Service | None = None, name: str = "Monitoring", **extra: Any
) -> Integration:
    return Integration.objects.create(name=name, kind=kind, service=service or make_service(), **extra)


# --- Webhook sources ------------------------------------------------------------------------------

SOURCE_FIXTURES = Path(__file__).resolve().parents[1] / "sources" / "fixtures"


def load_fixture(source: str, name: str) -> dict[str, Any]:
    return json.loads((SOURCE_FIXTURES / source / f"{name}.json").read_text())


def post(client: Client, integration: Integration, body: Any) -> Any:
    return client.post(f"/integrations/{integration.key}/alerts", body, content_type="application/json")


def alert_states(incident: Incident) -> dict[str, str]:
    return dict(incident.alerts.values_list("key", "status"))


def timeline_kinds(incident: Incident) -> list[str]:
    return list(incident.timeline.values_list("kind", flat=True))


def stored_rows() -> tuple[int, int, int]:
    return Incident.objects.count(), Alert.objects.count(), TimelineEntry.objects.count()


# --- Escalation ------------------------------------------------------------------------------------


def make_person(username: str, *, methods: dict[str, str] | None = None, **extra: Any) -> Any:
    """A person with contact methods {kind: address}, each notified at once for both urgencies."""
    from django.contrib.auth.models import User

    from oncall.models import ContactMethod, NotificationRule

    user = User.objects.create_user(username, email=f"{username}@example.com", first_name=username.title(), **extra)
    for kind, address in (methods or {}).items():
        method = ContactMethod.objects.create(user=user, kind=kind, address=address)
        for urgency in NotificationRule.Urgency.values:
            NotificationRule.objects.create(user=user, urgency=urgency, contact_method=method)
    return user


def make_policy(name: str, *steps: dict[str, Any], repeat_count: int = 0) -> Any:
    """Steps as {"users": [...], "schedules": [...], "team_managers": [...], "delay": timedelta, "mode": ...}."""
    from oncall.models import EscalationPolicy

    policy = EscalationPolicy.objects.create(name=name, repeat_count=repeat_count)
    for position, spec in enumerate(steps):
        step = policy.steps.create(position=position, delay=spec.get("delay"), mode=spec.get("mode", "all"))
        step.users.set(spec.get("users", []))
        step.schedules.set(spec.get("schedules", []))
        step.teams.set(spec.get("teams", []))
        step.team_managers.set(spec.get("team_managers", []))
    return policy


def trigger_over_http(
    client: Client,
    integration: Integration,
    key: str = "checkout-down",
    *,
    summary: str = "Checkout is down",
    severity: str = "critical",
) -> Incident:
    """A PagerDuty Events v2 trigger posted to /v2/enqueue as a monitor sends it; the incident it opened."""
    body = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {"summary": summary, "source": "lb-1", "severity": severity},
    }
    assert client.post("/v2/enqueue", body, content_type="application/json").status_code == 202
    return Incident.objects.get(dedup_key=key)


def paged(http: Any) -> list[str]:
    """Who an HttpReceiver was paged for, by their /hooks/<name> path, in order of arrival."""
    return [received.path.removeprefix("/hooks/") for received in http.received()]


def timeline_messages(incident: Incident, kind: str) -> list[str]:
    return list(incident.timeline.filter(kind=kind).order_by("at", "pk").values_list("message", flat=True))
