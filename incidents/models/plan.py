from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from oncall.models import Team

POSITIVE_DURATION = MinValueValidator(timedelta(seconds=1), message="Must be a positive duration.")


class ResponsePlanQuerySet(models.QuerySet["ResponsePlan"]):
    def current(self) -> ResponsePlan:
        # The plan is one row, created by a migration; get_or_create keeps a wiped table usable.
        plan, _ = self.get_or_create(pk=ResponsePlan.SINGLETON_ID)
        return plan


class ResponsePlan(models.Model):
    """The organisation's incident response plan: the parts that are prose rather than settings."""

    SINGLETON_ID = 1

    organisation_name = models.CharField(max_length=200, default="Your organisation")
    purpose_and_scope = models.TextField(
        blank=True,
        help_text="What the plan governs and who it applies to. The services in scope are listed with each service.",
    )
    incident_definition = models.TextField(
        blank=True,
        help_text="What counts as an incident, so that everyone classifies the same way.",
    )
    exclusions = models.TextField(
        blank=True, help_text="What does not count as an incident (planned maintenance, self-resolving blips…)."
    )
    post_incident_review = models.TextField(
        blank=True, help_text="How incidents are reviewed after resolution and how action items are tracked."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The named person who keeps the plan current.",
    )
    review_interval_days = models.PositiveSmallIntegerField(
        default=90,
        validators=[MinValueValidator(1)],
        help_text="Review the plan at least this often (the guide says quarterly) and after every significant change.",
    )
    last_reviewed_on = models.DateField(null=True, blank=True)

    objects = ResponsePlanQuerySet.as_manager()

    class Meta:
        verbose_name = "response plan"
        verbose_name_plural = "response plan"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="response_plan_is_a_singleton"),
            models.CheckConstraint(condition=Q(review_interval_days__gte=1), name="review_interval_positive"),
        ]

    def __str__(self) -> str:
        return f"Incident response plan — {self.organisation_name}"

    @property
    def next_review_on(self) -> date | None:
        if self.last_reviewed_on is None:
            return None
        return self.last_reviewed_on + timedelta(days=self.review_interval_days)

    def review_overdue(self, today: date) -> bool:
        return self.next_review_on is None or self.next_review_on < today


class SeverityLevelQuerySet(models.QuerySet["SeverityLevel"]):
    def paging(self) -> SeverityLevelQuerySet:
        return self.filter(pages_responders=True)


