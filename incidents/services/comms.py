"""The communication cadence as due work: obligations are scheduled from the severity's rules,
reminded and escalated by the engine, and fulfilled by posting updates.

An open incident whose severity has rules gets one open obligation per rule. The engine finds
incidents without obligations for their current severity itself (incidents are also opened by
raw SQL, see ingestion_sql.py), so nothing has to be called when an incident opens. When an
obligation falls due the Communications Lead is reminded (else the Incident Commander, else whoever
acknowledged); still unfulfilled `grace` later the Incident Commander is told, and after another
`grace` the manager of the service's team. Posting an update of the kind
fulfils it and, for a rule with an interval, schedules the next one at posted + interval.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Min, prefetch_related_objects
from django.utils import timezone

from incidents.models import Incident, SeverityLevel, TimelineEntry
from incidents.models.comms import GROUP_KINDS, CommsKind, CommsObligation, CommsRule, IncidentUpdate, StakeholderGroup
from incidents.models.status import Component
from incidents.services.errors import InvalidInput
from incidents.services.roles import current_roles_prefetch, role_holders
from incidents.services.timeline import person_name, timeline_add
from oncall import deliveries

logger = logging.getLogger(__name__)

BATCH = 25
TICK_BUDGET_SECONDS = 0.5
RETRY_BROKEN_OBLIGATION_AFTER = timedelta(seconds=30)

COMMUNICATIONS_LEAD = "communications-lead"
INCIDENT_COMMANDER = "incident-commander"

Stage = CommsObligation.Stage
NEXT_STAGE: dict[str, str] = {
    Stage.PENDING: Stage.REMINDED,
    Stage.REMINDED: Stage.ESCALATED_IC,
    Stage.ESCALATED_IC: Stage.ESCALATED_MANAGER,
}
# Updates fulfil obligations of these kinds only for the same stakeholder group.
PER_GROUP_KINDS = (CommsKind.STAKEHOLDER_NOTICE,)


def obligation_subject(obligation_id: int) -> str:
    return f"comms:{obligation_id}"


# --- Who is told -----------------------------------------------------------------------------------


def _acknowledger(incident: Incident) -> User | None:
    if incident.acknowledged_at is None:
        return None  # never acknowledged, or triggered again since: nobody to ask (and no query)
    entry = (
        TimelineEntry.objects.filter(
            incident=incident, kind=TimelineEntry.Kind.ACKNOWLEDGED, actor__isnull=False, actor__is_active=True
        )
        .select_related("actor")
        .order_by("-at", "-pk")
        .first()
    )
    return entry.actor if entry else None


def _manager(incident: Incident) -> User | None:
    manager = incident.service.owner_team.manager
    return manager if manager is not None and manager.is_active else None


def _first_of(
    incident: Incident, chain: tuple[str, ...], memo: dict[str, User | None] | None = None
) -> tuple[User | None, str]:
    """The first person of `chain` the incident has: role keys, "acknowledged" and "manager"."""
    memo = {} if memo is None else memo
    # Role holders are read once per call (the incident page prefetches them: no query then).
    holders: dict[str, list[User]] | None = None
    labels = {
        COMMUNICATIONS_LEAD: "Communications Lead",
        INCIDENT_COMMANDER: "Incident Commander",
        "acknowledged": "acknowledged the incident",
        "manager": f"manager of {incident.service.owner_team.name}",
    }
    for link in chain:
        if link not in memo:
            if link == "acknowledged":
                memo[link] = _acknowledger(incident)
            elif link == "manager":
                memo[link] = _manager(incident)
            else:
                holders = role_holders(incident) if holders is None else holders
                held = holders.get(link)
                memo[link] = held[0] if held else None
        if memo[link] is not None:
            return memo[link], labels[link]
    return None, ""


# Whom each stage tells when it fires. The manager only at the last stage: an unacknowledged new
# incident has nobody in a role yet, and its first update (the status page, at declaration) must
# not wake the manager while the on-call engineer is still being paged.
RECIPIENTS: dict[str, tuple[str, ...]] = {
    Stage.REMINDED: (COMMUNICATIONS_LEAD, INCIDENT_COMMANDER, "acknowledged"),
    Stage.ESCALATED_IC: (INCIDENT_COMMANDER, "acknowledged"),
    Stage.ESCALATED_MANAGER: ("manager",),
}


# --- Scheduling ------------------------------------------------------------------------------------


def _rules_of(severity_id: int, memo: dict[int, list[CommsRule]] | None = None) -> list[CommsRule]:
    if memo is not None and severity_id in memo:
        return memo[severity_id]
    rules = list(CommsRule.objects.filter(severity_id=severity_id).select_related("stakeholder_group"))
    if memo is not None:
        memo[severity_id] = rules
    return rules


def _last_posted(incident_ids: list[int]) -> dict[int, dict[tuple[str, int | None], datetime]]:
    """When each kind (and group, for notices) was last posted, per incident."""
    last: dict[int, dict[tuple[str, int | None], datetime]] = defaultdict(dict)
    for incident_id, kind, group_id, posted_at in IncidentUpdate.objects.filter(
        incident_id__in=incident_ids
    ).values_list("incident_id", "kind", "stakeholder_group_id", "posted_at"):
        key = (kind, group_id if kind in PER_GROUP_KINDS else None)
        if key not in last[incident_id] or posted_at > last[incident_id][key]:
            last[incident_id][key] = posted_at
    return last


def _owed(
    incident: Incident,
    rules: list[CommsRule],
    existing_rule_ids: set[int],
    last: dict[tuple[str, int | None], datetime],
    *,
    base: datetime,
    at: datetime,
) -> list[CommsObligation]:
    """The obligations (unsaved) the rules add to what `incident` already owes."""
    created = []
    for rule in rules:
        if rule.pk in existing_rule_ids:
            continue
        posted = last.get((rule.kind, rule.stakeholder_group_id if rule.kind in PER_GROUP_KINDS else None))
        obligation = CommsObligation(incident=incident, rule=rule, severity_id=rule.severity_id, kind=rule.kind)
        if posted is None:
            obligation.due_at = base + rule.first_due_after
        elif rule.interval:
            obligation.due_at = posted + rule.interval
        else:
            # Posted already, and owed only once: recorded as done so the engine knows it is scheduled.
            obligation.due_at = obligation.fulfilled_at = posted
        if incident.is_drill and rule.kind == CommsKind.STATUS_PAGE:
            # Drills never reach the public status page: nothing is owed (the row says it was decided).
            obligation.cancelled_at = at
        obligation.next_action_at = None if obligation.fulfilled_at or obligation.cancelled_at else obligation.due_at
        created.append(obligation)
    return created


def _schedule_all(
    incidents: list[Incident], *, at: datetime, base: datetime | None = None, memo: dict[int, list[CommsRule]]
) -> list[CommsObligation]:
    """Cancel what was owed under another severity and owe what the current one's rules say, for
    a batch of incidents in a handful of queries. `base` is when the clock of first_due_after
    starts: the change of severity, or else each incident's declaration. Call inside a transaction
    holding the incidents."""
    ids = [incident.pk for incident in incidents]
    owed: dict[int, list[CommsObligation]] = defaultdict(list)
    for obligation in (
        CommsObligation.objects.open().filter(incident_id__in=ids).only("pk", "incident_id", "severity_id", "rule_id")
    ):
        owed[obligation.incident_id].append(obligation)
    last = _last_posted(ids)
    stale: list[int] = []
    created: list[CommsObligation] = []
    for incident in incidents:
        current = {o.rule_id for o in owed[incident.pk] if o.severity_id == incident.severity_id}
        stale += [o.pk for o in owed[incident.pk] if o.severity_id != incident.severity_id]
        rules = _rules_of(incident.severity_id, memo)
        created += _owed(incident, rules, current, last[incident.pk], base=base or incident.created_at, at=at)
    if stale:
        CommsObligation.objects.filter(pk__in=stale).update(cancelled_at=at, next_action_at=None)
        for pk in stale:
            deliveries.cancel(obligation_subject(pk), reason="The incident's severity changed.")
    return CommsObligation.objects.bulk_create(created)


def comms_schedule(incident: Incident, *, at: datetime | None = None, base: datetime | None = None) -> None:
    """(Re)schedule the incident's obligations for its current severity (after a change of severity)."""
    at = at or timezone.now()
    with transaction.atomic():
        Incident.objects.lock_for_change([incident.pk])
        incident = Incident.objects.select_related("severity", "service__owner_team").get(pk=incident.pk)
        if not incident.is_open:
            return
        _schedule_all([incident], at=at, base=base or at, memo={})
        Incident.objects.filter(pk=incident.pk).update(comms_scheduled_at=at)


