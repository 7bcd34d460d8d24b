"""Deliveries as due work: written in the caller's transaction, sent by django-q2 tasks.

The life of a delivery: queued (with a due time) → sending (a worker holds a lease) → sent, or
back to queued with a backoff after a transient failure, or failed after a permanent one, when the
person's next contact method takes over. Cancelled when what it was about is acknowledged.
Deliveries are at-least-once: a worker killed after the receiver took the message but before it
recorded so is re-driven when its lease runs out; the delivery's key travels with every attempt
(`X-IRP-Delivery`, the e-mail's Message-ID) so that receivers can drop such a repeat.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import F, Min, Q
from django.dispatch import Signal
from django.utils import timezone

from oncall import notifiers
from oncall.models import ContactMethod, Delivery, DeliveryAttempt, NotificationRule

logger = logging.getLogger(__name__)

# Renders the message of a delivery for one channel: (subject, user, method, delivery key, context).
# The last argument is the subject itself when the caller has it at hand (saves a query), else None.
Renderer = Callable[[str, User, ContactMethod, str, dict[str, Any], Any], dict[str, Any]]
_renderers: dict[str, Renderer] = {}


def register_renderer(subject_kind: str, renderer: Renderer) -> None:
    """Higher apps say how to word notifications about their subjects ("incident:42" → "incident")."""
    _renderers[subject_kind] = renderer


def _render(
    subject: str, user: User, method: ContactMethod, key: str, context: dict[str, Any], subject_object: Any = None
) -> dict[str, Any]:
    renderer = _renderers.get(subject.partition(":")[0])
    message = renderer(subject, user, method, key, context, subject_object) if renderer else test_message(method)
    return {**message, "context": context}


def enqueue(delivery_ids: Iterable[int]) -> None:
    """Hand deliveries to the workers, a few per django-q2 task: the queue's own cost (a broker row
    written, read, locked and deleted, and three processes passing the task on) is then paid once
    per batch instead of once per notification."""
    from django_q.tasks import async_task

    ids = list(delivery_ids)
    size = settings.DELIVERY_BATCH_SIZE
    for start in range(0, len(ids), size):
        async_task(deliver_batch, ids[start : start + size], group="deliveries", save=False)


# Deliveries written in this thread's transaction, waiting for it to commit.
_written = threading.local()


def _enqueue_on_commit(delivery_ids: list[int]) -> None:
    """Hand these deliveries to the workers once the transaction commits, together with every
    other delivery it wrote (an engine batch pages many people, one call each: a batch of tasks
    then carries them, not one task per page)."""
    if not delivery_ids:
        return
    pending: list[int] = _written.__dict__.setdefault("ids", [])
    if pending and not any(entry[1] is _enqueue_written for entry in connection.run_on_commit):
        # None of our hooks is waiting: these were written by a transaction that rolled back.
        pending.clear()
    pending.extend(delivery_ids)
    # One hook per call, not per transaction: a hook made inside a savepoint that is rolled back is
    # dropped, so each call brings its own, and whichever runs first sends them all. Ids of a
    # rolled-back savepoint may ride along with the rest; deliver() skips rows it cannot claim.
    transaction.on_commit(_enqueue_written)


def _enqueue_written() -> None:
    ids = getattr(_written, "ids", None)
    if ids:
        _written.ids = []
        enqueue(dict.fromkeys(ids))


def methods_in_order(user: User, urgency: str) -> list[ContactMethod]:
    """The person's deliverable methods: first as their rules order them, then any others."""
    ordered: list[ContactMethod] = []
    rules = NotificationRule.objects.filter(user=user, urgency=urgency).select_related("contact_method")
    for rule in rules.order_by("delay", "pk"):
        if rule.contact_method.is_deliverable and rule.contact_method not in ordered:
            ordered.append(rule.contact_method)
    for method in ContactMethod.objects.filter(user=user, kind__in=ContactMethod.DELIVERABLE).order_by("pk"):
        if method not in ordered:
            ordered.append(method)
    return ordered


