"""Grafana alerting webhook (version 1): Alertmanager's shape plus title, message, state and URLs."""

from __future__ import annotations

from typing import Any

from incidents.sources import alertmanager
from incidents.sources.common import clip
from incidents.sources.events import AlertEvent

LINK_FIELDS = (("dashboardURL", "Dashboard"), ("panelURL", "Panel"), ("silenceURL", "Silence"))


def parse(body: Any) -> list[AlertEvent]:
    alerts = alertmanager.check_group(body, version="1")
    # Grafana's own state wins: "ok" means every alert in the group is over.
    all_ok = str(body.get("state", "")).lower() == "ok"
    events = []
    for alert in alerts:
        event = alertmanager.alert_event(body, alert, firing=False if all_ok else None)
        for field, text in LINK_FIELDS:
            if isinstance(alert.get(field), str) and alert[field]:
                event.links.append({"href": alert[field], "text": text})
        if isinstance(alert.get("imageURL"), str) and alert["imageURL"]:
            event.images.append({"src": alert["imageURL"], "alt": "Panel image"})
        if not event.details["annotations"] and isinstance(body.get("title"), str):
            event.summary = clip(body["title"], 1024)
        event.details["grafana"] = {
            name: body[name] for name in ("title", "message", "state", "orgId") if name in body
        } | {name: alert[name] for name in ("values", "valueString") if name in alert}
        events.append(event)
    return events