def _unscheduled() -> Any:
    # A partial index holds just these rows: the sweep costs nothing however many incidents are open.
    return Incident.objects.filter(comms_scheduled_at__isnull=True).exclude(status=Incident.Status.RESOLVED)


def schedule_new(now: datetime) -> int:
    """Give open incidents that have none the obligations of their severity (a batch per call)."""
    with transaction.atomic():
        incidents = list(
            _unscheduled()
            .select_related("severity")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")[:BATCH]
        )
        if incidents:
            _schedule_all(incidents, at=now, memo={})
            Incident.objects.filter(pk__in=[incident.pk for incident in incidents]).update(comms_scheduled_at=now)
    return len(incidents)


# --- The engine's side -------------------------------------------------------------------------------


def _cancel(obligation: CommsObligation, at: datetime) -> None:
    CommsObligation.objects.filter(pk=obligation.pk).update(cancelled_at=at, next_action_at=None)


def obligation_labels(obligations: list[CommsObligation]) -> str:
    """Their labels as one phrase: 'Internal update, Management briefing and Stakeholder notice'."""
    labels = [obligation.rule.label for obligation in obligations]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


@dataclass
class _Progress:
    """What a batch of reminders writes once it has paged: timeline entries, and each obligation's
    new stage and next action (one UPDATE for the batch, not one per obligation)."""

    entries: list[TimelineEntry] = field(default_factory=list)
    obligations: list[CommsObligation] = field(default_factory=list)

    def write(self) -> None:
        TimelineEntry.objects.bulk_create(self.entries)
        CommsObligation.objects.bulk_update(self.obligations, ["stage", "next_action_at"])


