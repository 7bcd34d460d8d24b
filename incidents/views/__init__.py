"""The HTML pages of incidents, one module per part: the list, the incident page, what responders
do on it, declaring, the plan, and the one-click links from notifications."""

from incidents.views.actions import (
    incident_acknowledge,
    incident_escalate,
    incident_merge,
    incident_note,
    incident_reassign,
    incident_resolve,
    incident_responders_add,
    incident_role_assign,
    incident_role_release,
    incident_severity,
    incident_update_post,
)
from incidents.views.declare import incident_declare
from incidents.views.incident import incident_detail, incident_timeline
from incidents.views.links import action_link
from incidents.views.listing import incident_list
from incidents.views.plan import plan

__all__ = [
    "action_link",
    "incident_acknowledge",
    "incident_declare",
    "incident_detail",
    "incident_escalate",
    "incident_list",
    "incident_merge",
    "incident_note",
    "incident_reassign",
    "incident_resolve",
    "incident_responders_add",
    "incident_role_assign",
    "incident_role_release",
    "incident_severity",
    "incident_timeline",
    "incident_update_post",
    "plan",
]
