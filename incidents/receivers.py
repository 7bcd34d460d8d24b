"""What the incidents app does when lower apps report something (see DESIGN.md §1)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from incidents.models import Incident, TimelineEntry
from incidents.services.timeline import person_name
from oncall.deliveries import Attempted
from oncall.models import Delivery, DeliveryAttempt


def record_delivery_attempts(sender: Any, attempted: list[Attempted], **kwargs: Any) -> None:
    """Every notification attempt goes on the incident's timeline: channel, person, outcome."""
    about = {item.delivery.pk: int(item.delivery.subject.partition(":")[2]) for item in attempted if _is_page(item)}
    existing = set(Incident.objects.filter(pk__in=set(about.values())).values_list("pk", flat=True)) if about else set()
    TimelineEntry.objects.bulk_create(
        attempt_entry(
            about[item.delivery.pk],
            item,
            lead=f"{item.delivery.get_channel_display()} to {person_name(item.delivery.user)}",
            duration_ms=item.attempt.duration_ms,
        )
        for item in attempted
        if about.get(item.delivery.pk) in existing
    )


def _is_page(item: Attempted) -> bool:
    return item.delivery.subject.partition(":")[0] == "incident"


def attempt_entry(incident_id: int, attempted: Attempted, *, lead: str, **data: Any) -> TimelineEntry:
    """The timeline entry (unsaved) for one attempt of a delivery about the incident: `lead`
    ("Slack to Ana"), how it went, and what comes next."""
    delivery, attempt, fallback = attempted.delivery, attempted.attempt, attempted.fallback
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
    return TimelineEntry(
        incident_id=incident_id,
        kind=TimelineEntry.Kind.NOTIFIED,
        message=message,
        at=timezone.now(),
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
