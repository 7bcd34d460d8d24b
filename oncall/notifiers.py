"""Notifiers: send one delivery through its channel and say how it went. No database access here.

Each answer is classified so the caller knows what to do next: sent, transient (retry later with
backoff) or permanent (give up on this method and fall back to the person's next one).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import smtplib
import threading
import urllib.request
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from oncall.models import ContactMethod, Delivery

SIGNATURE_HEADER = "X-IRP-Signature"
DELIVERY_HEADER = "X-IRP-Delivery"
# Status codes that say "try again later"; every other 4xx says the request itself is wrong.
TRANSIENT_HTTP = frozenset({408, 425, 429})


@dataclass(frozen=True)
class SendResult:
    outcome: str  # DeliveryAttempt.Outcome value
    answer: str
    provider_id: str = ""
    retry_after: float | None = None


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


_local = threading.local()


def _session() -> requests.Session:
    # One session per thread: connections are kept alive between sends to the same host, and the
    # session's set-up is not paid again for every page.
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = _new_session()
    return session


def _new_session() -> requests.Session:
    session = requests.Session()
    if not urllib.request.getproxies():
        # No proxy is configured: spare requests its scan of the whole environment on every send
        # (about a millisecond of CPU a page). Keep the CA bundle it would have read from there.
        session.trust_env = False
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return session


def _post(delivery: Delivery, body: bytes, headers: dict[str, str]) -> SendResult:
    try:
        response = _session().post(
            delivery.address,
            data=body,
            headers={"Content-Type": "application/json", "User-Agent": "IRP", DELIVERY_HEADER: delivery.key, **headers},
            timeout=settings.DELIVERY_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        return SendResult("transient", f"{error.__class__.__name__}: {str(error)[:300]}")
    answer = f"HTTP {response.status_code} {response.text[:200]}".strip()
    if 200 <= response.status_code < 300:
        return SendResult("sent", answer, provider_id=response.headers.get("X-Request-Id", "")[:200])
    if response.status_code in TRANSIENT_HTTP or response.status_code >= 500:
        return SendResult("transient", answer, retry_after=_retry_after(response))
    return SendResult("permanent", answer)


def send_webhook(delivery: Delivery, secret: str) -> SendResult:
    body = json.dumps(delivery.message.get("webhook", {}), separators=(",", ":")).encode()
    return _post(delivery, body, {SIGNATURE_HEADER: sign(body, secret)})


def send_slack(delivery: Delivery) -> SendResult:
    return _post(delivery, json.dumps(delivery.message.get("slack", {})).encode(), {})


def message_id(delivery: Delivery) -> str:
    # The same for every attempt, so a mail client shows a re-driven send as the same message.
    digest = hashlib.sha256(delivery.key.encode()).hexdigest()[:32]
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].rstrip(">") or "irp.invalid"
    return f"<{digest}@{domain}>"


def send_email(delivery: Delivery) -> SendResult:
    message: dict[str, Any] = delivery.message
    email = EmailMultiAlternatives(
        subject=message.get("subject", "IRP notification"),
        body=message.get("text", ""),
        to=[delivery.address],
        headers={"Message-ID": message_id(delivery), DELIVERY_HEADER: delivery.key},
        connection=get_connection(timeout=settings.DELIVERY_TIMEOUT_SECONDS),
    )
    if message.get("html"):
        email.attach_alternative(message["html"], "text/html")
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        outcome = "permanent" if codes and all(code >= 500 for code in codes) else "transient"
        return SendResult(outcome, f"recipient refused: {error.recipients}"[:500])
    except smtplib.SMTPResponseException as error:
        outcome = "permanent" if error.smtp_code >= 500 else "transient"
        return SendResult(outcome, f"SMTP {error.smtp_code} {error.smtp_error!r}"[:500])
    except (smtplib.SMTPException, OSError) as error:
        return SendResult("transient", f"{error.__class__.__name__}: {error}"[:500])
    return SendResult("sent", "accepted by the mail server", provider_id=message_id(delivery))


def send(delivery: Delivery, *, signing_secret: str = "") -> SendResult:
    if delivery.channel == ContactMethod.Kind.EMAIL:
        return send_email(delivery)
    if delivery.channel == ContactMethod.Kind.SLACK:
        return send_slack(delivery)
    if delivery.channel == ContactMethod.Kind.WEBHOOK:
        return send_webhook(delivery, signing_secret)
    return SendResult("permanent", f"Sending by {delivery.get_channel_display()} is not available yet.")
