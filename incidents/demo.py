"""The demo organisation, Acme: people, teams, services and the guide's plan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from incidents.models import Integration, ResponsePlan, RoutingRule, Service, SeverityLevel
from incidents.services.ingestion import ingest_events
from incidents.sources.events import AlertEvent
from irp_site.groups import PLAN_OWNERS, RESPONDERS, STAKEHOLDERS
from oncall.models import Profile, Team

DEMO_PASSWORD = "irp-demo"
DEMO_PLAN_OWNER = "alex"


@dataclass(frozen=True)
class DemoPerson:
    username: str
    first_name: str
    last_name: str
    time_zone: str
    groups: tuple[str, ...]


PEOPLE = (
    DemoPerson("alex", "Alex", "Morgan", "Europe/London", (PLAN_OWNERS, RESPONDERS)),
    DemoPerson("priya", "Priya", "Natarajan", "Europe/London", (RESPONDERS,)),
    DemoPerson("sam", "Sam", "Carter", "Europe/London", (RESPONDERS,)),
    DemoPerson("jordan", "Jordan", "Lee", "Europe/Berlin", (RESPONDERS,)),
    DemoPerson("noor", "Noor", "Haddad", "Europe/Berlin", (RESPONDERS,)),
    DemoPerson("marcus", "Marcus", "Okafor", "America/New_York", (RESPONDERS,)),
    DemoPerson("ana", "Ana", "Souza", "America/Sao_Paulo", (RESPONDERS,)),
    DemoPerson("tom", "Tom", "Becker", "America/New_York", (RESPONDERS,)),
    DemoPerson("yuki", "Yuki", "Tanaka", "Asia/Tokyo", (RESPONDERS,)),
    DemoPerson("elena", "Elena", "Rossi", "Europe/Rome", (RESPONDERS,)),
    DemoPerson("omar", "Omar", "Farouk", "Africa/Cairo", (RESPONDERS,)),
    DemoPerson("chloe", "Chloe", "Martin", "Europe/Paris", (RESPONDERS,)),
    DemoPerson("dana", "Dana", "Kim", "America/Los_Angeles", (STAKEHOLDERS,)),
)

# (team, description, manager, members)
TEAMS = (
    ("Platform", "Infrastructure, databases and identity.", "priya", ("sam", "jordan", "noor")),
    ("Payments", "Checkout and payment processing.", "marcus", ("ana", "tom", "yuki")),
    ("Web & Mobile", "The storefront and the mobile apps.", "elena", ("omar", "chloe", "alex")),
)

# (service, team, criticality, description)
SERVICES = (
    ("Checkout API", "Payments", Service.Criticality.CRITICAL, "Takes orders and hands them to payment."),
    ("Payment Gateway", "Payments", Service.Criticality.CRITICAL, "Card and wallet payments through our providers."),
    ("Core Database", "Platform", Service.Criticality.CRITICAL, "The primary PostgreSQL cluster."),
    ("Identity & Login", "Platform", Service.Criticality.HIGH, "Sign-in, sessions and single sign-on."),
    ("Web Storefront", "Web & Mobile", Service.Criticality.HIGH, "The public website customers shop on."),
    ("Push Notifications", "Web & Mobile", Service.Criticality.MEDIUM, "Order and delivery notices to the apps."),
)


@transaction.atomic
def seed_demo_organisation() -> bool:
    """Create Acme once. Returns False when it was already there (nothing is changed then)."""
    if User.objects.filter(username=DEMO_PLAN_OWNER).exists():
        return False
    users: dict[str, User] = {}
    for person in PEOPLE:
        user = User.objects.create_user(
            person.username,
            email=f"{person.username}@acme.example",
            password=DEMO_PASSWORD,
            first_name=person.first_name,
            last_name=person.last_name,
        )
        if person.username == DEMO_PLAN_OWNER:
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
        user.groups.set(Group.objects.filter(name__in=person.groups))
        Profile.objects.create(user=user, time_zone=person.time_zone, phone="")
        users[person.username] = user
    teams = {}
    for name, description, manager, members in TEAMS:
        team = Team.objects.create(name=name, description=description, manager=users[manager])
        team.members.set([users[username] for username in members])
        teams[name] = team
    for name, team_name, criticality, description in SERVICES:
        Service.objects.create(name=name, owner_team=teams[team_name], criticality=criticality, description=description)
    _seed_alerting(services={service.name: service for service in Service.objects.all()})
    plan = ResponsePlan.objects.current()
    plan.organisation_name = "Acme"
    plan.owner = users[DEMO_PLAN_OWNER]
    plan.last_reviewed_on = timezone.localdate() - timedelta(days=30)
    plan.save()
    return True


# (service, integration name, kind)
INTEGRATIONS = (
    ("Checkout API", "Datadog (PagerDuty events)", Integration.Kind.PAGERDUTY),
    ("Core Database", "Prometheus", Integration.Kind.ALERTMANAGER),
    ("Web Storefront", "Grafana", Integration.Kind.GRAFANA),
    ("Push Notifications", "Queue monitor", Integration.Kind.GENERIC),
)


def _seed_alerting(services: dict[str, Service]) -> None:
    integrations = {
        service: Integration.objects.create(name=name, service=services[service], kind=kind)
        for service, name, kind in INTEGRATIONS
    }
    RoutingRule.objects.create(
        name="Database disks are P2",
        position=10,
        conditions=[{"field": "labels.alertname", "op": "regex", "value": "^Disk"}],
        set_severity=SeverityLevel.objects.get(name="P2"),
        add_labels={"team": "platform"},
    )
    # Two incidents that came in through the real ingestion path, so the pages have something to show.
    ingest_events(
        integrations["Checkout API"],
        [
            AlertEvent(
                action="trigger",
                incident_key="checkout-5xx",
                alert_key="checkout-5xx",
                summary="Checkout API 5xx rate above 5% for 5 minutes",
                source="lb-eu-1",
                severity="critical",
                details={"error_rate": "7.4%", "region": "eu-west-1"},
                links=[{"href": "https://grafana.acme.example/d/checkout", "text": "Checkout dashboard"}],
            )
        ],
    )
    ingest_events(
        integrations["Core Database"],
        [
            AlertEvent(
                action="trigger",
                incident_key='{}:{alertname="DiskAlmostFull"}',
                alert_key="3f2a9c1d7e6b5a40",
                summary="Disk /var/lib/postgresql 91% full on db-2",
                source="db-2:9100",
                severity="warning",
                labels={"alertname": "DiskAlmostFull", "instance": "db-2:9100", "severity": "warning"},
                counts_repeats=False,
            )
        ],
    )
