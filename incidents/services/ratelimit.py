"""Per-integration rate limit, shared by every web process through the database.

A fixed one-minute window, as PagerDuty's own limit is stated; one upsert per event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection

from incidents.models import IngestionWindow, Integration

WINDOW = timedelta(minutes=1)
KEEP_WINDOWS_FOR = timedelta(minutes=10)


@dataclass
class Allowance:
    allowed: bool
    count: int
    limit: int
    retry_after_seconds: int


def rate_limit_consume(integration: Integration, *, now: datetime, events: int = 1) -> Allowance:
    window_start = now.replace(second=0, microsecond=0)
    table = IngestionWindow._meta.db_table
    with connection.cursor() as cursor:
        # INSERT … ON CONFLICT … RETURNING is one atomic statement on PostgreSQL and SQLite alike.
        cursor.execute(
            f"INSERT INTO {table} (integration_id, window_start, count) VALUES (%s, %s, %s) "
            f"ON CONFLICT (integration_id, window_start) DO UPDATE SET count = {table}.count + EXCLUDED.count "
            "RETURNING count",
            [integration.pk, connection.ops.adapt_datetimefield_value(window_start), events],
        )
        (count,) = cursor.fetchone()
    if count == events:
        # First event of a new window: forget the old ones.
        IngestionWindow.objects.filter(integration=integration, window_start__lt=now - KEEP_WINDOWS_FOR).delete()
    retry_after = max(1, int((window_start + WINDOW - now).total_seconds() + 0.999))
    return Allowance(count <= integration.rate_limit_per_minute, count, integration.rate_limit_per_minute, retry_after)
