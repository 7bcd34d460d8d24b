"""What a page says, per channel: registered with oncall's deliveries as the incident renderer (and
the communication reminder's renderer), and the stakeholder notice e-mail."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.timesince import timesince

from incidents.action_links import action_link_token, action_link_url
from incidents.models import Incident
from incidents.models.comms import CommsObligation, IncidentUpdate
from incidents.services.comms import obligation_labels
from incidents.services.runbooks import RunbookMatch, cached_runbook_matches
from oncall.models import ContactMethod

# Links to this many runbooks at most in a page; the incident page lists them all.
RUNBOOKS_IN_A_PAGE = 3


def render_email(name: str, values: dict[str, Any]) -> tuple[str, str, str]:
    """An e-mail trio from templates/incidents/emails/: `name`-subject.txt, -body.txt, -body.html."""
    subject = " ".join(render_to_string(f"incidents/emails/{name}-subject.txt", values).split())
    return (
        subject[:250],
        render_to_string(f"incidents/emails/{name}-body.txt", values),
        render_to_string(f"incidents/emails/{name}-body.html", values),
    )


def webhook_incident(incident: Incident) -> dict[str, Any]:
    """The incident as webhooks carry it (DESIGN.md §4)."""
    return {
        "id": incident.pk,
        "number": incident.number,
        "title": incident.title,
        "severity": incident.severity.name,
        "status": incident.status,
        "service": incident.service.name,
        "created_at": incident.created_at.isoformat(),
        "url": incident.absolute_url,
    }


def incident_message(
    subject: str, user: User, method: ContactMethod, delivery_key: str, context: dict[str, Any], incident: Any = None
) -> dict[str, Any]:
    if not isinstance(incident, Incident):
        incident = Incident.objects.select_related("severity", "service").get(pk=int(subject.partition(":")[2]))
    ack_url = action_link_url(action_link_token(incident.pk, user.pk, "acknowledge", method.kind))
    resolve_url = action_link_url(action_link_token(incident.pk, user.pk, "resolve", method.kind))
    open_for = timesince(incident.created_at, timezone.now())
    runbooks = _runbooks_of(incident)
    values = {
        "incident": incident,
        "open_for": open_for,
        "ack_url": ack_url,
        "resolve_url": resolve_url,
        "why": context.get("why", ""),
        "step": context.get("step"),
        "steps": context.get("steps"),
        "runbooks": runbooks,
    }
    headline = f"[{incident.severity.name}] #{incident.number} {incident.title}"
    # Only what this channel sends: the engine renders every page inside its transaction, and the
    # e-mail templates cost more than the rest of a page together.
    message: dict[str, Any] = {"subject": f"{headline} — {incident.service.name}"[:250]}
    if method.kind == ContactMethod.Kind.SLACK:
        message["slack"] = _slack_page(incident, headline, open_for, runbooks, ack_url, resolve_url)
    elif method.kind == ContactMethod.Kind.WEBHOOK:
        message["webhook"] = {
            "event": "incident.notify",
            "incident": webhook_incident(incident),
            "ack_url": ack_url,
            "resolve_url": resolve_url,
            "runbook_url": runbooks[0].url if runbooks else None,
            "runbooks": [{"title": m.runbook.title, "url": m.url} for m in runbooks],
            "delivery": delivery_key,
        }
    else:
        message["text"] = render_to_string("incidents/notifications/page.txt", values)
        if method.kind == ContactMethod.Kind.EMAIL:
            message["html"] = render_to_string("incidents/notifications/page.html", values)
    return message


def _slack_page(
    incident: Incident, headline: str, open_for: str, runbooks: list[RunbookMatch], ack_url: str, resolve_url: str
) -> dict[str, Any]:
    runbook_blocks = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "Runbook: " + " · ".join(f"<{m.url}|{_slack_escape(m.runbook.title)}>" for m in runbooks),
            },
        }
    ]
    return {
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
            *(runbook_blocks if runbooks else []),
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Acknowledge"}, "url": ack_url},
                    {"type": "button", "text": {"type": "plain_text", "text": "Resolve"}, "url": resolve_url},
                ],
            },
        ],
    }


def comms_message(
    subject: str,
    user: User,
    method: ContactMethod,
    delivery_key: str,
    context: dict[str, Any],
    obligations: Any = None,
) -> dict[str, Any]:
    """A reminder that updates are due (or overdue) on an incident: one message for all that fell
    due together."""
    if not isinstance(obligations, list) or not obligations:
        ids = context.get("obligation_ids") or [int(subject.partition(":")[2])]
        obligations = list(
            CommsObligation.objects.filter(pk__in=ids)
            .select_related("incident__severity", "incident__service", "rule__stakeholder_group")
            .order_by("due_at", "pk")
        )
    incident = obligations[0].incident
    # As of when the engine decided (a re-render for a fallback method keeps the same words).
    now = datetime.fromisoformat(context["at"]) if context.get("at") else timezone.now()
    due_at = min(obligation.due_at for obligation in obligations)
    overdue = due_at <= now - timedelta(minutes=1)
    values = {
        "incident": incident,
        "label": obligation_labels(obligations),
        "plural": len(obligations) > 1,
        "due_at": due_at,
        "overdue": overdue,
        "late": timesince(due_at, now) if overdue else "",
        "as": context.get("as", ""),
        "stage": context.get("stage", ""),
        "escalated": context.get("stage") not in (None, "", CommsObligation.Stage.REMINDED),
    }
    subject_line, text, html = render_email("comms-reminder", values)
    return {
        "subject": subject_line,
        "text": text,
        "html": html,
        "slack": {
            "text": subject_line,
            "blocks": [
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": f"*{_slack_escape(subject_line)}*\n<{incident.absolute_url}|Post the update>",
                    },
                }
            ],
        },
        "webhook": {
            "event": "incident.comms_due",
            "incident": webhook_incident(incident),
            "ack_url": None,
            "comms": [
                {
                    "kind": obligation.kind,
                    "label": obligation.rule.label,
                    "due_at": obligation.due_at.isoformat(),
                    "stage": context.get("stage", ""),
                }
                for obligation in obligations
            ],
            "delivery": delivery_key,
        },
    }


def stakeholder_notice_message(update: IncidentUpdate) -> dict[str, str]:
    incident = update.incident
    values = {"incident": incident, "update": update, "group": update.stakeholder_group}
    subject, text, html = render_email("stakeholder-notice", values)
    return {"subject": subject, "text": text, "html": html}


def _runbooks_of(incident: Incident) -> list[RunbookMatch]:
    return cached_runbook_matches(incident)[:RUNBOOKS_IN_A_PAGE]


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn treats these three as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
