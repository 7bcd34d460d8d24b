"""What responders do to an incident beyond acknowledge and resolve: escalate, reassign, and
acting through the one-click links in notifications."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from incidents.action_links import ActionLink
from incidents.models import EscalationRun, Incident, TimelineEntry, UsedActionLink
from incidents.services.escalation import escalate_now, incident_subject, run_start
from incidents.services.lifecycle import TransitionNotAllowed, incident_transition
from incidents.services.timeline import person_name, timeline_add
from oncall import deliveries
from oncall.models import EscalationPolicy


class ActionRefused(ValueError):
    """The action cannot be done now; the message says why, in words for the person."""


CHANNEL_WORDS = {"email": "e-mail", "slack": "Slack", "webhook": "webhook", "sms": "SMS", "voice": "phone"}


def _retrigger_for_paging(incident: Incident, actor: User | None, why: str, at: datetime) -> None:
    if incident.status == Incident.Status.RESOLVED:
        raise ActionRefused("The incident is resolved; nobody can be paged for it.")
    # Paging someone new means nobody owns it any more, as in PagerDuty.
    if incident.status == Incident.Status.ACKNOWLEDGED and not incident_transition(
        incident, Incident.Status.TRIGGERED, actor=actor, message=why, at=at, repage=False
    ):
        raise ActionRefused("Someone else changed this incident first; reload it.")


def escalate(incident: Incident, *, actor: User | None, at: datetime | None = None) -> EscalationRun:
    """'Escalate now': the next step of the policy fires at once."""
    at = at or timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().select_related("service", "severity").get(pk=incident.pk)
        who = person_name(actor) or "IRP"
        _retrigger_for_paging(incident, actor, f"Escalated by {who}: paging again.", at)
        run = escalate_now(incident, at=at)
        timeline_add(
            incident,
            TimelineEntry.Kind.ESCALATED,
            f"Escalated by hand by {who}: the next step fires now.",
            at=at,
            actor=actor,
        )
    return run


def reassign(
    incident: Incident,
    *,
    actor: User | None,
    users: Sequence[User] = (),
    policy: EscalationPolicy | None = None,
    at: datetime | None = None,
) -> EscalationRun:
    """Page these people (or this policy from its first step) instead of whoever was paged."""
    if not users and policy is None:
        raise ActionRefused("Choose the people or the escalation policy to reassign to.")
    at = at or timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().select_related("service", "severity").get(pk=incident.pk)
        who = person_name(actor) or "IRP"
        target = policy.name if policy else ", ".join(person_name(user) for user in users)
        _retrigger_for_paging(incident, actor, f"Reassigned to {target} by {who}.", at)
        # Whatever was still due to the people being replaced no longer concerns them.
        deliveries.cancel(incident_subject(incident.pk), reason="Reassigned.")
        snapshot = None
        if policy is None:
            step = {"delay": None, "mode": "all", "users": [user.pk for user in users], "schedules": []}
            snapshot = {"name": f"Reassigned to {target}", "repeat_count": 0, "steps": [step]}
        run = run_start(incident, due=at, reason=f"Reassigned by {who}", policy=policy, snapshot=snapshot)
        Incident.objects.filter(pk=incident.pk).update(pages_at=None)
        timeline_add(incident, TimelineEntry.Kind.REASSIGNED, f"Reassigned to {target} by {who}.", at=at, actor=actor)
    return run


def act_on_link(link: ActionLink, *, at: datetime | None = None) -> tuple[Incident, str]:
    """Carry out a one-click link's action once. Returns the incident and what happened, in words.

    Raises ActionRefused when the link was used already or the action makes no sense any more.
    """
    at = at or timezone.now()
    incident = Incident.objects.filter(pk=link.incident_id).first()
    user = User.objects.filter(pk=link.user_id, is_active=True).first()
    if incident is None or user is None:
        raise ActionRefused("This link no longer points to anything.")
    target = Incident.Status.ACKNOWLEDGED if link.action == "acknowledge" else Incident.Status.RESOLVED
    via = CHANNEL_WORDS.get(link.channel, link.channel or "a link")
    try:
        with transaction.atomic():
            UsedActionLink.objects.create(
                nonce=link.nonce, incident=incident, user=user, action=link.action, channel=link.channel, used_at=at
            )
            if incident.status == target:
                return incident, f"Already {incident.get_status_display().lower()}; nothing to do."
            try:
                changed = incident_transition(
                    incident,
                    target,
                    actor=user,
                    message=f"{target.label} by {person_name(user)} via the {via} link.",
                    at=at,
                )
            except TransitionNotAllowed as error:
                raise ActionRefused(
                    f"The incident is {incident.get_status_display().lower()}; it cannot be {target.label.lower()} now."
                ) from error
            if not changed:
                raise ActionRefused("Someone else changed this incident at the same moment; open it to see.")
    except IntegrityError as error:
        used = UsedActionLink.objects.filter(nonce=link.nonce).select_related("user").first()
        when = f" at {used.used_at:%Y-%m-%d %H:%M:%S} UTC" if used else ""
        raise ActionRefused(f"This link was already used{when}. Each link works once.") from error
    return incident, f"{target.label} by {person_name(user)}."
