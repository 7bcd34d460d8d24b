"""Which runbooks apply to an incident, and the links to them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from incidents.conditions import conditions_match
from incidents.models import Alert, Incident
from incidents.models.runbooks import Runbook

# Enough alerts to find the failure modes of a storm without reading every one of a huge incident.
ALERTS_CONSIDERED = 200


@dataclass(frozen=True)
class RunbookMatch:
    runbook: Runbook
    # "service" or "alert": why it shows; a runbook matched by an alert is the more specific.
    reason: str
    url: str


def alert_facts(alert: Alert) -> dict[str, Any]:
    """The facts routing rules saw for this alert (see AlertEvent.facts), from the stored alert."""
    return {
        "summary": alert.summary,
        "source": alert.source,
        "severity": alert.severity,
        "component": alert.component,
        "group": alert.group,
        "class": alert.alert_class,
        "dedup_key": alert.key,
        "labels": alert.labels,
        "details": alert.details,
        "integration": alert.integration.name if alert.integration_id and alert.integration else "",
    }


def runbook_url(runbook: Runbook, incident: Incident) -> str:
    """Its own page when it lives elsewhere, else its panel on the incident page."""
    return runbook.external_url or f"{incident.absolute_url}#runbook-{runbook.pk}"


def _matches_an_alert(runbook: Runbook, facts: Iterable[dict[str, Any]]) -> bool:
    match_all = runbook.match == Runbook.Match.ALL
    return any(conditions_match(runbook.conditions, item, match_all=match_all) for item in facts)


def runbook_matches(incident: Incident) -> list[RunbookMatch]:
    """The runbooks for `incident`: those whose conditions match one of its alerts first, then those
    of its service; each group by title. Two queries, three when a runbook has conditions."""
    candidates = _candidates([incident.service_id])
    if not candidates:
        return []
    facts: list[dict[str, Any]] = []
    if any(runbook.conditions for runbook in candidates):
        alerts = Alert.objects.filter(incident=incident).select_related("integration").order_by("-last_received_at")
        facts = [alert_facts(alert) for alert in alerts[:ALERTS_CONSIDERED]]
    return _ordered(incident, candidates, facts)


def _candidates(service_ids: Iterable[int]) -> list[Runbook]:
    return list(
        Runbook.objects.filter(Q(services__in=set(service_ids)) | ~Q(conditions=[]))
        .distinct()
        .prefetch_related("services")
    )


def _ordered(incident: Incident, candidates: list[Runbook], facts: list[dict[str, Any]]) -> list[RunbookMatch]:
    by_alert: list[Runbook] = []
    by_service: list[Runbook] = []
    for runbook in candidates:
        if runbook.conditions and _matches_an_alert(runbook, facts):
            by_alert.append(runbook)
        elif any(service.pk == incident.service_id for service in runbook.services.all()):
            by_service.append(runbook)
    ordered = [(runbook, "alert") for runbook in sorted(by_alert, key=lambda r: (r.title.lower(), r.pk))]
    ordered += [(runbook, "service") for runbook in sorted(by_service, key=lambda r: (r.title.lower(), r.pk))]
    return [RunbookMatch(runbook, reason, runbook_url(runbook, incident)) for runbook, reason in ordered]


# Where an incident object keeps its runbooks once looked up: a step renders one message per person
# and contact method from the same object, and the engine looks a whole batch up at once.
_CACHED = "_runbook_matches"


def cached_runbook_matches(incident: Incident) -> list[RunbookMatch]:
    cached: list[RunbookMatch] | None = getattr(incident, _CACHED, None)
    if cached is None:
        cached = runbook_matches(incident)
        setattr(incident, _CACHED, cached)
    return cached


def prime_runbook_matches(incidents: list[Incident]) -> None:
    """Look the runbooks of a batch of incidents up together: one query when no runbook has alert
    conditions (then only services decide), else incident by incident."""
    if not incidents:
        return
    candidates = _candidates(incident.service_id for incident in incidents)
    if any(runbook.conditions for runbook in candidates):
        return  # each incident's alerts decide: looked up when its page is rendered
    for incident in incidents:
        setattr(incident, _CACHED, _ordered(incident, candidates, []) if candidates else [])


def runbooks_for(incident: Incident) -> list[Runbook]:
    return [match.runbook for match in runbook_matches(incident)]
