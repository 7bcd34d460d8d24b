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
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Min, Q
from django.dispatch import Signal
from django.utils import timezone

from oncall import notifiers
from oncall.models import ContactMethod, Delivery, DeliveryAttempt, NotificationRule

logger = logging.getLogger(__name__)

# Sent inside the transaction that records an attempt, so the audit trail commits with it.
delivery_attempted = Signal()  # args: delivery, attempt, fallback (Delivery | None)

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
    _written.__dict__.setdefault("ids", []).extend(delivery_ids)
    # One hook per call, not per transaction: a hook made inside a savepoint that is rolled back is
    # dropped, so each call brings its own, and whichever runs first sends them all. Ids from a
    # rolled-back transaction may ride along with a later one; deliver() skips rows it cannot claim.
    transaction.on_commit(_enqueue_written)


def _enqueue_written() -> None:
    ids = getattr(_written, "ids", None)
    if ids:
        _written.ids = []
        enqueue(ids)


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


def _deliver_in_sender(delivery_id: int) -> str:
    # django-q2 tidies the connection of its own thread before each task; a sender thread keeps its
    # connection across batches, so it drops it itself once it has seen an error on it.
    if connection.errors_occurred:
        close_old_connections()
    try:
        return deliver(delivery_id)
    except Exception:
        # The delivery stays "sending" until its lease runs out; the dispatcher then sends it again.
        logger.exception("Delivery %s failed unexpectedly", delivery_id)
        return "error"


def deliver_batch(delivery_ids: list[int]) -> dict[str, int]:
    """The django-q2 task: send a batch of deliveries, several at once, so that one slow provider
    does not hold up the pages behind it. Returns how many ended how."""
    if len(delivery_ids) == 1:
        return {deliver(delivery_ids[0]): 1}
    return dict(Counter(_senders().map(_deliver_in_sender, delivery_ids)))


def deliver(delivery_id: int) -> str:
    """Send one delivery if it is still queued and due. Idempotent."""
    now = timezone.now()
    claimed = Delivery.objects.filter(
        pk=delivery_id, status=Delivery.Status.QUEUED, due_at__lte=now + timedelta(seconds=1)
    ).update(
        status=Delivery.Status.SENDING,
        lease_until=now + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS),
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return "not due or already handled"
    delivery = Delivery.objects.select_related("contact_method", "user").get(pk=delivery_id)
    secret = delivery.contact_method.signing_secret if delivery.contact_method else ""
    started = time.monotonic()
    result = notifiers.send(delivery, signing_secret=secret)
    record_attempt(delivery, result, started_at=now, duration_ms=(time.monotonic() - started) * 1000)
    return result.outcome


def record_attempt(
    delivery: Delivery, result: notifiers.SendResult, *, started_at: datetime, duration_ms: float
) -> DeliveryAttempt:
    now = timezone.now()
    outcome = result.outcome
    if outcome == DeliveryAttempt.Outcome.TRANSIENT and delivery.attempts >= settings.DELIVERY_MAX_ATTEMPTS:
        outcome = DeliveryAttempt.Outcome.PERMANENT
    fallback = None
    with transaction.atomic():
        attempt = DeliveryAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            started_at=started_at,
            duration_ms=round(duration_ms, 1),
            outcome=result.outcome,
            answer=result.answer[:500],
        )
        # Only the attempt that holds the row may move it back or fail it: a worker that outlived
        # its lease must not undo the newer attempt of whoever was given the delivery after it.
        mine = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING, attempts=delivery.attempts)
        if outcome == DeliveryAttempt.Outcome.SENT:
            # A success from any attempt ends the delivery (a later attempt may still be queued).
            changes: dict[str, Any] = {
                "status": Delivery.Status.SENT,
                "sent_at": now,
                "provider_id": result.provider_id,
                "lease_until": None,
                "last_error": "",
            }
            moved = Delivery.objects.filter(
                pk=delivery.pk, status__in=(Delivery.Status.SENDING, Delivery.Status.QUEUED)
            ).update(**changes)
        elif outcome == DeliveryAttempt.Outcome.TRANSIENT:
            wait = result.retry_after if result.retry_after is not None else backoff(delivery.attempts)
            changes = {
                "status": Delivery.Status.QUEUED,
                "due_at": now + timedelta(seconds=wait),
                "dispatched_at": None,
                "lease_until": None,
                "last_error": result.answer[:500],
            }
            moved = mine.update(**changes)
        else:
            changes = {"status": Delivery.Status.FAILED, "lease_until": None, "last_error": result.answer[:500]}
            moved = mine.update(**changes)
            if moved:
                fallback = _fall_back(delivery, now)
        if moved:
            for field, value in changes.items():
                setattr(delivery, field, value)
        else:
            # Someone else moved it meanwhile (a newer attempt, a cancel): report what it is now.
            delivery.status = Delivery.objects.filter(pk=delivery.pk).values_list("status", flat=True).get()
        _note_outcome(delivery, outcome, result.answer[:500], now)
        delivery_attempted.send(sender=Delivery, delivery=delivery, attempt=attempt, fallback=fallback)
    return attempt


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
