"""Handoff notices as due work: planned by the engine ahead of time, delivered when due."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from oncall.models import HandoffNotice
from oncall.selectors import schedules_with_rotations, shifts_between

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
