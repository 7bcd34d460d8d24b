"""Escalation runs: the engine's side of paging. Due runs are claimed, advanced and their
notifications written in one transaction; delivery is handed to the workers on commit.

An incident becomes due for paging when its `pages_at` passes (ingestion sets it, after the
service's flap grace period); the engine then snapshots the service's policy into a run and fires
its steps at `next_action_at`. Acknowledging or resolving stops the run (see lifecycle.py).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Min

from incidents.models import EscalationRun, Incident, TimelineEntry
from incidents.services.runbooks import prime_runbook_matches
from incidents.services.timeline import person_name
from oncall import deliveries
from oncall.models import EscalationPolicy
from oncall.targets import active_users, distinct_targets, policy_snapshot, step_targets

logger = logging.getLogger(__name__)

# Runs claimed per transaction: small, so the first pages of a burst leave before the whole
# burst is written and a second engine finds work to share; a tick loops up to its time budget.
BATCH = 25
TICK_BUDGET_SECONDS = 1.0
DEFAULT_ACK_WINDOW = timedelta(minutes=30)
# A run whose step raised is tried again this much later, not in a tight loop.
RETRY_BROKEN_RUN_AFTER = timedelta(seconds=5)


def incident_subject(incident_id: int) -> str:
    return f"incident:{incident_id}"


def run_start(
    incident: Incident,
    *,
    due: datetime,
    reason: str,
    policy: EscalationPolicy | None = None,
    snapshot: dict[str, Any] | None = None,
    end_active: bool = True,
) -> EscalationRun:
    """Snapshot the policy (the service's unless given) into a new run due at `due`.

    Ends any run still active for the incident first (unless the caller did). Call inside a
    transaction.
    """
    if end_active:
        EscalationRun.objects.filter(incident=incident, ended_at__isnull=True).update(
            next_action_at=None, ended_at=due, end_reason=EscalationRun.End.REPLACED
        )
    if snapshot is None:
        policy = policy or incident.service.escalation_policy
        snapshot = policy_snapshot(policy) if policy else {}
    return EscalationRun.objects.create(
        **_run_fields(incident, due=due, reason=reason, policy=policy, snapshot=snapshot)
    )


def _run_fields(
    incident: Incident, *, due: datetime, reason: str, policy: EscalationPolicy | None, snapshot: dict[str, Any]
) -> dict[str, Any]:
    severity = incident.severity
    return {
        "incident": incident,
        "policy": policy if policy is not None and policy.pk else None,
        "snapshot": snapshot,
        "ack_window": severity.ack_window or DEFAULT_ACK_WINDOW,
        "depth": severity.escalation_depth,
        "urgency": severity.urgency,
        "reason": reason,
        "next_action_at": due,
        "started_at": due,
    }


def runs_stop(incident: Incident, end: EscalationRun.End, *, at: datetime) -> int:
    """Stop paging for `incident`: no further steps, and nothing queued goes out."""
    stopped = EscalationRun.objects.filter(incident=incident, ended_at__isnull=True).update(
        next_action_at=None, ended_at=at, end_reason=end
    )
    deliveries.cancel(incident_subject(incident.pk), reason=f"Incident {end.label.lower()}.")
    return stopped


@dataclass
class _Batch:
    """One engine transaction's shared state: what it looked up (a burst of incidents shares a few
    policies and people, all as of the same instant), and the timeline entries and run changes it
    writes once for the whole batch rather than once per run."""

    now: datetime
    memo: dict[Any, Any] = field(default_factory=dict)
    entries: list[TimelineEntry] = field(default_factory=list)
    runs: dict[int, EscalationRun] = field(default_factory=dict)

    def note(self, incident: Incident, kind: TimelineEntry.Kind, message: str, **data: Any) -> None:
        self.entries.append(
            TimelineEntry(incident=incident, kind=kind, message=message, at=self.now, actor_label="IRP", data=data)
        )

    def write(self) -> None:
        TimelineEntry.objects.bulk_create(self.entries)
        EscalationRun.objects.bulk_update(self.runs.values(), RUN_PROGRESS_FIELDS)


RUN_PROGRESS_FIELDS = ["step_index", "round", "round_robin", "next_action_at", "ended_at", "end_reason"]


def start_due(now: datetime) -> int:
    """Turn incidents whose paging time has come into escalation runs, and fire their first step
    in the same transaction (nobody else can see the new run yet)."""
    with transaction.atomic():
        incidents = list(
            Incident.objects.filter(status=Incident.Status.TRIGGERED, pages_at__lte=now)
            .select_related("service__escalation_policy", "severity")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("pages_at")[:BATCH]
        )
        if not incidents:
            return 0
        Incident.objects.filter(pk__in=[incident.pk for incident in incidents]).update(pages_at=None)
        EscalationRun.objects.filter(incident__in=incidents, ended_at__isnull=True).update(
            next_action_at=None, ended_at=now, end_reason=EscalationRun.End.REPLACED
        )
        # A burst of incidents usually shares a few policies: snapshot each once a batch.
        snapshots: dict[int, dict[str, Any]] = {}

        def snapshot_of(policy: EscalationPolicy | None) -> dict[str, Any]:
            if policy is None:
                return {}
            if policy.pk not in snapshots:
                snapshots[policy.pk] = policy_snapshot(policy)
            return snapshots[policy.pk]

        runs = EscalationRun.objects.bulk_create(
            EscalationRun(
                **_run_fields(
                    incident,
                    due=incident.pages_at or now,
                    reason="Incident opened",
                    policy=incident.service.escalation_policy,
                    snapshot=snapshot_of(incident.service.escalation_policy),
                )
            )
            for incident in incidents
        )
        _fire_all(runs, now)
    return len(incidents)


def advance_due(now: datetime) -> int:
    """Fire every step that has fallen due, each run in its own savepoint."""
    with transaction.atomic():
        runs = list(
            EscalationRun.objects.filter(next_action_at__lte=now)
            .select_related("incident__service", "incident__severity")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("next_action_at")[:BATCH]
        )
        _fire_all(runs, now)
    return len(runs)


def _fire_all(runs: list[EscalationRun], now: datetime) -> None:
    batch = _Batch(now)
    prime_runbook_matches([run.incident for run in runs])
    for run in runs:
        _fire_safely(run, batch)
    batch.write()


def _fire_safely(run: EscalationRun, batch: _Batch) -> None:
    """Fire a due run in a savepoint: one broken run must not hold up the others."""
    now = batch.now
    if run.next_action_at is None or run.next_action_at > now:
        return
    noted = len(batch.entries)
    try:
        with transaction.atomic():
            _fire(run, batch)
    except Exception:
        logger.exception("escalation run %s failed; trying again shortly", run.pk)
        del batch.entries[noted:]
        EscalationRun.objects.filter(pk=run.pk).update(next_action_at=now + RETRY_BROKEN_RUN_AFTER)
    else:
        batch.runs[run.pk] = run


def escalation_tick(now: datetime) -> None:
    deadline = time.monotonic() + TICK_BUDGET_SECONDS
    while time.monotonic() < deadline:
        started = start_due(now)
        fired = advance_due(now)
        if started < BATCH and fired < BATCH:
            return


def _end(run: EscalationRun, end: EscalationRun.End, batch: _Batch, message: str) -> None:
    run.next_action_at = None
    run.ended_at = batch.now
    run.end_reason = end
    batch.note(run.incident, TimelineEntry.Kind.ESCALATION_ENDED, message)


def _fire(run: EscalationRun, batch: _Batch) -> None:
    incident = run.incident
    if incident.status != Incident.Status.TRIGGERED:
        # Ack and resolve stop runs themselves; this only tidies a run they could not see.
        _end(run, EscalationRun.End(incident.status), batch, "Escalation stopped: the incident is no longer triggered.")
        return
    steps = run.steps
    if not steps:
        _end(run, EscalationRun.End.NO_POLICY, batch, "Nobody was paged: the service has no escalation policy.")
        return
    due = run.next_action_at or batch.now
    repeat_count = int(run.snapshot.get("repeat_count", 0))
    # Steps with nobody to notify (an empty rota) are passed at once rather than waited out.
    for _ in range(len(steps) * (repeat_count + 1) + 1):
        if run.past_last_step:
            _end(
                run,
                EscalationRun.End.EXHAUSTED,
                batch,
                f"Nobody acknowledged after {len(steps)} step(s)"
                + (f" and {repeat_count} repeat(s)" if repeat_count else "")
                + "; escalation has run out.",
            )
            return
        step = steps[run.step_index]
        notified = _notify_step(run, step, batch)
        run.step_index += 1
        if run.step_index >= len(steps):
            run.step_index = 0
            run.round += 1
        if notified:
            run.next_action_at = due + run.window_of(step)
            return


def _notify_step(run: EscalationRun, step: dict[str, Any], batch: _Batch) -> bool:
    """Page the step's targets, with what the batch already looked up (targets, people, rules)."""
    incident, now, memo = run.incident, batch.now, batch.memo
    index = run.step_index
    step_key = ("targets", json.dumps(step, sort_keys=True))
    if step_key not in memo:
        memo[step_key] = distinct_targets(step_targets(step, now))
    targets = memo[step_key]
    if step.get("mode") == "round_robin" and targets:
        turn = int(run.round_robin.get(str(index), 0))
        run.round_robin = {**run.round_robin, str(index): turn + 1}
        targets = [targets[turn % len(targets)]]
    known: dict[int, Any] = memo.setdefault("users", {})
    missing = [user_id for _, user_id in targets if user_id not in known]
    if missing:
        found = active_users(missing)
        known.update({user_id: found.get(user_id) for user_id in missing})
    users = {user_id: known[user_id] for _, user_id in targets if known[user_id] is not None}
    targets = [(label, user_id) for label, user_id in targets if user_id in users]
    where = f"Step {index + 1} of {len(run.steps)}" + (f", repeat {run.round}" if run.round else "")
    if not targets:
        batch.note(
            incident,
            TimelineEntry.Kind.ESCALATED,
            f"{where}: nobody to notify (nobody on call); moving on.",
            step=index + 1,
            round=run.round,
            users=[],
        )
        return False
    names = ", ".join(f"{person_name(users[user_id])} ({label})" for label, user_id in targets)
    batch.note(
        incident,
        TimelineEntry.Kind.ESCALATED,
        f"{where}: notifying {names}.",
        step=index + 1,
        round=run.round,
        users=[user_id for _, user_id in targets],
    )
    rules: dict[tuple[int, str], list[Any]] = memo.setdefault("rules", {})
    for label, user_id in targets:
        if (user_id, run.urgency) not in rules:
            rules[(user_id, run.urgency)] = deliveries.rules_of(users[user_id], run.urgency)
        _, problem = deliveries.page_person(
            subject=incident_subject(incident.pk),
            page_key=f"run{run.pk}:s{index}:r{run.round}:u{user_id}",
            user=users[user_id],
            urgency=run.urgency,
            at=now,
            context={"incident_id": incident.pk, "step": index + 1, "steps": len(run.steps), "why": label},
            rules=rules[(user_id, run.urgency)],
            subject_object=incident,
        )
        if problem:
            batch.note(incident, TimelineEntry.Kind.NOTIFIED, problem)
    return True