class SeverityLevel(models.Model):
    """One tier of the severity classification (P1…P4) and the response it demands."""

    class ResolutionTarget(models.TextChoices):
        DURATION = "duration", "Within a set time"
        NEXT_BUSINESS_DAY = "next_business_day", "Next business day"
        SCHEDULED_SPRINT = "scheduled_sprint", "Scheduled sprint"

    name = models.CharField(max_length=16, unique=True, help_text="Short name used everywhere, e.g. P1.")
    title = models.CharField(max_length=64, help_text="e.g. Critical.")
    plan = models.ForeignKey(
        ResponsePlan, on_delete=models.CASCADE, default=ResponsePlan.SINGLETON_ID, related_name="severity_levels"
    )
    rank = models.PositiveSmallIntegerField(
        default=1, help_text="Order of severity: 1 is the most severe. Lists and escalations follow this order."
    )
    impact_criteria = models.TextField(
        help_text="Objective impact criteria, so that severity needs no judgement call under pressure."
    )
    ack_window = models.DurationField(
        null=True,
        blank=True,
        validators=[POSITIVE_DURATION],
        help_text="Acknowledgement SLA: how long the person paged has before escalation. Empty: no ack SLA.",
    )
    resolution_target_kind = models.CharField(
        max_length=32, choices=ResolutionTarget.choices, default=ResolutionTarget.DURATION
    )
    resolution_target = models.DurationField(
        null=True,
        blank=True,
        validators=[POSITIVE_DURATION],
        help_text="Time to resolve, when the target is 'within a set time'.",
    )
    # The communication cadence is not here: it is the severity's CommsRules (incidents/models/comms.py).
    pages_responders = models.BooleanField(
        default=True, help_text="Whether an incident of this severity pages anyone at all."
    )
    urgency = models.CharField(
        max_length=8,
        choices=[("high", "High"), ("low", "Low")],
        default="high",
        help_text="Which of each person's notification rules apply: high urgency may wake people up.",
    )
    escalation_depth = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Escalate at most this many steps up a policy (e.g. 2: primary and secondary, "
        "never the manager). Empty: the whole policy.",
    )
    postmortem_required = models.BooleanField(default=False)
    postmortem_due_business_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="The postmortem is due this many business days after resolution.",
    )
    review_practice = models.CharField(
        max_length=300, blank=True, help_text="How incidents of this severity are reviewed, in the plan's words."
    )

    objects = SeverityLevelQuerySet.as_manager()

    class Meta:
        ordering = ["rank", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ack_window__isnull=True) | Q(ack_window__gt=timedelta(0)), name="ack_window_positive"
            ),
            models.CheckConstraint(
                condition=(Q(resolution_target_kind="duration") & Q(resolution_target__gt=timedelta(0)))
                | (~Q(resolution_target_kind="duration") & Q(resolution_target__isnull=True)),
                name="resolution_target_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(postmortem_required=False, postmortem_due_business_days__isnull=True)
                | Q(postmortem_required=True, postmortem_due_business_days__gte=1),
                name="postmortem_due_matches_required",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} — {self.title}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.resolution_target_kind == self.ResolutionTarget.DURATION and not self.resolution_target:
            errors["resolution_target"] = "Give the time to resolve, or choose another kind of target."
        if self.resolution_target_kind != self.ResolutionTarget.DURATION and self.resolution_target:
            errors["resolution_target"] = f"Leave empty: the target is '{self.get_resolution_target_kind_display()}'."
        if self.postmortem_required and not self.postmortem_due_business_days:
            errors["postmortem_due_business_days"] = "Say within how many business days the postmortem is due."
        if not self.postmortem_required and self.postmortem_due_business_days:
            errors["postmortem_due_business_days"] = "Leave empty when no postmortem is required."
        if self.pages_responders and self.ack_window is None:
            errors["ack_window"] = "A severity that pages people needs an acknowledgement window."
        if errors:
            raise ValidationError(errors)


class RoleQuerySet(models.QuerySet["Role"]):
    def required_at(self, severity: SeverityLevel) -> RoleQuerySet:
        return self.filter(required_for=severity)


class Role(models.Model):
    """An incident role (Incident Commander, Technical Lead…) and the duties the plan gives it."""

    plan = models.ForeignKey(
        ResponsePlan, on_delete=models.CASCADE, default=ResponsePlan.SINGLETON_ID, related_name="roles"
    )
    name = models.CharField(max_length=64, unique=True)
    key = models.SlugField(max_length=64, unique=True, help_text="Stable identifier used by the API and templates.")
    summary = models.CharField(max_length=200, help_text="One line: what this role owns.")
    responsibilities = models.TextField(help_text="The role's duties, in the plan's words.")
    required_for = models.ManyToManyField(
        SeverityLevel,
        blank=True,
        related_name="required_roles",
        help_text="Severities at which this role must be filled on every incident.",
    )
    position = models.PositiveSmallIntegerField(default=0)

    objects = RoleQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class ServiceQuerySet(models.QuerySet["Service"]):
    def in_scope(self) -> ServiceQuerySet:
        return self.filter(in_scope=True)


class Service(models.Model):
    class Criticality(models.TextChoices):
        CRITICAL = "critical", "Critical — revenue or safety depends on it"
        HIGH = "high", "High — core feature"
        MEDIUM = "medium", "Medium — important, with a workaround"
        LOW = "low", "Low — internal or cosmetic"

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    owner_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="services")
    criticality = models.CharField(max_length=16, choices=Criticality.choices, default=Criticality.MEDIUM)
    in_scope = models.BooleanField(default=True, help_text="Whether the incident response plan governs this service.")
    flap_grace_period = models.DurationField(
        default=timedelta(0),
        validators=[MinValueValidator(timedelta(0), message="Cannot be negative.")],
        help_text=(
            "Wait this long before paging for a new incident; an alert that resolves itself within it never "
            "pages anyone (self-resolving blips)."
        ),
    )
    escalation_policy = models.ForeignKey(
        "oncall.EscalationPolicy",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="services",
        help_text="Who is paged for this service's incidents, and in what order.",
    )

    objects = ServiceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(flap_grace_period__gte=timedelta(0)), name="flap_grace_not_negative")
        ]

    def __str__(self) -> str:
        return self.name
