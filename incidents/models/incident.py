from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from incidents.models.plan import Service, SeverityLevel


class IncidentQuerySet(models.QuerySet["Incident"]):
    def open(self) -> IncidentQuerySet:
        # status__in, not exclude(): the status index serves only the former.
        return self.filter(status__in=(Incident.Status.TRIGGERED, Incident.Status.ACKNOWLEDGED))

    def for_service(self, service: Service) -> IncidentQuerySet:
        return self.filter(service=service)

    def lock_for_change(self, pks: Iterable[int]) -> dict[int, Incident]:
        """Lock these incidents until the transaction ends and return them by id. Lowest id first,
        so that two processes locking the same pair cannot deadlock.

        FOR NO KEY UPDATE: the engine inserts timeline rows for an incident while it holds the
        incident's escalation run, and a plain FOR UPDATE would block those inserts' foreign-key
        checks: a deadlock with any change that then waits for the run. Of the incident rows only:
        with select_related, the service and severity rows would be locked too, holding up every
        new incident of that service or severity meanwhile.
        """
        locked = self.select_for_update(no_key=True, of=("self",)).filter(pk__in=list(pks)).order_by("pk")
        return {incident.pk: incident for incident in locked}


class Incident(models.Model):
    class Status(models.TextChoices):
        TRIGGERED = "triggered", "Triggered"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    # The only moves a status may make; incidents/services/lifecycle.py enforces them. A resolved
    # incident stays resolved: a new trigger opens a new incident.
    ALLOWED_TRANSITIONS: dict[str, set[str]] = {
        Status.TRIGGERED: {Status.ACKNOWLEDGED, Status.RESOLVED},
        Status.ACKNOWLEDGED: {Status.TRIGGERED, Status.RESOLVED},
        Status.RESOLVED: set(),
    }

    title = models.CharField(max_length=1024)
    # db_default on the new columns: incidents/services/ingestion_sql.py inserts with raw SQL.
    description = models.TextField(blank=True, default="", db_default="", help_text="What is seen, in words.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRIGGERED)
    severity = models.ForeignKey(SeverityLevel, on_delete=models.PROTECT, related_name="incidents")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="incidents")
    # Alerts with this key join this incident while it is open (database-enforced below).
    dedup_key = models.CharField(max_length=255, blank=True)
    integration = models.ForeignKey(
        "incidents.Integration", null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    routing_rule = models.ForeignKey(
        "incidents.RoutingRule", null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    severity_reason = models.TextField(blank=True, help_text="Why the incident has its severity, for responders.")
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who declared it by hand; empty when an alert opened it.",
    )
    resolution_note = models.TextField(blank=True, default="", db_default="", help_text="What fixed it.")
    root_cause_hypothesis = models.TextField(
        blank=True, default="", db_default="", help_text="A first idea of the cause, for the postmortem."
    )
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_from",
        help_text="The incident this one was merged into (a duplicate).",
    )
    is_drill = models.BooleanField(
        default=False, help_text="An exercise: runs through the real machinery, never public."
    )

    # The timestamps the metrics are computed from.
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True, help_text="When the problem began, per its source.")
    detected_at = models.DateTimeField(default=timezone.now, help_text="When IRP received the first alert.")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_alert_at = models.DateTimeField(null=True, blank=True)
    alert_count = models.PositiveIntegerField(default=0, help_text="Trigger events received, repeats included.")

    # Paging: when it may start (after the service's flap grace period), or never, and why not.
    pages_at = models.DateTimeField(null=True, blank=True)
    paging_suppressed_reason = models.CharField(max_length=300, blank=True)
    # When the engine gave it the communication obligations of its severity; empty until then.
    comms_scheduled_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "dedup_key"],
                condition=~Q(status="resolved") & ~Q(dedup_key=""),
                name="one_open_incident_per_service_and_dedup_key",
            )
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="incident_status_created"),
            models.Index(fields=["pages_at"], condition=Q(status="triggered"), name="incident_pending_pages"),
            # The engine's sweep for new incidents that still need their cadence: only those rows.
            models.Index(
                fields=["id"],
                condition=Q(comms_scheduled_at__isnull=True) & ~Q(status="resolved"),
                name="incident_comms_unscheduled",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("incidents:detail", args=[self.pk])

    @property
    def number(self) -> int:
        return self.pk

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.RESOLVED

    @property
    def absolute_url(self) -> str:
        return settings.SITE_URL + self.get_absolute_url()


class TimelineEntry(models.Model):
    """The audit trail of an incident: what happened, when, and who or what did it."""

    class Kind(models.TextChoices):
        TRIGGERED = "triggered", "Incident opened"
        ALERT_RECEIVED = "alert_received", "Alert received"
        ALERT_GROUPED = "alert_grouped", "Alert grouped"
        ALERT_RESOLVED = "alert_resolved", "Alert resolved by source"
        SEVERITY_SET = "severity_set", "Severity set"
        PAGING_SUPPRESSED = "paging_suppressed", "Paging suppressed"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RETRIGGERED = "retriggered", "Re-triggered"
        RESOLVED = "resolved", "Resolved"
        NOTE = "note", "Note"
        ESCALATED = "escalated", "Escalation step"
        NOTIFIED = "notified", "Notification"
        ESCALATION_ENDED = "escalation_ended", "Escalation ended"
        REASSIGNED = "reassigned", "Reassigned"
        DECLARED = "declared", "Declared"
        ROLE_ASSIGNED = "role_assigned", "Role assigned"
        SEVERITY_CHANGED = "severity_changed", "Severity changed"
        RESPONDER_ADDED = "responder_added", "Responder added"
        MERGED = "merged", "Merged"
        UPDATE_POSTED = "update_posted", "Update posted"
        COMMS_REMINDER = "comms_reminder", "Communication reminder"
        STATUS_PAGE = "status_page", "Status page"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who or what acted when it was not a person: "Alertmanager integration 'Prometheus'".
    actor_label = models.CharField(max_length=200, blank=True)
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["incident", "at"], name="timeline_incident_at")]
        verbose_name_plural = "timeline entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.get_kind_display()}"