def _fire(obligations: list[CommsObligation], stage: str, now: datetime, progress: _Progress) -> None:
    """Move obligations of one incident that fall due together to `stage`, telling its person once.
    The page (the only write here) comes last, in a savepoint of its own: if anything before it
    fails, nothing of this group is written."""
    incident = obligations[0].incident
    memo: dict[str, User | None] = {}
    user, as_what = _first_of(incident, RECIPIENTS[stage], memo)
    first_due = min(obligation.due_at for obligation in obligations)
    late = now - first_due
    what = f"{obligation_labels(obligations)} due {timezone.localtime(first_due):%H:%M}"
    if late >= timedelta(minutes=1):
        what += f" ({int(late.total_seconds() // 60)} min overdue)"
    verb = "reminded" if stage == Stage.REMINDED else "told"
    page = user is not None
    told_before, told_as = (
        _first_of(incident, RECIPIENTS[Stage.ESCALATED_IC], memo) if stage == Stage.ESCALATED_MANAGER else (None, "")
    )
    if user is None:
        nobody = {
            Stage.REMINDED: "no Communications Lead, Incident Commander or acknowledgement yet",
            Stage.ESCALATED_IC: "no Incident Commander or acknowledgement yet",
            Stage.ESCALATED_MANAGER: f"{incident.service.owner_team.name} has no manager",
        }[Stage(stage)]
        message = f"{what}: nobody to tell ({nobody})."
    elif told_before == user:
        # The manager is the Incident Commander too (or acknowledged): told one grace period ago.
        page = False
        message = f"{what}: {person_name(user)} ({as_what}) was told already ({told_as})."
    else:
        message = f"{what}: {verb} {person_name(user)} ({as_what})."
    ids = [obligation.pk for obligation in obligations]
    entries = [
        TimelineEntry(
            incident=incident,
            kind=TimelineEntry.Kind.COMMS_REMINDER,
            message=message,
            at=now,
            actor_label="IRP",
            data={
                "obligations": ids,
                "kinds": [obligation.kind for obligation in obligations],
                "stage": stage,
                "users": [user.pk] if page and user is not None else [],
            },
        )
    ]
    # The next stage comes one grace period after this one: reminded at due, IC at due + grace, …
    graces = list(NEXT_STAGE).index(stage) if stage in NEXT_STAGE else None
    if page and user is not None:
        with transaction.atomic():
            _, problem = deliveries.page_person(
                subject=obligation_subject(ids[0]),
                page_key=f"comms{ids[0]}:{stage}:u{user.pk}",
                user=user,
                urgency=incident.severity.urgency,
                at=now,
                context={"obligation_ids": ids, "stage": stage, "as": as_what, "at": now.isoformat()},
                subject_object=obligations,
            )
        if problem:
            entries.append(
                TimelineEntry(
                    incident=incident, kind=TimelineEntry.Kind.NOTIFIED, message=problem, at=now, actor_label="IRP"
                )
            )
    progress.entries += entries
    for obligation in obligations:
        obligation.stage = stage
        obligation.next_action_at = obligation.due_at + obligation.rule.grace * graces if graces is not None else None
    progress.obligations += obligations


