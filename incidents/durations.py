"""Durations as plan owners write them: "5 min", "4 h", "1 h 30 min", "2 days"."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_CLOCK = re.compile(r"^(?:(\d+)\s+)?(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def parse_duration_text(text: str) -> timedelta:
    """Parse "90 s", "5 min", "1h30m", "2 days", a bare number of minutes, or "HH:MM[:SS]"."""
    cleaned = text.strip().lower().replace(",", " ")
    if not cleaned:
        raise ValueError("empty duration")
    if re.fullmatch(r"\d+(?:\.\d+)?", cleaned):
        return timedelta(minutes=float(cleaned))
    clock = _CLOCK.match(cleaned)
    if clock:
        days, hours, minutes, seconds = (int(group or 0) for group in clock.groups())
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    total = 0.0
    position = 0
    for match in _PART.finditer(cleaned):
        if cleaned[position : match.start()].strip():
            raise ValueError(f"cannot read {cleaned[position : match.start()].strip()!r}")
        unit = match.group(2)
        if unit not in _UNITS:
            raise ValueError(f"unknown unit {unit!r}")
        total += float(match.group(1)) * _UNITS[unit]
        position = match.end()
    if position == 0 or cleaned[position:].strip():
        raise ValueError(f"cannot read {text!r}")
    return timedelta(seconds=total)


def format_duration(value: timedelta | None) -> str:
    """The shortest readable form: "5 min", "4 h", "1 h 30 min", "1 day"."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    if seconds <= 0:
        return "0 min"
    parts = []
    for size, singular, plural in ((86400, "day", "days"), (3600, "h", "h"), (60, "min", "min"), (1, "s", "s")):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {singular if count == 1 else plural}")
    return " ".join(parts)


class HumanDurationField(forms.Field):
    """A form field that reads and shows durations as plan owners write them."""

    default_error_messages = {
        "invalid": 'Write a duration such as "5 min", "4 h", "1 h 30 min" or "2 days".',
    }

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, timedelta):
            return format_duration(value)
        return value

    def to_python(self, value: Any) -> timedelta | None:
        if isinstance(value, timedelta):
            return value
        text = str(value).strip() if value is not None else ""
        if not text:
            return None
        try:
            return parse_duration_text(text)
        except (ValueError, OverflowError) as error:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from error
