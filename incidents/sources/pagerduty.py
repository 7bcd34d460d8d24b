"""PagerDuty Events API v2: the request bodies PagerDuty's clients send, checked as PagerDuty checks them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from incidents.sources.common import clip, parse_time
from incidents.sources.events import SEVERITIES, AlertEvent, InvalidEvent

ACTIONS = ("trigger", "acknowledge", "resolve")
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255


def _links(value: Any, name: str, errors: list[str], *, key: str) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append(f"'{name}' must be an array")
        return []
    items: list[dict[str, str]] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get(key), str) or not item[key]:
            errors.append(f"'{name}[{index}].{key}' is missing or blank")
            continue
        items.append(
            {
                field: clip(item[field], 2048)
                for field in ("href", "src", "text", "alt")
                if isinstance(item.get(field), str)
            }
        )
    return items


def _text(payload: dict[str, Any], name: str, errors: list[str], *, required: bool = False, limit: int = 255) -> str:
    value = payload.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.append(f"'payload.{name}' is missing or blank")
        return ""
    if not isinstance(value, str):
        errors.append(f"'payload.{name}' must be a string")
        return ""
    if len(value) > limit:
        errors.append(f"'payload.{name}' is longer than {limit} characters")
        return ""
    return value


def parse_routing_key(body: Any) -> str:
    if not isinstance(body, dict):
        raise InvalidEvent(["Event object must be a JSON object"])
    key = body.get("routing_key")
    if not isinstance(key, str) or not key.strip():
        raise InvalidEvent(["'routing_key' is missing or blank"])
    return key


def parse_event(body: Any) -> AlertEvent:
    if not isinstance(body, dict):
        raise InvalidEvent(["Event object must be a JSON object"])
    errors: list[str] = []
    action = body.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)")
    dedup_key = body.get("dedup_key")
    if dedup_key is not None and not isinstance(dedup_key, str):
        errors.append("'dedup_key' must be a string")
        dedup_key = None
    if isinstance(dedup_key, str) and len(dedup_key) > MAX_DEDUP_KEY:
        errors.append(f"'dedup_key' is longer than {MAX_DEDUP_KEY} characters")
    if action in ("acknowledge", "resolve") and not dedup_key:
        errors.append(f"'dedup_key' is required to {action} an alert")
    links = _links(body.get("links"), "links", errors, key="href")
    images = _links(body.get("images"), "images", errors, key="src")

    event = AlertEvent(action=action if action in ACTIONS else "trigger", incident_key="", alert_key="")
    if action == "trigger":
        payload = body.get("payload")
        if not isinstance(payload, dict) or not payload:
            errors.append("'payload' is missing or blank")
            payload = {}
        else:
            event.summary = _text(payload, "summary", errors, required=True, limit=MAX_SUMMARY)
            event.source = _text(payload, "source", errors, required=True)
            severity = payload.get("severity")
            if severity not in SEVERITIES:
                errors.append("'payload.severity' is invalid (must be one of: critical, error, warning, info)")
            else:
                event.severity = severity
            event.timestamp = _timestamp(payload.get("timestamp"), errors)
            event.component = _text(payload, "component", errors)
            event.group = _text(payload, "group", errors)
            event.alert_class = _text(payload, "class", errors)
            details = payload.get("custom_details")
            event.details = details if isinstance(details, dict) else ({} if details is None else {"details": details})
    if errors:
        raise InvalidEvent(errors)
    key = dedup_key or uuid.uuid4().hex
    event.incident_key = event.alert_key = key
    event.links = links
    event.images = images
    return event


def _timestamp(value: Any, errors: list[str]) -> datetime | None:
    if value is None:
        return None
    parsed = parse_time(value)
    if parsed is None:
        errors.append("'payload.timestamp' is not a valid ISO 8601 time")
    return parsed


@dataclass
class ChangeEventData:
    summary: str
    source: str
    timestamp: datetime | None
    custom_details: dict[str, Any]
    links: list[dict[str, str]]


def parse_change_event(body: dict[str, Any]) -> ChangeEventData:
    errors: list[str] = []
    payload = body.get("payload")
    if not isinstance(payload, dict) or not payload:
        raise InvalidEvent(["'payload' is missing or blank"])
    summary = _text(payload, "summary", errors, required=True, limit=MAX_SUMMARY)
    source = _text(payload, "source", errors)
    timestamp = _timestamp(payload.get("timestamp"), errors)
    details = payload.get("custom_details")
    links = _links(body.get("links"), "links", errors, key="href")
    if errors:
        raise InvalidEvent(errors)
    return ChangeEventData(
        summary=summary,
        source=source,
        timestamp=timestamp,
        custom_details=details if isinstance(details, dict) else ({} if details is None else {"details": details}),
        links=links,
    )
