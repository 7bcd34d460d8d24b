from __future__ import annotations

import secrets
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


def validate_time_zone(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError(f"{name!r} is not a known time zone (e.g. Europe/Berlin).") from error


def new_calendar_secret() -> str:
    return secrets.token_urlsafe(24)


class Profile(models.Model):
    """What IRP needs to know about a person beyond their account."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="Times are shown to this person in this zone, e.g. Europe/Berlin.",
    )
    phone = models.CharField(max_length=32, blank=True, help_text="In international form, e.g. +44 20 7946 0000.")
    # The secret in the URL of this person's on-call calendar (ICS); rotating it revokes old links.
    calendar_secret = models.CharField(max_length=64, unique=True, default=new_calendar_secret, editable=False)

    def __str__(self) -> str:
        return f"Profile of {self.user}"


class TeamQuerySet(models.QuerySet["Team"]):
    def with_people(self) -> TeamQuerySet:
        return self.select_related("manager").prefetch_related("members")


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_teams",
        help_text="The engineering manager: the last step of an escalation path.",
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="teams")

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