def advance_due(now: datetime) -> int:
    """Remind or escalate every obligation whose next action has come. Those of one incident that
    reach the same stage together make one reminder (a P1 owes three things at T+15); each such
    group in its own savepoint, so that one broken incident does not hold up the others."""
    due = (
        CommsObligation.objects.due_by(now)
        .select_related("incident__severity", "incident__service__owner_team__manager", "rule__stakeholder_group")
        .select_for_update(skip_locked=True, of=("self",))
    )
    with transaction.atomic():
        # An incident's obligations that fall due together share next_action_at: claimed together.
        obligations = list(due.order_by("next_action_at", "incident_id", "pk")[:BATCH])
        if len(obligations) == BATCH:
            # The batch may have cut the last incident's group: take the rest of it too.
            last = obligations[-1]
            obligations += list(
                due.filter(incident_id=last.incident_id, next_action_at=last.next_action_at)
                .exclude(pk__in=[o.pk for o in obligations])
                .order_by("pk")
            )
        # Whom to tell, for the whole batch in one query (a storm of new incidents all owe the status page).
        prefetch_related_objects(
            list({o.incident_id: o.incident for o in obligations}.values()), current_roles_prefetch()
        )
        groups: dict[tuple[int, str], list[CommsObligation]] = {}
        for obligation in obligations:
            incident = obligation.incident
            next_stage = NEXT_STAGE.get(obligation.stage)
            if not incident.is_open or obligation.severity_id != incident.severity_id:
                _cancel(obligation, now)
            elif next_stage is None:
                CommsObligation.objects.filter(pk=obligation.pk).update(next_action_at=None)
            else:
                groups.setdefault((incident.pk, next_stage), []).append(obligation)
        progress = _Progress()
        for (_, stage), group in groups.items():
            try:
                _fire(group, stage, now, progress)
            except Exception:
                logger.exception("comms obligations %s failed; trying again shortly", [o.pk for o in group])
                CommsObligation.objects.filter(pk__in=[o.pk for o in group]).update(
                    next_action_at=now + RETRY_BROKEN_OBLIGATION_AFTER
                )
        progress.write()
    return len(obligations)


def comms_tick(now: datetime) -> None:
    deadline = time.monotonic() + TICK_BUDGET_SECONDS
    while time.monotonic() < deadline:
        scheduled = schedule_new(now)
        fired = advance_due(now)
        if scheduled < BATCH and fired < BATCH:
            return


