"""Atom and RSS feeds of the status page's history: one entry per public incident or maintenance."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed

from incidents import status_json
from incidents.models.status import PublicIncident, PublicIncidentUpdate, ScheduledMaintenance, StatusPage

FEED_ENTRIES = 50
FEED_CLASSES: dict[str, type[SyndicationFeed]] = {"atom": Atom1Feed, "rss": Rss201rev2Feed}
CONTENT_TYPES = {"atom": "application/atom+xml; charset=utf-8", "rss": "application/rss+xml; charset=utf-8"}


def _entry_text(updates: list[PublicIncidentUpdate]) -> str:
    lines = []
    for update in updates:
        lines.append(f"{update.status_label} ({update.created_at:%Y-%m-%d %H:%M} UTC): {update.body}")
    return "\n\n".join(lines)


def render(kind: str) -> tuple[bytes, str]:
    page = StatusPage.objects.current()
    site = settings.SITE_URL
    feed = FEED_CLASSES[kind](
        title=f"{page.name} — history",
        link=site + reverse("status:page"),
        description=f"Incidents and maintenance published on {page.name}.",
        feed_url=site + reverse(f"status:history-{kind}"),
        language="en",
    )
    incidents = list(status_json.public_incidents()[:FEED_ENTRIES])
    maintenance = list(status_json.maintenances().order_by("-scheduled_for")[:FEED_ENTRIES])
    both: list[PublicIncident | ScheduledMaintenance] = [*incidents, *maintenance]
    entries = sorted(both, key=lambda entry: entry.updated_at, reverse=True)[:FEED_ENTRIES]
    for entry in entries:
        link = site + reverse("status:incident", args=[entry.public_id])
        feed.add_item(
            title=entry.name,
            link=link,
            description=_entry_text(list(entry.updates.all())),
            unique_id=link,
            unique_id_is_permalink=True,
            pubdate=entry.created_at,
            updateddate=entry.updated_at,
        )
    return feed.writeString("utf-8").encode(), CONTENT_TYPES[kind]
