from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from oncall.models.people import Team, new_calendar_secret, validate_time_zone


class Schedule(models.Model):
    """Who is on call when: layers of rotations, overrides on top, in one time zone."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="schedules")
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="Handoff times and restrictions are read in this zone, e.g. Europe/Berlin.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_schedules",
        help_text="Approves shift swaps when approval is required.",
    )
    swaps_need_approval = models.BooleanField(default=False)
    calendar_secret = models.CharField(max_length=64, unique=True, default=new_calendar_secret, editable=False)
    calendar_weeks_ahead = models.PositiveSmallIntegerField(
        default=12, validators=[MinValueValidator(1), MaxValueValidator(104)], help_text="Weeks the ICS feed covers."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Layer(models.Model):
    """One rotation: participants take turns for a shift length, handing off at a set time.

    Shifts measured in days or weeks hand off at the same wall-clock time every time, daylight
    saving or not (a 1-day shift may then last 23 or 25 hours). Shifts measured in hours last
    exactly that many hours, so their handoff moves on the wall clock when the clocks change.
    """

    class Unit(models.TextChoices):
        HOURS = "hours", "Hours"
        DAYS = "days", "Days"
        WEEKS = "weeks", "Weeks"

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="layers")
    name = models.CharField(max_length=100)
    level = models.PositiveSmallIntegerField(
        default=1, help_text="Where two layers both have someone on call, the higher level wins."
    )
    shift_length = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(10_000)])
    shift_unit = models.CharField(max_length=8, choices=Unit.choices, default=Unit.WEEKS)
    rotation_start = models.DateTimeField(
        help_text="The first handoff: its date and wall-clock time (in the schedule's zone) fix every later one."
    )
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Stop rotating at this time (empty: never).")

    class Meta:
        ordering = ["schedule", "level", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(shift_length__gte=1), name="shift_length_positive"),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("rotation_start")), name="layer_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schedule}: {self.name}"

    def clean(self) -> None:
        if self.ends_at and self.rotation_start and self.ends_at <= self.rotation_start:
            raise ValidationError({"ends_at": "The layer must end after its rotation starts."})


class LayerMember(models.Model):
    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="layer_memberships")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["layer", "position", "pk"]

    def __str__(self) -> str:
        return f"{self.position}: {self.user}"


WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


class LayerRestriction(models.Model):
    """A weekly window (in the schedule's zone) inside which the layer is on call; outside, it is not.

    A layer without restrictions is on call around the clock. "Weekdays 09:00–17:00" is five
    windows; "nights" is a window per night that ends on the next day.
    """

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="restrictions")
    start_day = models.PositiveSmallIntegerField(choices=WEEKDAYS)
    start_time = models.TimeField()
    end_day = models.PositiveSmallIntegerField(choices=WEEKDAYS)
    end_time = models.TimeField()

    class Meta:
        ordering = ["layer", "start_day", "start_time"]

    def __str__(self) -> str:
        start = f"{self.get_start_day_display()} {self.start_time:%H:%M}"
        return f"{start} – {self.get_end_day_display()} {self.end_time:%H:%M}"

    def clean(self) -> None:
        if (self.start_day, self.start_time) == (self.end_day, self.end_time):
            raise ValidationError({"end_time": "A restriction must not start and end at the same moment."})


class Override(models.Model):
    """For an interval, this person is on call in place of whoever the layers say (or to fill a gap)."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="overrides")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["schedule", "starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="override_ends_after_start")
        ]
        indexes = [models.Index(fields=["schedule", "ends_at"], name="override_schedule_end")]

    def __str__(self) -> str:
        return f"{self.user} on {self.schedule} {self.starts_at:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The override must end after it starts."})
        if self.starts_at and self.ends_at and self.ends_at - self.starts_at > timedelta(days=366):
            raise ValidationError({"ends_at": "An override may last a year at most; change the layers instead."})


class ShiftSwap(models.Model):
    """A person asks a colleague to take part of their on-call time; accepted, it becomes an override."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        ACCEPTED = "accepted", "Accepted, waiting for approval"
        DONE = "done", "Done"
        DECLINED = "declined", "Declined"
        CANCELLED = "cancelled", "Cancelled"

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="swaps")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="swaps_requested")
    taker = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="swaps_taken"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    override = models.OneToOneField(Override, null=True, blank=True, on_delete=models.SET_NULL, related_name="swap")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="swap_ends_after_start")]

    def __str__(self) -> str:
        return f"{self.requester} → {self.taker or '?'} ({self.get_status_display()})"


class HandoffNoticeQuerySet(models.QuerySet["HandoffNotice"]):
    def due(self, moment: datetime) -> HandoffNoticeQuerySet:
        return self.filter(status=HandoffNotice.Status.PENDING, due_at__lte=moment)


class HandoffNotice(models.Model):
    """Due work: tell a person their shift starts within the hour, or has ended.

    The engine writes these ahead of time; the notifiers deliver them when they fall due.
    """

    class Kind(models.TextChoices):
        STARTING = "starting", "You are on call in 1 hour"
        ENDED = "ended", "Your shift has ended"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="handoff_notices")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="handoff_notices")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The handoff itself: the shift's start (STARTING) or end (ENDED); one notice per handoff.
    handoff_at = models.DateTimeField()
    shift_start = models.DateTimeField()
    shift_end = models.DateTimeField()
    due_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)

    objects = HandoffNoticeQuerySet.as_manager()

    class Meta:
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "user", "kind", "handoff_at"], name="one_notice_per_handoff")
        ]
        indexes = [models.Index(fields=["due_at"], condition=Q(status="pending"), name="handoff_notice_pending")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.user} ({self.schedule})"
