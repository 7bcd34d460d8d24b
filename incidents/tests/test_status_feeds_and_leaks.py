"""The history feeds, and the promise that nothing but published text leaves the status page."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import feedparser
import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.utils import timezone

from incidents.models import Incident, TimelineEntry
from incidents.models.status import PublicIncident, Subscriber
from incidents.services.statuspage import public_incident_publish, public_incident_update
from incidents.services.timeline import timeline_add
from incidents.status_json import KINDS
from incidents.tests.factories import make_integration
from incidents.tests.status_builders import make_component, make_incident, run_queued_jobs
from irp_site.groups import RESPONDERS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("status_cache_cleared")]


def test_the_feeds_parse_and_their_entries_match_the_published_incidents(client: Client, responder: User) -> None:
    first = public_incident_publish(make_incident(), actor=responder, name="Logins failing", body="Looking into it.")
    public_incident_update(first, actor=responder, status="resolved", body="Logins work again.")
    second = public_incident_publish(make_incident(), actor=responder, name="Slow search", body="Investigating.")

    for path, version in (("/status/history.atom", "atom10"), ("/status/history.rss", "rss20")):
        response = client.get(path)
        assert response.status_code == 200
        assert response["Access-Control-Allow-Origin"] == "*"
        parsed = feedparser.parse(response.content)
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert parsed.version == version
        entries = {entry.title: entry for entry in parsed.entries}
        assert set(entries) == {"Logins failing", "Slow search"}
        for public in (first, second):
            entry = entries[public.name]
            assert entry.link == f"http://127.0.0.1:8000/status/incidents/{public.public_id}"
            for update in public.updates.all():
                assert update.body in entry.summary
        assert "Resolved" in entries["Logins failing"].summary


SENTINELS = {
    "alert summary": "SENTINEL-ALERT-SUMMARY-7f3a",
    "alert details": "SENTINEL-ALERT-DETAILS-91bc",
    "alert source": "SENTINEL-ALERT-SOURCE-2d4e",
    "internal note": "SENTINEL-INTERNAL-NOTE-5a6b",
    "severity reason": "SENTINEL-SEVERITY-REASON-c0de",
    "responder name": "Sentinelresponder",
    "drill": "SENTINEL-DRILL-PUBLIC-TITLE-e11f",
    "drill update": "SENTINEL-DRILL-UPDATE-0a0a",
}


def _everything_public(client: Client) -> dict[str, str]:
    paths = ["/status/", "/status/history/", "/status/history.atom", "/status/history.rss", "/status/theme.css"]
    paths += [f"/status/api/v2/{kind}.json" for kind in KINDS]
    paths += [
        f"/status/incidents/{public_id}" for public_id in PublicIncident.objects.values_list("public_id", flat=True)
    ]
    answers = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code in (200, 404), path
        answers[path] = response.content.decode()
    return answers


def test_nothing_internal_leaks_into_the_page_its_json_its_feeds_or_its_e_mail(
    client: Client, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    publisher = User.objects.create_user("sentinel", first_name=SENTINELS["responder name"], last_name="Person")
    publisher.groups.set(Group.objects.filter(name=RESPONDERS))
    Subscriber.objects.create(email="customer@example.test", confirmed_at=timezone.now())
    integration = make_integration(rate_limit_per_minute=1000)
    event = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "dedup_key": "leak-test",
        "payload": {
            "summary": SENTINELS["alert summary"],
            "source": SENTINELS["alert source"],
            "severity": "critical",
            "custom_details": {"trace": SENTINELS["alert details"]},
        },
    }
    assert client.post("/v2/enqueue", event, content_type="application/json").status_code == 202
    incident = Incident.objects.get(dedup_key="leak-test")
    Incident.objects.filter(pk=incident.pk).update(severity_reason=SENTINELS["severity reason"])
    timeline_add(incident, TimelineEntry.Kind.NOTE, SENTINELS["internal note"], actor=publisher)
    checkout = make_component("Checkout", services=[incident.service])

    drill = make_incident("Game day")
    with django_capture_on_commit_callbacks(execute=True):
        public = public_incident_publish(
            incident,
            actor=publisher,
            name="Checkout errors",
            body="Some payments fail; we are on it.",
            components={checkout: "partial_outage"},
        )
        public_incident_update(public, actor=publisher, status="identified", body="We found the cause.")
        drill_public = public_incident_publish(
            drill, actor=publisher, name=SENTINELS["drill"], body=SENTINELS["drill update"]
        )
        # Flagged as a drill after it was published: it disappears from everything public.
        Incident.objects.filter(pk=drill.pk).update(is_drill=True)
        public_incident_update(drill_public, actor=publisher, status="monitoring", body=SENTINELS["drill update"])
    run_queued_jobs()

    answers = _everything_public(client)
    assert "Checkout errors" in answers["/status/"]  # the published text is there…
    assert "We found the cause." in answers["/status/api/v2/summary.json"]
    for path, text in answers.items():
        for what, sentinel in SENTINELS.items():
            assert sentinel.lower() not in text.lower(), f"{what} leaked into {path}"
    # The internal incident's own number and title never appear either.
    summary = json.loads(answers["/status/api/v2/summary.json"])
    assert [i["name"] for i in summary["incidents"]] == ["Checkout errors"]
    assert incident.title not in json.dumps(summary)

    # Notices: the real incident's two updates only. The drill's were still queued when it was
    # flagged, and the worker checks again before sending. None carries anything internal.
    subjects = sorted(message.subject for message in mail.outbox)
    assert subjects == [
        "[Your organisation status] Incident identified: Checkout errors",
        "[Your organisation status] Incident investigating: Checkout errors",
    ]
    for message in mail.outbox:
        assert isinstance(message, EmailMultiAlternatives)
        whole = str(message.subject) + str(message.body) + "".join(str(part[0]) for part in message.alternatives)
        for what, sentinel in SENTINELS.items():
            if not what.startswith("drill"):
                assert sentinel.lower() not in whole.lower(), f"{what} leaked into an e-mail"
