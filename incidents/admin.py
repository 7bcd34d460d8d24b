from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db import models
from django.db.models import QuerySet
from django.forms import CheckboxSelectMultiple
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from incidents import status_admin  # noqa: F401  imported for its admin.register() calls (its own module)
from incidents.comms_admin import CommsRuleInline
from incidents.durations import HumanDurationField, format_duration
from incidents.models import (
    Alert,
    ChangeEvent,
    Incident,
    IncidentRole,
    Integration,
    MaintenanceWindow,
    ResponsePlan,
    Role,
    RoutingRule,
    Service,
    SeverityLevel,
    Silence,
    TimelineEntry,
)
from incidents.services.integrations import integration_rotate_key
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
        ("Review", {"fields": ["postmortem_required", "postmortem_due_business_days", "review_practice"]}),
    ]
    # The cadence is the severity's communication rules, edited here or under "Communication rules".
    inlines = [CommsRuleInline]

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


# --- Ingestion and incidents ---------------------------------------------------------------------


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ["name", "service", "kind", "rate_limit_per_minute", "auto_resolve", "created_at"]
    list_filter = ["kind", "auto_resolve"]
    list_select_related = ["service"]
    search_fields = ["name", "service__name"]
    autocomplete_fields = ["service"]
    readonly_fields = ["key", "url", "created_at", "key_rotated_at"]
    fields = [
        "name",
        "service",
        "kind",
        "rate_limit_per_minute",
        "auto_resolve",
        "url",
        "key",
        "created_at",
        "key_rotated_at",
    ]
    actions = ["rotate_keys"]

    @admin.display(description="Send alerts to")
    def url(self, obj: Integration) -> str:
        return obj.url if obj.pk else "—"

    @admin.action(description="Rotate the keys of the selected integrations")
    def rotate_keys(self, request: HttpRequest, queryset: QuerySet[Integration]) -> None:
        for integration in queryset:
            integration_rotate_key(integration)
        self.message_user(request, f"Rotated {queryset.count()} key(s); the old keys no longer work.", messages.SUCCESS)


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "enabled", "integration", "set_service", "set_severity", "suppress"]
    list_editable = ["position", "enabled"]
    list_filter = ["enabled", "suppress", "set_severity"]
    list_select_related = ["integration", "set_service", "set_severity"]
    search_fields = ["name"]
    autocomplete_fields = ["integration", "set_service"]


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin):
    list_display = ["title", "starts_at", "ends_at", "public"]
    list_filter = ["public", "services"]
    search_fields = ["title", "description"]
    autocomplete_fields = ["services"]
    date_hierarchy = "starts_at"
    exclude = ["created_by"]

    def save_model(self, request: HttpRequest, obj: MaintenanceWindow, form: Any, change: bool) -> None:
        if not change and isinstance(request.user, User):
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    list_display = ["comment", "service", "starts_at", "ends_at"]
    list_select_related = ["service"]
    search_fields = ["comment"]
    autocomplete_fields = ["service"]
    exclude = ["created_by"]

    def save_model(self, request: HttpRequest, obj: Silence, form: Any, change: bool) -> None:
        if not change and isinstance(request.user, User):
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class AlertInline(admin.TabularInline):
    model = Alert
    extra = 0
    fields = readonly_fields = (
        "key",
        "status",
        "summary",
        "severity",
        "occurrences",
        "first_received_at",
        "resolved_at",
    )
    can_delete = False
    show_change_link = True


class TimelineInline(admin.TabularInline):
    model = TimelineEntry
    extra = 0
    fields = readonly_fields = ("at", "kind", "actor", "actor_label", "message")
    can_delete = False


class IncidentRoleInline(admin.TabularInline):
    """Who held which role and when: history, read-only (roles change on the incident page or the API,
    which write the timeline)."""

    model = IncidentRole
    fk_name = "incident"
    extra = 0
    fields = readonly_fields = ("role", "user", "assigned_at", "assigned_by", "ended_at")
    can_delete = False
    verbose_name = "role holder"
    verbose_name_plural = "roles (current and past holders)"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[IncidentRole]:
        return super().get_queryset(request).select_related("role", "user", "assigned_by")


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "status", "severity", "service", "alert_count", "created_at"]
    list_filter = ["status", "severity", "service", "is_drill"]
    list_select_related = ["severity", "service"]
    search_fields = ["title", "dedup_key"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in Incident._meta.fields]
    inlines = [IncidentRoleInline, AlertInline, TimelineInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # incidents open from alerts or the declare page, never as raw rows


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["summary", "status", "severity", "service", "occurrences", "last_received_at"]
    list_filter = ["status", "severity", "service"]
    list_select_related = ["service"]
    search_fields = ["summary", "key"]
    readonly_fields = [field.name for field in Alert._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ChangeEvent)
class ChangeEventAdmin(admin.ModelAdmin):
    list_display = ["summary", "service", "source", "timestamp"]
    list_filter = ["service"]
    list_select_related = ["service"]
    search_fields = ["summary", "source"]
    readonly_fields = [field.name for field in ChangeEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
