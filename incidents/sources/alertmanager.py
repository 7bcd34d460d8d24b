"""Prometheus Alertmanager webhook (version 4): one incident per group, one alert per fingerprint."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from incidents.sources.common import clip, fit_key, parse_time, severity_from_word, text_labels
from incidents.sources.events import AlertEvent, InvalidEvent

# Fields of the group that are not alerts; kept with each alert so responders see what was sent.
GROUP_FIELDS = (
    "receiver",
    "status",
    "groupLabels",
    "commonLabels",
    "commonAnnotations",
    "externalURL",
    "truncatedAlerts",
    "notification_reason",
    "routeLabels",
)


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


def alert_event(body: dict[str, Any], alert: dict[str, Any], *, firing: bool | None = None) -> AlertEvent:
    labels = text_labels(alert.get("labels"))
    annotations = text_labels(alert.get("annotations"))
    is_firing = alert["status"] == "firing" if firing is None else firing
    links = []
    if isinstance(alert.get("generatorURL"), str) and alert["generatorURL"]:
        links.append({"href": alert["generatorURL"], "text": "Source"})
    if isinstance(body.get("externalURL"), str) and body["externalURL"]:
        links.append({"href": body["externalURL"], "text": "Alertmanager"})
    group = {name: body[name] for name in GROUP_FIELDS if name in body}
    known = {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}
    extra = {name: value for name, value in alert.items() if name not in known}
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
        details={"annotations": annotations, "group": group, **({"extra": extra} if extra else {})},
        links=links,
        counts_repeats=False,
    )


def parse(body: Any) -> list[AlertEvent]:
    alerts = check_group(body)
    return [alert_event(body, alert) for alert in alerts]