def rules_of(user: User, urgency: str) -> list[NotificationRule]:
    return list(
        NotificationRule.objects.filter(user=user, urgency=urgency)
        .select_related("contact_method")
        .order_by("delay", "pk")
    )


def page_person(
    *,
    subject: str,
    page_key: str,
    user: User,
    urgency: str,
    at: datetime,
    context: dict[str, Any],
    rules: list[NotificationRule] | None = None,
    subject_object: Any = None,
) -> tuple[list[Delivery], str]:
    """Write the deliveries one page of one person needs, per their notification rules.

    Call inside the transaction that decides the page; returns the deliveries and, when the
    person cannot be reached as they should be, a sentence saying why (for the timeline).
    The caller holds the lock on what the page is about, so the keys cannot exist yet.
    """
    if rules is None:
        rules = rules_of(user, urgency)
    plan = [(rule.contact_method, rule.delay) for rule in rules if rule.contact_method.is_deliverable]
    problem = ""
    if not plan:
        # Someone on a rota without working rules is still paged, on everything they have at once.
        plan = [(method, timedelta(0)) for method in methods_in_order(user, urgency)]
        name = user.get_full_name() or user.get_username()
        problem = (
            f"{name} has no working {urgency}-urgency notification rule; using all their contact methods at once."
            if plan
            else f"{name} cannot be reached: no e-mail, Slack or webhook contact method."
        )
    deliveries = []
    for method, delay in plan:
        key = f"{page_key}:m{method.pk}:{int(delay.total_seconds())}"
        due = at + delay
        deliveries.append(
            Delivery(
                key=key,
                page_key=page_key,
                subject=subject,
                user=user,
                contact_method=method,
                channel=method.kind,
                address=method.address,
                urgency=urgency,
                message=_render(subject, user, method, key, context, subject_object),
                due_at=due,
                dispatched_at=at if due <= at else None,
            )
        )
    Delivery.objects.bulk_create(deliveries)
    _enqueue_on_commit([d.pk for d in deliveries if d.due_at <= at])
    return deliveries, problem


def cancel(subject: str, *, reason: str) -> int:
    """Stop every notification about `subject` not yet on its way (an ack stops what comes after it)."""
    return Delivery.objects.filter(subject=subject, status=Delivery.Status.QUEUED).update(
        status=Delivery.Status.CANCELLED, last_error=reason[:500]
    )


def dispatch_due(now: datetime, *, limit: int = 500) -> int:
    """Hand due deliveries to the workers; re-drive those a crashed worker or engine left behind."""
    redispatch_before = now - timedelta(seconds=settings.DELIVERY_REDISPATCH_SECONDS)
    # A lease that ran out means the worker died mid-send: queue it again at once.
    Delivery.objects.filter(status=Delivery.Status.SENDING, lease_until__lt=now).update(
        status=Delivery.Status.QUEUED,
        due_at=now,
        dispatched_at=None,
        lease_until=None,
        last_error="The worker stopped while sending; sending again.",
    )
    with transaction.atomic():
        candidates = (
            Delivery.objects.due(now)
            .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=redispatch_before))
            .select_for_update(skip_locked=True)
            .order_by("due_at")
            .values_list("pk", "dispatched_at", "handovers")[:limit]
        )
        ids = [
            pk
            for pk, dispatched_at, handovers in candidates
            if dispatched_at is None or dispatched_at < now - _redispatch_wait(handovers)
        ]
        if ids:
            Delivery.objects.filter(pk__in=ids).update(dispatched_at=now, handovers=F("handovers") + 1)
            _enqueue_on_commit(ids)
    return len(ids)


def _redispatch_wait(handovers: int) -> timedelta:
    return timedelta(seconds=settings.DELIVERY_REDISPATCH_SECONDS * 2 ** max(0, min(handovers - 1, 6)))


