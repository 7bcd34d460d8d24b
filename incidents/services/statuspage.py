"""Every write to the public status page: publishing, updating, maintenance, the page's version.

Each change that shows on the page bumps `StatusPage.version` in the same transaction; cached
pages, JSON and feeds are keyed by it (incidents/status_cache.py), so publishing invalidates them
everywhere at once. Notices to subscribers are handed to django-q2 on commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from incidents import status_cache, status_tasks
from incidents.models import Incident, MaintenanceWindow, TimelineEntry
from incidents.models.comms import CommsKind
from incidents.models.status import (
    COMPONENT_SEVERITY,
    AffectedComponent,
    Component,
    ComponentStatus,
    PublicIncident,
    PublicIncidentUpdate,
    ScheduledMaintenance,
    StatusPage,
    worst_status,
)
from incidents.services.comms import comms_fulfil
from incidents.services.timeline import timeline_add


class PublishRefused(ValueError):
    """The change cannot be published; the message says why, for the person publishing."""

    def __init__(self, message: str, *, field: str = "__all__") -> None:
        super().__init__(message)
        self.field = field


def status_page_touch(*, at: datetime | None = None, bars: bool = False) -> None:
    """Mark the page changed: new version (cached answers go stale), and the bars due if asked."""
    at = at or timezone.now()
    changes: dict[str, object] = {"version": F("version") + 1, "updated_at": at}
    StatusPage.objects.current()  # the row exists from the migration; tests may have flushed it
    StatusPage.objects.all().update(**changes)
    if bars:
        # Due now (the engine still spaces the computations out); also while a job is computing.
        StatusPage.objects.filter(Q(bars_due_at__isnull=True) | Q(bars_due_at__gt=at)).update(bars_due_at=at)
    # This process reads the new version at once (and again after commit, when others see it too).
    status_cache.forget_version()
    transaction.on_commit(status_cache.forget_version)


def components_refresh(*, at: datetime | None = None) -> dict[int, tuple[str, str]]:
    """Recompute what each component shows; returns {component id: (old, new)} for those that moved.

    Call inside the transaction that changed what they depend on.
    """
    at = at or timezone.now()
    # One status-page writer at a time from here to commit: two publications computing at once
    # would each miss the other's impacts, and the last to commit would win.
    StatusPage.objects.current()
    list(StatusPage.objects.select_for_update().values_list("pk", flat=True))
    shown: dict[int, list[str]] = {}
    open_impacts = (
        AffectedComponent.objects.filter(public_incident__in=PublicIncident.objects.public().unresolved())
        .values_list("component_id", "status")
        .order_by()
    )
    for component_id, status in open_impacts:
        shown.setdefault(component_id, []).append(status)
    in_maintenance = ScheduledMaintenance.components.through.objects.filter(
        scheduledmaintenance__in=ScheduledMaintenance.objects.active()
    ).values_list("component_id", flat=True)
    for component_id in in_maintenance:
        shown.setdefault(component_id, []).append(ComponentStatus.UNDER_MAINTENANCE)
    moved: dict[int, tuple[str, str]] = {}
    changed = []
    for component in Component.objects.all().only("pk", "status", "hand_status"):
        new = worst_status([component.hand_status, *shown.get(component.pk, [])])
        if new != component.status:
            moved[component.pk] = (component.status, new)
            component.status = new
            component.updated_at = at
            changed.append(component)
    Component.objects.bulk_update(changed, ["status", "updated_at"])
    return moved


def _affected_snapshot(moved: Mapping[int, tuple[str, str]], components: list[Component]) -> list[dict[str, str]]:
    snapshot = []
    for component in components:
        old, new = moved.get(component.pk, (component.status, component.status))
        snapshot.append({"code": component.public_id, "name": component.name, "old_status": old, "new_status": new})
    return snapshot


def _set_impacts(public_incident: PublicIncident, impacts: Mapping[Component, str]) -> None:
    for component, status in impacts.items():
        if status not in COMPONENT_SEVERITY:
            raise PublishRefused(f"Unknown component status {status!r}.", field="components")
        row, created = AffectedComponent.objects.get_or_create(
            public_incident=public_incident, component=component, defaults={"status": status, "worst_status": status}
        )
        if not created:
            row.status = status
            row.worst_status = worst_status([row.worst_status, status])
            row.save(update_fields=["status", "worst_status"])


def _check_text(name: str | None, body: str) -> None:
    if name is not None and not name.strip():
        raise PublishRefused("A public incident needs a public title.", field="name")
    if not body.strip():
        raise PublishRefused("Write what customers are told.", field="body")


def _fulfil_cadence(incident: Incident | None, *, actor: User | None, at: datetime) -> None:
    # The plan's status-page cadence counts a publication as the update it asks for.
    if incident is not None:
        comms_fulfil(incident, CommsKind.STATUS_PAGE, actor=actor, at=at)


def public_incident_publish(
    incident: Incident,
    *,
    actor: User | None,
    name: str,
    body: str,
    status: str = PublicIncident.Status.INVESTIGATING,
    impact: str = PublicIncident.Impact.MINOR,
    components: Mapping[Component, str] | None = None,
    at: datetime | None = None,
) -> PublicIncident:
    """Tell customers about an internal incident: a public incident with its first update."""
    if incident.is_drill:
        raise PublishRefused("This incident is a drill: drills never reach the public status page.")
    if status not in PublicIncident.Status.values or status == PublicIncident.Status.RESOLVED:
        raise PublishRefused(f"Publish as investigating, identified or monitoring, not {status!r}.", field="status")
    if impact not in PublicIncident.Impact.values:
        raise PublishRefused(f"Unknown impact {impact!r}.", field="impact")
    _check_text(name, body)
    at = at or timezone.now()
    with transaction.atomic():
        locked = Incident.objects.lock_for_change([incident.pk])[incident.pk]
        if PublicIncident.objects.filter(incident=locked).exists():
            raise PublishRefused("This incident is already on the status page; post an update instead.")
        public = PublicIncident.objects.create(
            incident=locked,
            name=name.strip(),
            status=status,
            impact=impact,
            created_at=at,
            updated_at=at,
            started_at=min(incident.started_at or incident.created_at, at),
            monitoring_at=at if status == PublicIncident.Status.MONITORING else None,
            created_by=actor,
        )
        update = _record_update(public, status=status, body=body, impacts=components or {}, actor=actor, at=at)
        timeline_add(
            locked,
            TimelineEntry.Kind.STATUS_PAGE,
            f"Published on the status page as “{public.name}” ({public.get_status_display().lower()}): {update.body}",
            at=at,
            actor=actor,
            data={"status_page": {"public_incident": public.public_id, "update": update.public_id}},
        )
        _fulfil_cadence(locked, actor=actor, at=at)
    return public


def public_incident_update(
    public: PublicIncident,
    *,
    actor: User | None,
    status: str,
    body: str,
    components: Mapping[Component, str] | None = None,
    at: datetime | None = None,
) -> PublicIncidentUpdate:
    """Post an update; resolving returns the components to what else says about them."""
    if status not in PublicIncident.Status.values:
        raise PublishRefused(f"Unknown status {status!r}.", field="status")
    old = public.status
    if status not in PublicIncident.ALLOWED_TRANSITIONS[old]:
        raise PublishRefused("A resolved public incident cannot be updated.", field="status")
    _check_text(None, body)
    at = at or timezone.now()
    changes: dict[str, object] = {"status": status, "updated_at": at}
    if status == PublicIncident.Status.MONITORING and public.monitoring_at is None:
        changes["monitoring_at"] = at
    if status == PublicIncident.Status.RESOLVED:
        changes["resolved_at"] = at
    with transaction.atomic():
        # Compare-and-set: two people updating at once must not both resolve it.
        if not PublicIncident.objects.filter(pk=public.pk, status=old).update(**changes):
            raise PublishRefused("Someone else updated this incident just now; reload and try again.")
        for field, value in changes.items():
            setattr(public, field, value)
        impacts = dict(components or {})
        if status == PublicIncident.Status.RESOLVED:
            # Resolved: its components are back to operational as far as this incident is concerned.
            impacts = {
                row.component: ComponentStatus.OPERATIONAL for row in public.affected.select_related("component")
            }
        update = _record_update(public, status=status, body=body, impacts=impacts, actor=actor, at=at)
        if (incident := public.incident) is not None:
            timeline_add(
                incident,
                TimelineEntry.Kind.STATUS_PAGE,
                f"Status page update ({public.get_status_display().lower()}): {update.body}",
                at=at,
                actor=actor,
                data={"status_page": {"public_incident": public.public_id, "update": update.public_id}},
            )
            _fulfil_cadence(public.incident, actor=actor, at=at)
    return update


def _record_update(
    public: PublicIncident,
    *,
    status: str,
    body: str,
    impacts: Mapping[Component, str],
    actor: User | None,
    at: datetime,
) -> PublicIncidentUpdate:
    _set_impacts(public, impacts)
    moved = components_refresh(at=at)
    affected = list(Component.objects.filter(affected_by__public_incident=public).order_by("position", "name"))
    update = PublicIncidentUpdate.objects.create(
        public_incident=public,
        status=status,
        body=body.strip(),
        created_at=at,
        affected_components=_affected_snapshot(moved, affected),
        created_by=actor,
    )
    status_page_touch(at=at, bars=True)
    _notify_on_commit(update)
    return update


def _notify_on_commit(update: PublicIncidentUpdate) -> None:
    # The worker finds the subscribers and splits them into batches; the web request only enqueues.
    update_id = update.pk
    transaction.on_commit(lambda: status_tasks.enqueue(status_tasks.notices_enqueue, update_id))


# --- Scheduled maintenance -----------------------------------------------------------------------


def maintenance_schedule(
    *,
    actor: User | None,
    name: str,
    body: str,
    scheduled_for: datetime,
    scheduled_until: datetime,
    components: list[Component],
    at: datetime | None = None,
) -> ScheduledMaintenance:
    """Announce planned work, and open the maintenance window that keeps its services from paging."""
    if scheduled_until <= scheduled_for:
        raise PublishRefused("The maintenance must end after it starts.", field="scheduled_until")
    _check_text(name, body)
    at = at or timezone.now()
    with transaction.atomic():
        window = MaintenanceWindow.objects.create(
            title=name.strip(),
            description=body.strip(),
            starts_at=scheduled_for,
            ends_at=scheduled_until,
            public=True,
            created_by=actor,
        )
        window.services.set({service for c in components for service in c.services.all()})
        maintenance = ScheduledMaintenance.objects.create(
            name=name.strip(),
            body=body.strip(),
            scheduled_for=scheduled_for,
            scheduled_until=scheduled_until,
            maintenance_window=window,
            created_at=at,
            updated_at=at,
            created_by=actor,
        )
        maintenance.components.set(components)
        update = PublicIncidentUpdate.objects.create(
            maintenance=maintenance,
            status=maintenance.status,
            body=body.strip(),
            created_at=at,
            affected_components=_affected_snapshot({}, components),
            created_by=actor,
        )
        status_page_touch(at=at)
        _notify_on_commit(update)
    return maintenance


def maintenance_window_sync(maintenance: ScheduledMaintenance) -> None:
    """Keep the linked maintenance window on the same times and services after an edit."""
    window = maintenance.maintenance_window
    if window is None:
        return
    window.title = maintenance.name
    window.starts_at = maintenance.scheduled_for
    window.ends_at = maintenance.scheduled_until
    window.save(update_fields=["title", "starts_at", "ends_at"])
    window.services.set({service for c in maintenance.components.all() for service in c.services.all()})
    # Its components' status may change (an edit of a maintenance in progress): recompute them.
    status_config_changed()


def maintenance_delete(maintenance: ScheduledMaintenance) -> None:
    """Withdraw a maintenance: gone from the page at once, and its window stops muting paging."""
    with transaction.atomic():
        window = maintenance.maintenance_window
        maintenance.delete()
        if window is not None:
            window.delete()
        status_config_changed()


MAINTENANCE_MESSAGES: dict[str, str] = {
    ScheduledMaintenance.Status.IN_PROGRESS: "The scheduled maintenance is in progress.",
    ScheduledMaintenance.Status.VERIFYING: "The work is done; we are verifying it.",
    ScheduledMaintenance.Status.COMPLETED: "The scheduled maintenance has been completed.",
}


def maintenance_transition(
    maintenance: ScheduledMaintenance,
    new_status: str,
    *,
    actor: User | None = None,
    body: str = "",
    at: datetime | None = None,
) -> bool:
    """Move a maintenance on; False when someone (or the engine) moved it first."""
    old = maintenance.status
    if new_status not in ScheduledMaintenance.ALLOWED_TRANSITIONS[old]:
        raise PublishRefused(f"A maintenance cannot go from {old} to {new_status}.", field="status")
    at = at or timezone.now()
    changes: dict[str, object] = {"status": new_status, "updated_at": at}
    if new_status == ScheduledMaintenance.Status.IN_PROGRESS and maintenance.started_at is None:
        changes["started_at"] = at
    if new_status == ScheduledMaintenance.Status.COMPLETED:
        changes["completed_at"] = at
    with transaction.atomic():
        if not ScheduledMaintenance.objects.filter(pk=maintenance.pk, status=old).update(**changes):
            return False
        for field, value in changes.items():
            setattr(maintenance, field, value)
        window = maintenance.maintenance_window
        if new_status == ScheduledMaintenance.Status.COMPLETED and window is not None:
            # Work finished early: paging comes back now, not at the planned end.
            MaintenanceWindow.objects.filter(pk=window.pk, ends_at__gt=at).update(ends_at=at)
        moved = components_refresh(at=at)
        components = list(maintenance.components.order_by("position", "name"))
        update = PublicIncidentUpdate.objects.create(
            maintenance=maintenance,
            status=new_status,
            body=body.strip() or MAINTENANCE_MESSAGES[new_status],
            created_at=at,
            affected_components=_affected_snapshot(moved, components),
            created_by=actor,
        )
        status_page_touch(at=at, bars=True)
        _notify_on_commit(update)
    return True


def maintenance_tick(now: datetime) -> int:
    """Engine tick: start maintenance whose time has come, complete maintenance whose time is up."""
    moved = 0
    if not ScheduledMaintenance.objects.due_to_move(now).exists():
        return 0  # the common case, without taking SQLite's write lock four times a second
    with transaction.atomic():
        # No select_related: PostgreSQL cannot lock the nullable side of an outer join.
        due = list(ScheduledMaintenance.objects.due_to_move(now).select_for_update(skip_locked=True)[:50])
        for maintenance in due:
            target = (
                ScheduledMaintenance.Status.COMPLETED
                if maintenance.scheduled_until <= now
                else ScheduledMaintenance.Status.IN_PROGRESS
            )
            moved += maintenance_transition(maintenance, target, at=now)
    return moved


def oldest_due_maintenance() -> datetime | None:
    """For the auditor: when the longest-waiting maintenance move fell due."""
    now = timezone.now()
    starts = ScheduledMaintenance.objects.upcoming().filter(scheduled_for__lte=now).order_by("scheduled_for")
    ends = ScheduledMaintenance.objects.active().filter(scheduled_until__lte=now).order_by("scheduled_until")
    candidates = [
        value
        for value in (
            starts.values_list("scheduled_for", flat=True).first(),
            ends.values_list("scheduled_until", flat=True).first(),
        )
        if value is not None
    ]
    return min(candidates, default=None)


def status_config_changed(*, at: datetime | None = None) -> None:
    """Components, groups or the page's look changed (admin, API): recompute what components show
    (a hand-set status, a new component) and let cached answers go stale."""
    at = at or timezone.now()
    with transaction.atomic():
        components_refresh(at=at)
        status_page_touch(at=at, bars=True)
