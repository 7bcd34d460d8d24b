"""The three kinds of people IRP knows, as Django groups, and what each may do.

The groups themselves are created by a migration. Their permissions are kept in step with this
table after every `migrate`, so a model added by a later migration gets its permissions too.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.db.models import Q
from django.db.models.signals import post_migrate

PLAN_OWNERS = "Plan owners"
RESPONDERS = "Responders"
STAKEHOLDERS = "Stakeholders"
ALL_GROUPS = (PLAN_OWNERS, RESPONDERS, STAKEHOLDERS)

IRP_APPS = ("incidents", "oncall", "postmortems")

# Models whose rows make up the plan: plan owners add, change and delete them.
PLAN_MODELS = (
    "incidents.responseplan",
    "incidents.severitylevel",
    "incidents.role",
    "incidents.service",
    "oncall.team",
    "incidents.integration",
    "incidents.routingrule",
    "oncall.schedule",
    "oncall.layer",
    "oncall.layermember",
    "oncall.layerrestriction",
    "oncall.escalationpolicy",
    "oncall.escalationstep",
    # Runbooks and the communication cadence.
    "incidents.runbook",
    "incidents.stakeholdergroup",
    "incidents.commsrule",
    # The public status page's set-up: its look, components and their groups, subscribers.
    "incidents.statuspage",
    "incidents.componentgroup",
    "incidents.component",
    "incidents.subscriber",
)
# Responders run incidents and mute noise while they work.
RESPONDER_MODELS = (
    "incidents.maintenancewindow",
    "incidents.silence",
    "oncall.override",
    "oncall.shiftswap",
    # Communications Leads publish to the status page.
    "incidents.publicincident",
    "incidents.publicincidentupdate",
    "incidents.scheduledmaintenance",
)
# Everyone who can be paged keeps their own; the API lets only plan owners write other people's.
PERSONAL_MODELS = ("oncall.contactmethod", "oncall.notificationrule")

# Everybody in a group may view every IRP model; these are the extra write permissions.
WRITE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    PLAN_OWNERS: (
        *(f"{model}.{action}" for model in PLAN_MODELS for action in ("add", "change", "delete")),
        "auth.view_user",
        "auth.view_group",
        "incidents.change_incident",
        *(f"{model}.{action}" for model in RESPONDER_MODELS for action in ("add", "change", "delete")),
        *(f"{model}.{action}" for model in PERSONAL_MODELS for action in ("add", "change", "delete")),
    ),
    RESPONDERS: (
        "incidents.change_incident",
        *(f"{model}.{action}" for model in RESPONDER_MODELS for action in ("add", "change", "delete")),
        *(f"{model}.{action}" for model in PERSONAL_MODELS for action in ("add", "change", "delete")),
    ),
    STAKEHOLDERS: (),
}


def _permission_query(dotted: str) -> Q:
    # "incidents.severitylevel.add" or "auth.view_user"
    parts = dotted.split(".")
    if len(parts) == 3:
        app_label, model, action = parts
        return Q(content_type__app_label=app_label, codename=f"{action}_{model}")
    app_label, codename = parts
    return Q(content_type__app_label=app_label, codename=codename)


def sync_group_permissions(**kwargs: Any) -> None:
    view_all = Q(content_type__app_label__in=IRP_APPS, codename__startswith="view_")
    for name, extra in WRITE_PERMISSIONS.items():
        group = Group.objects.filter(name=name).first()
        if group is None:
            continue
        wanted = view_all
        for dotted in extra:
            wanted |= _permission_query(dotted)
        group.permissions.set(Permission.objects.filter(wanted))


def connect_signals() -> None:
    post_migrate.connect(sync_group_permissions, dispatch_uid="irp_sync_group_permissions")


def in_group(user: User | AnonymousUser, *names: str) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.groups.filter(name__in=names).exists()


def is_plan_owner(user: User | AnonymousUser) -> bool:
    return in_group(user, PLAN_OWNERS)


def belongs_to_irp(user: User | AnonymousUser) -> bool:
    """Signed-in people outside every IRP group see nothing."""
    return in_group(user, *ALL_GROUPS)
