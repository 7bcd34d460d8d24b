"""Reading an .ics file into shifts, and naming the people in them."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import recurring_ical_events
from django.contrib.auth.models import User
from django.utils import timezone
from icalendar import Calendar, Component

from oncall.calendars import PAST

MAX_UPLOAD_BYTES = 1024 * 1024
DEFAULT_WEEKS_AHEAD = 12
MAX_WEEKS_AHEAD = 104
# More occurrences than this in the window is not an on-call calendar (an hourly rotation over
# 104 weeks has 17,472).
MAX_OCCURRENCES = 20_000
# dateutil walks a recurrence from its first occurrence, so a rule repeating every hour since
# 1970 costs seconds of CPU before it reaches the window: refuse rules that would take longer.
MAX_RECURRENCE_STEPS = 300_000
MAX_SHIFT_LENGTH = 10_000  # Layer.shift_length's limit
MAX_ROTATION_UNITS = 50_000
# More turns than this is a list of shifts, not a rotation anyone would set up.
MAX_TURNS = 50
OVERRIDE_MAX_LENGTH = timedelta(days=366)  # Override.clean's limit
# An event is cut to a year either side of the window: one lasting years is a mistake, and would
# become a rotation walked week by week or hundreds of overrides.
REACH = timedelta(days=366)

# What icalendar and recurring_ical_events raise on malformed input.
_UNREADABLE = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)
_FREQUENCY_SECONDS = {"HOURLY": 3600, "DAILY": 86400, "WEEKLY": 7 * 86400, "MONTHLY": 28 * 86400, "YEARLY": 365 * 86400}
_EXPANDING_PARTS = ("BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH")


class IcsImportError(ValueError):
    """The upload cannot be imported at all; nothing was changed."""

    def __init__(self, message: str, problems: Sequence[ImportProblem] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


class ProblemKind(StrEnum):
    UNKNOWN_PERSON = "unknown_person"
    AMBIGUOUS_PERSON = "ambiguous_person"
    OVERLAP = "overlap"
    NO_LENGTH = "no_length"
    ALL_DAY = "all_day"


@dataclass(frozen=True)
class ImportProblem:
    """Something in the file the import could not take over as it stands."""

    kind: ProblemKind
    message: str


@dataclass(frozen=True)
class Person:
    """What matching an event to somebody needs to know about an account."""

    user_id: int
    username: str
    email: str
    full_name: str

    @classmethod
    def of(cls, user: User) -> Person:
        return cls(user.pk, user.username, user.email, user.get_full_name())


@dataclass(frozen=True)
class ImportedShift:
    start: datetime
    end: datetime
    user_id: int
    summary: str = ""


@dataclass(frozen=True)
class ParsedCalendar:
    # In time order and never overlapping.
    shifts: tuple[ImportedShift, ...]
    problems: tuple[ImportProblem, ...]
    # The shifts run to the end of the window and the file has someone on call after them.
    continues_after_window: bool


@dataclass(frozen=True)
class Rotation:
    """A layer that reproduces the imported shifts exactly."""

    unit: str
    length: int
    rotation_start: datetime
    participants: tuple[int, ...]
    # A first shift that the other tool's export cut short: it cannot start a rotation, so it
    # becomes an override.
    lead_in: tuple[ImportedShift, ...] = ()


def import_window(weeks_ahead: int = DEFAULT_WEEKS_AHEAD, now: datetime | None = None) -> tuple[datetime, datetime]:
    now = now or timezone.now()
    return now - PAST, now + timedelta(weeks=weeks_ahead)


# Reading the file ----------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    # A word keeps its inner hyphens and apostrophes: "Anne-Marie", "O'Brien".
    return tuple(re.findall(r"\w+(?:['’-]\w+)*", text.casefold()))


def _tokens(text: str) -> list[str]:
    # Usernames and e-mail addresses, as they may appear in a summary: "jdoe", "jane.doe@example.com".
    return [token.strip(".-") for token in re.findall(r"[\w.@+-]+", text.casefold())]


def _union(sets: Iterable[set[int]]) -> set[int]:
    found: set[int] = set()
    for item in sets:
        found |= item
    return found


class PeopleIndex:
    """Finds who an event names: by attendee e-mail, attendee name, or the summary."""

    def __init__(self, people: Iterable[Person]) -> None:
        self.usernames: dict[int, str] = {}
        self.by_email: dict[str, set[int]] = {}
        self.by_username: dict[str, set[int]] = {}
        self.by_name: dict[tuple[str, ...], set[int]] = {}
        for person in people:
            self.usernames[person.user_id] = person.username
            if person.email:
                self.by_email.setdefault(person.email.casefold(), set()).add(person.user_id)
            self.by_username.setdefault(person.username.casefold(), set()).add(person.user_id)
            if name := _words(person.full_name):
                self.by_name.setdefault(name, set()).add(person.user_id)
        self.longest_name = max((len(name) for name in self.by_name), default=0)

    def identify(self, emails: Sequence[str], names: Sequence[str], summary: str) -> set[int]:
        """Everyone the event could mean: one person, nobody, or (ambiguous) several."""
        named_in_summary = self.in_text(summary)
        for found in (
            _union(self.by_email.get(email.casefold(), set()) for email in emails),
            _union(self.by_name.get(_words(name), set()) for name in names),
        ):
            if len(found) > 1:
                # Several attendees: the one the summary names too is the one on call.
                return (found & named_in_summary) or found
            if found:
                return found
        return named_in_summary

    def in_text(self, text: str) -> set[int]:
        tokens = _tokens(text)
        by_email = _union(self.by_email.get(token, set()) for token in tokens if "@" in token)
        if by_email:
            return by_email
        words = _words(text)
        taken = [False] * len(words)
        by_name: set[int] = set()
        # Longest names first, so "Jane Doe" is not also read as a colleague called "Jane"; and
        # two words at least, as one ("Max") is too often someone else's first name.
        for size in range(min(self.longest_name, len(words)), 1, -1):
            for first in range(len(words) - size + 1):
                found = self.by_name.get(words[first : first + size])
                if found and not any(taken[first : first + size]):
                    by_name |= found
                    taken[first : first + size] = [True] * size
        if by_name:
            return by_name
        return _union(self.by_username.get(token, set()) for token in tokens)


def _read(data: bytes) -> Calendar:
    if len(data) > MAX_UPLOAD_BYTES:
        raise IcsImportError(f"The file is larger than {MAX_UPLOAD_BYTES // 1024 // 1024} MB.")
    if not data.strip():
        raise IcsImportError("The file is empty.")
    if b"\x00" in data:
        raise IcsImportError("This is a binary file, not an iCalendar (.ics) file.")
    try:
        text = data.decode("utf-8").lstrip("\ufeff \t\r\n")  # RFC 5545 §3.1.4: UTF-8
    except UnicodeDecodeError as error:
        raise IcsImportError("The file is not UTF-8 text, so it is not an iCalendar (.ics) file.") from error
    if not text[:15].upper().startswith("BEGIN:VCALENDAR"):
        raise IcsImportError("This is not an iCalendar (.ics) file: it should begin with BEGIN:VCALENDAR.")
    try:
        calendar = Calendar.from_ical(text)
    except _UNREADABLE as error:
        raise IcsImportError(f"The file is not valid iCalendar: {error}") from error
    if not isinstance(calendar, Calendar):
        raise IcsImportError("The file should hold exactly one calendar.")
    return calendar


def _as_moment(value: date | datetime, zone: ZoneInfo) -> datetime:
    """A DTSTART or DTEND as a UTC instant: dates and floating times are read in the schedule's zone."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(UTC)
    return datetime.combine(value, time(0), tzinfo=zone).astimezone(UTC)


