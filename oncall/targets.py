"""Who an escalation step reaches at a given instant."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User

from oncall.models import EscalationPolicy, Schedule, Team
from oncall.rotation import on_call_at
from oncall.selectors import overrides_between, schedule_spec, schedules_with_rotations


def policy_snapshot(policy: EscalationPolicy) -> dict[str, Any]:
    """The policy as plain data, so a running escalation is not changed by later edits."""
    steps = policy.steps.order_by("position", "pk").prefetch_related("users", "schedules", "teams", "team_managers")
    return {
        "policy_id": policy.pk,
        "name": policy.name,
        "repeat_count": policy.repeat_count,
        "steps": [
            {
                "delay": step.delay.total_seconds() if step.delay else None,
                "mode": step.mode,
                "users": [user.pk for user in step.users.all()],
                "schedules": [schedule.pk for schedule in step.schedules.all()],
                "teams": [team.pk for team in step.teams.all()],
                "team_managers": [team.pk for team in step.team_managers.all()],
            }
            for step in steps
        ],
    }


def on_call_user_ids(schedule_ids: Iterable[int], at: datetime) -> dict[int, int | None]:
    schedules = list(schedules_with_rotations(Schedule.objects.filter(pk__in=list(schedule_ids))))
    overrides = overrides_between(schedules, at, at + timedelta(microseconds=1))
    return {
        schedule.pk: on_call_at(schedule_spec(schedule, overrides=overrides[schedule.pk]), at) for schedule in schedules
    }


def step_targets(step: Mapping[str, Any], at: datetime) -> list[tuple[str, int]]:
    """The step's targets in their configured order, each as (how reached, user id); duplicates kept.

    The label says why someone is paged ("on call for Payments primary"), for the timeline.
    """
    targets: list[tuple[str, int]] = [("named in the policy", user_id) for user_id in step.get("users", [])]
    if step.get("schedules"):
        on_call = on_call_user_ids(step["schedules"], at)
        names = dict(Schedule.objects.filter(pk__in=list(on_call)).values_list("pk", "name"))
        for schedule_id in step["schedules"]:
            user_id = on_call.get(schedule_id)
            if user_id is not None:
                targets.append((f"on call for {names[schedule_id]}", user_id))
    if step.get("teams"):
        teams = {team.pk: team for team in Team.objects.with_people().filter(pk__in=step["teams"])}
        for team_id in step["teams"]:
            if team_id in teams:
                targets += [(f"member of {teams[team_id].name}", user.pk) for user in teams[team_id].members.all()]
    if step.get("team_managers"):
        managers = {
            pk: (name, manager_id)
            for pk, name, manager_id in Team.objects.filter(pk__in=step["team_managers"]).values_list(
                "pk", "name", "manager_id"
            )
        }
        for team_id in step["team_managers"]:
            if team_id in managers and managers[team_id][1]:
                targets.append((f"manager of {managers[team_id][0]}", managers[team_id][1]))
    return targets


def distinct_targets(targets: list[tuple[str, int]]) -> list[tuple[str, int]]:
    seen: set[int] = set()
    distinct = []
    for label, user_id in targets:
        if user_id not in seen:
            seen.add(user_id)
            distinct.append((label, user_id))
    return distinct


def active_users(user_ids: Iterable[int]) -> dict[int, User]:
    return {user.pk: user for user in User.objects.filter(pk__in=list(user_ids), is_active=True)}
