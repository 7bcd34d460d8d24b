from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from irp_site.decorators import irp_member_required
from oncall.calendars import build_calendar, feed_window
from oncall.models import Profile, Schedule, Team
from oncall.rotation import Shift, coverage_gaps, layer_shifts
from oncall.selectors import schedule_spec, schedules_with_rotations, shifts_between
from oncall.services import profile_for, profile_rotate_calendar_secret

NEXT_HANDOFF_HORIZON = timedelta(days=30)


def _people(shifts: list[Shift]) -> dict[int, User]:
    return User.objects.in_bulk({shift.user_id for shift in shifts})


@irp_member_required
def oncall_now(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    schedules = list(schedules_with_rotations().select_related("team"))
    ahead = shifts_between(schedules, now, now + NEXT_HANDOFF_HORIZON)
    people = _people([shift for shifts in ahead.values() for shift in shifts])
    rows = []
    for schedule in schedules:
        shifts = ahead[schedule.pk]
        current = shifts[0] if shifts and shifts[0].start <= now else None
        upcoming = shifts[1] if current and len(shifts) > 1 else (shifts[0] if shifts and not current else None)
        rows.append(
            {
                "schedule": schedule,
                "current": current,
                "current_person": people.get(current.user_id) if current else None,
                "next": upcoming,
                "next_person": people.get(upcoming.user_id) if upcoming else None,
            }
        )
    return render(request, "oncall/now.html", {"rows": rows, "teams": Team.objects.with_people()})


def _bars(shifts: list[Shift], start: datetime, end: datetime, people: dict[int, User]) -> list[dict[str, object]]:
    span = (end - start).total_seconds()
    return [
        {
            "shift": shift,
            "person": people.get(shift.user_id),
            "left": round((shift.start - start).total_seconds() / span * 100, 3),
            "width": round((shift.end - shift.start).total_seconds() / span * 100, 3),
        }
        for shift in shifts
    ]


@irp_member_required
def schedule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = get_object_or_404(schedules_with_rotations(), pk=pk)
    weeks = 2 if request.GET.get("weeks") != "1" else 1
    zone = timezone.get_current_timezone()
    start = timezone.localtime(timezone.now(), zone).replace(hour=0, minute=0, second=0, microsecond=0)
    start -= timedelta(days=start.weekday())
    end = start + timedelta(weeks=weeks)
    spec = schedule_spec(
        schedule, overrides=schedule.overrides.filter(starts_at__lt=end, ends_at__gt=start).order_by("created_at", "pk")
    )
    final = shifts_between([schedule], start, end)[schedule.pk]
    layers = [(layer, layer_shifts(layer, start, end, spec.time_zone)) for layer in spec.layers]
    people = _people(final + [shift for _, shifts in layers for shift in shifts])
    gap_start = timezone.now()
    gaps = coverage_gaps(
        shifts_between([schedule], gap_start, gap_start + timedelta(days=14))[schedule.pk],
        gap_start,
        gap_start + timedelta(days=14),
    )
    days = [start + timedelta(days=offset) for offset in range(7 * weeks)]
    day_width = round(100 / len(days), 3)
    context = {
        "schedule": schedule,
        "weeks": weeks,
        "days": days,
        "day_columns": [(day, round(index * day_width, 3)) for index, day in enumerate(days)],
        "day_width": day_width,
        "layers": [(layer, _bars(shifts, start, end, people)) for layer, shifts in layers],
        "final": _bars(final, start, end, people),
        "gaps": gaps,
    }
    return render(request, "oncall/schedule.html", context)


@irp_member_required
def my_shifts(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)  # irp_member_required let only signed-in people through
    now = timezone.now()
    schedules = list(schedules_with_rotations())
    ahead = shifts_between(schedules, now, now + timedelta(weeks=4))
    mine = sorted(
        ((schedule, shift) for schedule in schedules for shift in ahead[schedule.pk] if shift.user_id == user.pk),
        key=lambda item: item[1].start,
    )
    return render(request, "oncall/my_shifts.html", {"shifts": mine, "profile": profile_for(user)})


def schedule_calendar(request: HttpRequest, secret: str) -> HttpResponse:
    schedule = schedules_with_rotations(Schedule.objects.filter(calendar_secret=secret)).first()
    if schedule is None:
        raise Http404("No calendar at this address (the link may have been rotated).")
    start, end = feed_window(schedule.calendar_weeks_ahead)
    shifts = shifts_between([schedule], start, end)[schedule.pk]
    body = build_calendar(schedule.name, ((schedule, shift) for shift in shifts), _people(shifts))
    return HttpResponse(body, content_type="text/calendar; charset=utf-8")


def person_calendar(request: HttpRequest, secret: str) -> HttpResponse:
    profile = Profile.objects.select_related("user").filter(calendar_secret=secret).first()
    if profile is None:
        raise Http404("No calendar at this address (the link may have been rotated).")
    schedules = list(schedules_with_rotations())
    weeks = max((schedule.calendar_weeks_ahead for schedule in schedules), default=12)
    start, end = feed_window(weeks)
    shifts = shifts_between(schedules, start, end)
    entries = [
        (schedule, shift) for schedule in schedules for shift in shifts[schedule.pk] if shift.user_id == profile.user_id
    ]
    body = build_calendar(
        f"On call: {profile.user.get_full_name() or profile.user.get_username()}",
        entries,
        {profile.user_id: profile.user},
    )
    return HttpResponse(body, content_type="text/calendar; charset=utf-8")


@irp_member_required
@require_POST
def rotate_my_calendar(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    profile_rotate_calendar_secret(user)
    messages.success(request, "Your calendar link is new; the old one no longer works.")
    return redirect("oncall:mine")