def backoff(attempts: int) -> float:
    return min(settings.DELIVERY_RETRY_BASE_SECONDS * 2 ** (attempts - 1), settings.DELIVERY_RETRY_MAX_SECONDS)


_pool: ThreadPoolExecutor | None = None


def _senders() -> ThreadPoolExecutor:
    # Made on first use, in the worker process (never before django-q2 forks its workers).
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=settings.DELIVERY_THREADS, thread_name_prefix="irp-send")
    return _pool


@dataclass
class Sent:
    """One attempt's send, waiting to be recorded."""

    delivery: Delivery
    result: notifiers.SendResult
    started_at: datetime
    duration_ms: float


@dataclass
class Attempted:
    """One recorded attempt, as `deliveries_attempted` hands it to the apps that keep a trail."""

    delivery: Delivery
    attempt: DeliveryAttempt
    fallback: Delivery | None


# Sent inside the transaction that records a batch of attempts, so the audit trail commits with it.
deliveries_attempted = Signal()  # args: attempted (list[Attempted])

# Sends of a batch finished within this long of each other are recorded together; a slow provider
# holds up the bookkeeping of the others' sends no longer than this.
RECORD_TOGETHER_SECONDS = 1.0


def deliver_batch(delivery_ids: list[int]) -> dict[str, int]:
    """The django-q2 task: claim a batch of deliveries, send them several at once (one slow
    provider does not hold up the pages behind it), and record their attempts together.
    Idempotent: a delivery no longer queued and due is skipped. Returns how many ended how."""
    claimed = _claim(delivery_ids, timezone.now())
    outcomes: Counter[str] = Counter()
    if len(claimed) < len(delivery_ids):
        outcomes["not due or already handled"] = len(delivery_ids) - len(claimed)
    for sent in _send_all(claimed):
        for attempted in record_attempts(sent):
            outcomes[attempted.attempt.outcome] += 1
    return dict(outcomes)


def deliver(delivery_id: int) -> str:
    """Send one delivery if it is still queued and due. Idempotent."""
    outcomes = deliver_batch([delivery_id])
    return next(iter(outcomes), "error")


def _claim(delivery_ids: list[int], now: datetime) -> list[Delivery]:
    """Take the lease on those of `delivery_ids` still queued and due, in one transaction."""
    with transaction.atomic():
        deliveries = list(
            Delivery.objects.filter(
                pk__in=delivery_ids, status=Delivery.Status.QUEUED, due_at__lte=now + timedelta(seconds=1)
            )
            .select_related("contact_method", "user")
            .select_for_update(of=("self",))
            .order_by("pk")  # one lock order for every worker
        )
        if deliveries:
            lease_until = now + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
            Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
                status=Delivery.Status.SENDING, lease_until=lease_until, attempts=F("attempts") + 1
            )
            for delivery in deliveries:
                delivery.status, delivery.lease_until = Delivery.Status.SENDING, lease_until
                delivery.attempts += 1
    return deliveries


def _send(delivery: Delivery) -> Sent:
    # No database in here: it runs in a sender thread.
    started_at, started = timezone.now(), time.monotonic()
    secret = delivery.contact_method.signing_secret if delivery.contact_method else ""
    result = notifiers.send(delivery, signing_secret=secret)
    return Sent(delivery, result, started_at, (time.monotonic() - started) * 1000)


def _send_all(deliveries: list[Delivery]) -> Iterator[list[Sent]]:
    """Send them all, yielding the finished sends in groups to record (network I/O outside any
    transaction). A send that raises stays "sending" until its lease runs out; the dispatcher then
    sends it again."""
    if len(deliveries) == 1:
        try:
            yield [_send(deliveries[0])]
        except Exception:
            logger.exception("Delivery %s failed unexpectedly", deliveries[0].pk)
        return
    pending: set[Future[Sent]] = {_senders().submit(_send, delivery) for delivery in deliveries}
    while pending:
        done, pending = wait(pending, timeout=RECORD_TOGETHER_SECONDS)
        finished = []
        for future in done:
            try:
                finished.append(future.result())
            except Exception:
                logger.exception("A delivery failed unexpectedly")
        if finished:
            yield finished


