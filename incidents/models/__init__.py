from incidents.models.alerts import Alert
from incidents.models.comms import CommsObligation, CommsRule, IncidentUpdate, StakeholderGroup
from incidents.models.escalation import EscalationRun, UsedActionLink
from incidents.models.incident import Incident, TimelineEntry
from incidents.models.integrations import ChangeEvent, IngestionWindow, Integration
from incidents.models.plan import ResponsePlan, Role, Service, SeverityLevel
from incidents.models.roles import IncidentRole
from incidents.models.routing import MaintenanceWindow, RoutingRule, Silence
from incidents.models.runbooks import Runbook
from incidents.models.status import (
    AffectedComponent,
    Component,
    ComponentGroup,
    PublicIncident,
    PublicIncidentUpdate,
    ScheduledMaintenance,
    StatusPage,
    Subscriber,
)

__all__ = [
    "AffectedComponent",
    "Alert",
    "ChangeEvent",
    "CommsObligation",
    "CommsRule",
    "Component",
    "ComponentGroup",
    "EscalationRun",
    "Incident",
    "IncidentRole",
    "IncidentUpdate",
    "IngestionWindow",
    "Integration",
    "MaintenanceWindow",
    "PublicIncident",
    "PublicIncidentUpdate",
    "ResponsePlan",
    "Role",
    "RoutingRule",
    "Runbook",
    "ScheduledMaintenance",
    "Service",
    "SeverityLevel",
    "Silence",
    "StakeholderGroup",
    "StatusPage",
    "Subscriber",
    "TimelineEntry",
    "UsedActionLink",
]
