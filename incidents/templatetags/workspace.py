"""What the responder workspace shows about time: the ack and resolution clocks against the plan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django import template
from django.utils import timezone

from incidents.durations import format_duration
from incidents.models import Incident, SeverityLevel

register = template.Library()


@dataclass(frozen=True)
class Clock:
    label: str
    # "due", "overdue", "met", "missed" or "none" (a target that is not a duration).
    state: str
    text: str
    due_at: datetime | None = None


def _short(value: timedelta, *, round_up: bool = False) -> str:
    # Seconds only matter in the first minute; "12 min 7 s" is noise at 2 AM. What is still due
    # rounds up ("due in 3 min" at 2 min 40 s), what has passed rounds down.
    if value >= timedelta(minutes=1):
        minutes, rest = divmod(int(value.total_seconds()), 60)
        value = timedelta(minutes=minutes + (1 if round_up and rest else 0))
    return format_duration(value)


def _running(label: str, due_at: datetime, now: datetime) -> Clock:
    if now < due_at:
        return Clock(label, "due", f"due in {_short(due_at - now, round_up=True)}", due_at)
    return Clock(label, "overdue", f"overdue by {_short(now - due_at)}", due_at)


def _stopped(label: str, verb: str, took: timedelta, target: timedelta) -> Clock:
    return Clock(label, "met" if took <= target else "missed", f"{verb} in {_short(took)}")


def ack_clock(incident: Incident, now: datetime) -> Clock | None:
    window = incident.severity.ack_window
    if window is None:
        return None
    if incident.acknowledged_at:
        return _stopped("Ack", "acknowledged", incident.acknowledged_at - incident.created_at, window)
    if incident.status == Incident.Status.RESOLVED:
        return Clock("Ack", "none", "resolved without an ack")
    return _running("Ack", incident.created_at + window, now)


def resolution_clock(incident: Incident, now: datetime) -> Clock:
    level = incident.severity
    if level.resolution_target_kind != SeverityLevel.ResolutionTarget.DURATION or level.resolution_target is None:
        return Clock("Resolve", "none", level.get_resolution_target_kind_display().lower())
    if incident.resolved_at:
        return _stopped("Resolve", "resolved", incident.resolved_at - incident.created_at, level.resolution_target)
    return _running("Resolve", incident.created_at + level.resolution_target, now)


@register.simple_tag
def incident_clocks(incident: Incident, now: datetime | None = None) -> list[Clock]:
    now = now or timezone.now()
    clocks = [ack_clock(incident, now), resolution_clock(incident, now)]
    return [clock for clock in clocks if clock is not None]


@register.filter
def open_for(incident: Incident, now: datetime | None = None) -> str:
    end = incident.resolved_at or now or timezone.now()
    return _short(end - incident.created_at)


@register.simple_tag
def countdown(due_at: datetime, now: datetime | None = None) -> str:
    """The words "due in 4 min" or "overdue by 2 min": what the page says before its script ticks."""
    return _running("", due_at, now or timezone.now()).text
