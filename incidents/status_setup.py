"""Wiring of the public status page into the engine, the auditor and signals (called from apps)."""

from __future__ import annotations


def connect() -> None:
    """Register the status page's engine ticks, probes and signal receivers."""