def record_attempts(sends: list[Sent]) -> list[Attempted]:
    """Record the attempts of a batch and move each delivery on, in one transaction."""
    now = timezone.now()
    with transaction.atomic():
        by_pk = {sent.delivery.pk: sent for sent in sends}
        # Under the lock: only the attempt that holds the row may move it back or fail it (a worker
        # that outlived its lease must not undo the newer attempt of whoever was given it after).
        current = {
            pk: (status, attempts)
            for pk, status, attempts in Delivery.objects.filter(pk__in=by_pk)
            .select_for_update()
            .order_by("pk")
            .values_list("pk", "status", "attempts")
        }
        attempts = DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(
                delivery=sent.delivery,
                number=sent.delivery.attempts,
                started_at=sent.started_at,
                duration_ms=round(sent.duration_ms, 1),
                outcome=sent.result.outcome,
                answer=sent.result.answer[:500],
            )
            for sent in sends
        )
        moved: dict[str, list[Delivery]] = {}
        failed = []
        for sent in sends:
            delivery, result = sent.delivery, sent.result
            status, attempts_now = current.get(delivery.pk, (Delivery.Status.CANCELLED, None))
            mine = status == Delivery.Status.SENDING and attempts_now == delivery.attempts
            outcome = _final_outcome(delivery, result)
            if outcome == DeliveryAttempt.Outcome.SENT and status in (Delivery.Status.SENDING, Delivery.Status.QUEUED):
                # A success from any attempt ends the delivery (a later attempt may still be queued).
                delivery.status, delivery.sent_at, delivery.provider_id = Delivery.Status.SENT, now, result.provider_id
                delivery.lease_until, delivery.last_error = None, ""
            elif outcome == DeliveryAttempt.Outcome.TRANSIENT and mine:
                wait_s = result.retry_after if result.retry_after is not None else backoff(delivery.attempts)
                delivery.status, delivery.due_at = Delivery.Status.QUEUED, now + timedelta(seconds=wait_s)
                delivery.dispatched_at, delivery.lease_until, delivery.last_error = None, None, result.answer[:500]
            elif outcome == DeliveryAttempt.Outcome.PERMANENT and mine:
                delivery.status, delivery.lease_until = Delivery.Status.FAILED, None
                delivery.last_error = result.answer[:500]
                failed.append(delivery)
            else:
                # Someone else moved it meanwhile (a newer attempt, a cancel): report what it is now.
                delivery.status = status
                continue
            moved.setdefault(outcome, []).append(delivery)
        for outcome, changed in moved.items():
            Delivery.objects.bulk_update(changed, MOVED_FIELDS[outcome])
        fallbacks = {delivery.pk: _fall_back(delivery, now) for delivery in failed}
        # Each method once, with its last word: a batch often pages through one webhook.
        last_of_method = {sent.delivery.contact_method_id: sent for sent in sends}
        for sent in last_of_method.values():
            _note_outcome(sent.delivery, _final_outcome(sent.delivery, sent.result), sent.result.answer[:500], now)
        attempted = [
            Attempted(sent.delivery, attempt, fallbacks.get(sent.delivery.pk))
            for sent, attempt in zip(sends, attempts, strict=True)
        ]
        deliveries_attempted.send(sender=Delivery, attempted=attempted)
    return attempted


MOVED_FIELDS: dict[str, list[str]] = {
    DeliveryAttempt.Outcome.SENT: ["status", "sent_at", "provider_id", "lease_until", "last_error"],
    DeliveryAttempt.Outcome.TRANSIENT: ["status", "due_at", "dispatched_at", "lease_until", "last_error"],
    DeliveryAttempt.Outcome.PERMANENT: ["status", "lease_until", "last_error"],
}


