from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.forms import CheckboxSelectMultiple
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from incidents.durations import HumanDurationField, format_duration
from incidents.models import ResponsePlan, Role, Service, SeverityLevel
from oncall.admin import TeamAdmin
from oncall.models import Team

HUMAN_DURATIONS: dict[type[models.Field[Any, Any]], dict[str, Any]] = {
    models.DurationField: {"form_class": HumanDurationField}
}


class SeverityLevelInline(admin.TabularInline):
    model = SeverityLevel
    extra = 0
    fields = ["rank", "name", "title", "ack_window", "resolution_target_kind", "resolution_target", "pages_responders"]
    formfield_overrides = HUMAN_DURATIONS
    show_change_link = True
    ordering = ["rank", "name"]


class RoleInline(admin.TabularInline):
    model = Role
    extra = 0
    fields = ["position", "name", "summary"]
    show_change_link = True


@admin.register(ResponsePlan)
class ResponsePlanAdmin(admin.ModelAdmin):
    fieldsets = [
        (None, {"fields": ["organisation_name", "owner", "review_interval_days", "last_reviewed_on"]}),
        ("Purpose, scope and definition", {"fields": ["purpose_and_scope", "incident_definition", "exclusions"]}),
        ("Post-incident review", {"fields": ["post_incident_review"]}),
    ]
    autocomplete_fields = ["owner"]
    inlines = [SeverityLevelInline, RoleInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # there is exactly one plan, created by a migration

    def has_delete_permission(self, request: HttpRequest, obj: ResponsePlan | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        plan = ResponsePlan.objects.current()
        return HttpResponseRedirect(reverse("admin:incidents_responseplan_change", args=[plan.pk]))


@admin.register(SeverityLevel)
class SeverityLevelAdmin(admin.ModelAdmin):
    list_display = ["name", "title", "rank", "ack", "resolution", "pages_responders", "postmortem_required"]
    list_display_links = ["name", "title"]
    list_editable = ["rank"]
    list_filter = ["pages_responders", "postmortem_required"]
    search_fields = ["name", "title", "impact_criteria"]
    formfield_overrides = HUMAN_DURATIONS
    fieldsets = [
        (None, {"fields": ["name", "title", "rank", "impact_criteria"]}),
        (
            "Response targets",
            {"fields": ["pages_responders", "ack_window", "resolution_target_kind", "resolution_target"]},
        ),
        ("Communication cadence", {"fields": ["internal_update_interval", "status_page_update_interval"]}),
        ("Review", {"fields": ["postmortem_required", "postmortem_due_business_days", "review_practice"]}),
    ]

    @admin.display(description="Ack SLA", ordering="ack_window")
    def ack(self, obj: SeverityLevel) -> str:
        return format_duration(obj.ack_window)

    @admin.display(description="Resolution target")
    def resolution(self, obj: SeverityLevel) -> str:
        if obj.resolution_target_kind == SeverityLevel.ResolutionTarget.DURATION:
            return format_duration(obj.resolution_target)
        return obj.get_resolution_target_kind_display()


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ["name", "summary", "required_at", "position"]
    list_editable = ["position"]
    search_fields = ["name", "summary", "responsibilities"]
    prepopulated_fields = {"key": ["name"]}
    formfield_overrides = {models.ManyToManyField: {"widget": CheckboxSelectMultiple}}
    fields = ["name", "key", "summary", "responsibilities", "required_for", "position"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Role]:
        return super().get_queryset(request).prefetch_related("required_for")

    @admin.display(description="Must be filled at")
    def required_at(self, obj: Role) -> str:
        return ", ".join(level.name for level in obj.required_for.all()) or "—"


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "owner_team", "criticality", "in_scope"]
    list_filter = ["criticality", "in_scope", "owner_team"]
    list_select_related = ["owner_team"]
    search_fields = ["name", "description", "owner_team__name"]
    autocomplete_fields = ["owner_team"]


class ServiceInline(admin.TabularInline):
    model = Service
    extra = 0
    fields = ["name", "criticality", "in_scope"]
    show_change_link = True


# The team page lists the services the team owns; incidents knows services, on-call does not.
admin.site.unregister(Team)


@admin.register(Team)
class TeamWithServicesAdmin(TeamAdmin):
    inlines = [ServiceInline]
