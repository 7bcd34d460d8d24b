"""Wiring of runbooks and the communication cadence into the engine, the auditor and signals."""

from __future__ import annotations

from typing import Any

from incidents.models import Incident, TimelineEntry


def on_status_changed(sender: Any, incident_id: int, old: str, new: str, **kwargs: Any) -> None:
    """Resolving ends what is owed (the engine also drops an obligation of a resolved incident)."""
    from incidents.services.comms import comms_end

    if new == Incident.Status.RESOLVED:
        incident = Incident.objects.filter(pk=incident_id).first()
        if incident is not None:
            comms_end(incident)


def on_severity_changed(sender: Any, incident_id: int, **kwargs: Any) -> None:
    """The new severity's cadence starts from the change (the engine would otherwise find the
    incident unscheduled and start it from the declaration)."""
    from incidents.services.comms import comms_schedule

    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None or not incident.is_open:
        return
    # The signal carries the change's time; a sender without it leaves the timeline entry to say.
    changed_at = kwargs.get("at") or (
        TimelineEntry.objects.filter(incident=incident, kind=TimelineEntry.Kind.SEVERITY_CHANGED)
        .order_by("-at", "-pk")
        .values_list("at", flat=True)
        .first()
    )
    comms_schedule(incident, base=changed_at)


def record_reminder_attempt(sender: Any, delivery: Any, attempt: Any, fallback: Any, **kwargs: Any) -> None:
    """A reminder's delivery goes on the incident's timeline, as pages do."""
    from incidents.models.comms import CommsObligation
    from incidents.receivers import attempt_entry
    from incidents.services.timeline import person_name

    kind, _, obligation_id = delivery.subject.partition(":")
    if kind != "comms":
        return
    incident_id = CommsObligation.objects.filter(pk=int(obligation_id)).values_list("incident_id", flat=True).first()
    if incident_id is None:
        return
    attempt_entry(
        incident_id,
        delivery,
        attempt,
        fallback,
        lead=f"Reminder by {delivery.get_channel_display()} to {person_name(delivery.user)}",
        obligation=int(obligation_id),
    )


def connect() -> None:
    """Register the cadence's engine ticks, probes and signal receivers."""
    from incidents.notifications import comms_message
    from incidents.services.comms import comms_tick, oldest_due_obligation
    from incidents.services.lifecycle import incident_status_changed
    from incidents.signals import severity_changed
    from irp_site import auditor, engine
    from oncall.deliveries import delivery_attempted, register_renderer

    register_renderer("comms", comms_message)
    engine.register("comms", comms_tick)
    auditor.register_probe("communication reminders", oldest_due_obligation)
    incident_status_changed.connect(on_status_changed, dispatch_uid="comms_status_changed")
    severity_changed.connect(on_severity_changed, dispatch_uid="comms_severity_changed")
    delivery_attempted.connect(record_reminder_attempt, dispatch_uid="comms_delivery_timeline")
