"""The public status page: components, public incidents and their updates, scheduled maintenance,
subscribers.

Nothing here points back at internal detail in what it shows: a public incident carries its own
public title and texts, written for customers, and keeps the internal incident only as a link.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.models.plan import Service

COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}$", "A colour as #rrggbb, e.g. #1f6feb.")


def new_public_id() -> str:
    # Statuspage's ids are 12 lower-case letters and digits; ours never reveal internal row numbers.
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


def new_token() -> str:
    return secrets.token_urlsafe(24)


class ComponentStatus(models.TextChoices):
    OPERATIONAL = "operational", "Operational"
    DEGRADED_PERFORMANCE = "degraded_performance", "Degraded performance"
    PARTIAL_OUTAGE = "partial_outage", "Partial outage"
    MAJOR_OUTAGE = "major_outage", "Major outage"
    UNDER_MAINTENANCE = "under_maintenance", "Under maintenance"


# Worse statuses rank higher; maintenance outranks operational but never an outage.
COMPONENT_SEVERITY: dict[str, int] = {
    ComponentStatus.OPERATIONAL: 0,
    ComponentStatus.UNDER_MAINTENANCE: 1,
    ComponentStatus.DEGRADED_PERFORMANCE: 2,
    ComponentStatus.PARTIAL_OUTAGE: 3,
    ComponentStatus.MAJOR_OUTAGE: 4,
}


def worst_status(statuses: list[str]) -> str:
    return max(statuses, key=COMPONENT_SEVERITY.__getitem__, default=ComponentStatus.OPERATIONAL)


class StatusPageQuerySet(models.QuerySet["StatusPage"]):
    def current(self) -> StatusPage:
        page = self.order_by("pk").first()
        if page is not None:
            return page
        # A fixed key: two processes creating the missing row at once end up with one row.
        created, _ = self.get_or_create(pk=1)
        return created


class StatusPage(models.Model):
    """The page's look (one row), and the version its cached answers are keyed by."""

    name = models.CharField(max_length=200, default="Status", help_text="Shown as the page's title.")
    public_id = models.CharField(max_length=12, default=new_public_id, editable=False, unique=True)
    logo = models.BinaryField(blank=True, default=b"", editable=False)
    logo_content_type = models.CharField(max_length=40, blank=True, editable=False)
    accent_colour = models.CharField(max_length=7, default="#1f6feb", validators=[COLOUR])
    background_colour = models.CharField(max_length=7, default="#ffffff", validators=[COLOUR])
    text_colour = models.CharField(max_length=7, default="#1f2328", validators=[COLOUR])
    support_url = models.URLField(blank=True, help_text="Optional link to your support pages.")
    # Bumped by every change that shows on the page: cached pages, JSON and feeds are keyed by it.
    version = models.PositiveBigIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    # The 90-day bars are due for recomputing from this moment (empty: a job is computing them).
    bars_due_at = models.DateTimeField(null=True, blank=True, default=timezone.now, editable=False)
    bars_claimed_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = StatusPageQuerySet.as_manager()

    class Meta:
        verbose_name = "status page"

    def __str__(self) -> str:
        return self.name


