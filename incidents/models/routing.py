from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.conditions import ConditionError, validate_conditions, validate_matchers
from incidents.models.integrations import Integration
from incidents.models.plan import Service, SeverityLevel


class RoutingRule(models.Model):
    """Objective triage: when an alert matches the conditions, set its service, severity, labels, or mute it.

    Rules are tried in `position` order; the first that matches decides. An alert no rule matches
    takes the default route: its integration's service, and the severity its own severity maps to.
    """

    class Match(models.TextChoices):
        ALL = "all", "All conditions"
        ANY = "any", "Any condition"

    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0, help_text="Lower positions are tried first.")
    enabled = models.BooleanField(default=True)
    integration = models.ForeignKey(
        Integration,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="routing_rules",
        help_text="Only for alerts from this integration. Empty: a global rule, for every integration.",
    )
    match = models.CharField(max_length=8, choices=Match.choices, default=Match.ALL)
    conditions = models.JSONField(
        default=list,
        blank=True,
        help_text=(
            'A list of {"field": "labels.team", "op": "equals", "value": "payments"}. Fields: summary, source, '
            "severity, component, group, class, dedup_key, labels.NAME, details.PATH. Operators: equals, "
            "not_equals, regex, one_of, exists, not_exists. No conditions: matches every alert."
        ),
    )
    set_service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.CASCADE, related_name="+", help_text="Route to this service."
    )
    set_severity = models.ForeignKey(
        SeverityLevel, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text="Use this severity."
    )
    add_labels = models.JSONField(default=dict, blank=True, help_text='Labels to add, e.g. {"team": "payments"}.')
    suppress = models.BooleanField(default=False, help_text="Record the alert but page nobody.")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        try:
            validate_conditions(self.conditions)
        except ConditionError as error:
            errors["conditions"] = str(error)
        if not isinstance(self.add_labels, dict) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in self.add_labels.items()
        ):
            errors["add_labels"] = 'Labels are an object of text values, e.g. {"team": "payments"}.'
        if errors:
            raise ValidationError(errors)


class MaintenanceWindowQuerySet(models.QuerySet["MaintenanceWindow"]):
    def active_at(self, moment: datetime) -> MaintenanceWindowQuerySet:
        return self.filter(starts_at__lte=moment, ends_at__gt=moment)


class MaintenanceWindow(models.Model):
    """Planned work on services: their alerts are recorded but page nobody."""

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    services = models.ManyToManyField(Service, related_name="maintenance_windows")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    public = models.BooleanField(default=True, help_text="Show on the public status page.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = MaintenanceWindowQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="maintenance_ends_after_start")
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The window must end after it starts."})


class SilenceQuerySet(models.QuerySet["Silence"]):
    def active_at(self, moment: datetime) -> SilenceQuerySet:
        return self.filter(starts_at__lte=moment, ends_at__gt=moment)


class Silence(models.Model):
    """Label matchers with an end time, as in Alertmanager: matching alerts are recorded, nobody is paged."""

    comment = models.CharField(max_length=300, help_text="Why, so the next person knows.")
    matchers = models.JSONField(
        help_text=(
            'Every matcher must match: [{"name": "alertname", "op": "=", "value": "DiskFull"}]. '
            "Operators as in Alertmanager: =, !=, =~, !~ (regular expressions match the whole value)."
        )
    )
    service = models.ForeignKey(
        Service,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="silences",
        help_text="Only for this service. Empty: every service.",
    )
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = SilenceQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="silence_ends_after_start")
        ]

    def __str__(self) -> str:
        return self.comment

    def clean(self) -> None:
        errors: dict[str, str] = {}
        try:
            validate_matchers(self.matchers)
        except ConditionError as error:
            errors["matchers"] = str(error)
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = "The silence must end after it starts."
        if errors:
            raise ValidationError(errors)
