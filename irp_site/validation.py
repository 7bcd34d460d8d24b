"""Checks on input shared by the API and the models."""

from __future__ import annotations

from typing import Any

NUL_MESSAGE = "Must not contain the NUL character (U+0000)."


def contains_nul(value: Any) -> bool:
    """Whether text anywhere in `value` (nested lists and dicts, keys too) holds U+0000, which
    PostgreSQL can store neither in text nor in jsonb."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(key) or contains_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(item) for item in value)
    return False