class ComponentGroup(models.Model):
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    position = models.PositiveIntegerField(default=0)
    public_id = models.CharField(max_length=12, default=new_public_id, editable=False, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class ComponentQuerySet(models.QuerySet["Component"]):
    def in_page_order(self) -> ComponentQuerySet:
        return self.select_related("group").order_by(
            models.F("group__position").asc(nulls_first=True), "group__name", "position", "name"
        )


class Component(models.Model):
    """Something customers use, shown with one of Statuspage's five statuses."""

    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    group = models.ForeignKey(
        ComponentGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="components"
    )
    position = models.PositiveIntegerField(default=0)
    services = models.ManyToManyField(
        Service, blank=True, related_name="status_components", help_text="The services behind this component."
    )
    hand_status = models.CharField(
        "status set by hand",
        max_length=24,
        choices=ComponentStatus.choices,
        default=ComponentStatus.OPERATIONAL,
        help_text="Shown when no public incident or maintenance says worse.",
    )
    # What the page shows: the worst of the hand status, open incidents and maintenance in progress.
    status = models.CharField(
        max_length=24, choices=ComponentStatus.choices, default=ComponentStatus.OPERATIONAL, editable=False
    )
    only_show_if_degraded = models.BooleanField(default=False)
    showcase = models.BooleanField(default=True, help_text="Show the 90-day uptime bars.")
    start_date = models.DateField(null=True, blank=True, help_text="Bars start here, not before.")
    public_id = models.CharField(max_length=12, default=new_public_id, editable=False, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    # [{"date": "2026-11-27", "status": "partial_outage", "incidents": ["API errors"]}, …], oldest first;
    # written by the background job, read by the page as is.
    uptime_days = models.JSONField(default=list, blank=True, editable=False)
    # The same as HTML, rendered by the job too: 50 components make 4,500 bars, too many to render
    # each time the page's version changes.
    uptime_html = models.TextField(blank=True, default="", editable=False)

    objects = ComponentQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class PublicIncidentQuerySet(models.QuerySet["PublicIncident"]):
    def public(self) -> PublicIncidentQuerySet:
        # A drill never shows, even if it was flagged as one after publishing.
        return self.exclude(incident__is_drill=True)

    def unresolved(self) -> PublicIncidentQuerySet:
        return self.exclude(status=PublicIncident.Status.RESOLVED)


class PublicIncident(models.Model):
    """What customers are told about an incident: its own public title, status, impact and updates."""

    class Status(models.TextChoices):
        INVESTIGATING = "investigating", "Investigating"
        IDENTIFIED = "identified", "Identified"
        MONITORING = "monitoring", "Monitoring"
        RESOLVED = "resolved", "Resolved"

    class Impact(models.TextChoices):
        NONE = "none", "None"
        MINOR = "minor", "Minor"
        MAJOR = "major", "Major"
        CRITICAL = "critical", "Critical"

    # Statuspage lets an incident move between any of its statuses, except out of resolved.
    ALLOWED_TRANSITIONS: dict[str, set[str]] = {
        Status.INVESTIGATING: {Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED},
        Status.IDENTIFIED: {Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED},
        Status.MONITORING: {Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED},
        Status.RESOLVED: set(),
    }

    incident = models.OneToOneField(
        "incidents.Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="public_incident"
    )
    public_id = models.CharField(max_length=12, default=new_public_id, editable=False, unique=True)
    name = models.CharField("public title", max_length=255)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INVESTIGATING)
    impact = models.CharField(max_length=16, choices=Impact.choices, default=Impact.MINOR)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(default=timezone.now)
    monitoring_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = PublicIncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-created_at"], name="public_incident_status")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_resolved(self) -> bool:
        return self.status == self.Status.RESOLVED


class AffectedComponent(models.Model):
    """How a public incident affects one component while it is open."""

    public_incident = models.ForeignKey(PublicIncident, on_delete=models.CASCADE, related_name="affected")
    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="affected_by")
    status = models.CharField(max_length=24, choices=ComponentStatus.choices)
    # The worst it got, for the uptime bars: later updates may soften `status`.
    worst_status = models.CharField(max_length=24, choices=ComponentStatus.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["public_incident", "component"], name="one_impact_per_component")
        ]

    def __str__(self) -> str:
        return f"{self.component_id}: {self.status}"


class ScheduledMaintenanceQuerySet(models.QuerySet["ScheduledMaintenance"]):
    def upcoming(self) -> ScheduledMaintenanceQuerySet:
        return self.filter(status=ScheduledMaintenance.Status.SCHEDULED)

    def active(self) -> ScheduledMaintenanceQuerySet:
        return self.filter(status__in=[ScheduledMaintenance.Status.IN_PROGRESS, ScheduledMaintenance.Status.VERIFYING])

    def due_to_move(self, now: datetime) -> ScheduledMaintenanceQuerySet:
        return self.filter(
            Q(status=ScheduledMaintenance.Status.SCHEDULED, scheduled_for__lte=now)
            | Q(status__in=[ScheduledMaintenance.Status.IN_PROGRESS, ScheduledMaintenance.Status.VERIFYING])
            & Q(scheduled_until__lte=now)
        )


