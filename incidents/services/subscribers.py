"""Subscribers to the status page: double opt-in sign-up, confirmation, unsubscribing."""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from incidents import status_tasks
from incidents.models.status import Component, Subscriber

# Sign-ups one address (IP) may make per window: enough for a family behind one router, not a bot.
SIGNUPS_PER_WINDOW = 5
SIGNUP_WINDOW_SECONDS = 600
# However often an unconfirmed address is signed up, its confirmation e-mail goes at most this often.
CONFIRMATION_RESEND_AFTER = timedelta(minutes=10)


class SignupRefused(Exception):
    """Too many sign-ups from one address; the message says when to try again."""


def _within_rate(ip: str) -> bool:
    # Counted in Django's cache: shared by all processes when the cache is (Redis, database).
    key = f"irp-status-signup:{ip}"
    if cache.add(key, 1, SIGNUP_WINDOW_SECONDS):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, SIGNUP_WINDOW_SECONDS)
        return True
    return count <= SIGNUPS_PER_WINDOW


def subscriber_signup(email: str, components: list[Component], *, ip: str) -> Subscriber:
    """Record the wish and send a confirmation link; nothing else is sent until it is followed.

    Answers the same whether or not the address was known, so the form reveals nobody's subscription.
    """
    if not _within_rate(ip):
        minutes = SIGNUP_WINDOW_SECONDS // 60
        raise SignupRefused(f"Too many sign-ups from your network. Please try again in {minutes} minutes.")
    email = email.strip().lower()
    with transaction.atomic():
        subscriber, _ = Subscriber.objects.select_for_update().get_or_create(email=email)
        if subscriber.confirmed_at is None:
            subscriber.components.set(components)
            now = timezone.now()
            sent = subscriber.confirmation_sent_at
            if sent is None or now - sent >= CONFIRMATION_RESEND_AFTER:
                Subscriber.objects.filter(pk=subscriber.pk).update(confirmation_sent_at=now)
                subscriber_id = subscriber.pk
                transaction.on_commit(lambda: status_tasks.enqueue(status_tasks.confirmation_send, subscriber_id))
    return subscriber


def subscriber_confirm(token: str) -> Subscriber | None:
    subscriber = Subscriber.objects.filter(token=token).first()
    if subscriber is None:
        return None
    Subscriber.objects.filter(pk=subscriber.pk, confirmed_at__isnull=True).update(confirmed_at=timezone.now())
    subscriber.refresh_from_db()
    return subscriber


def subscriber_unsubscribe(token: str) -> bool:
    """Forget the address altogether; the same link works again harmlessly."""
    deleted, _ = Subscriber.objects.filter(token=token).delete()
    return bool(deleted)
