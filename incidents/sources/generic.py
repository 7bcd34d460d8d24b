"""IRP's own JSON shape for tools with a configurable webhook (documented in docs/ingestion.md)."""

from __future__ import annotations

from typing import Any

from incidents.sources.common import clip, fit_key, parse_time, severity_from_word, text_labels
from incidents.sources.events import Action, AlertEvent, InvalidEvent

STATUSES: dict[str, Action] = {
    "firing": "trigger",
    "trigger": "trigger",
    "resolved": "resolve",
    "resolve": "resolve",
    "acknowledge": "acknowledge",
}


def parse(body: Any) -> list[AlertEvent]:
    if not isinstance(body, dict):
        raise InvalidEvent(["The body must be a JSON object."])
    errors: list[str] = []
    title: Any = body.get("title")
    if not isinstance(title, str) or not title.strip():
        errors.append("'title' is missing or blank.")
    elif len(title) > 1024:
        errors.append("'title' is longer than 1024 characters.")
    # Without a dedup key the title is the key, so the same problem keeps joining one incident.
    dedup_key: Any = body.get("dedup_key", title)
    if "dedup_key" in body and (not isinstance(dedup_key, str) or not dedup_key):
        errors.append("'dedup_key' must be a non-empty string.")
    status = body.get("status", "firing")
    if not isinstance(status, str) or status not in STATUSES:
        errors.append(f"'status' must be one of: {', '.join(STATUSES)}.")
    details = body.get("details", {})
    if not isinstance(details, dict):
        errors.append("'details' must be an object.")
    links = body.get("links", [])
    if not isinstance(links, list) or not all(
        isinstance(link, dict) and isinstance(link.get("href"), str) for link in links
    ):
        errors.append("'links' must be an array of objects with an 'href'.")
    labels = body.get("labels", {})
    if not isinstance(labels, dict):
        errors.append("'labels' must be an object.")
    severity = body.get("severity", "error")
    if not isinstance(severity, str):
        errors.append("'severity' must be a string.")
    if errors:
        raise InvalidEvent(errors)
    key = fit_key(dedup_key)
    return [
        AlertEvent(
            action=STATUSES[status],
            incident_key=key,
            alert_key=key,
            summary=title,
            source=clip(body.get("source", ""), 255),
            severity=severity_from_word(severity),
            timestamp=parse_time(body.get("started_at")),
            labels=text_labels(labels),
            details=details,
            links=[{"href": clip(link["href"], 2048), "text": clip(link.get("text", ""), 200)} for link in links],
        )
    ]
