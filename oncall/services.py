"""Every write about schedules: layers with their people and restrictions, overrides, swaps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from oncall.models import Layer, LayerMember, LayerRestriction, Override, Profile, Schedule, ShiftSwap
from oncall.models.people import new_calendar_secret


@dataclass(frozen=True)
class RestrictionInput:
    start_day: int
    start_time: time
    end_day: int
    end_time: time


@transaction.atomic
def layer_save(
    layer: Layer, *, participants: list[User] | None = None, restrictions: list[RestrictionInput] | None = None
) -> Layer:
    """Save a layer and, when given, replace its participants (in order) and restrictions."""
    layer.full_clean()
    layer.save()
    if participants is not None:
        if not participants:
            raise ValidationError({"participants": "A rotation needs at least one participant."})
        layer.members.all().delete()
        LayerMember.objects.bulk_create(
            LayerMember(layer=layer, user=user, position=position) for position, user in enumerate(participants)
        )
    if restrictions is not None:
        layer.restrictions.all().delete()
        for item in restrictions:
            restriction = LayerRestriction(layer=layer, **item.__dict__)
            restriction.full_clean()
            restriction.save()
    return layer


def override_create(
    schedule: Schedule, *, user: User, starts_at: datetime, ends_at: datetime, created_by: User | None, reason: str = ""
) -> Override:
    override = Override(
        schedule=schedule, user=user, starts_at=starts_at, ends_at=ends_at, created_by=created_by, reason=reason
    )
    override.full_clean()
    override.save()
    return override


def swap_request(
    schedule: Schedule,
    *,
    requester: User,
    starts_at: datetime,
    ends_at: datetime,
    taker: User | None = None,
    note: str = "",
) -> ShiftSwap:
    swap = ShiftSwap(
        schedule=schedule, requester=requester, taker=taker, starts_at=starts_at, ends_at=ends_at, note=note
    )
    swap.full_clean()
    swap.save()
    return swap


class SwapError(ValueError):
    pass


@transaction.atomic
def swap_accept(swap: ShiftSwap, *, taker: User) -> ShiftSwap:
    """A colleague takes the shift; it becomes an override now, or once the schedule's owner approves."""
    swap = ShiftSwap.objects.select_for_update().get(pk=swap.pk)
    if swap.status != ShiftSwap.Status.REQUESTED:
        raise SwapError(f"This swap is {swap.get_status_display().lower()}; it can no longer be accepted.")
    if swap.taker_id is not None and swap.taker_id != taker.pk:
        raise SwapError("This swap was offered to someone else.")
    if taker.pk == swap.requester_id:
        raise SwapError("You cannot take your own shift.")
    swap.taker = taker
    if swap.schedule.swaps_need_approval:
        swap.status = ShiftSwap.Status.ACCEPTED
        swap.save(update_fields=["taker", "status"])
        return swap
    return _complete(swap, approved_by=None)


@transaction.atomic
def swap_approve(swap: ShiftSwap, *, approver: User) -> ShiftSwap:
    swap = ShiftSwap.objects.select_for_update().select_related("schedule").get(pk=swap.pk)
    if swap.status != ShiftSwap.Status.ACCEPTED:
        raise SwapError("Only an accepted swap waits for approval.")
    if swap.schedule.owner_id not in (None, approver.pk) and not approver.is_superuser:
        raise SwapError("Only the schedule's owner approves its swaps.")
    return _complete(swap, approved_by=approver)


def _complete(swap: ShiftSwap, *, approved_by: User | None) -> ShiftSwap:
    assert swap.taker is not None
    swap.override = override_create(
        swap.schedule,
        user=swap.taker,
        starts_at=swap.starts_at,
        ends_at=swap.ends_at,
        created_by=approved_by or swap.taker,
        reason=f"Shift swap: {swap.taker} covers for {swap.requester}" + (f" ({swap.note})" if swap.note else ""),
    )
    swap.status = ShiftSwap.Status.DONE
    swap.save(update_fields=["taker", "status", "override"])
    return swap


def swap_decline(swap: ShiftSwap, *, by: User) -> ShiftSwap:
    updated = ShiftSwap.objects.filter(
        pk=swap.pk, status__in=[ShiftSwap.Status.REQUESTED, ShiftSwap.Status.ACCEPTED]
    ).update(status=ShiftSwap.Status.CANCELLED if by.pk == swap.requester_id else ShiftSwap.Status.DECLINED)
    if not updated:
        raise SwapError("This swap is already settled.")
    swap.refresh_from_db()
    return swap


def schedule_rotate_calendar_secret(schedule: Schedule) -> Schedule:
    schedule.calendar_secret = new_calendar_secret()
    schedule.save(update_fields=["calendar_secret"])
    return schedule


def profile_for(user: User) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


def profile_rotate_calendar_secret(user: User) -> Profile:
    profile = profile_for(user)
    profile.calendar_secret = new_calendar_secret()
    profile.save(update_fields=["calendar_secret"])
    return profile


def as_restrictions(items: list[dict[str, Any]]) -> list[RestrictionInput]:
    return [RestrictionInput(**item) for item in items]
