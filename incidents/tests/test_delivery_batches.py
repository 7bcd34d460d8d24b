"""Pages handed to a worker together: claimed, sent by the sender threads, recorded together —
each delivery still ends as it would alone, and the database work does not grow with the batch."""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.models import Incident
from incidents.tests.factories import make_integration, make_person, make_policy, make_service, trigger_over_http
from irp_site import engine
from irp_site.testing.receivers import Answer, HttpReceiver, SmtpReceiver
from oncall import deliveries
from oncall.models import ContactMethod, Delivery, NotificationRule

pytestmark = pytest.mark.usefixtures("migrated_data")


@pytest.fixture
def handed_over(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """What the engine hands to the workers, one list per hand-over, instead of django-q2."""
    batches: list[list[int]] = []
    monkeypatch.setattr(deliveries, "enqueue", lambda ids: batches.append(list(ids)))
    return batches


def test_one_batch_with_a_success_a_retry_and_a_permanent_failure(
    client: Client, http: HttpReceiver, smtp: SmtpReceiver, handed_over: list[list[int]], settings: Any
) -> None:
    settings.DELIVERY_RETRY_BASE_SECONDS = 0.2
    ann = make_person("ann", methods={"webhook": http.url("/hooks/ann")})
    ben = make_person("ben", methods={"webhook": http.url("/hooks/ben")})
    cat = User.objects.create_user("cat", first_name="Cat")
    slack = ContactMethod.objects.create(user=cat, kind="slack", address=http.url("/slack/cat"))
    email = ContactMethod.objects.create(user=cat, kind="email", address="cat@example.com")
    NotificationRule.objects.create(user=cat, urgency="high", contact_method=slack)
    NotificationRule.objects.create(user=cat, urgency="high", contact_method=email, delay=timedelta(minutes=5))
    http.respond("/hooks/ben", Answer(500), Answer(200))
    http.respond("/slack/cat", HttpReceiver.SLACK_CHANNEL_ARCHIVED)
    service = make_service(escalation_policy=make_policy("All three", {"users": [ann, ben, cat]}))
    incident = trigger_over_http(client, make_integration(service=service, rate_limit_per_minute=10_000), "mixed")

    engine.tick()
    assert len(handed_over) == 1
    assert len(handed_over[0]) == 3
    outcomes = deliveries.deliver_batch(handed_over[0])

    assert outcomes == {"sent": 1, "transient": 1, "permanent": 1}
    assert Delivery.objects.get(user=ann).status == "sent"
    retrying = Delivery.objects.get(user=ben)
    assert (retrying.status, retrying.attempts, retrying.last_error) == ("queued", 1, "HTTP 500 ok")
    failed = Delivery.objects.get(user=cat, channel="slack")
    assert (failed.status, failed.attempts) == ("failed", 1)
    fallback = Delivery.objects.get(user=cat, channel="email")
    # The e-mail rule said "after 5 minutes"; the failure brought it forward.
    assert fallback.status == "queued"
    assert fallback.due_at <= timezone.now()
    assert ContactMethod.objects.get(pk=slack.pk).last_outcome == "permanent"
    # The fallback went to the workers when the batch's record committed.
    assert handed_over[-1] == [fallback.pk]
    assert deliveries.deliver_batch(handed_over[-1]) == {"sent": 1}
    assert smtp.wait_for(1)[0].message["to"] == "cat@example.com"

    # The retry, after its backoff, through the engine's dispatcher like any due delivery.
    deliveries.dispatch_due(retrying.due_at + timedelta(seconds=1))
    assert deliveries.deliver_batch(handed_over[-1]) == {"sent": 1}
    retrying.refresh_from_db()
    assert (retrying.status, retrying.attempts) == ("sent", 2)

    notified = list(
        incident.timeline.filter(kind="notified").order_by("pk").values_list("data__user", "data__outcome", "message")
    )
    first = {user: message for user, _, message in notified[:3]}  # the batch: in the order sends ended
    assert sorted((user, outcome) for user, outcome, _ in notified[:3]) == sorted(
        [(ann.pk, "sent"), (ben.pk, "transient"), (cat.pk, "permanent")]
    )
    assert [(user, outcome) for user, outcome, _ in notified[3:]] == [(cat.pk, "sent"), (ben.pk, "sent")]
    assert "failed, will retry (attempt 1; HTTP 500" in first[ben.pk]
    assert "trying E-mail next" in first[cat.pk]
    assert len(http.received("/hooks/ann")) == 1
    assert len(http.received("/hooks/ben")) == 2


def test_a_batch_is_skipped_where_it_was_handled_already(
    client: Client, http: HttpReceiver, handed_over: list[list[int]]
) -> None:
    people = [make_person(f"p{n}", methods={"webhook": http.url(f"/hooks/p{n}")}) for n in range(3)]
    service = make_service(escalation_policy=make_policy("Three", {"users": people}))
    trigger_over_http(client, make_integration(service=service, rate_limit_per_minute=10_000), "twice")
    engine.tick()
    batch = handed_over[0]
    Delivery.objects.filter(pk=batch[2]).update(status=Delivery.Status.CANCELLED)

    assert deliveries.deliver_batch(batch) == {"sent": 2, "not due or already handled": 1}
    # Handed over twice (a re-dispatch): nothing goes out again.
    assert deliveries.deliver_batch(batch) == {"not due or already handled": 3}
    assert sorted(len(http.received(f"/hooks/p{n}")) for n in range(3)) == [0, 1, 1]


def test_a_rolled_back_transaction_hands_nothing_over(http: HttpReceiver, handed_over: list[list[int]]) -> None:
    method = ContactMethod.objects.get(user=make_person("s", methods={"webhook": http.url("/hooks/s")}))
    with suppress(RuntimeError), transaction.atomic():
        deliveries.send_test(method)
        raise RuntimeError("the caller changed its mind")

    kept = deliveries.send_test(method)

    assert handed_over == [[kept.pk]]


def _queries(function: Any, *args: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        function(*args)
    return len(captured)


def test_database_work_of_a_batch_does_not_grow_with_its_size(
    client: Client, http: HttpReceiver, handed_over: list[list[int]]
) -> None:
    people = [make_person(f"q{n}", methods={"webhook": http.url(f"/hooks/q{n}")}) for n in range(8)]
    two = make_service("Two", escalation_policy=make_policy("Two", {"users": people[:2]}))
    eight = make_service("Eight", escalation_policy=make_policy("Eight", {"users": people}))
    trigger_over_http(client, make_integration(service=two, rate_limit_per_minute=10_000), "two")
    engine.tick()
    trigger_over_http(client, make_integration(service=eight, name="Eight", rate_limit_per_minute=10_000), "eight")
    engine.tick()
    small, large = handed_over
    assert (len(small), len(large)) == (2, 8)
    # Each method already says what this send will say: no method's last outcome needs writing.
    ContactMethod.objects.update(
        last_outcome="sent", last_outcome_message="HTTP 200 ok", last_outcome_at=timezone.now()
    )

    assert _queries(deliveries.deliver_batch, small) == _queries(deliveries.deliver_batch, large)
    assert Delivery.objects.filter(status="sent").count() == 10
    assert len(http.received()) == 10


def test_the_engine_pays_a_few_queries_per_new_incident(
    client: Client, http: HttpReceiver, handed_over: list[list[int]]
) -> None:
    """A burst of P1 alerts: each incident's run, page, timeline and cadence are written a batch at
    a time; what grows with the burst is the page itself (its delivery row, in a savepoint)."""
    responder = make_person("r", methods={"webhook": http.url("/hooks/r")})
    integration = make_integration(
        service=make_service(escalation_policy=make_policy("R", {"users": [responder]})), rate_limit_per_minute=10_000
    )
    engine.tick()  # the engine's own first-tick work out of the way

    def burst(prefix: str, count: int) -> int:
        for n in range(count):
            trigger_over_http(client, integration, f"{prefix}{n}")
        return _queries(engine.tick)

    small, large = burst("a", 2), burst("b", 12)

    assert Delivery.objects.count() == 14
    assert Incident.objects.filter(comms_obligations__isnull=False).distinct().count() == 14
    assert large - small <= 10 * 3, (small, large)
