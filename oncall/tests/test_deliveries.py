"""Delivery bookkeeping under races: a worker slower than its lease, re-dispatch backoff."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from oncall import deliveries, notifiers
from oncall.models import ContactMethod, Delivery


@pytest.mark.django_db(transaction=True)
def test_a_send_that_outlived_its_lease_does_not_undo_the_re_driven_one(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.DELIVERY_LEASE_SECONDS = 0.5
    monkeypatch.setattr(deliveries, "enqueue", lambda ids: None)
    user = User.objects.create_user("lease")
    method = ContactMethod.objects.create(user=user, kind="webhook", address="http://127.0.0.1:9/hook")
    delivery = deliveries.send_test(method)
    entered = {1: threading.Event(), 2: threading.Event()}
    release = {1: threading.Event(), 2: threading.Event()}

    def send(d: Delivery, *, signing_secret: str = "") -> notifiers.SendResult:
        entered[d.attempts].set()
        release[d.attempts].wait(10)
        if d.attempts == 1:
            return notifiers.SendResult("transient", "ReadTimeout")  # the slow first attempt gives up
        return notifiers.SendResult("sent", "HTTP 200 ok")

    monkeypatch.setattr(notifiers, "send", send)

    def worker() -> None:
        try:
            deliveries.deliver(delivery.pk)
        finally:
            connection.close()

    first = threading.Thread(target=worker)
    first.start()
    assert entered[1].wait(10)
    time.sleep(0.6)  # alive but slow: its lease runs out
    deliveries.dispatch_due(timezone.now())  # the engine re-drives it
    second = threading.Thread(target=worker)
    second.start()
    assert entered[2].wait(10)
    release[1].set()
    first.join()  # the stale attempt records its timeout while the second is still sending
    release[2].set()
    second.join()

    delivery.refresh_from_db()
    assert list(delivery.attempt_log.values_list("number", "outcome")) == [(1, "transient"), (2, "sent")]
    assert delivery.status == Delivery.Status.SENT


@pytest.mark.django_db
def test_a_delivery_nobody_picks_up_is_handed_over_again_less_and_less_often(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.DELIVERY_REDISPATCH_SECONDS = 10
    handed: list[int] = []
    monkeypatch.setattr(deliveries, "_enqueue_on_commit", lambda ids: handed.extend(ids))
    user = User.objects.create_user("queue")
    start = timezone.now()
    Delivery.objects.create(
        key="k",
        page_key="p",
        subject="test:1",
        user=user,
        channel="email",
        address="a@example.com",
        urgency="low",
        due_at=start,
    )

    moments = [0, 5, 11, 22, 31, 45, 52, 100]
    for seconds in moments:
        deliveries.dispatch_due(start + timedelta(seconds=seconds))

    # Handed over at 0, then after 10 s (at 11), 20 s (at 45) and 40 s (at 100): not at 22 or 52.
    assert len(handed) == 4
    assert Delivery.objects.get().handovers == 4


@pytest.mark.django_db(transaction=True)
def test_a_transactions_deliveries_go_to_the_workers_together_and_a_rolled_back_savepoint_loses_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handed: list[list[int]] = []
    monkeypatch.setattr(deliveries, "enqueue", lambda ids: handed.append(list(ids)))
    people = [User.objects.create_user(f"p{n}") for n in range(3)]
    for person in people:
        ContactMethod.objects.create(user=person, kind="webhook", address="http://127.0.0.1:9/hook")
    now = timezone.now()

    def page(person: User, key: str) -> int:
        pages, _ = deliveries.page_person(
            subject="test:1", page_key=key, user=person, urgency="high", at=now, context={}
        )
        return pages[0].pk

    def page_then_fail(person: User) -> None:
        with transaction.atomic():
            page(person, "b")
            raise RuntimeError("this page's savepoint is rolled back")

    with transaction.atomic():
        first = page(people[0], "a")
        with pytest.raises(RuntimeError):
            page_then_fail(people[1])
        third = page(people[2], "c")
        assert handed == []  # nothing before the commit

    assert len(handed) == 1  # one hand-over for the whole transaction
    assert {first, third} <= set(handed[0])
    assert Delivery.objects.filter(pk__in=handed[0]).count() == 2  # the rolled-back page was never written
