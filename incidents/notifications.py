"""What a page says, per channel: registered with oncall's deliveries as the incident renderer."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.timesince import timesince

from incidents.action_links import action_link_token, action_link_url
from incidents.models import Incident
from oncall.models import ContactMethod


def incident_message(
    subject: str, user: User, method: ContactMethod, delivery_key: str, context: dict[str, Any], incident: Any = None
) -> dict[str, Any]:
    if not isinstance(incident, Incident):
        incident = Incident.objects.select_related("severity", "service").get(pk=int(subject.partition(":")[2]))
    ack_url = action_link_url(action_link_token(incident.pk, user.pk, "acknowledge", method.kind))
    resolve_url = action_link_url(action_link_token(incident.pk, user.pk, "resolve", method.kind))
    open_for = timesince(incident.created_at, timezone.now())
    values = {
        "incident": incident,
        "open_for": open_for,
        "ack_url": ack_url,
        "resolve_url": resolve_url,
        "why": context.get("why", ""),
        "step": context.get("step"),
        "steps": context.get("steps"),
    }
    headline = f"[{incident.severity.name}] #{incident.number} {incident.title}"
    text = render_to_string("incidents/notifications/page.txt", values)
    return {
        "subject": f"{headline} — {incident.service.name}"[:250],
        "text": text,
        "html": render_to_string("incidents/notifications/page.html", values),
        "slack": {
            "text": f"{headline} ({incident.service.name}, open {open_for})",
            "blocks": [
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": f"*<{incident.absolute_url}|{_slack_escape(headline)}>*\n"
                        f"{_slack_escape(incident.service.name)} · {incident.severity.title} · open {open_for}",
                    },
                },
                {
                    "type": "actions",
                    "elements": [
                        {"type": "button", "text": {"type": "plain_text", "text": "Acknowledge"}, "url": ack_url},
                        {"type": "button", "text": {"type": "plain_text", "text": "Resolve"}, "url": resolve_url},
                    ],
                },
            ],
        },
        "webhook": {
            "event": "incident.notify",
            "incident": {
                "id": incident.pk,
                "number": incident.number,
                "title": incident.title,
                "severity": incident.severity.name,
                "status": incident.status,
                "service": incident.service.name,
                "created_at": incident.created_at.isoformat(),
                "url": incident.absolute_url,
            },
            "ack_url": ack_url,
            "resolve_url": resolve_url,
            "delivery": delivery_key,
        },
    }


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn treats these three as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