def oldest_due_obligation() -> datetime | None:
    """For the auditor: when the most overdue reminder or escalation should have gone out."""
    return CommsObligation.objects.filter(next_action_at__isnull=False).aggregate(oldest=Min("next_action_at"))[
        "oldest"
    ]


def comms_end(incident: Incident, *, at: datetime | None = None) -> int:
    """Nothing more is owed on a resolved incident."""
    at = at or timezone.now()
    with transaction.atomic():
        ids = list(CommsObligation.objects.open().filter(incident=incident).values_list("pk", flat=True))
        CommsObligation.objects.filter(pk__in=ids).update(cancelled_at=at, next_action_at=None)
        for pk in ids:
            deliveries.cancel(obligation_subject(pk), reason="The incident is resolved.")
    return len(ids)


# --- Posting updates --------------------------------------------------------------------------------


def _fulfil(
    incident: Incident,
    kind: str,
    *,
    actor: User | None,
    at: datetime,
    group: StakeholderGroup | None = None,
    update: IncidentUpdate | None = None,
) -> list[CommsObligation]:
    owed = CommsObligation.objects.open().filter(incident=incident, kind=kind).select_related("rule")
    if kind in PER_GROUP_KINDS:
        owed = owed.filter(rule__stakeholder_group=group)
    fulfilled = list(owed.select_for_update(of=("self",)))
    if not fulfilled:
        return []
    CommsObligation.objects.filter(pk__in=[o.pk for o in fulfilled]).update(
        fulfilled_at=at, fulfilled_by=actor, update=update, next_action_at=None
    )
    following = []
    for obligation in fulfilled:
        deliveries.cancel(obligation_subject(obligation.pk), reason="The update was posted.")
        if obligation.rule.interval and incident.is_open:
            due = at + obligation.rule.interval
            following.append(
                CommsObligation(
                    incident=incident,
                    rule=obligation.rule,
                    severity_id=obligation.severity_id,
                    kind=obligation.kind,
                    due_at=due,
                    next_action_at=due,
                )
            )
    CommsObligation.objects.bulk_create(following)
    return fulfilled


def comms_fulfil(
    incident: Incident, kind: str, *, actor: User | None, at: datetime | None = None
) -> list[CommsObligation]:
    """Record that an update of `kind` went out elsewhere (the status page publishes its own) and
    schedule the next one. Writes no timeline entry: the caller records what it published."""
    if kind not in CommsKind.values:
        raise InvalidInput("kind", f"Unknown kind of update; use one of {', '.join(CommsKind.values)}.")
    with transaction.atomic():
        return _fulfil(incident, kind, actor=actor, at=at or timezone.now())


def _group_for(incident: Incident, kind: str, group: StakeholderGroup | None) -> StakeholderGroup | None:
    if kind not in GROUP_KINDS or group is not None:
        return group
    groups = {
        rule.stakeholder_group_id: rule.stakeholder_group
        for rule in _rules_of(incident.severity_id)
        if rule.kind == kind and rule.stakeholder_group is not None
    }
    if len(groups) == 1:
        return next(iter(groups.values()))
    if kind == CommsKind.STAKEHOLDER_NOTICE:
        if not groups:
            # Nothing in the plan says whom: any group will do, but it must be named.
            raise InvalidInput("stakeholder_group", "Choose the stakeholder group to notify.")
        names = ", ".join(sorted(g.name for g in groups.values() if g is not None))
        raise InvalidInput("stakeholder_group", f"Choose the stakeholder group to notify: {names}.")
    return None


