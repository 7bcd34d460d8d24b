"""Deliveries: one row per notification to send, so that nothing is sent twice or lost."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from oncall.models.contact import ContactMethod, NotificationRule


class DeliveryQuerySet(models.QuerySet["Delivery"]):
    def due(self, now: datetime) -> DeliveryQuerySet:
        return self.filter(status=Delivery.Status.QUEUED, due_at__lte=now)

    def for_subject(self, subject: str) -> DeliveryQuerySet:
        return self.filter(subject=subject)


class Delivery(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    # Unique: the idempotency key of this notification, also sent to receivers (X-IRP-Delivery,
    # Message-ID) so a receiver can drop the duplicate of a send a crash interrupted.
    key = models.CharField(max_length=200, unique=True)
    # All deliveries of one page of one person share it: fallback looks for the next method here.
    page_key = models.CharField(max_length=160, db_index=True)
    # What the notification is about, e.g. "incident:42": acknowledging cancels by subject.
    subject = models.CharField(max_length=64, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deliveries")
    contact_method = models.ForeignKey(
        ContactMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    channel = models.CharField(max_length=16, choices=ContactMethod.Kind.choices)
    # Copied from the contact method, so the record stays true after the method changes.
    address = models.CharField(max_length=2000)
    urgency = models.CharField(max_length=8, choices=NotificationRule.Urgency.choices)
    # Everything any channel needs: subject, text, html, and the webhook body; rendered once.
    message = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    due_at = models.DateTimeField(default=timezone.now)
    # When it was last handed to the worker queue; a queued row handed over long ago is handed again.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    handovers = models.PositiveSmallIntegerField(default=0, help_text="Times handed to the worker queue.")
    # A worker sending it holds it until then; a crashed worker's lease runs out and it is re-driven.
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(max_length=200, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    fallback_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="fallbacks"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["due_at"], condition=Q(status="queued"), name="delivery_queued_due"),
            models.Index(fields=["lease_until"], condition=Q(status="sending"), name="delivery_sending_lease"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.user} ({self.get_status_display()})"


class DeliveryAttempt(models.Model):
    class Outcome(models.TextChoices):
        SENT = "sent", "Sent"
        TRANSIENT = "transient", "Failed, will retry"
        PERMANENT = "permanent", "Failed permanently"

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.FloatField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    answer = models.CharField(max_length=500, blank=True, help_text="What the provider said.")

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="delivery_attempt_unique")]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.get_outcome_display()}"