class ScheduledMaintenance(models.Model):
    """Planned work announced to customers; it moves to in progress and to completed by itself."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        IN_PROGRESS = "in_progress", "In progress"
        VERIFYING = "verifying", "Verifying"
        COMPLETED = "completed", "Completed"

    ALLOWED_TRANSITIONS: dict[str, set[str]] = {
        Status.SCHEDULED: {Status.IN_PROGRESS, Status.COMPLETED},
        Status.IN_PROGRESS: {Status.VERIFYING, Status.COMPLETED},
        Status.VERIFYING: {Status.IN_PROGRESS, Status.COMPLETED},
        Status.COMPLETED: set(),
    }

    public_id = models.CharField(max_length=12, default=new_public_id, editable=False, unique=True)
    name = models.CharField("public title", max_length=255)
    body = models.TextField("what customers are told", blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED, editable=False)
    scheduled_for = models.DateTimeField()
    scheduled_until = models.DateTimeField()
    components = models.ManyToManyField(Component, blank=True, related_name="maintenances")
    maintenance_window = models.OneToOneField(
        "incidents.MaintenanceWindow",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="scheduled_maintenance",
        help_text="The window that suppresses paging for the components' services at these times.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScheduledMaintenanceQuerySet.as_manager()

    class Meta:
        ordering = ["scheduled_for", "id"]
        verbose_name_plural = "scheduled maintenance"
        constraints = [
            models.CheckConstraint(
                condition=Q(scheduled_until__gt=models.F("scheduled_for")),
                name="scheduled_maintenance_ends_after_start",
            )
        ]
        indexes = [
            models.Index(
                fields=["scheduled_for"],
                condition=~Q(status="completed"),
                name="maintenance_pending",
            )
        ]

    def __str__(self) -> str:
        return self.name


class PublicIncidentUpdate(models.Model):
    """One published message, on a public incident or on a scheduled maintenance."""

    public_incident = models.ForeignKey(
        PublicIncident, null=True, blank=True, on_delete=models.CASCADE, related_name="updates"
    )
    maintenance = models.ForeignKey(
        ScheduledMaintenance, null=True, blank=True, on_delete=models.CASCADE, related_name="updates"
    )
    public_id = models.CharField(max_length=12, default=new_public_id, editable=False, unique=True)
    # An incident's or a maintenance's status, as the update set it.
    status = models.CharField(max_length=16)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    # [{"code": public id, "name": …, "old_status": …, "new_status": …}] as Statuspage lists them.
    affected_components = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(public_incident__isnull=True) ^ Q(maintenance__isnull=True),
                name="update_of_one_incident_or_maintenance",
            )
        ]

    def __str__(self) -> str:
        return f"{self.status}: {self.body[:50]}"

    @property
    def status_label(self) -> str:
        return self.status.replace("_", " ").capitalize()


class SubscriberQuerySet(models.QuerySet["Subscriber"]):
    def confirmed(self) -> SubscriberQuerySet:
        return self.filter(confirmed_at__isnull=False)

    def interested_in(self, components: list[Any]) -> SubscriberQuerySet:
        """Those who chose none (everything) or at least one of these components."""
        return self.filter(Q(components__isnull=True) | Q(components__in=components)).distinct()


class Subscriber(models.Model):
    """An e-mail address that asked for notices; unsubscribing deletes it."""

    email = models.EmailField(unique=True)
    components = models.ManyToManyField(
        Component, blank=True, related_name="subscribers", help_text="None: every component."
    )
    token = models.CharField(max_length=64, default=new_token, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last confirmation e-mail: signing up again does not resend it sooner (nobody floods an inbox).
    confirmation_sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = SubscriberQuerySet.as_manager()

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email
