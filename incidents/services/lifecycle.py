"""The one place where an incident's status changes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from incidents.models import EscalationRun, Incident, TimelineEntry
from incidents.services.escalation import runs_stop
from incidents.services.timeline import person_name, timeline_add

logger = logging.getLogger(__name__)

# Sent after the transaction that changed the status commits: escalation and communication
# (later apps) listen here instead of being called from this module.
incident_status_changed = Signal()  # args: incident_id, old, new

TIMELINE_KIND = {
    Incident.Status.ACKNOWLEDGED: TimelineEntry.Kind.ACKNOWLEDGED,
    Incident.Status.RESOLVED: TimelineEntry.Kind.RESOLVED,
    Incident.Status.TRIGGERED: TimelineEntry.Kind.RETRIGGERED,
}
TIMESTAMP_FIELD = {
    Incident.Status.ACKNOWLEDGED: "acknowledged_at",
    Incident.Status.RESOLVED: "resolved_at",
}


class TransitionNotAllowed(ValueError):
    pass


def _send_changed(incident_id: int, old: str, new: str) -> Callable[[], None]:
    def send() -> None:
        incident_status_changed.send(sender=Incident, incident_id=incident_id, old=old, new=new)

    return send


def incident_transition(
    incident: Incident,
    new_status: Incident.Status,
    *,
    actor: User | None = None,
    actor_label: str = "",
    message: str = "",
    at: datetime | None = None,
    repage: bool = True,
) -> bool:
    """Move `incident` to `new_status` if it is still where we found it.

    Returns False when another process changed it first (nothing is written then). Raises
    TransitionNotAllowed for a move the lifecycle forbids. Acknowledging or resolving stops paging
    in the same transaction; going back to triggered pages again from the policy's first step
    unless `repage` is False (the caller then decides, as "escalate now" does).
    """
    old_status = incident.status
    if new_status not in Incident.ALLOWED_TRANSITIONS[old_status]:
        raise TransitionNotAllowed(f"An incident cannot go from {old_status} to {new_status}.")
    at = at or timezone.now()
    changes: dict[str, Any] = {"status": new_status}
    if new_status in TIMESTAMP_FIELD:
        changes[TIMESTAMP_FIELD[new_status]] = at
    if new_status == Incident.Status.TRIGGERED:
        changes["acknowledged_at"] = None
        changes["pages_at"] = at if repage and not incident.paging_suppressed_reason else None
    else:
        changes["pages_at"] = None
    with transaction.atomic():
        # Compare-and-set: 0 rows means someone else moved it first.
        updated = Incident.objects.filter(pk=incident.pk, status=old_status).update(**changes)
        if not updated:
            return False
        for field, value in changes.items():
            setattr(incident, field, value)
        who = person_name(actor) or actor_label
        text = message or f"{TIMELINE_KIND[new_status].label} by {who or 'IRP'}."
        timeline_add(incident, TIMELINE_KIND[new_status], text, at=at, actor=actor, actor_label=actor_label)
        if new_status != Incident.Status.TRIGGERED:
            runs_stop(incident, EscalationRun.End(new_status), at=at)
        transaction.on_commit(_send_changed(incident.pk, old_status, new_status))
    return True


def incident_resolve(
    incident: Incident,
    *,
    actor: User | None,
    note: str = "",
    hypothesis: str = "",
    message: str = "",
    at: datetime | None = None,
) -> bool:
    """Resolve with what fixed it and a first idea of the cause (both kept for the postmortem).

    Same answers as incident_transition: False when someone else changed it first, and
    TransitionNotAllowed when it is resolved already.
    """
    note, hypothesis = note.strip(), hypothesis.strip()
    if not message:
        message = f"Resolved by {person_name(actor) or 'IRP'}" + (f": {note}" if note else ".")
        if hypothesis:
            message += f" First root-cause hypothesis: {hypothesis}"
    with transaction.atomic():
        if not incident_transition(incident, Incident.Status.RESOLVED, actor=actor, message=message, at=at):
            return False
        if note or hypothesis:
            Incident.objects.filter(pk=incident.pk).update(resolution_note=note, root_cause_hypothesis=hypothesis)
            incident.resolution_note, incident.root_cause_hypothesis = note, hypothesis
    return True
