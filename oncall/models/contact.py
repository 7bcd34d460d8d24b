"""How to reach a person: contact methods and the personal rules that say when to use which."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator, validate_email
from django.db import models
from django.db.models import Q
from django.utils import timezone


def new_signing_secret() -> str:
    return secrets.token_hex(32)


class ContactMethod(models.Model):
    class Kind(models.TextChoices):
        EMAIL = "email", "E-mail"
        SLACK = "slack", "Slack (incoming webhook)"
        WEBHOOK = "webhook", "Webhook (signed JSON)"
        SMS = "sms", "SMS"
        VOICE = "voice", "Voice call"

    # The channels IRP can send through today; SMS and voice numbers are stored for the two-way
    # channels that come next and count as "no working rule" until then.
    DELIVERABLE = frozenset({Kind.EMAIL, Kind.SLACK, Kind.WEBHOOK})

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_methods")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    label = models.CharField(max_length=100, blank=True, help_text="e.g. Work e-mail, #payments-oncall.")
    address = models.CharField(
        max_length=2000, help_text="The e-mail address, the webhook URL, or the phone number in international form."
    )
    # HMAC key for webhook signatures (X-IRP-Signature); shown to the owner so the receiver can verify.
    signing_secret = models.CharField(max_length=64, default=new_signing_secret, editable=False)
    last_outcome = models.CharField(max_length=16, blank=True, help_text="Outcome of the last delivery or test.")
    last_outcome_message = models.CharField(max_length=500, blank=True)
    last_outcome_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user", "kind", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "address"], name="contact_method_unique_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.label or self.address_shown}"

    @property
    def address_shown(self) -> str:
        # Webhook URLs carry their own secrets (Slack's do); show only where they point.
        if self.kind in (self.Kind.SLACK, self.Kind.WEBHOOK) and "/" in self.address[8:]:
            host = self.address.split("/")[2]
            return f"{self.address.split('://')[0]}://{host}/…"
        return self.address

    @property
    def is_deliverable(self) -> bool:
        return self.kind in self.DELIVERABLE

    def clean(self) -> None:
        address = (self.address or "").strip()
        self.address = address
        if self.kind == self.Kind.EMAIL:
            try:
                validate_email(address)
            except ValidationError as error:
                raise ValidationError({"address": "Enter a valid e-mail address."}) from error
        elif self.kind in (self.Kind.SLACK, self.Kind.WEBHOOK):
            try:
                # Loopback and private hosts are allowed on purpose: self-hosted receivers live there.
                URLValidator(schemes=["http", "https"])(address)
            except ValidationError as error:
                raise ValidationError({"address": "Enter an http:// or https:// URL."}) from error
        elif self.kind in (self.Kind.SMS, self.Kind.VOICE):
            digits = address.replace(" ", "").replace("-", "")
            if not (digits.startswith("+") and digits[1:].isdigit() and 8 <= len(digits) <= 16):
                raise ValidationError({"address": "Enter the number in international form, e.g. +44 20 7946 0000."})


class NotificationRule(models.Model):
    """One line of a person's own paging plan: "for high urgency, text me after 1 minute"."""

    class Urgency(models.TextChoices):
        HIGH = "high", "High urgency (P1/P2)"
        LOW = "low", "Low urgency (P3/P4)"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_rules")
    urgency = models.CharField(max_length=8, choices=Urgency.choices)
    contact_method = models.ForeignKey(ContactMethod, on_delete=models.CASCADE, related_name="rules")
    delay = models.DurationField(
        default=timedelta(0),
        validators=[MinValueValidator(timedelta(0)), MaxValueValidator(timedelta(hours=24))],
        help_text="How long after being paged to use this method (0: at once).",
    )

    class Meta:
        ordering = ["user", "urgency", "delay", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "urgency", "contact_method", "delay"], name="notification_rule_unique"
            ),
            models.CheckConstraint(condition=Q(delay__gte=timedelta(0)), name="notification_rule_delay_not_negative"),
        ]

    def __str__(self) -> str:
        minutes = int(self.delay.total_seconds() // 60)
        when = "immediately" if not self.delay else f"after {minutes} min"
        return f"{self.get_urgency_display()}: {self.contact_method} {when}"

    def clean(self) -> None:
        method = self.contact_method if self.contact_method_id else None
        if method is not None and self.user_id and method.user_id != self.user_id:
            raise ValidationError({"contact_method": "Choose one of this person's own contact methods."})
