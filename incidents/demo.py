"""The demo organisation, Acme: people, teams, services, the guide's plan, runbooks and a P1 whose
communication cadence is under way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from incidents.models import Incident, Integration, ResponsePlan, Role, RoutingRule, Service, SeverityLevel
from incidents.models.comms import StakeholderGroup
from incidents.models.runbooks import Runbook
from incidents.services.comms import comms_schedule, update_post
from incidents.services.ingestion import ingest_events
from incidents.sources.events import AlertEvent
from incidents.status_demo import seed_status_page
from irp_site.groups import PLAN_OWNERS, RESPONDERS, STAKEHOLDERS
from oncall.models import ContactMethod, EscalationPolicy, Layer, NotificationRule, Profile, Schedule, Team
from oncall.services import layer_save, override_create

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
    teams: dict[str, Team] = {}
    for name, description, manager, members in TEAMS:
        team = Team.objects.create(name=name, description=description, manager=users[manager])
        team.members.set([users[username] for username in members])
        teams[name] = team
    for name, team_name, criticality, description in SERVICES:
        Service.objects.create(name=name, owner_team=teams[team_name], criticality=criticality, description=description)
    _seed_schedules(teams, users)
    _seed_escalation(teams, users)
    _seed_alerting(services={service.name: service for service in Service.objects.all()})
    _seed_runbooks(services={service.name: service for service in Service.objects.all()})
    _seed_cadence(users)
    plan = ResponsePlan.objects.current()
    plan.organisation_name = "Acme"
    plan.owner = users[DEMO_PLAN_OWNER]
    plan.last_reviewed_on = timezone.localdate() - timedelta(days=30)
    plan.save()
    seed_status_page(plan.organisation_name)
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


def _seed_schedules(teams: dict[str, Team], users: dict[str, User]) -> None:
    """A weekly primary and secondary rotation per team, handing off on Mondays at 09:00 London time."""
    today = timezone.localdate()
    last_monday = today - timedelta(days=today.weekday())
    for name, _, manager, members in TEAMS:
        people = [users[username] for username in members]
        for role, order in (("primary", people), ("secondary", people[1:] + people[:1])):
            schedule = Schedule.objects.create(
                name=f"{name} {role}", team=teams[name], time_zone="Europe/London", owner=users[manager]
            )
            start = timezone.make_aware(
                datetime.combine(last_monday - timedelta(weeks=4), time(9)), ZoneInfo("Europe/London")
            )
            layer_save(
                Layer(
                    schedule=schedule, name="Weekly", shift_length=1, shift_unit=Layer.Unit.WEEKS, rotation_start=start
                ),
                participants=order,
            )
    platform = Schedule.objects.get(name="Platform primary")
    tomorrow_evening = timezone.make_aware(
        datetime.combine(today + timedelta(days=1), time(18)), ZoneInfo("Europe/London")
    )
    override_create(
        platform,
        user=users["priya"],
        starts_at=tomorrow_evening,
        ends_at=tomorrow_evening + timedelta(hours=14),
        created_by=users["priya"],
        reason="Covering the database migration night",
    )


def _seed_escalation(teams: dict[str, Team], users: dict[str, User]) -> None:
    """The guide's path for every team: the primary on call, then the secondary, then the manager,
    each step waiting the severity's ack window (5 minutes for a P1; a P3 stops at the secondary).

    Everyone is reached by e-mail at once; with the default EMAIL_URL the worker prints the mails.
    """
    for user in users.values():
        method = ContactMethod.objects.create(user=user, kind=ContactMethod.Kind.EMAIL, address=user.email)
        for urgency in NotificationRule.Urgency.values:
            NotificationRule.objects.create(user=user, urgency=urgency, contact_method=method)
    for name, team in teams.items():
        policy = EscalationPolicy.objects.create(
            name=f"{name} — primary, secondary, manager",
            team=team,
            description="The plan's escalation path: on-call primary, then secondary, then the engineering manager.",
        )
        policy.steps.create(position=0).schedules.set([Schedule.objects.get(name=f"{name} primary")])
        policy.steps.create(position=1).schedules.set([Schedule.objects.get(name=f"{name} secondary")])
        policy.steps.create(position=2).team_managers.set([team])
        Service.objects.filter(owner_team=team).update(escalation_policy=policy)


# (title, services, body, reviewed this many days ago or None) — one is stale, to show how it looks.
RUNBOOKS = (
    (
        "Checkout API: error rate above 5%",
        ("Checkout API",),
        "1. Open the **Checkout dashboard** and check which endpoint fails.\n"
        "2. If the errors started with a deploy, roll back: `deploy rollback checkout-api`.\n"
        "3. If the payment provider times out, switch to the standby provider in the gateway console.\n\n"
        "| symptom | likely cause |\n|---|---|\n| 502 from lb-eu-1 | pods restarting |\n| 504 | provider slow |",
        20,
    ),
    (
        "Payment Gateway: provider failover",
        ("Payment Gateway",),
        "Switch traffic to the standby provider:\n\n```\npaymentsctl provider set-primary standby\n```\n\n"
        "Tell the Communications Lead: enterprise customers may see duplicate authorisations.",
        45,
    ),
    (
        "Core Database: failover to the replica",
        ("Core Database",),
        "1. Confirm the primary is down (`pg_isready -h db-1`).\n2. Promote the replica: `patronictl failover`.\n"
        "3. Check replication lag on the new replica before closing.",
        60,
    ),
    (
        "Identity & Login: sign-in failures",
        ("Identity & Login",),
        "Check the identity provider's status page first, then the session store (Redis) memory.",
        200,
    ),
    (
        "Web Storefront: slow pages",
        ("Web Storefront",),
        "Purge the CDN cache for the affected paths and check the origin's p99 latency.",
        10,
    ),
    (
        "Push Notifications: queue backlog",
        ("Push Notifications",),
        "Scale the senders: `kubectl scale deploy/push-sender --replicas=6`; the backlog drains at ~2,000/min.",
        None,
    ),
)


def _seed_runbooks(services: dict[str, Service]) -> None:
    today = timezone.localdate()
    for title, names, body, reviewed_days_ago in RUNBOOKS:
        runbook = Runbook.objects.create(
            title=title,
            body=body,
            last_reviewed_on=today - timedelta(days=reviewed_days_ago) if reviewed_days_ago is not None else None,
        )
        runbook.services.set([services[name] for name in names])
    Runbook.objects.create(
        title="Disk almost full",
        body="1. Find what grew: `du -xh / | sort -h | tail`.\n2. Rotate or ship old logs.\n"
        "3. Over 95%: extend the volume (see the storage runbook).",
        external_url="https://wiki.acme.example/runbooks/disk-full",
        conditions=[{"field": "labels.alertname", "op": "regex", "value": "^Disk"}],
        last_reviewed_on=today - timedelta(days=90),
    )


def _seed_cadence(users: dict[str, User]) -> None:
    """Customer success gets addresses; the demo P1 has its roles filled and a first update posted,
    so the incident page shows what is due next (the engine reminds when it falls due)."""
    from incidents.services.roles import role_assign

    StakeholderGroup.objects.update_or_create(
        name="Customer success — enterprise",
        defaults={"emails": ["cs-enterprise@acme.example", "dana@acme.example"]},
    )
    incident = Incident.objects.filter(dedup_key="checkout-5xx").first()
    if incident is None:
        return
    roles = {role.key: role for role in Role.objects.all()}
    for key, username in (("incident-commander", "marcus"), ("communications-lead", "ana")):
        if key in roles:
            role_assign(incident, roles[key], users[username], actor=users[username])
    comms_schedule(incident, base=incident.created_at)
    update_post(
        incident,
        "internal_update",
        "Checkout returns 5xx for about 7% of requests in eu-west-1. Tom is checking the last deploy; "
        "next update in 15 minutes.",
        actor=users["ana"],
    )
