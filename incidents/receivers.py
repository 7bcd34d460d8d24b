"""What the incidents app does when lower apps report something (see DESIGN.md §1)."""

from __future__ import annotations

from typing import Any

from incidents.models import Incident, TimelineEntry
from incidents.services.timeline import person_name, timeline_add
from oncall.models import Delivery, DeliveryAttempt


def record_delivery_attempt(
    sender: Any, delivery: Delivery, attempt: DeliveryAttempt, fallback: Delivery | None, **kwargs: Any
) -> None:
    """Every notification attempt goes on the incident's timeline: channel, person, outcome."""
    kind, _, subject_id = delivery.subject.partition(":")
    if kind != "incident":
        return
    incident_id = int(subject_id)
    if not Incident.objects.filter(pk=incident_id).exists():
        return
    incident = Incident(pk=incident_id)  # the timeline only needs its id; saves loading the row
    who = person_name(delivery.user)
    what = {
        DeliveryAttempt.Outcome.SENT: "sent",
        DeliveryAttempt.Outcome.TRANSIENT: "failed, will retry",
        DeliveryAttempt.Outcome.PERMANENT: "failed",
    }[DeliveryAttempt.Outcome(attempt.outcome)]
    if delivery.status == Delivery.Status.FAILED and attempt.outcome == DeliveryAttempt.Outcome.TRANSIENT:
        what = "failed, no attempts left"
    message = f"{delivery.get_channel_display()} to {who}: {what} (attempt {attempt.number}; {attempt.answer})"
    if fallback is not None:
        message += f"; trying {fallback.get_channel_display()} next"
    timeline_add(
        incident,
        TimelineEntry.Kind.NOTIFIED,
        message,
        actor_label="IRP",
        data={
            "delivery": delivery.pk,
            "channel": delivery.channel,
            "user": delivery.user_id,
            "outcome": attempt.outcome,
            "attempt": attempt.number,
            "duration_ms": attempt.duration_ms,
        },
    )
