"""Wiring of runbooks and the communication cadence into the engine, the auditor and signals."""

from __future__ import annotations


def connect() -> None:
    """Register the cadence's engine ticks, probes and signal receivers."""
