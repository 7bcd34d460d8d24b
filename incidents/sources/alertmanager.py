"""Prometheus Alertmanager webhook (version 4): one incident per group, one alert per fingerprint."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from incidents.sources.common import clip, fit_key, parse_time, severity_from_word, text_labels
from incidents.sources.events import AlertEvent, InvalidEvent

ALERT_FIELDS = frozenset({"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"})
# Every group field but the alerts is kept with each alert (unknown ones too: routing rules can test them).
# Text is cut short because it is copied onto every alert of the group (Grafana's message lists them all).
MAX_CONTEXT_TEXT = 2000
# Stands for the alerts a max_alerts setting left out; never a real fingerprint (those are 16 hex digits).
TRUNCATED_KEY = "truncated-alerts"


def _fingerprint(alert: dict[str, Any], labels: dict[str, str]) -> str:
    fingerprint = alert.get("fingerprint")
    if isinstance(fingerprint, str) and fingerprint:
        return fit_key(fingerprint)
    # Older senders omit it; the label set identifies an alert just as Alertmanager's hash does.
    return "labels:" + hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:32]


def _summary(labels: dict[str, str], annotations: dict[str, str]) -> str:
    for name in ("summary", "description", "message"):
        if annotations.get(name):
            return annotations[name]
    name = labels.get("alertname", "Alert")
    where = labels.get("instance") or labels.get("job") or labels.get("service")
    return f"{name} on {where}" if where else name


def check_group(body: Any, *, version: str = "4") -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        raise InvalidEvent(["The webhook body must be a JSON object."])
    errors: list[str] = []
    if str(body.get("version", version)) != version:
        errors.append(f"'version' is {body.get('version')!r}; this endpoint reads version {version}.")
    group_key = body.get("groupKey")
    if not isinstance(group_key, str) or not group_key:
        errors.append("'groupKey' is missing or blank.")
    alerts = body.get("alerts")
    if not isinstance(alerts, list):
        errors.append("'alerts' must be an array.")
        alerts = []
    for index, alert in enumerate(alerts):
        if not isinstance(alert, dict):
            errors.append(f"'alerts[{index}]' must be an object.")
            continue
        if alert.get("status") not in ("firing", "resolved"):
            errors.append(f"'alerts[{index}].status' must be 'firing' or 'resolved'.")
        if not isinstance(alert.get("labels", {}), dict):
            errors.append(f"'alerts[{index}].labels' must be an object.")
        if not isinstance(alert.get("annotations", {}), dict):
            errors.append(f"'alerts[{index}].annotations' must be an object.")
    if errors:
        raise InvalidEvent(errors)
    return alerts


def group_context(body: dict[str, Any]) -> dict[str, Any]:
    return {
        name: clip(value, MAX_CONTEXT_TEXT) if isinstance(value, str) else value
        for name, value in body.items()
        if name != "alerts"
    }


def alert_event(
    body: dict[str, Any],
    alert: dict[str, Any],
    *,
    firing: bool | None = None,
    known_fields: frozenset[str] = ALERT_FIELDS,
    sender: str = "Alertmanager",
) -> AlertEvent:
    labels = text_labels(alert.get("labels"))
    annotations = text_labels(alert.get("annotations"))
    is_firing = alert["status"] == "firing" if firing is None else firing
    links = [
        {"href": href, "text": text}
        for href, text in ((alert.get("generatorURL"), "Source"), (body.get("externalURL"), sender))
        if isinstance(href, str) and href
    ]
    extra = {name: value for name, value in alert.items() if name not in known_fields}
    return AlertEvent(
        action="trigger" if is_firing else "resolve",
        incident_key=fit_key(body["groupKey"]),
        alert_key=_fingerprint(alert, labels),
        summary=clip(_summary(labels, annotations), 1024),
        source=clip(labels.get("instance") or labels.get("job") or body.get("receiver") or "alertmanager", 255),
        severity=severity_from_word(labels.get("severity")),
        timestamp=parse_time(alert.get("startsAt")),
        component=clip(labels.get("job", ""), 255),
        group=clip(labels.get("alertname", ""), 255),
        labels=labels,
        details={"annotations": annotations, "group": group_context(body), **({"extra": extra} if extra else {})},
        links=links,
        counts_repeats=False,
    )


def truncated_event(body: dict[str, Any], *, group_firing: bool, sender: str = "Alertmanager") -> AlertEvent | None:
    """While a firing group has alerts we were not sent, resolving every alert we saw must not resolve the incident.

    The unseen alerts are tracked as one alert that fires while some are cut and resolves with the group.
    """
    cut = body.get("truncatedAlerts")
    some_cut = isinstance(cut, int) and not isinstance(cut, bool) and cut > 0
    if group_firing and not some_cut:
        return None
    labels = text_labels(body.get("commonLabels"))
    return AlertEvent(
        action="trigger" if group_firing else "resolve",
        incident_key=fit_key(body["groupKey"]),
        alert_key=TRUNCATED_KEY,
        summary=f"More alerts in this group than {sender} sent (its max alerts setting); they resolve with the group.",
        source=clip(body.get("receiver") or sender, 255),
        severity=severity_from_word(labels.get("severity")),
        group=clip(labels.get("alertname", ""), 255),
        labels=labels,
        details={"group": group_context(body)},
        counts_repeats=False,
    )


def parse(body: Any) -> list[AlertEvent]:
    alerts = check_group(body)
    events = [alert_event(body, alert) for alert in alerts]
    if truncated := truncated_event(body, group_firing=body.get("status") != "resolved"):
        events.append(truncated)
    return events