def update_post(
    incident: Incident,
    kind: str,
    text: str,
    *,
    actor: User | None,
    at: datetime | None = None,
    stakeholder_group: StakeholderGroup | None = None,
) -> IncidentUpdate:
    """Post an update: fulfils what is owed of its kind, schedules the next one, writes the timeline;
    a stakeholder notice (or a briefing whose rule names a group) is e-mailed to the group after commit.

    Raises InvalidInput naming `kind`, `text` or `stakeholder_group`.
    """
    if kind not in CommsKind.values:
        raise InvalidInput("kind", f"Unknown kind of update; use one of {', '.join(CommsKind.values)}.")
    text = (text or "").strip()
    if not text:
        raise InvalidInput("text", "Write the update.")
    if stakeholder_group is not None and kind not in GROUP_KINDS:
        raise InvalidInput("stakeholder_group", "Only stakeholder notices and management briefings go to a group.")
    at = at or timezone.now()
    group = _group_for(incident, kind, stakeholder_group)
    with transaction.atomic():
        update = IncidentUpdate.objects.create(
            incident=incident, kind=kind, text=text, posted_by=actor, posted_at=at, stakeholder_group=group
        )
        fulfilled = _fulfil(incident, kind, actor=actor, at=at, group=group, update=update)
        label = CommsKind(kind).label + (f" to {group.name}" if group else "")
        timeline_add(
            incident,
            TimelineEntry.Kind.UPDATE_POSTED,
            f"{label} posted by {person_name(actor) or 'IRP'}: {text}",
            at=at,
            actor=actor,
            data={
                "update": update.pk,
                "kind": kind,
                "text": text,
                "stakeholder_group": group.pk if group else None,
                "fulfilled": [o.pk for o in fulfilled],
            },
        )
        if group is not None and group.emails:
            update_id = update.pk
            transaction.on_commit(lambda: notice_enqueue(update_id))
    return update


def notice_enqueue(update_id: int) -> None:
    from django_q.tasks import async_task

    async_task(stakeholder_notice_send, update_id, group="comms")


def stakeholder_notice_send(update_id: int) -> str:
    """The django-q2 task: e-mail a posted notice to its group, once. Outside any transaction: SMTP
    can take seconds."""
    from incidents.notifications import stakeholder_notice_message

    claimed = IncidentUpdate.objects.filter(
        pk=update_id, emailed_at__isnull=True, stakeholder_group__isnull=False
    ).update(emailed_at=timezone.now())
    if not claimed:
        return "already sent or nothing to send"
    update = IncidentUpdate.objects.select_related(
        "incident__severity", "incident__service", "stakeholder_group", "posted_by"
    ).get(pk=update_id)
    group = update.stakeholder_group
    assert group is not None
    if not group.emails:
        return "the group has no addresses"
    message = stakeholder_notice_message(update)
    email = EmailMultiAlternatives(subject=message["subject"], body=message["text"], to=list(group.emails))
    email.attach_alternative(message["html"], "text/html")
    try:
        email.send()
    except Exception:
        # Let a retry send it: the claim is given back.
        IncidentUpdate.objects.filter(pk=update_id).update(emailed_at=None)
        raise
    return "sent"


# --- What the incident page shows ------------------------------------------------------------------


@dataclass(frozen=True)
class CommsDue:
    obligation_id: int
    kind: str
    label: str
    due_at: datetime
    overdue: bool
    seconds_left: int
    stage: str
    stage_label: str
    # Who has been or will be reminded, e.g. "Priya Natarajan (Communications Lead)"; "" for nobody.
    reminded: str
    stakeholder_group: str


def comms_due(incident: Incident, *, now: datetime | None = None) -> list[CommsDue]:
    """What is owed on the incident, soonest first, each with its countdown and who is reminded."""
    now = now or timezone.now()
    owed = list(
        CommsObligation.objects.open()
        .filter(incident=incident)
        .select_related("rule__stakeholder_group")
        .order_by("due_at", "pk")
    )
    if not owed:
        return []
    memo: dict[str, User | None] = {}
    items = []
    for obligation in owed:
        if obligation.stage == Stage.ESCALATED_MANAGER:
            chain = RECIPIENTS[Stage.ESCALATED_MANAGER]
        elif obligation.stage == Stage.ESCALATED_IC:
            chain = RECIPIENTS[Stage.ESCALATED_IC]
        else:
            chain = RECIPIENTS[Stage.REMINDED]
        user, as_what = _first_of(incident, chain, memo)
        group = obligation.rule.stakeholder_group
        items.append(
            CommsDue(
                obligation_id=obligation.pk,
                kind=obligation.kind,
                label=obligation.rule.label,
                due_at=obligation.due_at,
                overdue=obligation.due_at <= now,
                seconds_left=int((obligation.due_at - now).total_seconds()),
                stage=obligation.stage,
                stage_label=obligation.get_stage_display(),
                reminded=f"{person_name(user)} ({as_what})" if user else "",
                stakeholder_group=group.name if group else "",
            )
        )
    return items


