from incidents.models.alerts import Alert
from incidents.models.escalation import EscalationRun, UsedActionLink
from incidents.models.incident import Incident, TimelineEntry
from incidents.models.integrations import ChangeEvent, IngestionWindow, Integration
from incidents.models.plan import ResponsePlan, Role, Service, SeverityLevel
from incidents.models.roles import IncidentRole
from incidents.models.routing import MaintenanceWindow, RoutingRule, Silence

# These live in their own modules; importing them registers their models.
from incidents.models import comms, runbooks, status  # noqa: F401  isort: skip

__all__ = [
    "Alert",
    "ChangeEvent",
    "EscalationRun",
    "Incident",
    "IncidentRole",
    "IngestionWindow",
    "Integration",
    "MaintenanceWindow",
    "ResponsePlan",
    "Role",
    "RoutingRule",
    "Service",
    "SeverityLevel",
    "Silence",
    "TimelineEntry",
    "UsedActionLink",
]