def _final_outcome(delivery: Delivery, result: notifiers.SendResult) -> str:
    # A transient failure on the last allowed attempt ends the delivery like a permanent one.
    if result.outcome == DeliveryAttempt.Outcome.TRANSIENT and delivery.attempts >= settings.DELIVERY_MAX_ATTEMPTS:
        return DeliveryAttempt.Outcome.PERMANENT
    return result.outcome


# A contact method's last outcome is rewritten at most this often while it stays the same: a busy
# method would otherwise turn every page into one more write on a hot row.
LAST_OUTCOME_REFRESH = timedelta(seconds=60)


def _note_outcome(delivery: Delivery, outcome: str, message: str, now: datetime) -> None:
    method = delivery.contact_method
    if method is None:
        return
    unchanged = (
        method.last_outcome == outcome
        and method.last_outcome_message == message
        and method.last_outcome_at is not None
        and now - method.last_outcome_at < LAST_OUTCOME_REFRESH
        and not delivery.subject.startswith("test:")  # someone pressed "send a test" and waits for it
    )
    if unchanged:
        return
    ContactMethod.objects.filter(pk=method.pk).update(
        last_outcome=outcome, last_outcome_message=message, last_outcome_at=now
    )
    method.last_outcome, method.last_outcome_message, method.last_outcome_at = outcome, message, now


def _fall_back(failed: Delivery, now: datetime) -> Delivery | None:
    """After a permanent failure, reach the person by their next contact method, now."""
    if failed.subject.startswith("test:"):
        return None
    used = set(Delivery.objects.filter(page_key=failed.page_key).values_list("contact_method_id", flat=True))
    for method in methods_in_order(failed.user, failed.urgency):
        if method.pk in used:
            continue
        key = f"{failed.page_key}:m{method.pk}:fallback"
        fallback, created = Delivery.objects.get_or_create(
            key=key,
            defaults={
                "page_key": failed.page_key,
                "subject": failed.subject,
                "user": failed.user,
                "contact_method": method,
                "channel": method.kind,
                "address": method.address,
                "urgency": failed.urgency,
                "message": _render(failed.subject, failed.user, method, key, failed.message.get("context", {})),
                "due_at": now,
                "dispatched_at": now,
                "fallback_from": failed,
            },
        )
        if created:
            _enqueue_on_commit([fallback.pk])
        return fallback
    # Every method is in use already: bring the next one the rules planned for later forward.
    later = (
        Delivery.objects.filter(page_key=failed.page_key, status=Delivery.Status.QUEUED, due_at__gt=now)
        .order_by("due_at")
        .first()
    )
    if later is not None:
        Delivery.objects.filter(pk=later.pk).update(due_at=now, dispatched_at=now)
        _enqueue_on_commit([later.pk])
    return later


def test_message(method: ContactMethod) -> dict[str, Any]:
    text = f"This is a test notification from IRP to your {method.get_kind_display()} contact method."
    return {
        "subject": "IRP test notification",
        "text": text,
        "html": f"<p>{text}</p>",
        "slack": {"text": text},
        "webhook": {"event": "test", "incident": None, "ack_url": None, "message": text},
    }


def send_test(method: ContactMethod, *, now: datetime | None = None) -> Delivery:
    """'Send a test': a delivery like any other, so its outcome shows on the method."""
    now = now or timezone.now()
    key = f"test:{method.pk}:{time.time_ns()}"
    with transaction.atomic():
        delivery = Delivery.objects.create(
            key=key,
            page_key=key,
            subject=f"test:{method.pk}",
            user=method.user,
            contact_method=method,
            channel=method.kind,
            address=method.address,
            urgency=NotificationRule.Urgency.LOW,
            message=test_message(method),
            due_at=now,
            dispatched_at=now,
        )
        _enqueue_on_commit([delivery.pk])
    return delivery


def oldest_due_delivery() -> datetime | None:
    """For the auditor: the due time of the longest-waiting queued delivery."""
    return Delivery.objects.filter(status=Delivery.Status.QUEUED).aggregate(oldest=Min("due_at"))["oldest"]