# --- Templates ---------------------------------------------------------------------------------------

STATUS_PAGE_PHASES = ("investigating", "identified", "monitoring", "resolved")


def _minutes(value: timedelta) -> str:
    minutes = max(1, int(value.total_seconds() // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _public_names(incident: Incident) -> str:
    """What customers call the affected part: the status page's components behind the service."""
    names = list(Component.objects.filter(services=incident.service_id).order_by("name").values_list("name", flat=True))
    if not names:
        return "some of our services"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def update_template(
    incident: Incident,
    kind: str,
    *,
    phase: str | None = None,
    next_update_in: timedelta | None = None,
    now: datetime | None = None,
) -> str:
    """A pre-filled text for an update of `kind` about `incident`, for the Communications Lead to edit.

    Status page texts (`phase`: investigating, identified, monitoring, resolved; by default from the
    incident's status) are customer-facing: they name the public components behind the incident's
    service (one query), never the internal service. The others read only the incident and its
    severity and service, already loaded: no queries.
    """
    now = now or timezone.now()
    service = incident.service.name
    severity: SeverityLevel = incident.severity
    next_line = f" Next update in {_minutes(next_update_in)}." if next_update_in else ""
    open_for = _minutes(now - incident.created_at)
    status = incident.get_status_display().lower()
    if kind == CommsKind.INTERNAL_UPDATE:
        return (
            f"[{severity.name}] #{incident.number} {incident.title} — {status}, open {open_for}.\n"
            f"Impact: {severity.title}: {service} …\n"
            "What we know: …\n"
            "What we are doing: …\n"
            f"Next steps: …{next_line}"
        )
    if kind in (CommsKind.MANAGEMENT_BRIEFING, CommsKind.STAKEHOLDER_NOTICE):
        state = {
            Incident.Status.TRIGGERED: "We are investigating",
            Incident.Status.ACKNOWLEDGED: "The team is working on",
            Incident.Status.RESOLVED: "We have resolved",
        }[Incident.Status(incident.status)]
        return (
            f"{state} a {severity.title.lower()} ({severity.name}) incident affecting {service}, "
            f"open for {open_for}.\n"
            "Customer impact: …\n"
            "Current status: …\n"
            f"What happens next: …{next_line or ' We will update you again as the situation changes.'}"
        )
    if kind == CommsKind.STATUS_PAGE:
        service = _public_names(incident)
        if phase is None:
            phase = {
                Incident.Status.TRIGGERED: "investigating",
                Incident.Status.ACKNOWLEDGED: "identified",
                Incident.Status.RESOLVED: "resolved",
            }[Incident.Status(incident.status)]
        texts = {
            "investigating": f"We are investigating reports of degraded performance on {service}. "
            f"We will post an update as soon as we know more.{next_line}",
            "identified": f"We have identified the cause of the problem affecting {service} and are working on a "
            f"fix.{next_line}",
            "monitoring": f"A fix has been put in place for {service} and we are monitoring the results.{next_line}",
            "resolved": f"This incident has been resolved and {service} is operating normally. "
            "We are sorry for the disruption.",
        }
        if phase not in texts:
            raise InvalidInput("phase", f"Use one of {', '.join(STATUS_PAGE_PHASES)}.")
        return texts[phase]
    raise InvalidInput("kind", f"Unknown kind of update; use one of {', '.join(CommsKind.values)}.")
