"""The status page as Atlassian Statuspage's v2 JSON: the same field names, types and enumerations.

Only what was published leaves through here: public titles, update texts, component names and
statuses. Ids are the public ids, never internal row numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.urls import reverse

from incidents.models.status import (
    AffectedComponent,
    Component,
    ComponentGroup,
    ComponentStatus,
    PublicIncident,
    PublicIncidentQuerySet,
    PublicIncidentUpdate,
    ScheduledMaintenance,
    ScheduledMaintenanceQuerySet,
    StatusPage,
    worst_status,
)

JSONObject = dict[str, Any]

# The page's overall indicator, as Statuspage words it.
INDICATOR_RANK = {"none": 0, "maintenance": 1, "minor": 2, "major": 3, "critical": 4}
INDICATOR_DESCRIPTION = {
    "none": "All Systems Operational",
    "maintenance": "Service Under Maintenance",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}
COMPONENT_INDICATOR: dict[str, str] = {
    ComponentStatus.OPERATIONAL: "none",
    ComponentStatus.UNDER_MAINTENANCE: "maintenance",
    ComponentStatus.DEGRADED_PERFORMANCE: "minor",
    ComponentStatus.PARTIAL_OUTAGE: "major",
    ComponentStatus.MAJOR_OUTAGE: "critical",
}
INCIDENTS_LIMIT = 50


def timestamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def page_url() -> str:
    return settings.SITE_URL + reverse("status:page")


def page_json(page: StatusPage) -> JSONObject:
    return {
        "id": page.public_id,
        "name": page.name,
        "url": page_url(),
        "time_zone": "Etc/UTC",
        "updated_at": timestamp(page.updated_at),
    }


def components_json(page: StatusPage, components: list[Component], groups: list[ComponentGroup]) -> list[JSONObject]:
    members: dict[int, list[Component]] = {}
    for component in components:
        if component.group_id is not None:
            members.setdefault(component.group_id, []).append(component)
    items: list[JSONObject] = []
    for group in groups:
        children = members.get(group.pk, [])
        items.append(
            {
                "id": group.public_id,
                "name": group.name,
                "status": _group_status(children),
                "created_at": timestamp(group.created_at),
                "updated_at": timestamp(max([group.updated_at, *(c.updated_at for c in children)])),
                "position": group.position,
                "description": group.description or None,
                "showcase": False,
                "start_date": None,
                "group_id": None,
                "page_id": page.public_id,
                "group": True,
                "only_show_if_degraded": False,
                "components": [child.public_id for child in children],
            }
        )
    group_ids = {group.pk: group.public_id for group in groups}
    for component in components:
        items.append(
            {
                "id": component.public_id,
                "name": component.name,
                "status": component.status,
                "created_at": timestamp(component.created_at),
                "updated_at": timestamp(component.updated_at),
                "position": component.position,
                "description": component.description or None,
                "showcase": component.showcase,
                "start_date": component.start_date.isoformat() if component.start_date else None,
                "group_id": group_ids.get(component.group_id) if component.group_id else None,
                "page_id": page.public_id,
                "group": False,
                "only_show_if_degraded": component.only_show_if_degraded,
            }
        )
    return items


def _group_status(children: list[Component]) -> str:
    return worst_status([child.status for child in children])


def _component_brief(page: StatusPage, component: Component) -> JSONObject:
    return {
        "id": component.public_id,
        "name": component.name,
        "status": component.status,
        "created_at": timestamp(component.created_at),
        "updated_at": timestamp(component.updated_at),
        "position": component.position,
        "description": component.description or None,
        "showcase": component.showcase,
        "start_date": component.start_date.isoformat() if component.start_date else None,
        "group_id": component.group.public_id if component.group else None,
        "page_id": page.public_id,
        "group": False,
        "only_show_if_degraded": component.only_show_if_degraded,
    }


def _update_json(update: PublicIncidentUpdate, parent_id: str) -> JSONObject:
    return {
        "id": update.public_id,
        "status": update.status,
        "body": update.body,
        "incident_id": parent_id,
        "created_at": timestamp(update.created_at),
        "updated_at": timestamp(update.created_at),
        "display_at": timestamp(update.created_at),
        "affected_components": update.affected_components or None,
        "deliver_notifications": True,
        "custom_tweet": None,
        "tweet_id": None,
    }


def incident_json(page: StatusPage, incident: PublicIncident) -> JSONObject:
    return {
        "id": incident.public_id,
        "name": incident.name,
        "status": incident.status,
        "created_at": timestamp(incident.created_at),
        "updated_at": timestamp(incident.updated_at),
        "monitoring_at": timestamp(incident.monitoring_at),
        "resolved_at": timestamp(incident.resolved_at),
        "impact": incident.impact,
        "shortlink": settings.SITE_URL + reverse("status:incident", args=[incident.public_id]),
        "started_at": timestamp(incident.started_at),
        "page_id": page.public_id,
        "incident_updates": [_update_json(update, incident.public_id) for update in incident.updates.all()],
        "components": [_component_brief(page, row.component) for row in incident.affected.all()],
    }


def maintenance_json(page: StatusPage, maintenance: ScheduledMaintenance) -> JSONObject:
    return {
        "id": maintenance.public_id,
        "name": maintenance.name,
        "status": maintenance.status,
        "created_at": timestamp(maintenance.created_at),
        "updated_at": timestamp(maintenance.updated_at),
        "monitoring_at": None,
        "resolved_at": timestamp(maintenance.completed_at),
        "impact": "maintenance",
        "shortlink": settings.SITE_URL + reverse("status:incident", args=[maintenance.public_id]),
        "started_at": timestamp(maintenance.started_at or maintenance.scheduled_for),
        "page_id": page.public_id,
        "incident_updates": [_update_json(update, maintenance.public_id) for update in maintenance.updates.all()],
        "components": [_component_brief(page, component) for component in maintenance.components.all()],
        "scheduled_for": timestamp(maintenance.scheduled_for),
        "scheduled_until": timestamp(maintenance.scheduled_until),
    }


def public_incidents() -> PublicIncidentQuerySet:
    return PublicIncident.objects.public().prefetch_related("updates", Prefetch("affected", queryset=_affected_rows()))


def _affected_rows() -> QuerySet[AffectedComponent]:
    # The bars are large and only the page's component list shows them.
    return (
        AffectedComponent.objects.select_related("component__group")
        .defer("component__uptime_days", "component__uptime_html")
        .order_by("component__position", "component__name")
    )


def maintenances() -> ScheduledMaintenanceQuerySet:
    return ScheduledMaintenance.objects.prefetch_related(
        "updates",
        Prefetch(
            "components",
            queryset=Component.objects.select_related("group").defer("uptime_days", "uptime_html"),
        ),
    )


def status_json(components: list[Component], unresolved: list[PublicIncident]) -> JSONObject:
    indicator = "none"
    for name in [COMPONENT_INDICATOR[c.status] for c in components] + [i.impact for i in unresolved]:
        if INDICATOR_RANK[name] > INDICATOR_RANK[indicator]:
            indicator = name
    return {"indicator": indicator, "description": INDICATOR_DESCRIPTION[indicator]}


def document(kind: str) -> JSONObject:
    """The body of one endpoint: summary, status, components, incidents, incidents/unresolved,
    scheduled-maintenances, scheduled-maintenances/upcoming, scheduled-maintenances/active."""
    page = StatusPage.objects.current()
    out: JSONObject = {"page": page_json(page)}
    components = list(Component.objects.in_page_order().defer("uptime_days", "uptime_html"))
    groups = list(ComponentGroup.objects.all())
    unresolved = list(public_incidents().unresolved()[:INCIDENTS_LIMIT])
    if kind in ("summary", "components"):
        out["components"] = components_json(page, components, groups)
    if kind == "summary":
        out["incidents"] = [incident_json(page, incident) for incident in unresolved]
        soon = maintenances().exclude(status=ScheduledMaintenance.Status.COMPLETED)
        out["scheduled_maintenances"] = [maintenance_json(page, m) for m in soon]
    if kind == "incidents":
        out["incidents"] = [incident_json(page, i) for i in public_incidents()[:INCIDENTS_LIMIT]]
    if kind == "incidents/unresolved":
        out["incidents"] = [incident_json(page, incident) for incident in unresolved]
    if kind.startswith("scheduled-maintenances"):
        chosen = maintenances().order_by("-scheduled_for")
        if kind.endswith("/upcoming"):
            chosen = maintenances().upcoming()
        elif kind.endswith("/active"):
            chosen = maintenances().active()
        out["scheduled_maintenances"] = [maintenance_json(page, m) for m in chosen[:INCIDENTS_LIMIT]]
    if kind in ("summary", "status"):
        out["status"] = status_json(components, unresolved)
    return out


KINDS = (
    "summary",
    "status",
    "components",
    "incidents",
    "incidents/unresolved",
    "scheduled-maintenances",
    "scheduled-maintenances/upcoming",
    "scheduled-maintenances/active",
)
