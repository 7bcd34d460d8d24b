"""The communication cadence: rules per severity, stakeholder groups, obligations and posted updates."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, validate_email
from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.durations import format_duration
from incidents.models.incident import Incident
from incidents.models.plan import SeverityLevel


class CommsKind(models.TextChoices):
    INTERNAL_UPDATE = "internal_update", "Internal update"
    MANAGEMENT_BRIEFING = "management_briefing", "Management briefing"
    STATUS_PAGE = "status_page", "Status page update"
    STAKEHOLDER_NOTICE = "stakeholder_notice", "Stakeholder notice"


# Kinds whose updates are e-mailed to a stakeholder group (a briefing only when its rule names one).
GROUP_KINDS = (CommsKind.STAKEHOLDER_NOTICE, CommsKind.MANAGEMENT_BRIEFING)


class StakeholderGroup(models.Model):
    """People outside the response who are told by e-mail, e.g. "Customer success — enterprise"."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True, help_text="Who they are and what they need to hear.")
    emails = models.JSONField(default=list, blank=True, help_text="The addresses notices are sent to.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not isinstance(self.emails, list) or not all(isinstance(item, str) for item in self.emails):
            raise ValidationError({"emails": "A list of e-mail addresses."})
        bad = []
        for address in self.emails:
            try:
                validate_email(address)
            except ValidationError:
                bad.append(address)
        if bad:
            raise ValidationError({"emails": f"Not an e-mail address: {', '.join(bad)}."})


NOT_NEGATIVE = MinValueValidator(timedelta(0), message="Cannot be negative.")
POSITIVE = MinValueValidator(timedelta(seconds=1), message="Must be a positive duration.")


class CommsRule(models.Model):
    """One line of the plan's communication cadence, for one severity: what is due, first when, how often."""

    Kind = CommsKind

    severity = models.ForeignKey(SeverityLevel, on_delete=models.CASCADE, related_name="comms_rules")
    kind = models.CharField(max_length=32, choices=CommsKind.choices)
    stakeholder_group = models.ForeignKey(
        StakeholderGroup,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="comms_rules",
        help_text="Who is e-mailed: required for a stakeholder notice, optional for a management briefing.",
    )
    first_due_after = models.DurationField(
        default=timedelta(0),
        validators=[NOT_NEGATIVE],
        help_text="First due this long after the incident is declared or opened. 0: at declaration.",
    )
    interval = models.DurationField(
        null=True,
        blank=True,
        validators=[POSITIVE],
        help_text="Then again this long after each one is posted, until resolution. Empty: once.",
    )
    grace = models.DurationField(
        default=timedelta(minutes=5),
        validators=[POSITIVE],
        help_text="Overdue by this long: the Incident Commander is told; by twice this: the team's manager.",
    )

    class Meta:
        ordering = ["severity__rank", "first_due_after", "kind", "id"]
        verbose_name = "communication rule"
        constraints = [
            models.CheckConstraint(condition=Q(first_due_after__gte=timedelta(0)), name="comms_first_due_not_negative"),
            models.CheckConstraint(
                condition=Q(interval__isnull=True) | Q(interval__gt=timedelta(0)), name="comms_interval_positive"
            ),
            models.CheckConstraint(condition=Q(grace__gt=timedelta(0)), name="comms_grace_positive"),
            models.CheckConstraint(
                condition=~Q(kind=CommsKind.STAKEHOLDER_NOTICE) | Q(stakeholder_group__isnull=False),
                name="comms_notice_has_group",
            ),
            models.UniqueConstraint(
                fields=["severity", "kind"],
                condition=Q(stakeholder_group__isnull=True),
                name="one_comms_rule_per_severity_and_kind",
            ),
            models.UniqueConstraint(
                fields=["severity", "kind", "stakeholder_group"],
                condition=Q(stakeholder_group__isnull=False),
                name="one_comms_rule_per_severity_kind_and_group",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.severity.name}: {self.describe()}"

    @property
    def label(self) -> str:
        kind = self.get_kind_display()
        return (
            f"{kind} — {self.stakeholder_group.name}" if self.stakeholder_group_id and self.stakeholder_group else kind
        )

    def describe(self) -> str:
        first = "at declaration" if not self.first_due_after else f"at T+{format_duration(self.first_due_after)}"
        then = f", then every {format_duration(self.interval)}" if self.interval else ""
        return f"{self.label} {first}{then}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.kind == CommsKind.STAKEHOLDER_NOTICE and not self.stakeholder_group_id:
            errors["stakeholder_group"] = "A stakeholder notice needs the group it is sent to."
        if self.kind not in GROUP_KINDS and self.stakeholder_group_id:
            errors["stakeholder_group"] = "Only stakeholder notices and management briefings are e-mailed to a group."
        if errors:
            raise ValidationError(errors)


class CommsObligationQuerySet(models.QuerySet["CommsObligation"]):
    def open(self) -> CommsObligationQuerySet:
        return self.filter(fulfilled_at__isnull=True, cancelled_at__isnull=True)

    def due_by(self, moment: datetime) -> CommsObligationQuerySet:
        return self.filter(next_action_at__lte=moment)


class CommsObligation(models.Model):
    """One update the plan says is owed on one incident, due at `due_at`: due work for the engine,
    which reminds and then escalates at `next_action_at` until it is fulfilled."""

    class Stage(models.TextChoices):
        PENDING = "pending", "Not yet due"
        REMINDED = "reminded", "Communications Lead reminded"
        ESCALATED_IC = "escalated_ic", "Incident Commander told"
        ESCALATED_MANAGER = "escalated_manager", "Team manager told"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="comms_obligations")
    rule = models.ForeignKey(CommsRule, on_delete=models.CASCADE, related_name="obligations")
    # Copied from the rule: the severity it was scheduled for (a change of severity reschedules) and
    # the kind (so an update can find what it fulfils without a join).
    severity = models.ForeignKey(SeverityLevel, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=CommsKind.choices)
    due_at = models.DateTimeField()
    stage = models.CharField(max_length=24, choices=Stage.choices, default=Stage.PENDING)
    next_action_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    fulfilled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    update = models.ForeignKey(
        "incidents.IncidentUpdate", null=True, blank=True, on_delete=models.SET_NULL, related_name="fulfilled"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True, help_text="Resolved, or the severity changed.")
    created_at = models.DateTimeField(default=timezone.now)

    objects = CommsObligationQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "rule"],
                condition=Q(fulfilled_at__isnull=True, cancelled_at__isnull=True),
                name="one_open_obligation_per_incident_and_rule",
            )
        ]
        indexes = [
            models.Index(fields=["next_action_at"], condition=Q(next_action_at__isnull=False), name="comms_due_work"),
            models.Index(fields=["incident", "severity"], name="comms_incident_severity"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for #{self.incident_id} due {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.fulfilled_at is None and self.cancelled_at is None


class IncidentUpdate(models.Model):
    """An update someone posted: to the responders, to management, the status page or stakeholders."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    kind = models.CharField(max_length=32, choices=CommsKind.choices)
    text = models.TextField()
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    posted_at = models.DateTimeField(default=timezone.now)
    stakeholder_group = models.ForeignKey(
        StakeholderGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="updates"
    )
    emailed_at = models.DateTimeField(null=True, blank=True, help_text="When the notice left for the group.")

    class Meta:
        ordering = ["posted_at", "id"]
        indexes = [models.Index(fields=["incident", "posted_at"], name="update_incident_posted")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on #{self.incident_id} at {self.posted_at:%Y-%m-%d %H:%M}"