def _check_recurrence_cost(events: list[Component], zone: ZoneInfo, until: datetime) -> None:
    steps = 0
    for event in events:
        if "RRULE" not in event:
            continue
        summary = str(event.get("SUMMARY", "")) or "(no summary)"
        try:
            steps += _recurrence_steps(event, zone, until)
        except IcsImportError:
            raise
        except _UNREADABLE as error:
            raise IcsImportError(f"The event “{summary}” has a start or a repeat rule that cannot be read.") from error
        if steps > MAX_RECURRENCE_STEPS:
            raise IcsImportError(
                "The file's repeating events would take too long to expand (they repeat too often or started "
                "too long ago); export a shorter period from the other tool."
            )


def _recurrence_steps(event: Component, zone: ZoneInfo, until: datetime) -> int:
    """Roughly how many occurrences dateutil walks through to expand the event up to `until`."""
    first = _as_moment(event.decoded("DTSTART"), zone)
    rules = event.get("RRULE")
    steps = 0
    for rule in rules if isinstance(rules, list) else [rules]:
        frequency = str((rule.get("FREQ") or [""])[0]).upper()
        if frequency not in _FREQUENCY_SECONDS:
            summary = str(event.get("SUMMARY", "")) or "(no summary)"
            raise IcsImportError(
                f"The event “{summary}” repeats {frequency.lower() or 'without a frequency'}; "
                "an on-call calendar repeats hourly at most."
            )
        interval = max(1, int((rule.get("INTERVAL") or [1])[0]))
        end = min(until, _as_moment(rule["UNTIL"][0], zone)) if rule.get("UNTIL") else until
        periods = max(0.0, (end - first).total_seconds()) / (_FREQUENCY_SECONDS[frequency] * interval)
        if rule.get("COUNT"):
            periods = min(periods, int(rule["COUNT"][0]))
        steps += math.ceil(periods) * math.prod(len(rule.get(part) or [None]) for part in _EXPANDING_PARTS)
    return steps


