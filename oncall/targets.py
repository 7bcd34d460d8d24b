"""Who an escalation step reaches at a given instant."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Prefetch, QuerySet, prefetch_related_objects

from oncall.models import EscalationPolicy, EscalationStep, Schedule, Team
from oncall.rotation import on_call_at
from oncall.selectors import overrides_between, schedule_spec, schedules_with_rotations


def steps_with_targets() -> QuerySet[EscalationStep]:
    # An explicit order: the model's default sorts by the policy's name, joining its table for nothing.
    return EscalationStep.objects.order_by("position", "pk").prefetch_related(
        "users", "schedules", "teams", "team_managers"
    )


def policy_snapshots(policies: Iterable[EscalationPolicy]) -> list[dict[str, Any]]:
    """The policies as plain data, so a running escalation is not changed by later edits.

    Five queries for any number of policies (none for those whose steps are prefetched already).
    """
    policies = list(policies)
    prefetch_related_objects(policies, Prefetch("steps", queryset=steps_with_targets()))
    return [
        {
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
                for step in policy.steps.all()
            ],
        }
        for policy in policies
    ]


def policy_snapshot(policy: EscalationPolicy) -> dict[str, Any]:
    return policy_snapshots([policy])[0]


def schedules_on_call(schedule_ids: Iterable[int], at: datetime) -> dict[int, tuple[str, int | None]]:
    """{schedule id: (schedule name, who is on call at `at` or None)}."""
    schedules = list(schedules_with_rotations(Schedule.objects.filter(pk__in=list(schedule_ids))))
    overrides = overrides_between(schedules, at, at + timedelta(microseconds=1))
    return {
        schedule.pk: (schedule.name, on_call_at(schedule_spec(schedule, overrides=overrides[schedule.pk]), at))
        for schedule in schedules
    }


def step_targets(
    step: Mapping[str, Any], at: datetime, *, on_call: Mapping[int, tuple[str, int | None]] | None = None
) -> list[tuple[str, int]]:
    """The step's targets in their configured order, each as (how reached, user id); duplicates kept.

    The label says why someone is paged ("on call for Payments primary"), for the timeline.
    `on_call` may carry `schedules_on_call` for these schedules already, when looking at many steps.
    """
    targets: list[tuple[str, int]] = [("named in the policy", user_id) for user_id in step.get("users", [])]
    if step.get("schedules"):
        if on_call is None:
            on_call = schedules_on_call(step["schedules"], at)
        for schedule_id in step["schedules"]:
            name, user_id = on_call.get(schedule_id, ("", None))
            if user_id is not None:
                targets.append((f"on call for {name}", user_id))
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


def policies_on_call(at: datetime) -> list[dict[str, Any]]:
    """Per policy and step, whom the step would notify if it fired at `at` (round-robin: one of them)."""
    snapshots = policy_snapshots(EscalationPolicy.objects.order_by("name", "pk"))
    steps = [
        (snapshot["policy_id"], index, step) for snapshot in snapshots for index, step in enumerate(snapshot["steps"])
    ]
    on_call = schedules_on_call({pk for _, _, step in steps for pk in step["schedules"]}, at)
    targets = {
        (policy_id, index): distinct_targets(step_targets(step, at, on_call=on_call))
        for policy_id, index, step in steps
    }
    people = active_users(user_id for found in targets.values() for _, user_id in found)
    return [
        {
            "id": snapshot["policy_id"],
            "name": snapshot["name"],
            "steps": [
                {
                    "number": index + 1,
                    "delay_seconds": int(step["delay"]) if step["delay"] is not None else None,
                    "mode": step["mode"],
                    "on_call": [
                        {
                            "user": user_id,
                            "name": people[user_id].get_full_name() or people[user_id].get_username(),
                            "reason": reason,
                        }
                        for reason, user_id in targets[(snapshot["policy_id"], index)]
                        if user_id in people
                    ],
                }
                for index, step in enumerate(snapshot["steps"])
            ],
        }
        for snapshot in snapshots
    ]
