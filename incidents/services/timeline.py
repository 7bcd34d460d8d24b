"""Writing to an incident's timeline, the audit trail every change goes through."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from incidents.models import Incident, TimelineEntry


def timeline_add(
    incident: Incident,
    kind: TimelineEntry.Kind,
    message: str,
    *,
    at: datetime | None = None,
    actor: User | None = None,
    actor_label: str = "",
    data: dict[str, Any] | None = None,
) -> TimelineEntry:
    return TimelineEntry.objects.create(
        incident=incident,
        kind=kind,
        message=message,
        at=at or timezone.now(),
        actor=actor,
        actor_label=actor_label,
        data=data or {},
    )


def person_name(user: User | None) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()