@dataclass(frozen=True)
class _Occurrence:
    component: Component
    start: datetime
    end: datetime
    all_day: bool


def _occurrences(calendar: Calendar, start: datetime, end: datetime, zone: ZoneInfo) -> list[_Occurrence]:
    """The occurrences that overlap [start, end), cancelled ones left out, in time order."""
    try:
        # The library reads dates and floating times its own way: ask a day wider, then keep
        # what overlaps as this module reads them.
        components = recurring_ical_events.of(calendar).between(start - timedelta(days=1), end + timedelta(days=1))
        found = [_occurrence(component, zone) for component in components]
    except _UNREADABLE as error:
        raise IcsImportError(f"The file could not be read: {error}") from error
    return sorted(
        (
            occurrence
            for occurrence in found
            if occurrence.start < end
            and (occurrence.end > start or occurrence.start >= start)
            and str(occurrence.component.get("STATUS", "")).upper() != "CANCELLED"
        ),
        key=lambda occurrence: (occurrence.start, occurrence.end),
    )


def _occurrence(component: Component, zone: ZoneInfo) -> _Occurrence:
    raw_start = component.decoded("DTSTART")
    raw_end = component.decoded("DTEND") if "DTEND" in component else raw_start
    return _Occurrence(
        component, _as_moment(raw_start, zone), _as_moment(raw_end, zone), all_day=not isinstance(raw_start, datetime)
    )


def describe_moment(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y %H:%M}"


