"""Changing an incident's severity by hand, and what that does to paging already under way."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from incidents.durations import format_duration
from incidents.models import EscalationRun, Incident, MaintenanceWindow, Service, SeverityLevel, TimelineEntry
from incidents.services.errors import InvalidInput
from incidents.services.escalation import DEFAULT_ACK_WINDOW
from incidents.services.timeline import person_name, timeline_add
from incidents.signals import severity_changed


def severity_pages_nobody(severity: SeverityLevel) -> str:
    """Why an incident of this severity pages nobody ("" when it pages); the words routing uses."""
    if severity.pages_responders:
        return ""
    return f"The plan says {severity.name} ({severity.title}) pages nobody."


def paging_suppressed_reason(service: Service, severity: SeverityLevel, now: datetime) -> str:
    """Why an incident a person declared or re-classified pages nobody ("" when it pages): its
    severity pages nobody, or the service is in a maintenance window. Silences do not apply: they
    match alert labels, and a person is not alert noise."""
    if reason := severity_pages_nobody(severity):
        return reason
    window = MaintenanceWindow.objects.active_at(now).filter(services=service).order_by("-ends_at").first()
    if window is not None:
        until = timezone.localtime(window.ends_at).strftime("%Y-%m-%d %H:%M %Z")
        return f"{service.name} is in maintenance window '{window.title}' until {until}."
    return ""


def _send(incident_id: int, old: str, new: str, reason: str, at: datetime) -> Callable[[], None]:
    def send() -> None:
        severity_changed.send(sender=Incident, incident_id=incident_id, old=old, new=new, reason=reason, at=at)

    return send


def _deepest(current: int | None, new: int | None) -> int | None:
    """The depth that uses more of the policy (None: all of it)."""
    if current is None or new is None:
        return None
    return max(current, new)


def _adjust_paging(incident: Incident, old: SeverityLevel, new: SeverityLevel, at: datetime) -> str:
    """Keep paging in step with the new severity; returns a sentence for the timeline ("" if nothing).

    The rule: a change can only tighten the escalation under way, never loosen it.
    - The running escalation takes the shorter of its ack window and the new severity's, high
      urgency if either is high, and the deeper of the two depths, for the steps to come.
    - When the step that has fired waits out the severity's window (it has no delay of its own) and
      the new window is shorter, its deadline is pulled in to now + the new window.
    - An incident that was not paging only because its old severity pages nobody starts paging now,
      unless its service is in a maintenance window (the timeline then says so).
    - A downgrade never stops or slows paging already under way: acknowledge to stop it.
    """
    if incident.status != Incident.Status.TRIGGERED:
        return ""
    run = EscalationRun.objects.select_for_update().filter(incident=incident, ended_at__isnull=True).first()
    if run is not None:
        window = min(run.ack_window, new.ack_window or DEFAULT_ACK_WINDOW)
        run.ack_window = window
        run.urgency = "high" if "high" in (run.urgency, new.urgency) else new.urgency
        run.depth = _deepest(run.depth, new.escalation_depth)
        steps = run.steps
        fired = run.round > 0 or run.step_index > 0
        waiting_on = steps[(run.step_index - 1) % len(steps)] if steps and fired else None
        pulled_in = (
            waiting_on is not None
            and not waiting_on.get("delay")
            and run.next_action_at is not None
            and run.next_action_at > at + window
        )
        if pulled_in:
            run.next_action_at = at + window
        run.save(update_fields=["ack_window", "urgency", "depth", "next_action_at"])
        if pulled_in:
            within = format_duration(window)
            return f"The next escalation step is now due within {new.name}'s acknowledgement window ({within})."
        return ""
    if (
        incident.pages_at is None
        and incident.paging_suppressed_reason
        and incident.paging_suppressed_reason == severity_pages_nobody(old)
        and new.pages_responders
        and not EscalationRun.objects.filter(incident=incident).exists()
    ):
        if suppressed := paging_suppressed_reason(incident.service, new, at):
            Incident.objects.filter(pk=incident.pk).update(paging_suppressed_reason=suppressed)
            incident.paging_suppressed_reason = suppressed
            return f"{new.name} pages responders, but not now: {suppressed}"
        Incident.objects.filter(pk=incident.pk).update(pages_at=at, paging_suppressed_reason="")
        incident.pages_at, incident.paging_suppressed_reason = at, ""
        return f"{new.name} pages responders: paging starts now."
    return ""


def incident_severity_change(
    incident: Incident,
    severity: SeverityLevel,
    *,
    reason: str,
    actor: User | None,
    at: datetime | None = None,
) -> bool:
    """Re-classify the incident. Returns False when someone else changed its severity first.

    Raises InvalidInput naming `reason` when no reason is given, or `severity` when it is unchanged.
    Sends `incidents.signals.severity_changed` once the change commits.
    """
    reason = reason.strip()
    if not reason:
        raise InvalidInput("reason", "Say why the severity changes.")
    old = incident.severity
    if severity.pk == old.pk:
        raise InvalidInput("severity", f"The incident is {old.name} already.")
    at = at or timezone.now()
    who = person_name(actor) or "IRP"
    direction = "raised" if severity.rank < old.rank else "lowered" if severity.rank > old.rank else "changed"
    severity_reason = f"{direction.capitalize()} from {old.name} to {severity.name} by {who}: {reason}"
    with transaction.atomic():
        # Compare-and-set on the severity we showed the person.
        updated = Incident.objects.filter(pk=incident.pk, severity=old).update(
            severity=severity, severity_reason=severity_reason
        )
        if not updated:
            return False
        incident.severity, incident.severity_reason = severity, severity_reason
        locked = Incident.objects.lock_for_change([incident.pk])[incident.pk]
        paging = _adjust_paging(locked, old, severity, at)
        if locked.pages_at != incident.pages_at or locked.paging_suppressed_reason != incident.paging_suppressed_reason:
            incident.pages_at, incident.paging_suppressed_reason = locked.pages_at, locked.paging_suppressed_reason
        message = f"Severity {direction} from {old.name} to {severity.name} by {who}: {reason}"
        timeline_add(
            incident,
            TimelineEntry.Kind.SEVERITY_CHANGED,
            message + (f" {paging}" if paging else ""),
            at=at,
            actor=actor,
            data={"from": old.name, "to": severity.name, "reason": reason},
        )
        transaction.on_commit(_send(incident.pk, old.name, severity.name, reason, at))
    return True
