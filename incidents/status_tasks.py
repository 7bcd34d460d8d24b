"""Background work of the status page, run by django-q2: the uptime bars and subscriber e-mail.

Tasks take ids, load what they need, and return quietly when it is gone (an unsubscribed person,
a deleted update). The engine only decides when the bars are due; the computing happens here so
that a long computation never delays an escalation step.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from incidents.models.status import (
    COMPONENT_SEVERITY,
    AffectedComponent,
    Component,
    ComponentStatus,
    PublicIncident,
    PublicIncidentUpdate,
    ScheduledMaintenance,
    StatusPage,
    Subscriber,
)
from incidents.services import statuspage
from incidents.status_bars import bars_html

logger = logging.getLogger(__name__)

BAR_DAYS = 90
# How many incidents' titles a day's bar lists; the rest are counted.
TITLES_PER_DAY = 3
# The engine hands the bars to a worker at most this often, however often incidents change.
BARS_MIN_INTERVAL = timedelta(seconds=20)
# A job claimed this long ago without finishing is taken to have died with its worker.
BARS_STALE_CLAIM = timedelta(minutes=5)
NOTICE_BATCH_SIZE = 100


def enqueue(function: object, *args: object) -> None:
    from django_q.tasks import async_task

    async_task(function, *args, group="status-page", save=False)


# --- The 90-day bars -----------------------------------------------------------------------------


def uptime_bars_claim(now: datetime) -> bool:
    """Engine tick: hand the bars to a worker when they are due (one claim, however many engines)."""
    due = StatusPage.objects.filter(
        Q(bars_due_at__lte=now, bars_claimed_at__isnull=True)
        | Q(bars_due_at__lte=now, bars_claimed_at__lte=now - BARS_MIN_INTERVAL)
        # Claimed long ago and never finished (a finished job sets the next due time): its worker died.
        | Q(bars_due_at__isnull=True, bars_claimed_at__lte=now - BARS_STALE_CLAIM)
    )
    if not due.exists():
        return False  # a read, not a write, on almost every tick
    if not due.update(bars_due_at=None, bars_claimed_at=now):
        return False
    transaction.on_commit(lambda: enqueue(uptime_bars_compute))
    return True


def oldest_due_bars() -> datetime | None:
    return StatusPage.objects.filter(bars_due_at__isnull=False).values_list("bars_due_at", flat=True).first()


def _next_midnight(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


def _days(start: datetime, end: datetime, first: date) -> list[date]:
    day, last = max(start.astimezone(UTC).date(), first), end.astimezone(UTC).date()
    days = []
    while day <= last:
        days.append(day)
        day += timedelta(days=1)
    return days


def uptime_bars(now: datetime) -> dict[int, list[dict[str, object]]]:
    """{component id: 90 days, oldest first, each with the worst status of that day and its incidents}."""
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=BAR_DAYS - 1)
    window_start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    worst: dict[tuple[int, date], str] = {}
    titles: dict[tuple[int, date], list[str]] = defaultdict(list)

    def mark(component_id: int, start: datetime, end: datetime, status: str, title: str) -> None:
        for day in _days(start, end, first):
            key = (component_id, day)
            if COMPONENT_SEVERITY[status] > COMPONENT_SEVERITY[worst.get(key, ComponentStatus.OPERATIONAL)]:
                worst[key] = status
            titles[key].append(title)

    public = PublicIncident.objects.public().filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=window_start))
    impacts = (
        AffectedComponent.objects.filter(public_incident__in=public)
        .values_list(
            "component_id",
            "worst_status",
            "public_incident__name",
            "public_incident__started_at",
            "public_incident__resolved_at",
        )
        .order_by("public_incident__started_at")
    )
    for component_id, status, title, started_at, resolved_at in impacts.iterator(chunk_size=2000):
        mark(component_id, started_at, resolved_at or now, status, title)
    maintenance = ScheduledMaintenance.components.through.objects.filter(
        scheduledmaintenance__started_at__isnull=False, scheduledmaintenance__scheduled_until__gte=window_start
    ).values_list(
        "component_id",
        "scheduledmaintenance__name",
        "scheduledmaintenance__started_at",
        "scheduledmaintenance__completed_at",
    )
    for component_id, title, began, completed_at in maintenance:
        assert began is not None  # filtered above
        mark(component_id, began, completed_at or now, ComponentStatus.UNDER_MAINTENANCE, title)

    bars: dict[int, list[dict[str, object]]] = {}
    for component_id, created_at, start_date in Component.objects.values_list("pk", "created_at", "start_date"):
        begins = start_date or created_at.astimezone(UTC).date()
        days = []
        for offset in range(BAR_DAYS):
            day = first + timedelta(days=offset)
            day_titles = titles.get((component_id, day), [])
            days.append(
                {
                    "date": day.isoformat(),
                    "status": worst.get((component_id, day), ComponentStatus.OPERATIONAL if day >= begins else "none"),
                    "incidents": day_titles[:TITLES_PER_DAY],
                    "more": max(0, len(day_titles) - TITLES_PER_DAY),
                }
            )
        bars[component_id] = days
    return bars


def uptime_bars_compute() -> int:
    """The task: compute and store the bars; returns how many components' bars changed."""
    now = timezone.now()
    bars = uptime_bars(now)
    changed = []
    for component in Component.objects.only("pk", "name", "uptime_days", "uptime_html"):
        html = bars_html(component.name, bars[component.pk])
        if component.uptime_days != bars[component.pk] or component.uptime_html != html:
            component.uptime_days, component.uptime_html = bars[component.pk], html
            changed.append(component)
    with transaction.atomic():
        Component.objects.bulk_update(changed, ["uptime_days", "uptime_html"], batch_size=100)
        # Due again at midnight, when a new day starts; a publication meanwhile sets an earlier time.
        StatusPage.objects.filter(bars_due_at__isnull=True).update(bars_due_at=_next_midnight(now))
        if changed:
            statuspage.status_page_touch(at=now)
    return len(changed)