class _Problems:
    """Problems with the same cause (one per occurrence of a weekly event, say) become one line."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.grouped: dict[tuple[ProblemKind, str], list[datetime]] = {}
        self.single: list[ImportProblem] = []

    def add(self, kind: ProblemKind, what: str, start: datetime) -> None:
        self.grouped.setdefault((kind, what), []).append(start)

    def add_single(self, kind: ProblemKind, message: str) -> None:
        self.single.append(ImportProblem(kind, message))

    def collected(self) -> tuple[ImportProblem, ...]:
        grouped = []
        for (kind, what), starts in self.grouped.items():
            when = describe_moment(starts[0], self.zone)
            count = f"{len(starts)} times from {when}" if len(starts) > 1 else when
            grouped.append(ImportProblem(kind, what.replace("{when}", count)))
        return tuple(grouped + self.single)


def _attendees(component: Component) -> tuple[list[str], list[str]]:
    found = component.get("ATTENDEE")
    attendees = found if isinstance(found, list) else [found] if found is not None else []
    emails, names = [], []
    for attendee in attendees:
        address = str(attendee)
        if address.casefold().startswith("mailto:"):
            emails.append(address[len("mailto:") :].strip())
        if name := getattr(attendee, "params", {}).get("CN"):
            names.append(str(name))
    return emails, names


def parse_calendar(
    data: bytes, *, people: Iterable[Person], zone: ZoneInfo, start: datetime, end: datetime
) -> ParsedCalendar:
    """The shifts an .ics file puts inside [start, end), matched to people, plus what went wrong."""
    calendar = _read(data)
    events = calendar.walk("VEVENT")
    if not events:
        raise IcsImportError("The file has no events (VEVENT) in it.")
    _check_recurrence_cost(events, zone, end)
    index = PeopleIndex(people)
    problems = _Problems(zone)
    matched: list[ImportedShift] = []
    occurrences = _occurrences(calendar, start, end, zone)
    if not occurrences:
        raise IcsImportError(
            f"None of the file's {len(events)} events falls between {describe_moment(start, zone)} "
            f"and {describe_moment(end, zone)}."
        )
    if len(occurrences) > MAX_OCCURRENCES:
        raise IcsImportError(f"The file has more than {MAX_OCCURRENCES:,} events in the weeks imported.")
    all_day = 0
    for occurrence in occurrences:
        summary = str(occurrence.component.get("SUMMARY", "")).strip()
        label = f"“{summary}”" if summary else "An event without a summary"
        if occurrence.end <= occurrence.start:
            problems.add(
                ProblemKind.NO_LENGTH, f"{label} ({{when}}) has no length, so it was left out.", occurrence.start
            )
            continue
        all_day += occurrence.all_day
        emails, names = _attendees(occurrence.component)
        found = index.identify(emails, names, summary)
        if len(found) == 1:
            shift_start, shift_end = max(occurrence.start, start - REACH), min(occurrence.end, end + REACH)
            matched.append(ImportedShift(shift_start, shift_end, found.pop(), summary))
        elif not found:
            attendees = f" (attendee {', '.join(emails)})" if emails else ""
            problems.add(
                ProblemKind.UNKNOWN_PERSON,
                f"{label} ({{when}}) names nobody with an IRP account{attendees}; it was left out.",
                occurrence.start,
            )
        else:
            candidates = ", ".join(sorted(index.usernames[user_id] for user_id in found))
            problems.add(
                ProblemKind.AMBIGUOUS_PERSON,
                f"{label} ({{when}}) could mean any of {candidates}; it was left out.",
                occurrence.start,
            )
    if all_day:
        problems.add_single(
            ProblemKind.ALL_DAY,
            f"{all_day} all-day event(s) were read as whole days, midnight to midnight in {zone.key}.",
        )
    shifts = _without_overlaps(matched, problems)
    last = shifts[-1].end if shifts else start
    # Someone is on call in the file when its last shift in the window ends: the rotation goes on.
    continues = last >= end and bool(_occurrences(calendar, last, last + timedelta(seconds=1), zone))
    return ParsedCalendar(tuple(shifts), problems.collected(), continues)


def _without_overlaps(shifts: list[ImportedShift], problems: _Problems) -> list[ImportedShift]:
    """One person at a time: an event that starts while another is running gives way to it."""
    kept: list[ImportedShift] = []
    for shift in sorted(shifts, key=lambda item: (item.start, item.end, item.user_id)):
        previous = kept[-1] if kept else None
        if previous is None or shift.start >= previous.end:
            kept.append(shift)
        elif shift.user_id == previous.user_id:
            kept[-1] = replace(previous, end=max(previous.end, shift.end))
        else:
            if shift.end > previous.end:
                kept.append(replace(shift, start=previous.end))
                outcome = f"it now starts at {describe_moment(previous.end, problems.zone)}"
            else:
                outcome = "it was left out"
            problems.add_single(
                ProblemKind.OVERLAP,
                f"“{shift.summary}” ({describe_moment(shift.start, problems.zone)}) overlaps “{previous.summary}” "
                f"({describe_moment(previous.start, problems.zone)}), which started first; {outcome}.",
            )
    return kept


# Recognising a rotation ----------------------------------------------------------------------
