"""The two hot paths of ingestion as one SQL statement, for PostgreSQL.

An alert storm is almost all repeats of firing alerts, and a busy day is mostly new incidents
opened by one alert. Either is the same single statement here (no transaction round trips, no ORM
per row);
anything unusual — a conflict, a new alert in an open incident, an alert firing again — returns
nothing and falls back to the ORM path in `ingestion.py`, which handles every case. SQLite has no
data-modifying CTEs and takes the ORM path always.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection
from psycopg.types.json import Jsonb

from incidents.models import Alert, Incident, Integration, TimelineEntry
from incidents.services.routing import Route
from incidents.sources.events import AlertEvent

INCIDENT = Incident._meta.db_table
ALERT = Alert._meta.db_table
TIMELINE = TimelineEntry._meta.db_table

# One statement for a trigger: count it as a repeat of a firing alert, or else open the incident
# with its first alert and timeline. The incident's UPDATE runs before the alert's (the alert rows
# are found through it), keeping the lock order incident → alert that every other writer follows.
# The INSERT only runs when nothing was counted, so a repeat never burns an incident number; when
# an open incident exists but the alert is new or not firing, the ON CONFLICT leaves both empty
# and the caller takes the ORM path.
TRIGGER = f"""
WITH counted AS (
    UPDATE {INCIDENT} SET alert_count = alert_count + 1, last_alert_at = %(now)s
    WHERE service_id = %(service)s AND dedup_key = %(incident_key)s AND NOT status = 'resolved'
      AND EXISTS (
          SELECT 1 FROM {ALERT} a
          WHERE a.incident_id = {INCIDENT}.id AND a.key = %(alert_key)s AND a.status = 'firing'
      )
    RETURNING id
), repeated AS (
    UPDATE {ALERT} SET occurrences = occurrences + 1, last_received_at = %(now)s
    WHERE incident_id IN (SELECT id FROM counted) AND key = %(alert_key)s AND status = 'firing'
    RETURNING incident_id
), opened AS (
    INSERT INTO {INCIDENT} (
        title, status, severity_id, service_id, dedup_key, integration_id, routing_rule_id,
        severity_reason, is_drill, created_at, started_at, detected_at, last_alert_at, alert_count,
        pages_at, paging_suppressed_reason
    )
    SELECT %(title)s, 'triggered', %(severity)s, %(service)s, %(incident_key)s, %(integration)s, %(rule)s,
           %(severity_reason)s, false, %(now)s, %(started)s, %(now)s, %(now)s, 1,
           %(pages_at)s, %(suppressed)s
    WHERE NOT EXISTS (SELECT 1 FROM counted)
    ON CONFLICT (service_id, dedup_key) WHERE (NOT (status = 'resolved') AND NOT (dedup_key = ''))
    DO NOTHING
    RETURNING id
), alerted AS (
    INSERT INTO {ALERT} (
        incident_id, integration_id, service_id, key, status, summary, source, severity, component,
        "group", alert_class, labels, details, links, images, started_at, first_received_at,
        last_received_at, occurrences
    )
    SELECT id, %(integration)s, %(service)s, %(alert_key)s, 'firing', %(summary)s, %(source)s,
           %(severity_word)s, %(component)s, %(group)s, %(alert_class)s, %(labels)s, %(details)s,
           %(links)s, %(images)s, %(started)s, %(now)s, %(now)s, 1
    FROM opened
    RETURNING id, incident_id
), written AS (
    INSERT INTO {TIMELINE} (incident_id, at, kind, actor_id, actor_label, message, data)
    SELECT alerted.incident_id, %(now)s, entry.kind, NULL, entry.actor_label, entry.message,
           CASE WHEN entry.kind = 'alert_received'
                THEN jsonb_build_object('alert_id', alerted.id, 'key', %(alert_key)s::text)
                ELSE '{{}}'::jsonb END
    FROM alerted
    CROSS JOIN (
        SELECT * FROM jsonb_to_recordset(%(entries)s) AS e(n int, kind text, actor_label text, message text)
    ) AS entry
    ORDER BY entry.n
    RETURNING incident_id
)
SELECT incident_id, false FROM repeated
UNION ALL
SELECT id, true FROM opened
LIMIT 1
"""


def available() -> bool:
    return connection.vendor == "postgresql"


def trigger(
    integration: Integration, event: AlertEvent, route: Route, entries: list[tuple[str, str, str]], now: datetime
) -> tuple[int, bool] | None:
    """Count a repeat or open the incident: (incident id, opened), or None for the ORM path."""
    parameters: dict[str, Any] = {
        "now": now,
        "title": event.summary or event.incident_key,
        "severity": route.severity.pk,
        "service": route.service.pk,
        "incident_key": event.incident_key,
        "integration": integration.pk,
        "rule": route.rule.pk if route.rule else None,
        "severity_reason": route.severity_reason,
        "started": event.timestamp,
        "pages_at": None if route.suppressed_reason else now + route.service.flap_grace_period,
        "suppressed": route.suppressed_reason,
        "alert_key": event.alert_key,
        "summary": event.summary or event.alert_key,
        "source": event.source,
        "severity_word": event.severity,
        "component": event.component,
        "group": event.group,
        "alert_class": event.alert_class,
        "labels": Jsonb({**event.labels, **route.added_labels}),
        "details": Jsonb(event.details),
        "links": Jsonb(event.links),
        "images": Jsonb(event.images),
        "entries": Jsonb(
            [
                {"n": n, "kind": kind, "actor_label": actor, "message": message}
                for n, (kind, actor, message) in enumerate(entries)
            ]
        ),
    }
    with connection.cursor() as cursor:
        cursor.execute(TRIGGER, parameters)
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None
