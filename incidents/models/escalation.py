"""Escalation runs: one incident's way through its policy, as due work for the engine."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.models.incident import Incident


class EscalationRun(models.Model):
    """A snapshot of the policy taken when paging started, and where the incident is in it.

    `next_action_at` is the engine's due time: the step at `step_index` of round `round` fires
    then. Acknowledging or resolving clears it; an exhausted policy clears it too.
    """

    class End(models.TextChoices):
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"
        EXHAUSTED = "exhausted", "Nobody acknowledged after every step"
        REPLACED = "replaced", "Replaced by a reassignment"
        NO_POLICY = "no_policy", "No escalation policy"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="escalation_runs")
    policy = models.ForeignKey(
        "oncall.EscalationPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    # {"name", "repeat_count", "steps": [{"delay": seconds|None, "mode", "users", "schedules",
    #  "teams", "team_managers"}]}: later edits to the policy do not change a running escalation.
    snapshot = models.JSONField(default=dict)
    ack_window = models.DurationField(help_text="The severity's window, for steps without their own delay.")
    depth = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Steps used at most (severity cap).")
    urgency = models.CharField(max_length=8, default="high")
    reason = models.CharField(max_length=200, blank=True)
    step_index = models.PositiveSmallIntegerField(default=0)
    round = models.PositiveSmallIntegerField(default=0)
    # Per step, how many times a round-robin step has fired: who is next in line.
    round_robin = models.JSONField(default=dict, blank=True)
    next_action_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=16, choices=End.choices, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_action_at"], condition=Q(next_action_at__isnull=False), name="escalation_run_due"
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["incident"], condition=Q(ended_at__isnull=True), name="one_active_run_per_incident"
            )
        ]

    def __str__(self) -> str:
        return f"Escalation of incident #{self.incident_id} ({self.snapshot.get('name', 'no policy')})"

    @property
    def steps(self) -> list[dict]:
        steps = list(self.snapshot.get("steps", []))
        return steps[: self.depth] if self.depth else steps

    @property
    def past_last_step(self) -> bool:
        """Every step of every repeat has fired: nothing is left but to wait out the last window."""
        return self.round > int(self.snapshot.get("repeat_count", 0))

    def window_of(self, step: dict) -> timedelta:
        return timedelta(seconds=step["delay"]) if step.get("delay") else self.ack_window


class UsedActionLink(models.Model):
    """A one-click link from a notification that has been used: links work once."""

    nonce = models.CharField(max_length=64, unique=True)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="used_action_links")
    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=16)
    channel = models.CharField(max_length=16, blank=True)
    used_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.action} link for #{self.incident_id} used {self.used_at:%Y-%m-%d %H:%M}"
