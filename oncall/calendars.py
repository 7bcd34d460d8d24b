"""On-call shifts as iCalendar (RFC 5545) feeds, for a schedule and for a person."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone
from icalendar import Calendar, Event

from oncall.models import Schedule
from oncall.rotation import Shift

PAST = timedelta(weeks=2)


def feed_window(schedule_weeks_ahead: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    now = now or timezone.now()
    start = now.replace(minute=0, second=0, microsecond=0) - PAST
    return start, start + PAST + timedelta(weeks=schedule_weeks_ahead)


def build_calendar(name: str, entries: Iterable[tuple[Schedule, Shift]], people: dict[int, User]) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//IRP//On-call shifts//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    stamp = timezone.now()
    host = settings.SITE_URL.split("//", 1)[-1].split("/", 1)[0] or "irp"
    for schedule, shift in entries:
        person = people.get(shift.user_id)
        who = (person.get_full_name() or person.get_username()) if person else f"user {shift.user_id}"
        event = Event()
        event.add("uid", f"{schedule.pk}-{shift.user_id}-{int(shift.start.timestamp())}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", shift.start.astimezone(UTC))
        event.add("dtend", shift.end.astimezone(UTC))
        event.add("summary", f"On call: {who} ({schedule.name})")
        event.add(
            "description",
            f"{who} is on call for {schedule.name}" + (" (override)" if shift.source == "override" else ""),
        )
        if person is not None and person.email:
            event.add("attendee", f"mailto:{person.email}")
        calendar.add_component(event)
    return calendar.to_ical()
