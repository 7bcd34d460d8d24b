"""Subscribers, against a real SMTP server on loopback: double opt-in, notices, unsubscribing."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from incidents.models.status import Subscriber
from incidents.services.statuspage import public_incident_publish, public_incident_update
from incidents.services.subscribers import SIGNUPS_PER_WINDOW
from incidents.tests.status_builders import make_component, make_incident, run_queued_jobs
from irp_site.testing.receivers import SmtpReceiver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("status_cache_cleared")]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def link(message: EmailMessage, word: str) -> str:
    found = re.search(rf"http://127\.0\.0\.1:8000(/status/{word}[^\s]*)", text_of(message))
    assert found, f"no {word} link in:\n{text_of(message)}"
    return found.group(1)


def to(smtp: SmtpReceiver, address: str) -> list[EmailMessage]:
    return [mail.message for mail in smtp.received() if address in mail.message["To"]]


def test_subscribe_confirm_notice_unsubscribe_then_nothing_more(
    client: Client, smtp: SmtpReceiver, responder: User, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    incident = make_incident()
    checkout = make_component("Checkout", services=[incident.service])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/status/subscribe/", {"email": "Ada@Example.test"})
    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    run_queued_jobs()
    [confirmation] = smtp.wait_for(1)
    assert confirmation.message["To"] == "ada@example.test"
    assert "Confirm" in confirmation.message["Subject"]

    # Before confirming, an incident sends nothing.
    with django_capture_on_commit_callbacks(execute=True):
        early = public_incident_publish(make_incident(), actor=responder, name="Early", body="Before confirming.")
    run_queued_jobs()
    assert len(smtp.received()) == 1
    public_incident_update(early, actor=responder, status="resolved", body="Done.")

    confirmed = client.get(link(confirmation.message, "subscribe/confirm/"))
    assert confirmed.status_code == 200
    assert "Subscription confirmed" in confirmed.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        public = public_incident_publish(
            incident,
            actor=responder,
            name="Payments failing",
            body="Some card payments fail.",
            components={checkout: "partial_outage"},
        )
    run_queued_jobs()
    notice = smtp.wait_for(2)[-1].message
    assert notice["Subject"] == "[Your organisation status] Incident investigating: Payments failing"
    assert "Some card payments fail." in text_of(notice)
    unsubscribe_path = link(notice, "unsubscribe/")
    assert notice["List-Unsubscribe"].strip() == f"<http://127.0.0.1:8000{unsubscribe_path}>"
    assert notice["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    page = client.get(unsubscribe_path)
    assert page.status_code == 200
    assert "Unsubscribe" in page.content.decode()
    done = client.post(unsubscribe_path)
    assert "Unsubscribed" in done.content.decode()
    assert not Subscriber.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        public_incident_update(public, actor=responder, status="resolved", body="Payments work again.")
    run_queued_jobs()
    assert len(smtp.received()) == 2  # nothing more arrived


def test_one_click_unsubscribe_from_the_mail_client_needs_no_csrf_token(smtp: SmtpReceiver) -> None:
    subscriber = Subscriber.objects.create(email="bob@example.test")
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"/status/unsubscribe/{subscriber.token}/", {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert not Subscriber.objects.exists()


def test_subscribers_hear_only_about_the_components_they_chose(
    client: Client, smtp: SmtpReceiver, responder: User, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    incident = make_incident()
    checkout = make_component("Checkout", services=[incident.service])
    search = make_component("Search")
    for email, components in (("checkout@example.test", [checkout]), ("search@example.test", [search])):
        with django_capture_on_commit_callbacks(execute=True):
            client.post("/status/subscribe/", {"email": email, "components": [c.pk for c in components]})
    client.post("/status/subscribe/", {"email": "everything@example.test"})
    Subscriber.objects.update(confirmed_at="2026-01-01T00:00:00Z")
    run_queued_jobs()
    smtp_before = len(smtp.received())

    with django_capture_on_commit_callbacks(execute=True):
        public_incident_publish(
            incident, actor=responder, name="Checkout down", body="Down.", components={checkout: "major_outage"}
        )
    run_queued_jobs()
    smtp.wait_for(smtp_before + 2)
    notices = [m.message for m in smtp.received()[smtp_before:]]
    assert sorted(m["To"] for m in notices) == ["checkout@example.test", "everything@example.test"]


def test_sign_ups_are_rate_limited_by_address_with_a_429_that_says_so(client: Client) -> None:
    for number in range(SIGNUPS_PER_WINDOW):
        response = client.post("/status/subscribe/", {"email": f"p{number}@example.test"}, REMOTE_ADDR="203.0.113.9")
        assert response.status_code == 200
    refused = client.post("/status/subscribe/", {"email": "more@example.test"}, REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 429
    assert "Too many sign-ups" in refused.content.decode()
    assert not Subscriber.objects.filter(email="more@example.test").exists()
    # Another address is not affected.
    other = client.post("/status/subscribe/", {"email": "more@example.test"}, REMOTE_ADDR="203.0.113.10")
    assert other.status_code == 200


def test_a_bad_address_answers_400_naming_the_field(client: Client) -> None:
    response = client.post("/status/subscribe/", {"email": "not-an-address"})
    assert response.status_code == 400
    assert "email" in response.context["form"].errors
    assert not Subscriber.objects.exists()


def test_unknown_links_say_so_without_error(client: Client) -> None:
    assert client.get("/status/subscribe/confirm/nope/").status_code == 404
    assert client.post("/status/unsubscribe/nope/").status_code == 200


def test_the_subscribe_page_offers_the_components(client: Client) -> None:
    make_component("Checkout")
    page = client.get("/status/subscribe/").content.decode()
    assert "Checkout" in page
    assert 'name="components"' in page


def test_behind_the_trusted_proxy_the_limit_is_per_client_not_per_proxy(client: Client, settings: Any) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    for number in range(SIGNUPS_PER_WINDOW):
        response = client.post(
            "/status/subscribe/",
            {"email": f"c{number}@example.test"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{number}",
        )
        assert response.status_code == 200
    # The proxy appends the real address last; what the client wrote before it counts for nothing.
    forged = client.post(
        "/status/subscribe/",
        {"email": "more@example.test"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.0",
    )
    assert forged.status_code == 200


def test_plain_text_mail_is_not_html_escaped(
    smtp: SmtpReceiver, responder: User, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    Subscriber.objects.create(email="ada@example.test", confirmed_at="2026-01-01T00:00:00Z")
    with django_capture_on_commit_callbacks(execute=True):
        public_incident_publish(make_incident(), actor=responder, name="Cards & wallets", body="Fees <3% fail.")
    run_queued_jobs()
    [mail] = smtp.wait_for(1)
    assert mail.message["Subject"].endswith("Cards & wallets")
    assert "Fees <3% fail." in text_of(mail.message)
    html = mail.message.get_body(preferencelist=("html",))
    assert html is not None
    assert "Fees &lt;3% fail." in str(html.get_content())


def test_signing_up_again_does_not_resend_the_confirmation_sooner_than_ten_minutes(
    client: Client, smtp: SmtpReceiver, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    for address in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):  # different networks: no rate limit
        with django_capture_on_commit_callbacks(execute=True):
            assert (
                client.post("/status/subscribe/", {"email": "eve@example.test"}, REMOTE_ADDR=address).status_code == 200
            )
    run_queued_jobs()
    assert len(smtp.wait_for(1)) == 1
    # Ten minutes later the person may ask again (a lost mail, a typo fixed).
    Subscriber.objects.update(confirmation_sent_at=timezone.now() - timedelta(minutes=11))
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/status/subscribe/", {"email": "eve@example.test"}, REMOTE_ADDR="198.51.100.4")
    run_queued_jobs()
    assert len(smtp.wait_for(2)) == 2


@pytest.mark.parametrize(
    "path",
    [
        "/status/incidents/%00",
        "/status/subscribe/confirm/%00/",
        "/status/unsubscribe/%00/",
        "/status/manage/public/%00/",
        "/status/manage/maintenance/%00/",
    ],
)
def test_a_nul_in_a_public_link_is_a_404(client: Client, plan_owner: User, path: str) -> None:
    client.force_login(plan_owner)
    assert client.get(path).status_code == 404
    assert client.post(path).status_code in (403, 404)
