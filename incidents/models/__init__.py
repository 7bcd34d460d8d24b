from incidents.models.alerts import Alert
from incidents.models.escalation import EscalationRun, UsedActionLink
from incidents.models.incident import Incident, TimelineEntry
from incidents.models.integrations import ChangeEvent, IngestionWindow, Integration
from incidents.models.plan import ResponsePlan, Role, Service, SeverityLevel
from incidents.models.routing import MaintenanceWindow, RoutingRule, Silence

# The status page's models live in their own module (incidents.models.status); importing it registers them.
from incidents.models import status  # noqa: F401  isort: skip

__all__ = [
    "Alert",
    "ChangeEvent",
    "EscalationRun",
    "Incident",
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
