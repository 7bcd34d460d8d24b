"""Runbooks: what to do, attached to services and alert conditions."""

from __future__ import annotations

import json
from datetime import date, timedelta
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.safestring import SafeString

from incidents.conditions import ConditionError, validate_conditions
from incidents.markdown import render_markdown
from incidents.models.plan import Service

# The plan review cadence for procedures: a runbook nobody has looked at for this long is suspect.
STALE_AFTER = timedelta(days=180)


class Runbook(models.Model):
    """A procedure for a failure mode, shown on the incidents it applies to and linked in their pages.

    It applies to an incident of one of its services, or to one with an alert its conditions match.
    """

    class Match(models.TextChoices):
        ALL = "all", "All conditions"
        ANY = "any", "Any condition"

    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, help_text="The procedure, in Markdown. Raw HTML is shown as text.")
    external_url = models.URLField(
        max_length=1000, blank=True, help_text="Where the full runbook lives (wiki, repository), if elsewhere."
    )
    services = models.ManyToManyField(
        Service, blank=True, related_name="runbooks", help_text="Show on every incident of these services."
    )
    match = models.CharField(max_length=8, choices=Match.choices, default=Match.ALL)
    conditions = models.JSONField(
        default=list,
        blank=True,
        help_text=(
            'Show on incidents with an alert that matches, in the routing rules\' language: a list of {"field": '
            '"labels.alertname", "op": "equals", "value": "DiskFull"}. Empty: only by service.'
        ),
    )
    last_reviewed_on = models.DateField(
        null=True, blank=True, help_text="A runbook not reviewed for 180 days is marked stale."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        errors: dict[str, str] = {}
        try:
            validate_conditions(self.conditions)
            # PostgreSQL's jsonb cannot hold a NUL character: refuse it here rather than fail there.
            if "\\u0000" in json.dumps(self.conditions):
                raise ConditionError("Conditions cannot contain NUL characters.")
        except ConditionError as error:
            errors["conditions"] = str(error)
        if self.external_url and urlsplit(self.external_url).scheme.lower() not in ("http", "https"):
            errors["external_url"] = "Use an http:// or https:// address."
        if errors:
            raise ValidationError(errors)

    def stale_on(self, today: date) -> bool:
        return self.last_reviewed_on is None or today - self.last_reviewed_on > STALE_AFTER

    @property
    def is_stale(self) -> bool:
        return self.stale_on(timezone.localdate())

    @property
    def review_due_on(self) -> date | None:
        return self.last_reviewed_on + STALE_AFTER if self.last_reviewed_on else None

    @property
    def body_html(self) -> SafeString:
        return render_markdown(self.body)