# --- E-mail to subscribers -----------------------------------------------------------------------


def absolute(path: str) -> str:
    return settings.SITE_URL + path


def render_email(name: str, context: dict[str, object]) -> tuple[str, str, str]:
    """A trio of templates: templates/incidents/status/<name>-subject.txt, -body.txt, -body.html."""
    subject = " ".join(render_to_string(f"incidents/status/{name}-subject.txt", context).split())
    text = render_to_string(f"incidents/status/{name}-body.txt", context)
    html = render_to_string(f"incidents/status/{name}-body.html", context)
    return subject, text, html


def _message(subscriber: Subscriber, name: str, context: dict[str, object], page: StatusPage) -> EmailMultiAlternatives:
    unsubscribe_url = absolute(reverse("status:unsubscribe", args=[subscriber.token]))
    subject, text, html = render_email(
        name,
        {**context, "page": page, "page_url": absolute(reverse("status:page")), "unsubscribe_url": unsubscribe_url},
    )
    message = EmailMultiAlternatives(
        subject,
        text,
        to=[subscriber.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def confirmation_send(subscriber_id: int) -> None:
    subscriber = Subscriber.objects.filter(pk=subscriber_id, confirmed_at__isnull=True).first()
    if subscriber is None:
        return
    confirm_url = absolute(reverse("status:confirm", args=[subscriber.token]))
    _message(subscriber, "confirm", {"confirm_url": confirm_url}, StatusPage.objects.current()).send()


def _is_drill(update: PublicIncidentUpdate) -> bool:
    # Checked when the batches are made and again when each is sent: it may be flagged meanwhile.
    incident = update.public_incident.incident if update.public_incident is not None else None
    return incident is not None and incident.is_drill


def notices_enqueue(update_id: int) -> int:
    """Split the subscribers an update concerns into batches, one django-q2 task each."""
    update = (
        PublicIncidentUpdate.objects.select_related("public_incident__incident", "maintenance")
        .filter(pk=update_id)
        .first()
    )
    if update is None:
        return 0
    if _is_drill(update):
        return 0
    if update.public_incident is not None:
        components = list(Component.objects.filter(affected_by__public_incident=update.public_incident))
    else:
        assert update.maintenance is not None  # the database's check constraint: one or the other
        components = list(update.maintenance.components.all())
    subscribers = Subscriber.objects.confirmed()
    if components:
        subscribers = subscribers.interested_in(components)
    ids = list(subscribers.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), NOTICE_BATCH_SIZE):
        enqueue(notices_send, update_id, ids[start : start + NOTICE_BATCH_SIZE])
    return len(ids)


def notices_send(update_id: int, subscriber_ids: list[int]) -> int:
    """Send one batch over one SMTP connection; those who unsubscribed meanwhile are skipped."""
    update = (
        PublicIncidentUpdate.objects.select_related("public_incident__incident", "maintenance")
        .filter(pk=update_id)
        .first()
    )
    if update is None or _is_drill(update):
        return 0
    subject = update.public_incident or update.maintenance
    assert subject is not None  # the database's check constraint: one or the other
    permalink = absolute(reverse("status:incident", args=[subject.public_id]))
    page = StatusPage.objects.current()
    context: dict[str, object] = {
        "update": update,
        "subject": subject,
        "is_maintenance": update.maintenance_id is not None,
        "status_label": update.status.replace("_", " ").capitalize(),
        "permalink": permalink,
    }
    messages = [
        _message(subscriber, "notice", context, page)
        for subscriber in Subscriber.objects.confirmed().filter(pk__in=subscriber_ids)
    ]
    if not messages:
        return 0
    with get_connection() as connection:
        sent = connection.send_messages(messages)
    return sent or 0
