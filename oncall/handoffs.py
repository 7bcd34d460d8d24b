"""Handoff notices as due work: planned by the engine ahead of time, delivered when due."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.html import escape

from oncall.deliveries import page_person
from oncall.models import ContactMethod, HandoffNotice, NotificationRule
from oncall.selectors import schedules_with_rotations, shifts_between
from oncall.services import profile_for

NOTICE_BEFORE = timedelta(hours=1)
# Plan this far ahead so an engine that was down for a while still writes notices before they fall due.
LOOKAHEAD = timedelta(hours=2)
# Look this far back so a shift's true start is seen even when it began before the window.
LOOKBEHIND = timedelta(days=1)


def handoff_notices_plan(now: datetime) -> int:
    """Write the notices for shifts that start or end soon; returns how many were new.

    Safe to run from several engines at once: the unique constraint drops duplicates.
    """
    schedules = list(schedules_with_rotations())
    window_end = now + NOTICE_BEFORE + LOOKAHEAD
    shifts = shifts_between(schedules, now - LOOKBEHIND, window_end)
    notices = []
    for schedule in schedules:
        for shift in shifts[schedule.pk]:
            if now < shift.start <= now + NOTICE_BEFORE + LOOKAHEAD and shift.start < window_end:
                notices.append(
                    HandoffNotice(
                        schedule=schedule,
                        user_id=shift.user_id,
                        kind=HandoffNotice.Kind.STARTING,
                        handoff_at=shift.start,
                        shift_start=shift.start,
                        shift_end=shift.end,
                        due_at=max(shift.start - NOTICE_BEFORE, now),
                    )
                )
            # A shift clipped by the window has not really ended there.
            if now - LOOKAHEAD < shift.end <= now + LOOKAHEAD and shift.end < window_end:
                notices.append(
                    HandoffNotice(
                        schedule=schedule,
                        user_id=shift.user_id,
                        kind=HandoffNotice.Kind.ENDED,
                        handoff_at=shift.end,
                        shift_start=shift.start,
                        shift_end=shift.end,
                        due_at=shift.end,
                    )
                )
    before = HandoffNotice.objects.count()
    HandoffNotice.objects.bulk_create(notices, ignore_conflicts=True)
    return HandoffNotice.objects.count() - before


class Every:
    """Run `function` from the engine's tick at most once per `interval` in this process."""

    def __init__(self, interval: timedelta, function: Callable[[datetime], object]) -> None:
        self.interval = interval
        self.function = function
        self.last_run: datetime | None = None

    def __call__(self, now: datetime) -> None:
        if self.last_run is None or now - self.last_run >= self.interval:
            self.last_run = now
            self.function(now)


def handoff_notices_send(now: datetime, *, limit: int = 200) -> int:
    """Turn due notices into deliveries (low urgency: the person's low-urgency rules apply)."""
    with transaction.atomic():
        notices = list(
            HandoffNotice.objects.due(now)
            .select_related("user", "schedule")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("due_at")[:limit]
        )
        for notice in notices:
            page_person(
                subject=f"handoff:{notice.pk}",
                page_key=f"handoff{notice.pk}:u{notice.user_id}",
                user=notice.user,
                urgency=NotificationRule.Urgency.LOW,
                at=now,
                context={},
            )
        HandoffNotice.objects.filter(pk__in=[notice.pk for notice in notices]).update(status=HandoffNotice.Status.SENT)
    return len(notices)


def handoff_message(
    subject: str, user: User, method: ContactMethod, delivery_key: str, context: dict[str, Any], notice: Any = None
) -> dict[str, Any]:
    notice = HandoffNotice.objects.select_related("schedule").get(pk=int(subject.partition(":")[2]))
    zone = ZoneInfo(profile_for(user).time_zone)
    start = notice.shift_start.astimezone(zone)
    end = notice.shift_end.astimezone(zone)
    if notice.kind == HandoffNotice.Kind.STARTING:
        headline = f"You are on call for {notice.schedule.name} from {start:%a %d %b %H:%M}"
    else:
        headline = f"Your shift on {notice.schedule.name} has ended"
    text = f"{headline}.\nShift: {start:%a %d %b %H:%M} – {end:%a %d %b %H:%M} ({zone.key})."
    return {
        "subject": headline,
        "text": text,
        "html": f"<p>{escape(headline)}.</p><p>Shift: {start:%a %d %b %H:%M} – {end:%a %d %b %H:%M} "
        f"({escape(zone.key)}).</p>",
        "slack": {"text": text},
        "webhook": {"event": f"handoff.{notice.kind}", "incident": None, "ack_url": None, "message": text},
    }
