"""The auditor: due work that is late means paging is failing, and nobody would otherwise know.

Apps register probes that return the due time of their oldest pending work (an escalation step,
an incident waiting to page, a delivery). Anything more than OVERDUE_ALARM_SECONDS late makes
/healthz degraded, puts a banner on every admin page and is logged by the engine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)

Probe = Callable[[], datetime | None]
_probes: dict[str, Probe] = {}
# Log each kind of overdue work at most this often per engine, not on every tick.
LOG_EVERY_SECONDS = 30.0
_last_logged: dict[str, datetime] = {}


def register_probe(name: str, probe: Probe) -> None:
    _probes[name] = probe


def overdue_work(now: datetime | None = None) -> dict[str, float]:
    """{name: seconds late} for every kind of due work later than the alarm threshold."""
    now = now or timezone.now()
    late: dict[str, float] = {}
    for name, probe in _probes.items():
        oldest = probe()
        if oldest is not None and (now - oldest).total_seconds() > settings.OVERDUE_ALARM_SECONDS:
            late[name] = round((now - oldest).total_seconds(), 1)
    return late


def describe(late: dict[str, float]) -> str:
    return "; ".join(f"{name} {seconds:.0f} s overdue" for name, seconds in sorted(late.items()))


def audit_tick(now: datetime) -> None:
    late = overdue_work(now)
    for name, seconds in late.items():
        last = _last_logged.get(name)
        if last is None or (now - last).total_seconds() >= LOG_EVERY_SECONDS:
            _last_logged[name] = now
            logger.error("due work is late: %s is %.0f s overdue", name, seconds)
