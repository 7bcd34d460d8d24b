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
    who = person_name(delivery.user)
    attempt_entry(
        incident_id,
        delivery,
        attempt,
        fallback,
        lead=f"{delivery.get_channel_display()} to {who}",
        duration_ms=attempt.duration_ms,
    )


def attempt_entry(
    incident_id: int,
    delivery: Delivery,
    attempt: DeliveryAttempt,
    fallback: Delivery | None,
    *,
    lead: str,
    **data: Any,
) -> None:
    """The timeline entry for one attempt of a delivery about the incident: `lead` ("Slack to Ana"),
    how it went, and what comes next."""
    what = {
        DeliveryAttempt.Outcome.SENT: "sent",
        DeliveryAttempt.Outcome.TRANSIENT: "failed, will retry",
        DeliveryAttempt.Outcome.PERMANENT: "failed",
    }[DeliveryAttempt.Outcome(attempt.outcome)]
    if delivery.status == Delivery.Status.FAILED and attempt.outcome == DeliveryAttempt.Outcome.TRANSIENT:
        what = "failed, no attempts left"
    message = f"{lead}: {what} (attempt {attempt.number}; {attempt.answer})"
    if fallback is not None:
        message += f"; trying {fallback.get_channel_display()} next"
    timeline_add(
        Incident(pk=incident_id),  # the timeline only needs its id; saves loading the row
        TimelineEntry.Kind.NOTIFIED,
        message,
        actor_label="IRP",
        data={
            "delivery": delivery.pk,
            "channel": delivery.channel,
            "user": delivery.user_id,
            "outcome": attempt.outcome,
            "attempt": attempt.number,
            **data,
        },
    )
