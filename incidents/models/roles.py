"""Who holds which incident role (Incident Commander, Technical Lead…) on an incident, and since when."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

# The one role the plan lets several people hold at once on an incident.
SUBJECT_MATTER_EXPERT = "subject-matter-expert"


class IncidentRoleQuerySet(models.QuerySet["IncidentRole"]):
    def current(self) -> IncidentRoleQuerySet:
        return self.filter(ended_at__isnull=True)


class IncidentRole(models.Model):
    """One person holding one role on one incident; ended_at set when they hand it over or leave it."""

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="role_assignments")
    role = models.ForeignKey("incidents.Role", on_delete=models.PROTECT, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="incident_roles")
    # Copied from role.key so that the database can enforce "one holder, except SMEs" below.
    role_key = models.SlugField(max_length=64, editable=False)
    assigned_at = models.DateTimeField(default=timezone.now)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True, help_text="Empty while the person holds the role.")

    objects = IncidentRoleQuerySet.as_manager()

    class Meta:
        ordering = ["assigned_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "role"],
                condition=Q(ended_at__isnull=True) & ~Q(role_key=SUBJECT_MATTER_EXPERT),
                name="one_current_holder_per_incident_role",
            ),
            models.UniqueConstraint(
                fields=["incident", "role", "user"],
                condition=Q(ended_at__isnull=True),
                name="one_current_assignment_per_person_and_role",
            ),
        ]
        indexes = [models.Index(fields=["incident", "ended_at"], name="incident_role_current")]

    def __str__(self) -> str:
        return f"{self.role.name} on #{self.incident_id}: {self.user}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.role_key = self.role.key
        super().save(*args, **kwargs)
