"""Triage: which service and severity an alert gets, and whether it may page anyone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q
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


def route_event(integration: Integration, event: AlertEvent, *, now: datetime) -> Route:
    levels = list(SeverityLevel.objects.order_by("rank", "name"))
    rules = (
        RoutingRule.objects.filter(enabled=True)
        .filter(Q(integration=integration) | Q(integration__isnull=True))
        .select_related("set_service", "set_severity")
    )
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
        route.suppressed_reason = _why_not_page(route, event, now)
    return route


def _why_not_page(route: Route, event: AlertEvent, now: datetime) -> str:
    if not route.severity.pages_responders:
        return f"The plan says {route.severity.name} ({route.severity.title}) pages nobody."
    window = MaintenanceWindow.objects.active_at(now).filter(services=route.service).order_by("ends_at").last()
    if window is not None:
        return f"{route.service.name} is in maintenance window '{window.title}' until {_local(window.ends_at)}."
    labels = {**event.matcher_labels(), **route.added_labels}
    silences = Silence.objects.active_at(now).filter(Q(service=route.service) | Q(service__isnull=True))
    for silence in silences:
        if matchers_match(silence.matchers, labels):
            return f"Silenced until {_local(silence.ends_at)}: {silence.comment}"
    return ""
