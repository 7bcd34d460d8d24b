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


def record_reminder_attempts(sender: Any, attempted: list[Any], **kwargs: Any) -> None:
    """A reminder's delivery goes on the incident's timeline, as pages do."""
    from incidents.models.comms import CommsObligation
    from incidents.receivers import attempt_entry
    from incidents.services.timeline import person_name

    about = {}
    for item in attempted:
        kind, _, obligation_id = item.delivery.subject.partition(":")
        if kind == "comms":
            about[item.delivery.pk] = int(obligation_id)
    if not about:
        return
    incident_of = dict(CommsObligation.objects.filter(pk__in=set(about.values())).values_list("pk", "incident_id"))
    TimelineEntry.objects.bulk_create(
        attempt_entry(
            incident_of[about[item.delivery.pk]],
            item,
            lead=f"Reminder by {item.delivery.get_channel_display()} to {person_name(item.delivery.user)}",
            obligation=about[item.delivery.pk],
        )
        for item in attempted
        if about.get(item.delivery.pk) in incident_of
    )


def connect() -> None:
    """Register the cadence's engine ticks, probes and signal receivers."""
    from incidents.notifications import comms_message
    from incidents.services.comms import comms_tick, oldest_due_obligation
    from incidents.services.lifecycle import incident_status_changed
    from incidents.signals import severity_changed
    from irp_site import auditor, engine
    from oncall.deliveries import deliveries_attempted, register_renderer

    register_renderer("comms", comms_message)
    engine.register("comms", comms_tick)
    auditor.register_probe("communication reminders", oldest_due_obligation)
    incident_status_changed.connect(on_status_changed, dispatch_uid="comms_status_changed")
    severity_changed.connect(on_severity_changed, dispatch_uid="comms_severity_changed")
    deliveries_attempted.connect(record_reminder_attempts, dispatch_uid="comms_delivery_timeline")
