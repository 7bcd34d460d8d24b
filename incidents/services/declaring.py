"""Declaring an incident by hand: a person saw the problem before (or instead of) the monitoring."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from incidents.models import Incident, Service, SeverityLevel, TimelineEntry
from incidents.services.errors import InvalidInput
from incidents.services.severity import paging_suppressed_reason
from incidents.services.timeline import person_name, timeline_add

TITLE_MAX = Incident._meta.get_field("title").max_length or 1024


def incident_declare(
    *,
    service: Service,
    severity: SeverityLevel,
    title: str,
    description: str = "",
    started_at: datetime | None,
    actor: User | None,
    now: datetime | None = None,
) -> Incident:
    """Open an incident by hand. It pages per the service's policy like an alert-opened one: the
    engine's start_due picks it up (at once: no flap grace period, a person has seen the problem).

    Raises InvalidInput naming `service` (outside the plan's scope), `title` or `started_at` (which
    cannot be in the future).
    """
    now = now or timezone.now()
    if not service.in_scope:
        raise InvalidInput("service", f"{service.name} is outside the plan's scope; the plan does not govern it.")
    title = title.strip()
    if not title:
        raise InvalidInput("title", "Say in a few words what is broken.")
    if len(title) > TITLE_MAX:
        raise InvalidInput("title", f"At most {TITLE_MAX} characters.")
    if started_at is not None and started_at > now:
        raise InvalidInput("started_at", "Cannot be in the future: when did the problem begin?")
    suppressed = paging_suppressed_reason(service, severity, now)
    who = person_name(actor) or "IRP"
    with transaction.atomic():
        incident = Incident.objects.create(
            title=title,
            description=description.strip(),
            service=service,
            severity=severity,
            declared_by=actor,
            severity_reason=f"Declared as {severity.name} by {who}.",
            created_at=now,
            detected_at=now,
            started_at=started_at,
            pages_at=None if suppressed else now,
            paging_suppressed_reason=suppressed,
        )
        timeline_add(
            incident,
            TimelineEntry.Kind.DECLARED,
            f"Declared by {who} as {severity.name} on {service.name}.",
            at=now,
            actor=actor,
            data={"severity": severity.name, "started_at": started_at.isoformat() if started_at else None},
        )
        if suppressed:
            timeline_add(incident, TimelineEntry.Kind.PAGING_SUPPRESSED, suppressed, at=now, actor_label="IRP")
    return incident
