"""The one shape every alert source is normalised into."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Action = Literal["trigger", "acknowledge", "resolve"]
SEVERITIES = ("critical", "error", "warning", "info")


class InvalidEvent(ValueError):
    """The payload is not what its source sends; `errors` name each problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class AlertEvent:
    action: Action
    # Alerts with the same incident key join one open incident (PagerDuty dedup_key, Alertmanager groupKey).
    incident_key: str
    # One alert within that incident (PagerDuty dedup_key again, Alertmanager fingerprint).
    alert_key: str
    summary: str = ""
    source: str = ""
    severity: str = "error"
    timestamp: datetime | None = None
    component: str = ""
    group: str = ""
    alert_class: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    links: list[dict[str, str]] = field(default_factory=list)
    images: list[dict[str, str]] = field(default_factory=list)
    # Only count a repeat of an already-firing alert when the source means it as a new event
    # (a PagerDuty trigger), not when it re-sends state (Alertmanager's repeat_interval).
    counts_repeats: bool = True

    def facts(self) -> dict[str, Any]:
        """What routing conditions and silences look at."""
        return {
            "summary": self.summary,
            "source": self.source,
            "severity": self.severity,
            "component": self.component,
            "group": self.group,
            "class": self.alert_class,
            "dedup_key": self.incident_key,
            "labels": self.labels,
            "details": self.details,
        }

    def matcher_labels(self) -> dict[str, str]:
        derived = {
            "severity": self.severity,
            "source": self.source,
            "component": self.component,
            "group": self.group,
            "class": self.alert_class,
        }
        return {**{k: v for k, v in derived.items() if v}, **self.labels}
