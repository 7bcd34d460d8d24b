"""Small readers shared by the source adapters."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from incidents.sources.events import SEVERITIES

MAX_KEY_LENGTH = 255
# Alertmanager's "no end time yet" value.
ZERO_TIME_PREFIX = "0001-01-01"

SEVERITY_WORDS = {
    "critical": "critical",
    "crit": "critical",
    "fatal": "critical",
    "emergency": "critical",
    "page": "critical",
    "p1": "critical",
    "error": "error",
    "high": "error",
    "major": "error",
    "p2": "error",
    "warning": "warning",
    "warn": "warning",
    "medium": "warning",
    "minor": "warning",
    "p3": "warning",
    "info": "info",
    "informational": "info",
    "low": "info",
    "none": "info",
    "p4": "info",
}


def severity_from_word(word: Any, default: str = "error") -> str:
    if isinstance(word, str) and word.strip().lower() in SEVERITY_WORDS:
        return SEVERITY_WORDS[word.strip().lower()]
    return default if default in SEVERITIES else "error"


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time, or None for missing, zero or unreadable values (sources send all three)."""
    if not isinstance(value, str) or not value or value.startswith(ZERO_TIME_PREFIX):
        return None
    try:
        parsed = parse_datetime(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        return None
    if parsed is None:
        return None
    # Store UTC: PostgreSQL refuses offsets beyond ±15:59, and a time near year 1 or 9999 can
    # leave the calendar once converted; such a time is as unreadable as a malformed one.
    try:
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        return None


def fit_key(key: str) -> str:
    """Keys longer than the column (Alertmanager group keys can be) become a stable digest."""
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def text_labels(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(name): value_ if isinstance(value_, str) else str(value_) for name, value_ in value.items()}


def clip(text: Any, length: int) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= length else text[: length - 1] + "…"
