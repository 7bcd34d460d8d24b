"""What responders do to an incident beyond acknowledge and resolve: escalate, reassign, bring in
more people, merge duplicates, write notes, and act through the one-click links in notifications."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from incidents.action_links import ActionLink
from incidents.models import Alert, EscalationRun, Incident, Role, TimelineEntry, UsedActionLink
from incidents.models.roles import SUBJECT_MATTER_EXPERT
from incidents.services.errors import InvalidInput
from incidents.services.escalation import escalate_now, incident_subject, run_start
from incidents.services.lifecycle import TransitionNotAllowed, incident_transition
from incidents.services.roles import role_assign
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
        incident = Incident.objects.select_related("service", "severity").lock_for_change([incident.pk])[incident.pk]
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
        incident = Incident.objects.select_related("service", "severity").lock_for_change([incident.pk])[incident.pk]
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


NOTE_MAX = 10_000
MAX_RESPONDERS = 50


def note_add(incident: Incident, text: str, *, actor: User | None, at: datetime | None = None) -> TimelineEntry:
    """A responder's note on the timeline (findings, decisions), kept for the postmortem."""
    text = text.strip()
    if not text:
        raise InvalidInput("text", "Write the note.")
    if len(text) > NOTE_MAX:
        raise InvalidInput("text", f"At most {NOTE_MAX} characters.")
    return timeline_add(incident, TimelineEntry.Kind.NOTE, text, at=at, actor=actor)


def responders_add(
    incident: Incident,
    users: Sequence[User],
    *,
    actor: User | None,
    message: str = "",
    as_role: Role | None = None,
    at: datetime | None = None,
) -> list[User]:
    """Page more people to join (SMEs, a second pair of hands), each through their own contact
    methods and notification rules at the incident's urgency. The incident keeps its status and its
    escalation: this adds people, it replaces nobody. With `as_role` they are also given the role."""
    people = list({user.pk: user for user in users}.values())
    if not people:
        raise InvalidInput("users", "Choose at least one person to add.")
    if len(people) > MAX_RESPONDERS:
        raise InvalidInput("users", f"At most {MAX_RESPONDERS} people at once.")
    inactive = [person_name(user) for user in people if not user.is_active]
    if inactive:
        raise InvalidInput("users", f"Not an active account: {', '.join(inactive)}.")
    if as_role is not None and as_role.key != SUBJECT_MATTER_EXPERT and len(people) > 1:
        raise InvalidInput("as_role", f"Only one person can be {as_role.name}; choose one person.")
    message = message.strip()
    at = at or timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_related("service", "severity").lock_for_change([incident.pk])[incident.pk]
        if incident.status == Incident.Status.RESOLVED:
            raise ActionRefused("The incident is resolved; nobody can be paged for it.")
        who = person_name(actor) or "IRP"
        why = f"added by {who}" + (f" as {as_role.name}" if as_role else "") + (f": {message}" if message else "")
        # Unique per call: adding the same person twice pages them twice, as asked.
        batch = uuid.uuid4().hex[:12]
        problems = []
        for user in people:
            _, problem = deliveries.page_person(
                subject=incident_subject(incident.pk),
                page_key=f"add{batch}:u{user.pk}",
                user=user,
                urgency=incident.severity.urgency,
                at=at,
                context={"incident_id": incident.pk, "why": why},
                subject_object=incident,
            )
            if problem:
                problems.append(problem)
        names = ", ".join(person_name(user) for user in people)
        text = f"{who} paged {names} to join" + (f" as {as_role.name}" if as_role else "")
        timeline_add(
            incident,
            TimelineEntry.Kind.RESPONDER_ADDED,
            text + (f": {message}" if message else "."),
            at=at,
            actor=actor,
            data={"users": [user.pk for user in people], "role": as_role.key if as_role else None},
        )
        for problem in problems:
            timeline_add(incident, TimelineEntry.Kind.NOTIFIED, problem, at=at, actor_label="IRP")
        if as_role is not None:
            for user in people:
                role_assign(incident, as_role, user, actor=actor, at=at)
    return people


# Merges form chains (A into B, later B into C); following one stops here rather than looping.
MERGE_CHAIN_LIMIT = 100


def incident_merge(source: Incident, target: Incident, *, actor: User | None, at: datetime | None = None) -> Incident:
    """Fold a duplicate into the incident responders work on: the source's alerts move to the
    target, and the source is resolved with "Merged into #N". Returns the target.

    Raises InvalidInput naming `target` for a merge into itself, into a resolved incident or into
    an incident already merged (directly or down a chain) into the source; ActionRefused when the
    source is resolved or someone else changed it first.
    """
    if source.pk == target.pk:
        raise InvalidInput("target", "An incident cannot be merged into itself.")
    at = at or timezone.now()
    who = person_name(actor) or "IRP"
    with transaction.atomic():
        # Both rows locked (lowest id first), so that two crossing merges cannot deadlock.
        locked = Incident.objects.lock_for_change([source.pk, target.pk])
        source, target = locked[source.pk], locked[target.pk]
        if target.status == Incident.Status.RESOLVED:
            raise InvalidInput("target", f"#{target.number} is resolved; merge into an open incident.")
        if source.status == Incident.Status.RESOLVED:
            raise ActionRefused(f"#{source.number} is resolved already; there is nothing left to merge.")
        if source.is_drill != target.is_drill:
            # A drill's alerts in a real incident (or the reverse) would mix an exercise into the record.
            drill, real = (source, target) if source.is_drill else (target, source)
            raise InvalidInput(
                "target", f"#{drill.number} is a drill and #{real.number} is not; they cannot be merged."
            )
        seen = {target.pk}
        step = target
        for _ in range(MERGE_CHAIN_LIMIT):
            if step.merged_into_id is None:
                break
            if step.merged_into_id == source.pk or step.merged_into_id in seen:
                raise InvalidInput(
                    "target", f"#{target.number} was merged into #{source.number}; merging back would make a loop."
                )
            seen.add(step.merged_into_id)
            step = Incident.objects.only("pk", "merged_into").get(pk=step.merged_into_id)
        # An alert key the target has already stays with the source (one alert per key per incident).
        taken = Alert.objects.filter(incident=target).values("key")
        moving = Alert.objects.filter(incident=source).exclude(key__in=taken)
        moved = moving.update(incident=target)
        if moved:
            Incident.objects.filter(pk=target.pk).update(alert_count=F("alert_count") + source.alert_count)
            if source.last_alert_at and (target.last_alert_at is None or source.last_alert_at > target.last_alert_at):
                Incident.objects.filter(pk=target.pk).update(last_alert_at=source.last_alert_at)
        note = f"Merged into #{target.number}"
        if not incident_transition(source, Incident.Status.RESOLVED, actor=actor, message=f"{note} by {who}.", at=at):
            raise ActionRefused("Someone else changed this incident first; reload it.")
        Incident.objects.filter(pk=source.pk).update(merged_into=target, resolution_note=note)
        source.merged_into, source.resolution_note = target, note
        alerts = f"{moved} alert{'s' if moved != 1 else ''}"
        timeline_add(
            source,
            TimelineEntry.Kind.MERGED,
            f"Merged into #{target.number} ({target.title}) by {who}; {alerts} moved there.",
            at=at,
            actor=actor,
            data={"into": target.pk, "alerts_moved": moved},
        )
        timeline_add(
            target,
            TimelineEntry.Kind.MERGED,
            f"#{source.number} ({source.title}) was merged into this incident by {who}; {alerts} moved here.",
            at=at,
            actor=actor,
            data={"from": source.pk, "alerts_moved": moved},
        )
        target.refresh_from_db()
    return target
