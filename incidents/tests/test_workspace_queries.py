"""The workspace's pages cost a fixed number of queries, however many incidents, alerts or timeline
entries there are: an N+1 query here is what makes a 2 AM page slow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.models import Alert, Incident, IncidentRole, Role, SeverityLevel, TimelineEntry
from incidents.services import comms
from incidents.services.roles import role_assign
from incidents.tests.factories import make_service, make_team

pytestmark = pytest.mark.django_db

# What a page may cost at most, whatever the number of rows: generous enough for a new panel's
# query or two, far below what one query per row would cost.
LIST_MAX_QUERIES = 16
PAGE_MAX_QUERIES = 32


def add_incidents(count: int, *, start: int = 0, holder: User | None = None) -> None:
    """`count` incidents, a quarter each triggered and acknowledged; `holder` is Technical Lead on all."""
    levels = list(SeverityLevel.objects.all())
    services = [make_service(f"Service {start + n}", team=make_team(f"Team {start + n}")) for n in range(3)]
    now = timezone.now()
    Incident.objects.bulk_create(
        Incident(
            title=f"Incident {start + n}",
            severity=levels[n % len(levels)],
            service=services[n % len(services)],
            status=("triggered", "acknowledged", "resolved", "resolved")[n % 4],
            created_at=now - timedelta(minutes=start + n),
            detected_at=now - timedelta(minutes=start + n),
            acknowledged_at=now if n % 4 == 1 else None,
        )
        for n in range(count)
    )
    if holder is not None:
        lead = Role.objects.get(key="technical-lead")
        IncidentRole.objects.bulk_create(
            IncidentRole(incident=incident, role=lead, role_key=lead.key, user=holder)
            for incident in Incident.objects.filter(title__in=[f"Incident {start + n}" for n in range(count)])
        )


def queries_for(client: Client, path: str, **headers: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, headers=headers)
        assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("path", ["/incidents/", "/incidents/?mine=on&status=open", "/incidents/?page=2&q=incident"])
def test_the_list_costs_the_same_for_10_or_1000_incidents(
    responder: User, django_assert_max_num_queries: Any, path: str
) -> None:
    client = Client()
    client.force_login(responder)
    add_incidents(10, holder=responder)
    few = queries_for(client, path)
    add_incidents(990, start=10, holder=responder)

    with django_assert_max_num_queries(few):
        html = client.get(path).content.decode()
    with django_assert_max_num_queries(few):
        client.get(path, headers={"HX-Request": "true"})

    assert few <= LIST_MAX_QUERIES
    assert html.count('<tr id="incident-') == 50


def test_the_incident_page_costs_the_same_for_5_or_500_timeline_entries(
    responder: User, django_assert_max_num_queries: Any
) -> None:
    service = make_service("Checkout")
    created = timezone.now() - timedelta(minutes=20)
    incident = Incident.objects.create(
        title="Checkout is down",
        severity=SeverityLevel.objects.get(name="P1"),
        service=service,
        created_at=created,
        detected_at=created,
    )
    comms.comms_schedule(incident, base=created)
    client = Client()
    client.force_login(responder)
    people = [User.objects.create_user(f"person{n}", first_name=f"Person {n}") for n in range(10)]
    roles = list(Role.objects.all())

    def grow(count: int, offset: int) -> None:
        TimelineEntry.objects.bulk_create(
            TimelineEntry(
                incident=incident,
                kind=TimelineEntry.Kind.NOTE,
                message=f"Entry {offset + n}",
                actor=people[n % len(people)],
                at=created + timedelta(seconds=offset + n),
            )
            for n in range(count)
        )
        Alert.objects.bulk_create(
            Alert(incident=incident, service=service, key=f"k{offset + n}", summary=f"Alert {offset + n}")
            for n in range(count // 5 or 1)
        )
        for role in roles:
            role_assign(incident, role, people[(offset + roles.index(role)) % len(people)], actor=responder)

    grow(5, 0)
    path = f"/incidents/{incident.pk}/"
    few = queries_for(client, path)
    timeline_few = queries_for(client, f"{path}timeline/", HX_Request="true")
    grow(495, 5)

    with django_assert_max_num_queries(few):
        html = client.get(path).content.decode()
    with django_assert_max_num_queries(timeline_few):
        client.get(f"{path}timeline/", headers={"HX-Request": "true"})

    assert few <= PAGE_MAX_QUERIES
    assert html.count('data-kind="note"') == 500
    assert html.count('class="card alert"') == 50
    assert "The 50 most recent of 100 alerts." in html
