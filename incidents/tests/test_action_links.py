"""One-click links in notifications: a GET only asks, the confirming POST acts once, as the person the
link was sent to; expired, tampered and reused links say so plainly and change nothing."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.test import Client

from incidents.action_links import SALT, action_link_token
from incidents.models import Incident, UsedActionLink
from incidents.services.lifecycle import incident_transition
from incidents.tests.factories import make_integration, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(client: Client) -> Incident:
    integration = make_integration(rate_limit_per_minute=10_000)
    body = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "dedup_key": "checkout-down",
        "payload": {"summary": "Checkout is down", "source": "lb-1", "severity": "critical"},
    }
    assert client.post("/v2/enqueue", body, content_type="application/json").status_code == 202
    return Incident.objects.get(dedup_key="checkout-down")


@pytest.fixture
def alice() -> User:
    return make_person("alice", last_name="Able")


def link_path(incident: Incident, user: User, action: str = "acknowledge", channel: str = "email") -> str:
    return f"/l/{action_link_token(incident.pk, user.pk, action, channel)}/"


def token_issued_seconds_ago(incident: Incident, user: User, seconds: float) -> str:
    issued_at = time.time() - seconds
    with mock.patch("django.core.signing.time.time", return_value=issued_at):
        return action_link_token(incident.pk, user.pk, "acknowledge", "email")


def csrf_token_in(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found, "the confirmation form carries no CSRF token"
    return found.group(1)


def test_opening_the_link_only_asks(incident: Incident, alice: User) -> None:
    path = link_path(incident, alice)

    page = Client().get(path)
    head = Client().head(path)

    assert page.status_code == 200
    html = page.content.decode()
    assert "Confirm to acknowledge this incident." in html
    assert f"Acknowledge #{incident.number}</button>" in html
    assert '<form method="post">' in html
    # Link-preview bots must not see a cached copy of someone else's confirmation either.
    assert "no-cache" in page["Cache-Control"]
    assert head.status_code == 200
    assert head.content == b""
    incident.refresh_from_db()
    assert incident.status == Incident.Status.TRIGGERED
    assert incident.acknowledged_at is None
    assert not UsedActionLink.objects.exists()
    assert not incident.timeline.filter(kind="acknowledged").exists()


def test_confirming_acknowledges_as_the_person_the_link_was_sent_to(incident: Incident, alice: User) -> None:
    path = link_path(incident, alice, channel="email")

    response = Client().post(path)

    assert response.status_code == 200
    assert "Acknowledged by Alice Able." in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == Incident.Status.ACKNOWLEDGED
    assert incident.acknowledged_at is not None
    entry = incident.timeline.get(kind="acknowledged")
    assert entry.actor == alice
    assert entry.message == "Acknowledged by Alice Able via the e-mail link."
    used = UsedActionLink.objects.get()
    assert (used.incident, used.user, used.action, used.channel) == (incident, alice, "acknowledge", "email")


def test_a_resolve_link_resolves(incident: Incident, alice: User) -> None:
    response = Client().post(link_path(incident, alice, action="resolve", channel="slack"))

    assert response.status_code == 200
    assert "Resolved by Alice Able." in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED
    assert incident.resolved_at is not None
    entry = incident.timeline.get(kind="resolved")
    assert (entry.actor, entry.message) == (alice, "Resolved by Alice Able via the Slack link.")


def test_a_link_works_once(incident: Incident, alice: User) -> None:
    path = link_path(incident, alice)
    assert Client().post(path).status_code == 200
    # The incident goes back to triggered; replaying the first link must not acknowledge it again.
    incident.refresh_from_db()
    assert incident_transition(incident, Incident.Status.TRIGGERED, actor_label="test")

    again = Client().post(path)
    opened_again = Client().get(path)

    assert again.status_code == 409
    assert "This link was already used at " in again.content.decode()
    assert "Each link works once." in again.content.decode()
    assert opened_again.status_code == 409
    assert "already used" in opened_again.content.decode()
    assert "<form" not in opened_again.content.decode().split("<main", 1)[1]
    incident.refresh_from_db()
    assert incident.status == Incident.Status.TRIGGERED
    assert incident.timeline.filter(kind="acknowledged").count() == 1
    assert UsedActionLink.objects.count() == 1


def test_a_link_expires_after_its_maximum_age(incident: Incident, alice: User) -> None:
    max_age = settings.ACTION_LINK_MAX_AGE_SECONDS
    fresh_enough = f"/l/{token_issued_seconds_ago(incident, alice, max_age - 60)}/"
    expired = f"/l/{token_issued_seconds_ago(incident, alice, max_age + 1)}/"

    still_valid = Client().get(fresh_enough)
    opened = Client().get(expired)
    confirmed = Client().post(expired)

    assert still_valid.status_code == 200
    assert "Confirm to acknowledge" in still_valid.content.decode()
    assert opened.status_code == 410
    assert confirmed.status_code == 410
    assert "This link has expired." in confirmed.content.decode()
    incident.refresh_from_db()
    assert incident.status == Incident.Status.TRIGGERED
    assert not UsedActionLink.objects.exists()


def test_a_link_signed_with_an_old_timestamp_by_hand_is_expired(incident: Incident, alice: User) -> None:
    data = {"i": incident.pk, "u": alice.pk, "a": "acknowledge", "c": "email", "n": "hand-made"}
    signer = signing.TimestampSigner(salt=SALT)
    with mock.patch("django.core.signing.time.time", return_value=time.time() - 2 * 86400):
        token = signer.sign_object(data, compress=True)
    assert settings.ACTION_LINK_MAX_AGE_SECONDS < 2 * 86400

    response = Client().post(f"/l/{token}/")

    assert response.status_code == 410
    assert "expired" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == Incident.Status.TRIGGERED


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"), id="signature-changed"),
        pytest.param(lambda token: "x" + token, id="payload-changed"),
        pytest.param(lambda token: token.rsplit(":", 1)[0], id="signature-cut-off"),
        pytest.param(lambda token: "not-a-token", id="garbage"),
    ],
)
def test_a_tampered_link_is_not_found(incident: Incident, alice: User, tamper: Callable[[str], str]) -> None:
    token = action_link_token(incident.pk, alice.pk, "acknowledge", "email")
    bad = tamper(token)
    assert bad != token

    opened = Client().get(f"/l/{bad}/")
    confirmed = Client().post(f"/l/{bad}/")

    assert opened.status_code == 404
    assert confirmed.status_code == 404
    assert "This is not a valid IRP link." in confirmed.content.decode()
    incident.refresh_from_db()
    assert incident.status == Incident.Status.TRIGGERED


def test_links_signed_for_something_else_or_with_another_key_are_not_found(incident: Incident, alice: User) -> None:
    data = {"i": incident.pk, "u": alice.pk, "a": "acknowledge", "c": "email", "n": "nonce"}
    other_salt = signing.dumps(data, salt="irp.something-else", compress=True)
    other_key = signing.dumps(data, salt=SALT, key="not-the-secret-key", compress=True)
    unknown_action = signing.dumps({**data, "a": "delete"}, salt=SALT, compress=True)
    incomplete = signing.dumps({"i": incident.pk, "a": "acknowledge"}, salt=SALT, compress=True)

    for token in (other_salt, other_key, unknown_action, incomplete):
        assert Client().post(f"/l/{token}/").status_code == 404, token

    incident.refresh_from_db()
    assert incident.status == Incident.Status.TRIGGERED
    assert not UsedActionLink.objects.exists()


def test_acknowledging_an_acknowledged_incident_says_so_and_changes_nothing(incident: Incident, alice: User) -> None:
    bob = make_person("bob")
    assert incident_transition(incident, Incident.Status.ACKNOWLEDGED, actor=bob)
    acknowledged_at = Incident.objects.get(pk=incident.pk).acknowledged_at

    response = Client().post(link_path(incident, alice))

    assert response.status_code == 200
    assert "Already acknowledged; nothing to do." in response.content.decode()
    incident.refresh_from_db()
    assert incident.acknowledged_at == acknowledged_at
    assert list(incident.timeline.filter(kind="acknowledged").values_list("actor", flat=True)) == [bob.pk]


def test_a_link_cannot_act_on_a_resolved_incident(incident: Incident, alice: User) -> None:
    incident_transition(incident, Incident.Status.RESOLVED, actor=alice)

    response = Client().post(link_path(incident, alice))

    assert response.status_code == 409
    assert "The incident is resolved; it cannot be acknowledged now." in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED
    assert incident.acknowledged_at is None
    assert not incident.timeline.filter(kind="acknowledged").exists()
    # Refused, so not used up either.
    assert not UsedActionLink.objects.exists()


def test_a_link_for_someone_since_deactivated_or_an_incident_since_deleted_does_nothing(
    incident: Incident, alice: User
) -> None:
    deactivated = link_path(incident, alice)
    User.objects.filter(pk=alice.pk).update(is_active=False)

    refused = Client().post(deactivated)

    assert refused.status_code == 409
    assert "This link no longer points to anything." in refused.content.decode()
    incident.refresh_from_db()
    assert incident.status == Incident.Status.TRIGGERED

    User.objects.filter(pk=alice.pk).update(is_active=True)
    gone = link_path(incident, alice)
    Incident.objects.filter(pk=incident.pk).delete()

    opened = Client().get(gone)

    assert opened.status_code == 404
    assert "the incident is gone" in opened.content.decode()
    assert "<form" not in opened.content.decode().split("<main", 1)[1]


def test_the_confirmation_needs_the_csrf_token_its_form_carries(incident: Incident, alice: User) -> None:
    path = link_path(incident, alice)
    browser = Client(enforce_csrf_checks=True)

    forged = browser.post(path)

    assert forged.status_code == 403
    incident.refresh_from_db()
    assert incident.status == Incident.Status.TRIGGERED

    page = browser.get(path)
    confirmed = browser.post(path, {"csrfmiddlewaretoken": csrf_token_in(page.content.decode())})

    assert confirmed.status_code == 200
    incident.refresh_from_db()
    assert incident.status == Incident.Status.ACKNOWLEDGED
    assert incident.timeline.get(kind="acknowledged").actor == alice
