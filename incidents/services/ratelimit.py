"""Per-integration rate limit, shared by every web process through the database.

A fixed one-minute window, as PagerDuty's own limit is stated; one upsert per event.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models.signals import post_delete, post_save

from incidents.models import IngestionWindow, Integration, Service

WINDOW = timedelta(minutes=1)
KEEP_WINDOWS_FOR = timedelta(minutes=10)
COPY_TTL_SECONDS = 2.0
WINDOWS = IngestionWindow._meta.db_table
INTEGRATIONS = Integration._meta.db_table
UPSERT = (
    f"ON CONFLICT (integration_id, window_start) DO UPDATE SET count = {WINDOWS}.count + EXCLUDED.count "
    "RETURNING integration_id, count"
)


@dataclass
class Allowance:
    allowed: bool
    count: int
    limit: int
    retry_after_seconds: int


def _allowance(integration: Integration, count: int, events: int, now: datetime) -> Allowance:
    window_start = now.replace(second=0, microsecond=0)
    if count == events:
        # First event of a new window: forget the old ones.
        IngestionWindow.objects.filter(integration=integration, window_start__lt=now - KEEP_WINDOWS_FOR).delete()
    retry_after = max(1, int((window_start + WINDOW - now).total_seconds() + 0.999))
    return Allowance(count <= integration.rate_limit_per_minute, count, integration.rate_limit_per_minute, retry_after)


def rate_limit_consume(integration: Integration, *, now: datetime, events: int = 1) -> Allowance:
    window_start = now.replace(second=0, microsecond=0)
    with connection.cursor() as cursor:
        # INSERT … ON CONFLICT … RETURNING is one atomic statement on PostgreSQL and SQLite alike.
        cursor.execute(
            f"INSERT INTO {WINDOWS} (integration_id, window_start, count) VALUES (%s, %s, %s) " + UPSERT,
            [integration.pk, connection.ops.adapt_datetimefield_value(window_start), events],
        )
        (_, count) = cursor.fetchone()
    return _allowance(integration, count, events, now)


def rate_limit_consume_by_key(key: str, *, now: datetime, events: int = 1) -> tuple[Integration, Allowance] | None:
    """The integration with this key and its allowance, in one statement; None for an unknown key.

    The key is checked in the database every time, so a rotated key stops working at once; the
    integration's other settings come from a copy at most a couple of seconds old.
    """
    window_start = now.replace(second=0, microsecond=0)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {WINDOWS} (integration_id, window_start, count) "
            f"SELECT id, %s, %s FROM {INTEGRATIONS} WHERE key = %s " + UPSERT,
            [connection.ops.adapt_datetimefield_value(window_start), events, key],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    integration_id, count = row
    integration = integration_copy(integration_id)
    return integration, _allowance(integration, count, events, now)


_copies: dict[int, tuple[float, Integration]] = {}
_copies_lock = threading.Lock()


def integration_copy(integration_id: int) -> Integration:
    with _copies_lock:
        cached = _copies.get(integration_id)
        if cached and time.monotonic() - cached[0] < COPY_TTL_SECONDS:
            return cached[1]
    integration = Integration.objects.select_related("service").get(pk=integration_id)
    with _copies_lock:
        _copies[integration_id] = (time.monotonic(), integration)
    return integration


def forget_integration_copies(*args: Any, **kwargs: Any) -> None:
    with _copies_lock:
        _copies.clear()


for _model in (Integration, Service):
    post_save.connect(forget_integration_copies, sender=_model, dispatch_uid=f"integration-copies-{_model.__name__}")
    post_delete.connect(
        forget_integration_copies, sender=_model, dispatch_uid=f"integration-copies-del-{_model.__name__}"
    )
