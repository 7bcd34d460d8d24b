"""Who holds which incident role: assigning, handing over and releasing, and what the plan says is
missing."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from incidents.models import Incident, IncidentRole, Role, SeverityLevel, TimelineEntry
from incidents.models.roles import SUBJECT_MATTER_EXPERT
from incidents.services.errors import InvalidInput
from incidents.services.timeline import person_name, timeline_add

INCIDENT_COMMANDER = "incident-commander"
TECHNICAL_LEAD = "technical-lead"
COMMUNICATIONS_LEAD = "communications-lead"


def current_roles_prefetch() -> Prefetch:
    """For lists and pages: `.prefetch_related(current_roles_prefetch())` lets role_holders,
    role_holder and role_warnings answer without a query per incident."""
    return Prefetch(
        "role_assignments",
        queryset=IncidentRole.objects.current().select_related("user", "role").order_by("assigned_at", "id"),
        to_attr="current_roles",
    )


def _current(incident: Incident) -> list[IncidentRole]:
    prefetched = getattr(incident, "current_roles", None)
    if prefetched is not None:
        return list(prefetched)
    return list(
        IncidentRole.objects.current()
        .filter(incident=incident)
        .select_related("user", "role")
        .order_by("assigned_at", "id")
    )


def role_assign(
    incident: Incident, role: Role, user: User, *, actor: User | None, at: datetime | None = None
) -> IncidentRole:
    """Give `user` the role. For every role but Subject Matter Expert this hands it over: the
    previous holder's turn ends. Nothing changes when they hold it already."""
    at = at or timezone.now()
    with transaction.atomic():
        # One role change at a time per incident, so that two hand-overs cannot both succeed.
        Incident.objects.lock_for_change([incident.pk])
        current = list(
            IncidentRole.objects.current().filter(incident=incident, role=role).select_related("user").order_by("id")
        )
        for held in current:
            if held.user_id == user.pk:
                return held
        previous = [] if role.key == SUBJECT_MATTER_EXPERT else current
        if previous:
            IncidentRole.objects.filter(pk__in=[held.pk for held in previous]).update(ended_at=at)
        assignment = IncidentRole.objects.create(
            incident=incident, role=role, user=user, assigned_at=at, assigned_by=actor
        )
        text = f"{person_name(user)} is now {role.name}"
        if previous:
            text += f" (was {', '.join(person_name(held.user) for held in previous)})"
        if actor is not None and actor.pk != user.pk:
            text += f"; assigned by {person_name(actor)}"
        timeline_add(
            incident,
            TimelineEntry.Kind.ROLE_ASSIGNED,
            text + ".",
            at=at,
            actor=actor,
            data={"role": role.key, "user": user.pk, "previous": [held.user_id for held in previous]},
        )
    return assignment


def role_release(
    incident: Incident, role: Role, user: User, *, actor: User | None, at: datetime | None = None
) -> IncidentRole:
    """`user` no longer holds the role (stepping down without a successor)."""
    at = at or timezone.now()
    with transaction.atomic():
        Incident.objects.lock_for_change([incident.pk])
        held = IncidentRole.objects.current().filter(incident=incident, role=role, user=user).first()
        if held is None:
            raise InvalidInput("user", f"{person_name(user)} is not {role.name} on this incident.")
        IncidentRole.objects.filter(pk=held.pk).update(ended_at=at)
        held.ended_at = at
        text = f"{person_name(user)} is no longer {role.name}"
        if actor is not None and actor.pk != user.pk:
            text += f"; released by {person_name(actor)}"
        timeline_add(
            incident,
            TimelineEntry.Kind.ROLE_ASSIGNED,
            text + ".",
            at=at,
            actor=actor,
            data={"role": role.key, "user": None, "previous": [user.pk]},
        )
    return held


def role_holders(incident: Incident) -> dict[str, list[User]]:
    """Current holders by role key, earliest first; roles nobody holds are absent."""
    holders: dict[str, list[User]] = {}
    for held in _current(incident):
        holders.setdefault(held.role.key, []).append(held.user)
    return holders


def role_holder(incident: Incident, role_key: str) -> User | None:
    """The person holding the role (the earliest, for a role several may hold), or None."""
    holders = role_holders(incident).get(role_key)
    return holders[0] if holders else None


def _is_top_severity(severity: SeverityLevel) -> bool:
    top = SeverityLevel.objects.order_by("rank", "name").values_list("pk", flat=True).first()
    return severity.pk == top


def role_warnings(incident: Incident) -> list[str]:
    """What the plan wants and the incident lacks, while it is open: roles required at its severity
    that nobody holds, and at the top severity an Incident Commander who is also the Technical Lead."""
    if not incident.is_open:
        return []
    holders = role_holders(incident)
    warnings = [
        f"No {role.name} yet"
        for role in Role.objects.required_at(incident.severity).order_by("position", "name")
        if role.key not in holders
    ]
    commanders = {user.pk for user in holders.get(INCIDENT_COMMANDER, [])}
    leads = {user.pk for user in holders.get(TECHNICAL_LEAD, [])}
    if commanders & leads and _is_top_severity(incident.severity):
        names = dict(Role.objects.filter(key__in=[INCIDENT_COMMANDER, TECHNICAL_LEAD]).values_list("key", "name"))
        warnings.append(
            f"{names.get(INCIDENT_COMMANDER, 'Incident Commander')} and "
            f"{names.get(TECHNICAL_LEAD, 'Technical Lead')} are the same person"
        )
    return warnings
