"""Who could be paged but has no working notification rule.

A person on a rotation or named in an escalation step needs, for each urgency, at least one rule
whose contact method IRP can send through today. Without one they are still paged (on all their
methods at once, see `oncall.deliveries.page_person`), or not at all when they have no such method.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.utils import timezone

from oncall.models import ContactMethod, EscalationPolicy, EscalationStep, Layer, NotificationRule, Schedule, Team

DELIVERABLE_NAMES = "e-mail, Slack or webhook"


@dataclass(frozen=True)
class PagingWarning:
    user_id: int
    name: str
    urgency: str
    message: str


def people_who_can_be_paged(
    *, schedule: Schedule | None = None, policy: EscalationPolicy | None = None
) -> QuerySet[User]:
    """Active people on a current rotation or named in a step (directly, as team member or manager).

    `schedule` narrows to that schedule's rotations; `policy` to the people its steps reach.
    """
    layers = Layer.objects.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=timezone.now()))
    steps = EscalationStep.objects.all()
    if schedule is not None:
        layers = layers.filter(schedule=schedule)
    if policy is not None:
        steps = steps.filter(policy=policy)
        layers = layers.filter(schedule__escalation_steps__policy=policy)
    sources = [Q(pk__in=User.objects.filter(layer_memberships__layer__in=layers).values("pk"))]
    if schedule is None:
        sources += [
            Q(pk__in=User.objects.filter(escalation_steps__in=steps).values("pk")),
            Q(pk__in=User.objects.filter(teams__escalation_steps__in=steps).values("pk")),
            Q(pk__in=Team.objects.filter(escalation_steps_as_manager__in=steps).values("manager_id")),
        ]
    return User.objects.filter(reduce(or_, sources), is_active=True)


def paging_warnings(*, schedule: Schedule | None = None, policy: EscalationPolicy | None = None) -> list[PagingWarning]:
    """One warning per person and urgency without a working rule; three queries however many people."""
    people = people_who_can_be_paged(schedule=schedule, policy=policy)
    working = set(
        NotificationRule.objects.filter(user__in=people, contact_method__kind__in=ContactMethod.DELIVERABLE)
        .values_list("user_id", "urgency")
        .distinct()
    )
    reachable = set(
        ContactMethod.objects.filter(user__in=people, kind__in=ContactMethod.DELIVERABLE)
        .values_list("user_id", flat=True)
        .distinct()
    )
    warnings = []
    for person in people.order_by("first_name", "last_name", "username", "pk"):
        name = person.get_full_name() or person.get_username()
        for urgency in NotificationRule.Urgency:
            if (person.pk, urgency.value) in working:
                continue
            if person.pk in reachable:
                message = (
                    f"{name} has no {urgency.value}-urgency notification rule with an {DELIVERABLE_NAMES} "
                    "contact method: they would be paged on all their contact methods at once."
                )
            else:
                message = f"{name} cannot be paged: they have no {DELIVERABLE_NAMES} contact method."
            warnings.append(PagingWarning(user_id=person.pk, name=name, urgency=urgency.value, message=message))
    return warnings
