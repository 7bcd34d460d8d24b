"""Triage: which service and severity an alert gets, and whether it may page anyone."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

from incidents.conditions import conditions_match, describe, matchers_match
from incidents.models import Integration, MaintenanceWindow, RoutingRule, Service, SeverityLevel, Silence
from incidents.sources.events import SEVERITIES, AlertEvent


@dataclass
class Route:
    service: Service
    severity: SeverityLevel
    severity_reason: str
    rule: RoutingRule | None = None
    suppressed_reason: str = ""
    added_labels: dict[str, str] = field(default_factory=dict)


class PlanIncomplete(RuntimeError):
    """The plan has no severity levels, so no incident can be opened."""


def severity_for(event_severity: str, levels: list[SeverityLevel]) -> SeverityLevel:
    """critical → the most severe level, error → the second, warning → the third, info → the fourth."""
    if not levels:
        raise PlanIncomplete("The plan has no severity levels; a plan owner must add at least one.")
    index = SEVERITIES.index(event_severity) if event_severity in SEVERITIES else 1
    return levels[min(index, len(levels) - 1)]


def _local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


# Every alert is triaged against the same few rows; reading them once per process per couple of
# seconds instead of per alert is most of ingestion's speed. Saving any of them in this process
# clears the copy at once; other processes see the change within CONFIG_TTL.
CONFIG_TTL = timedelta(seconds=2)


@dataclass
class TriageConfig:
    loaded_at: float
    valid_until: datetime
    levels: list[SeverityLevel]
    rules: list[RoutingRule]
    # (service id, window) for windows active at some point of the validity period.
    windows: list[tuple[int, MaintenanceWindow]]
    silences: list[Silence]


_config_lock = threading.Lock()
_config: TriageConfig | None = None


def triage_config(now: datetime) -> TriageConfig:
    global _config
    with _config_lock:
        config = _config
        if (
            config is not None
            and time.monotonic() - config.loaded_at < CONFIG_TTL.total_seconds()
            and now < config.valid_until
        ):
            return config
        until = now + CONFIG_TTL
        windows = MaintenanceWindow.objects.filter(starts_at__lt=until, ends_at__gt=now)
        config = TriageConfig(
            loaded_at=time.monotonic(),
            valid_until=until,
            levels=list(SeverityLevel.objects.order_by("rank", "name")),
            rules=list(RoutingRule.objects.filter(enabled=True).select_related("set_service", "set_severity")),
            windows=[
                (service_id, window)
                for window in windows.prefetch_related("services")
                for service_id in (service.pk for service in window.services.all())
            ],
            silences=list(Silence.objects.filter(starts_at__lt=until, ends_at__gt=now)),
        )
        _config = config
        return config


def forget_triage_config(*args: Any, **kwargs: Any) -> None:
    global _config
    with _config_lock:
        _config = None


for _model in (SeverityLevel, RoutingRule, MaintenanceWindow, Silence):
    post_save.connect(forget_triage_config, sender=_model, dispatch_uid=f"triage-config-{_model.__name__}")
    post_delete.connect(forget_triage_config, sender=_model, dispatch_uid=f"triage-config-del-{_model.__name__}")
m2m_changed.connect(forget_triage_config, sender=MaintenanceWindow.services.through, dispatch_uid="triage-config-m2m")


def route_event(integration: Integration, event: AlertEvent, *, now: datetime) -> Route:
    config = triage_config(now)
    levels = config.levels
    rules = [rule for rule in config.rules if rule.integration_id in (None, integration.pk)]
    facts = {**event.facts(), "integration": integration.name}
    route: Route | None = None
    for rule in rules:
        if not conditions_match(rule.conditions, facts, match_all=rule.match == RoutingRule.Match.ALL):
            continue
        why = "; ".join(describe(condition) for condition in rule.conditions) or "it matches every alert"
        if rule.set_severity is not None:
            severity = rule.set_severity
            reason = f"Routing rule '{rule.name}' matched ({why}) and set severity {severity.name}."
        else:
            severity = severity_for(event.severity, levels)
            reason = (
                f"Routing rule '{rule.name}' matched ({why}); severity {severity.name} follows the alert's own "
                f"severity '{event.severity}'."
            )
        route = Route(
            service=rule.set_service or integration.service,
            severity=severity,
            severity_reason=reason,
            rule=rule,
            added_labels=dict(rule.add_labels),
        )
        if rule.suppress:
            route.suppressed_reason = f"Routing rule '{rule.name}' records these alerts without paging."
        break
    if route is None:
        severity = severity_for(event.severity, levels)
        route = Route(
            service=integration.service,
            severity=severity,
            severity_reason=(
                f"No routing rule matched; the alert's own severity '{event.severity}' maps to {severity.name}."
            ),
        )
    if not route.suppressed_reason:
        route.suppressed_reason = _why_not_page(route, event, now, config)
    return route


def _why_not_page(route: Route, event: AlertEvent, now: datetime, config: TriageConfig) -> str:
    if not route.severity.pages_responders:
        return f"The plan says {route.severity.name} ({route.severity.title}) pages nobody."
    windows = [
        window
        for service_id, window in config.windows
        if service_id == route.service.pk and window.starts_at <= now < window.ends_at
    ]
    if windows:
        window = max(windows, key=lambda item: item.ends_at)
        return f"{route.service.name} is in maintenance window '{window.title}' until {_local(window.ends_at)}."
    labels = {**event.matcher_labels(), **route.added_labels}
    for silence in config.silences:
        if silence.service_id not in (None, route.service.pk) or not silence.starts_at <= now < silence.ends_at:
            continue
        if matchers_match(silence.matchers, labels):
            return f"Silenced until {_local(silence.ends_at)}: {silence.comment}"
    return ""
