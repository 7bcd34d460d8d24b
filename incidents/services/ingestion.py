"""Turning normalised alert events into incidents, alerts and timeline entries.

Dedup is the database's job: at most one open incident per (service, dedup key) and one alert per
(incident, key) are unique constraints, so concurrent senders of the same alert meet at an
IntegrityError rather than racing past a read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from incidents.models import Alert, ChangeEvent, Incident, Integration, TimelineEntry
from incidents.services import ingestion_sql
from incidents.services.lifecycle import incident_transition
from incidents.services.routing import Route, route_event
from incidents.services.timeline import timeline_add
from incidents.sources.events import AlertEvent
from incidents.sources.pagerduty import ChangeEventData


@dataclass
class Outcome:
    action: str
    incident_id: int | None
    created: bool = False


def integration_label(integration: Integration) -> str:
    return f"{integration.get_kind_display()} integration '{integration.name}'"


def ingest_events(integration: Integration, events: list[AlertEvent], *, now: datetime | None = None) -> list[Outcome]:
    now = now or timezone.now()
    outcomes = []
    for event in events:
        if event.action == "trigger":
            outcomes.append(_trigger(integration, event, now))
        elif event.action == "acknowledge":
            outcomes.append(_acknowledge(integration, event, now))
        else:
            outcomes.append(_resolve(integration, event, now))
    return outcomes


def _open_incident(route: Route, key: str) -> Incident | None:
    return Incident.objects.open().filter(service=route.service, dedup_key=key).first()


def _open(integration: Integration, event: AlertEvent, route: Route, now: datetime) -> tuple[Incident, bool]:
    incident = _open_incident(route, event.incident_key)
    if incident is not None:
        return incident, False
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                title=event.summary or event.incident_key,
                service=route.service,
                severity=route.severity,
                dedup_key=event.incident_key,
                integration=integration,
                routing_rule=route.rule,
                severity_reason=route.severity_reason,
                created_at=now,
                detected_at=now,
                started_at=event.timestamp,
                last_alert_at=now,
                alert_count=1,
                pages_at=None if route.suppressed_reason else now + route.service.flap_grace_period,
                paging_suppressed_reason=route.suppressed_reason,
            )
    except IntegrityError:
        # Another request opened it between our read and our insert: join that one.
        incident = _open_incident(route, event.incident_key)
        if incident is None:
            raise
        return incident, False
    return incident, True


def opening_entries(integration: Integration, event: AlertEvent, route: Route) -> list[tuple[str, str, str]]:
    """(kind, actor, message) of the timeline entries that open an incident, in order."""
    actor = integration_label(integration)
    entries = [
        (TimelineEntry.Kind.TRIGGERED.value, actor, "Opened by the first alert."),
        (TimelineEntry.Kind.SEVERITY_SET.value, "Routing", route.severity_reason),
    ]
    if route.suppressed_reason:
        entries.append((TimelineEntry.Kind.PAGING_SUPPRESSED.value, "Routing", route.suppressed_reason))
    elif route.service.flap_grace_period:
        entries.append(
            (
                TimelineEntry.Kind.NOTE.value,
                "Routing",
                f"Paging waits {route.service.flap_grace_period} "
                "(the service's grace period for self-resolving alerts).",
            )
        )
    entries.append((TimelineEntry.Kind.ALERT_RECEIVED.value, actor, event.summary or event.alert_key))
    return entries


def _write_opening_entries(
    integration: Integration, event: AlertEvent, route: Route, incident: Incident, alert: Alert, now: datetime
) -> None:
    TimelineEntry.objects.bulk_create(
        TimelineEntry(
            incident=incident,
            at=now,
            kind=kind,
            actor_label=actor,
            message=message,
            data={"alert_id": alert.pk, "key": alert.key} if kind == TimelineEntry.Kind.ALERT_RECEIVED else {},
        )
        for kind, actor, message in opening_entries(integration, event, route)
    )


def _alert_values(
    integration: Integration, event: AlertEvent, route: Route, incident: Incident, now: datetime
) -> Alert:
    return Alert(
        incident=incident,
        integration=integration,
        service=route.service,
        key=event.alert_key,
        summary=event.summary or event.alert_key,
        source=event.source,
        severity=event.severity,
        component=event.component,
        group=event.group,
        alert_class=event.alert_class,
        labels={**event.labels, **route.added_labels},
        details=event.details,
        links=event.links,
        images=event.images,
        started_at=event.timestamp,
        first_received_at=now,
        last_received_at=now,
    )


def _new_alert(
    integration: Integration, event: AlertEvent, route: Route, incident: Incident, now: datetime
) -> Alert | None:
    try:
        with transaction.atomic():
            alert = _alert_values(integration, event, route, incident, now)
            alert.save()
            return alert
    except IntegrityError:
        return None  # a concurrent request created it; count ours as a repeat


def _count_repeat(event: AlertEvent, route: Route, now: datetime) -> bool:
    """A repeat of an alert that is firing: counted, never paged again (even while acknowledged)."""
    # Incident first, then alert: the lock order of every writer here and in ingestion_sql.
    counted = (
        Incident.objects.open()
        .filter(
            service=route.service,
            dedup_key=event.incident_key,
            alerts__key=event.alert_key,
            alerts__status=Alert.Status.FIRING,
        )
        .update(alert_count=F("alert_count") + 1, last_alert_at=now)
    )
    if not counted:
        return False
    Alert.objects.filter(
        incident__service=route.service,
        incident__dedup_key=event.incident_key,
        key=event.alert_key,
        status=Alert.Status.FIRING,
    ).exclude(incident__status=Incident.Status.RESOLVED).update(occurrences=F("occurrences") + 1, last_received_at=now)
    return True


def _trigger(integration: Integration, event: AlertEvent, now: datetime) -> Outcome:
    route = route_event(integration, event, now=now)
    # The two common cases in one statement each, for sources whose triggers are events (not
    # re-sent state, which would keep hitting the conflict); anything else takes the ORM path below.
    if ingestion_sql.available() and event.counts_repeats:
        done = ingestion_sql.trigger(integration, event, route, opening_entries(integration, event, route), now)
        if done is not None:
            return Outcome("trigger", done[0], created=done[1])
    with transaction.atomic():
        if event.counts_repeats and not ingestion_sql.available() and _count_repeat(event, route, now):
            return Outcome("trigger", None)
        incident, created = _open(integration, event, route, now)
        if created:
            # Nobody else can see the new incident yet, so its first alert needs no conflict check.
            first = _alert_values(integration, event, route, incident, now)
            first.save()
            _write_opening_entries(integration, event, route, incident, first, now)
            return Outcome("trigger", incident.pk, created=True)
        alert = Alert.objects.filter(incident=incident, key=event.alert_key).first()
        if alert is None:
            alert = _new_alert(integration, event, route, incident, now)
            if alert is not None:
                Incident.objects.filter(pk=incident.pk).update(alert_count=F("alert_count") + 1, last_alert_at=now)
                timeline_add(
                    incident,
                    TimelineEntry.Kind.ALERT_GROUPED,
                    alert.summary,
                    at=now,
                    actor_label=integration_label(integration),
                    data={"alert_id": alert.pk, "key": alert.key},
                )
                return Outcome("trigger", incident.pk)
            alert = Alert.objects.get(incident=incident, key=event.alert_key)
        # Rows are locked incident first, then alert, everywhere (the SQL fast path too), so
        # concurrent senders of one alert never deadlock.
        if alert.status == Alert.Status.RESOLVED:
            Incident.objects.filter(pk=incident.pk).update(alert_count=F("alert_count") + 1, last_alert_at=now)
            Alert.objects.filter(pk=alert.pk).update(
                status=Alert.Status.FIRING, resolved_at=None, last_received_at=now, occurrences=F("occurrences") + 1
            )
            timeline_add(
                incident,
                TimelineEntry.Kind.ALERT_GROUPED,
                f"Firing again: {alert.summary}",
                at=now,
                actor_label=integration_label(integration),
                data={"alert_id": alert.pk, "key": alert.key},
            )
        elif event.counts_repeats:
            # Lost the race for the fast path above to a concurrent first trigger: count it here.
            Incident.objects.filter(pk=incident.pk).update(alert_count=F("alert_count") + 1, last_alert_at=now)
            Alert.objects.filter(pk=alert.pk).update(occurrences=F("occurrences") + 1, last_received_at=now)
    return Outcome("trigger", incident.pk, created)


def _open_alert(integration: Integration, event: AlertEvent) -> Alert | None:
    return (
        Alert.objects.select_related("incident")
        .filter(integration=integration, key=event.alert_key, incident__dedup_key=event.incident_key)
        .exclude(incident__status=Incident.Status.RESOLVED)
        .first()
    )


def _acknowledge(integration: Integration, event: AlertEvent, now: datetime) -> Outcome:
    alert = _open_alert(integration, event)
    if alert is None:
        return Outcome("acknowledge", None)
    incident = alert.incident
    if incident.status == Incident.Status.TRIGGERED:
        actor = integration_label(integration)
        incident_transition(incident, Incident.Status.ACKNOWLEDGED, actor_label=actor, at=now)
    return Outcome("acknowledge", incident.pk)


def _resolve(integration: Integration, event: AlertEvent, now: datetime) -> Outcome:
    alert = _open_alert(integration, event)
    if alert is None:
        return Outcome("resolve", None)  # nothing open with that key: a late or repeated resolve
    incident = alert.incident
    actor = integration_label(integration)
    with transaction.atomic():
        # Incident first, then alert: the lock order of every other writer.
        Incident.objects.lock_for_change([incident.pk])
        changed = Alert.objects.filter(pk=alert.pk, status=Alert.Status.FIRING).update(
            status=Alert.Status.RESOLVED, resolved_at=now, last_received_at=now
        )
        if changed:
            timeline_add(
                incident,
                TimelineEntry.Kind.ALERT_RESOLVED,
                alert.summary,
                at=now,
                actor_label=actor,
                data={"alert_id": alert.pk, "key": alert.key},
            )
        # A PagerDuty resolve is a command; other sources report state, which resolves the
        # incident only once every alert in it has resolved, and only if the integration says so.
        explicit = integration.kind == Integration.Kind.PAGERDUTY
        all_resolved = not incident.alerts.filter(status=Alert.Status.FIRING).exists()
        if changed and all_resolved and (explicit or integration.auto_resolve):
            quiet = incident.pages_at is not None and now < incident.pages_at
            message = f"Resolved by {actor}: every alert has resolved."
            if quiet:
                message += " It resolved within the grace period, so nobody was paged."
            incident_transition(incident, Incident.Status.RESOLVED, actor_label=actor, at=now, message=message)
    return Outcome("resolve", incident.pk)


def change_event_record(integration: Integration, data: ChangeEventData, *, now: datetime | None = None) -> ChangeEvent:
    now = now or timezone.now()
    return ChangeEvent.objects.create(
        integration=integration,
        service=integration.service,
        summary=data.summary,
        source=data.source,
        timestamp=data.timestamp or now,
        custom_details=data.custom_details,
        links=data.links,
        received_at=now,
    )
