from __future__ import annotations

from django.db import models
from django.utils import timezone

from incidents.models.incident import Incident
from incidents.models.integrations import Integration
from incidents.models.plan import Service


class Alert(models.Model):
    """One alert from a monitoring source, normalised; it belongs to the incident it opened or joined."""

    class Status(models.TextChoices):
        FIRING = "firing", "Firing"
        RESOLVED = "resolved", "Resolved"

    class Severity(models.TextChoices):
        # PagerDuty's payload.severity values; other sources are mapped onto them.
        CRITICAL = "critical", "Critical"
        ERROR = "error", "Error"
        WARNING = "warning", "Warning"
        INFO = "info", "Info"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="alerts")
    integration = models.ForeignKey(Integration, null=True, on_delete=models.SET_NULL, related_name="alerts")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="alerts")
    # PagerDuty: the dedup_key; Alertmanager and Grafana: each alert's fingerprint.
    key = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.FIRING)
    summary = models.CharField(max_length=1024)
    source = models.CharField(max_length=255, blank=True)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.ERROR)
    component = models.CharField(max_length=255, blank=True)
    group = models.CharField(max_length=255, blank=True)
    alert_class = models.CharField(max_length=255, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    details = models.JSONField(default=dict, blank=True)
    links = models.JSONField(default=list, blank=True)
    images = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    first_received_at = models.DateTimeField(default=timezone.now)
    last_received_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    occurrences = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["first_received_at", "id"]
        constraints = [models.UniqueConstraint(fields=["incident", "key"], name="one_alert_per_key_per_incident")]
        indexes = [models.Index(fields=["integration", "key"], name="alert_integration_key")]

    def __str__(self) -> str:
        return self.summary
