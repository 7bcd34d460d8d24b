"""Escalation policies: who is paged, in what order, and how long each step waits for an ack."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from oncall.models.people import Team
from oncall.models.schedules import Schedule


class EscalationPolicy(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="escalation_policies")
    repeat_count = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(9)],
        help_text="If nobody acknowledges after the last step, run the whole policy again this many times (0–9).",
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "escalation policies"
        constraints = [models.CheckConstraint(condition=Q(repeat_count__lte=9), name="policy_repeat_count_at_most_9")]

    def __str__(self) -> str:
        return self.name


class EscalationStep(models.Model):
    class Mode(models.TextChoices):
        ALL = "all", "Notify all targets at once"
        ROUND_ROBIN = "round_robin", "Round-robin: one target each time the step fires"

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(default=0)
    delay = models.DurationField(
        null=True,
        blank=True,
        validators=[MinValueValidator(timedelta(seconds=1))],
        help_text="How long to wait for an acknowledgement before the next step. "
        "Empty: the incident severity's acknowledgement window.",
    )
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.ALL)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="escalation_steps")
    schedules = models.ManyToManyField(
        Schedule, blank=True, related_name="escalation_steps", help_text="Whoever is on call when the step fires."
    )
    teams = models.ManyToManyField(
        Team, blank=True, related_name="escalation_steps", help_text="Every member of these teams."
    )
    team_managers = models.ManyToManyField(
        Team, blank=True, related_name="escalation_steps_as_manager", help_text="The manager of each of these teams."
    )

    class Meta:
        ordering = ["policy", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(delay__isnull=True) | Q(delay__gte=timedelta(seconds=1)), name="step_delay_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.policy} — step {self.number}"

    @property
    def number(self) -> int:
        """1-based place in the policy, whatever the stored positions are."""
        return [step.pk for step in self.policy.steps.all()].index(self.pk) + 1 if self.pk else self.position + 1
