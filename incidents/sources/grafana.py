"""Grafana alerting webhook (version 1): Alertmanager's shape plus title, message, state and URLs."""

from __future__ import annotations

from typing import Any

from incidents.sources import alertmanager
from incidents.sources.common import clip
from incidents.sources.events import AlertEvent

LINK_FIELDS = (("dashboardURL", "Dashboard"), ("panelURL", "Panel"), ("silenceURL", "Silence"))
VALUE_FIELDS = ("values", "valueString")
ALERT_FIELDS = alertmanager.ALERT_FIELDS | {name for name, _ in LINK_FIELDS} | {"imageURL", *VALUE_FIELDS}


def parse(body: Any) -> list[AlertEvent]:
    alerts = alertmanager.check_group(body, version="1")
    # Grafana's own state wins: "ok" means every alert in the group is over.
    all_ok = str(body.get("state", "")).lower() == "ok"
    events = []
    for alert in alerts:
        event = alertmanager.alert_event(
            body, alert, firing=False if all_ok else None, known_fields=ALERT_FIELDS, sender="Grafana"
        )
        for field, text in LINK_FIELDS:
            if isinstance(alert.get(field), str) and alert[field]:
                event.links.append({"href": alert[field], "text": text})
        if isinstance(alert.get("imageURL"), str) and alert["imageURL"]:
            event.images.append({"src": alert["imageURL"], "alt": "Panel image"})
        if not event.details["annotations"] and isinstance(body.get("title"), str) and body["title"]:
            event.summary = clip(body["title"], 1024)
        # The group's title, message and state are in details["group"] with the rest of the group.
        event.details["grafana"] = {name: alert[name] for name in VALUE_FIELDS if name in alert}
        events.append(event)
    group_firing = not all_ok and body.get("status") != "resolved"
    if truncated := alertmanager.truncated_event(body, group_firing=group_firing, sender="Grafana"):
        events.append(truncated)
    return events
