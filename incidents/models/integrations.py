from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from incidents.models.plan import Service


def new_integration_key() -> str:
    # 32 hex characters, the shape of a PagerDuty integration key, so clients that check it accept ours.
    return secrets.token_hex(16)


class Integration(models.Model):
    """Where a monitoring tool sends alerts for one service, and the secret key it sends them with."""

    class Kind(models.TextChoices):
        PAGERDUTY = "pagerduty", "PagerDuty Events API v2"
        ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
        GRAFANA = "grafana", "Grafana alerting"
        GENERIC = "generic", "Generic JSON"

    name = models.CharField(max_length=100)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="integrations")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    key = models.CharField(max_length=64, unique=True, default=new_integration_key, editable=False)
    rate_limit_per_minute = models.PositiveIntegerField(
        default=120,
        validators=[MinValueValidator(1)],
        help_text="Events accepted per minute with this key; more get HTTP 429 (PagerDuty's own limit is 120).",
    )
    auto_resolve = models.BooleanField(
        default=True,
        help_text="Resolve the incident when the source reports every alert resolved (Alertmanager, Grafana).",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    key_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["service__name", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(rate_limit_per_minute__gte=1), name="rate_limit_positive")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def url(self) -> str:
        if self.kind == self.Kind.PAGERDUTY:
            return settings.SITE_URL + reverse("ingest:pagerduty-enqueue")
        return settings.SITE_URL + reverse("ingest:webhook", args=[self.key])


class IngestionWindow(models.Model):
    """Events counted per integration per minute, for the rate limit shared by every web process."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="+")
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "window_start"], name="one_window_per_minute")]

    def __str__(self) -> str:
        return f"{self.integration_id} @ {self.window_start:%H:%M}: {self.count}"


class ChangeEvent(models.Model):
    """A deploy or configuration change reported by a tool: the "what changed?" beside an incident."""

    integration = models.ForeignKey(Integration, null=True, on_delete=models.SET_NULL, related_name="change_events")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="change_events")
    summary = models.CharField(max_length=1024)
    source = models.CharField(max_length=255, blank=True)
    timestamp = models.DateTimeField(db_index=True)
    custom_details = models.JSONField(default=dict, blank=True)
    links = models.JSONField(default=list, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-timestamp"]
        indexes = [models.Index(fields=["service", "timestamp"], name="change_event_service_time")]

    def __str__(self) -> str:
        return self.summary
