"""Reads about on-call: schedules turned into the pure specs `oncall.rotation` works on."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, QuerySet

from oncall.models import Layer, LayerMember, LayerRestriction, Override, Schedule
from oncall.rotation import LayerSpec, OverrideSpec, Restriction, ScheduleSpec, Shift, final_schedule


def schedules_with_rotations(queryset: QuerySet[Schedule] | None = None) -> QuerySet[Schedule]:
    """Everything a final schedule needs, in a fixed number of queries whatever the size."""
    return (queryset if queryset is not None else Schedule.objects.all()).prefetch_related(
        Prefetch(
            "layers",
            queryset=Layer.objects.order_by("level", "pk").prefetch_related(
                # Explicit orderings: the models' defaults sort via the layer and schedule tables,
                # which would join them into these queries for nothing.
                Prefetch("members", queryset=LayerMember.objects.order_by("position", "pk")),
                Prefetch("restrictions", queryset=LayerRestriction.objects.order_by("start_day", "start_time")),
            ),
        ),
    )


def schedule_spec(schedule: Schedule, *, overrides: Iterable[Override] | None = None) -> ScheduleSpec:
    layers = tuple(
        LayerSpec(
            level=layer.level,
            unit=layer.shift_unit,
            length=layer.shift_length,
            rotation_start=layer.rotation_start,
            ends_at=layer.ends_at,
            participants=tuple(member.user_id for member in layer.members.all()),
            restrictions=tuple(
                Restriction(item.start_day, item.start_time, item.end_day, item.end_time)
                for item in layer.restrictions.all()
            ),
            name=layer.name,
        )
        for layer in schedule.layers.all()
    )
    if overrides is None:
        overrides = schedule.overrides.order_by("created_at", "pk")
    override_specs = tuple(OverrideSpec(item.user_id, item.starts_at, item.ends_at) for item in overrides)
    return ScheduleSpec(time_zone=ZoneInfo(schedule.time_zone), layers=layers, overrides=override_specs)


def overrides_between(schedules: Iterable[Schedule], start: datetime, end: datetime) -> dict[int, list[Override]]:
    found: dict[int, list[Override]] = {schedule.pk: [] for schedule in schedules}
    for override in Override.objects.filter(schedule__in=list(found), starts_at__lt=end, ends_at__gt=start).order_by(
        "created_at", "pk"
    ):
        found[override.schedule_id].append(override)
    return found


def shifts_between(schedules: list[Schedule], start: datetime, end: datetime) -> dict[int, list[Shift]]:
    """Final shifts per schedule id; schedules should come from `schedules_with_rotations`."""
    overrides = overrides_between(schedules, start, end)
    return {
        schedule.pk: final_schedule(schedule_spec(schedule, overrides=overrides[schedule.pk]), start, end)
        for schedule in schedules
    }