def escalate_now(incident: Incident, *, at: datetime) -> EscalationRun:
    """Fire the next step at once (or the first, when paging has not started). Inside a transaction."""
    run = EscalationRun.objects.select_for_update().filter(incident=incident, ended_at__isnull=True).first()
    if run is None:
        last = EscalationRun.objects.filter(incident=incident).order_by("-started_at", "-pk").first()
        if (
            last is not None
            and last.end_reason not in (EscalationRun.End.EXHAUSTED, EscalationRun.End.NO_POLICY)
            and not last.past_last_step
        ):
            # Paused by an acknowledgement: carry on where it stopped.
            EscalationRun.objects.filter(pk=last.pk).update(next_action_at=at, ended_at=None, end_reason="")
            last.refresh_from_db()
            return last
        Incident.objects.filter(pk=incident.pk).update(pages_at=None)
        return run_start(incident, due=at, reason="Escalated by hand")
    if run.past_last_step:
        # The last step has fired and its window is running: "now" means the policy again.
        Incident.objects.filter(pk=incident.pk).update(pages_at=None)
        return run_start(incident, due=at, reason="Escalated by hand")
    EscalationRun.objects.filter(pk=run.pk).update(next_action_at=at)
    run.next_action_at = at
    return run


def oldest_due_run() -> datetime | None:
    """For the auditor: the due time of the most overdue escalation step."""
    return EscalationRun.objects.filter(next_action_at__isnull=False).aggregate(oldest=Min("next_action_at"))["oldest"]


def oldest_pending_page() -> datetime | None:
    """For the auditor: the longest an incident has waited for its escalation to start."""
    pending = Incident.objects.filter(status=Incident.Status.TRIGGERED, pages_at__isnull=False)
    return pending.aggregate(oldest=Min("pages_at"))["oldest"]
