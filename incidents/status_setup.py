"""Wiring of the public status page into the engine and the auditor (called from apps)."""

from __future__ import annotations


def connect() -> None:
    """Register the status page's engine ticks and probes."""
    from incidents.services.statuspage import maintenance_tick, oldest_due_maintenance
    from incidents.status_tasks import oldest_due_bars, uptime_bars_claim
    from irp_site import auditor, engine

    # Scheduled maintenance starts and ends on time (a second's precision, not django-q2's 30 s).
    engine.register("status maintenance", maintenance_tick)
    # The 90-day bars: the engine decides when they are due, a worker computes them.
    engine.register("status uptime bars", uptime_bars_claim)
    auditor.register_probe("status page maintenance moves", oldest_due_maintenance)
    auditor.register_probe("status page uptime bars", oldest_due_bars)
