from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from irp_site.groups import is_plan_owner

# The admin index grouped by concern rather than by Django app: (section, [app_label.ModelName]).
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Plan", ("incidents.ResponsePlan", "incidents.SeverityLevel", "incidents.Role")),
    ("Services", ("incidents.Service",)),
    ("Incidents", ("incidents.Incident", "incidents.Alert", "incidents.ChangeEvent")),
    (
        "Alert routing",
        ("incidents.Integration", "incidents.RoutingRule", "incidents.MaintenanceWindow", "incidents.Silence"),
    ),
    ("People & teams", ("auth.User", "oncall.Team", "oncall.Profile", "auth.Group")),
    ("On-call", ("oncall.Schedule", "oncall.Layer", "oncall.Override", "oncall.ShiftSwap")),
    (
        "Escalation & notifications",
        ("oncall.EscalationPolicy", "oncall.ContactMethod", "oncall.NotificationRule", "oncall.Delivery"),
    ),
    ("API & processes", ("irp_site.ApiToken", "irp_site.Heartbeat")),
)


class IRPAdminSite(admin.AdminSite):
    site_header = "IRP administration"
    site_title = "IRP"
    index_title = "Configure the incident response plan"

    def has_permission(self, request: HttpRequest) -> bool:
        # Plan owners edit the plan here without having to be made "staff" by a developer.
        return bool(request.user.is_active and (request.user.is_staff or is_plan_owner(request.user)))

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # One sign-in page for everybody; the admin's own one would turn away non-staff plan owners.
        return redirect_to_login(request.GET.get("next", reverse("admin:index")))

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        apps = super().get_app_list(request, app_label)
        if app_label is not None:
            return apps
        models = {f"{app['app_label']}.{model['object_name']}": (app, model) for app in apps for model in app["models"]}
        grouped: list[dict[str, Any]] = []
        for section, names in SECTIONS:
            entries = [models.pop(name) for name in names if name in models]
            if entries:
                first_app = entries[0][0]
                grouped.append(
                    {**first_app, "name": section, "models": [model for _, model in entries], "has_module_perms": True}
                )
        # Anything not placed above (django-q2's queue, later additions) keeps its own app heading.
        leftover_apps: dict[str, dict[str, Any]] = {}
        for app, model in models.values():
            leftover_apps.setdefault(app["app_label"], {**app, "models": []})["models"].append(model)
        return grouped + list(leftover_apps.values())
