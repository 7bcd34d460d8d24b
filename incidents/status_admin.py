"""Admin for the public status page (imported by incidents.admin).

Writes that show on the page go through incidents/services/statuspage.py, so that cached answers
go stale and components show the right status.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import Count, QuerySet
from django.forms import CheckboxSelectMultiple
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from incidents.models.status import (
    Component,
    ComponentGroup,
    PublicIncident,
    PublicIncidentUpdate,
    ScheduledMaintenance,
    StatusPage,
    Subscriber,
)
from incidents.services.statuspage import (
    PublishRefused,
    maintenance_delete,
    maintenance_schedule,
    maintenance_transition,
    maintenance_window_sync,
    status_config_changed,
)

LOGO_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"}
LOGO_MAX_BYTES = 256 * 1024


class StatusPageForm(forms.ModelForm):
    logo_upload = forms.FileField(
        label="Logo", required=False, help_text="PNG, JPEG, GIF, WebP or SVG, at most 256 KB."
    )
    remove_logo = forms.BooleanField(required=False)
    support_url = forms.URLField(
        required=False, assume_scheme="https", help_text="Optional link to your support pages."
    )

    class Meta:
        model = StatusPage
        fields = ["name", "accent_colour", "background_colour", "text_colour", "support_url"]

    def clean_logo_upload(self) -> Any:
        upload = self.cleaned_data.get("logo_upload")
        if upload is None:
            return None
        if upload.content_type not in LOGO_TYPES:
            raise forms.ValidationError("Upload a PNG, JPEG, GIF, WebP or SVG image.")
        if upload.size > LOGO_MAX_BYTES:
            raise forms.ValidationError("The logo may be at most 256 KB.")
        return upload

    def save(self, commit: bool = True) -> StatusPage:
        page: StatusPage = super().save(commit=False)
        upload = self.cleaned_data.get("logo_upload")
        if upload is not None:
            page.logo = upload.read()
            page.logo_content_type = upload.content_type
        elif self.cleaned_data.get("remove_logo"):
            page.logo, page.logo_content_type = b"", ""
        if commit:
            page.save()
        return page


class StatusConfigAdmin(admin.ModelAdmin):
    """Saving or deleting recomputes components and invalidates the page's cached answers."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        status_config_changed()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        status_config_changed()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        super().delete_queryset(request, queryset)
        status_config_changed()


@admin.register(StatusPage)
class StatusPageAdmin(StatusConfigAdmin):
    form = StatusPageForm
    fields = ["name", "logo_upload", "remove_logo", "accent_colour", "background_colour", "text_colour", "support_url"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # one page, created by a migration

    def has_delete_permission(self, request: HttpRequest, obj: StatusPage | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        page = StatusPage.objects.current()
        return HttpResponseRedirect(reverse("admin:incidents_statuspage_change", args=[page.pk]))


class ComponentInline(admin.TabularInline):
    model = Component
    extra = 0
    fields = ["name", "position", "hand_status", "status"]
    readonly_fields = ["status"]
    show_change_link = True


@admin.register(ComponentGroup)
class ComponentGroupAdmin(StatusConfigAdmin):
    list_display = ["name", "position", "component_count"]
    list_editable = ["position"]
    search_fields = ["name"]
    inlines = [ComponentInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ComponentGroup]:
        return super().get_queryset(request).annotate(component_total=Count("components"))

    @admin.display(description="Components", ordering="component_total")
    def component_count(self, obj: Any) -> int:
        return int(obj.component_total)


@admin.register(Component)
class ComponentAdmin(StatusConfigAdmin):
    list_display = ["name", "group", "position", "status", "hand_status", "showcase"]
    list_editable = ["position"]
    list_filter = ["group", "status", "showcase"]
    list_select_related = ["group"]
    search_fields = ["name", "description"]
    autocomplete_fields = ["services"]
    fields = [
        "name",
        "description",
        "group",
        "position",
        "services",
        "hand_status",
        "status",
        "only_show_if_degraded",
        "showcase",
        "start_date",
    ]
    readonly_fields = ["status"]


class UpdateInline(admin.TabularInline):
    model = PublicIncidentUpdate
    fk_name = "public_incident"
    extra = 0
    fields = readonly_fields = ("created_at", "status", "body")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PublicIncident)
class PublicIncidentAdmin(StatusConfigAdmin):
    """Read here; published and updated from the incident (Status page: publish) so texts and
    components go through the one service."""

    list_display = ["name", "status", "impact", "created_at", "resolved_at", "incident"]
    list_filter = ["status", "impact"]
    list_select_related = ["incident"]
    search_fields = ["name"]
    date_hierarchy = "created_at"
    readonly_fields = (*[field.name for field in PublicIncident._meta.fields], "publish_page")
    inlines = [UpdateInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Post an update")
    def publish_page(self, obj: PublicIncident) -> str:
        url = reverse("status:manage-update", args=[obj.public_id])
        return format_html('<a href="{}">{}</a>', url, url)


class MaintenanceForm(forms.ModelForm):
    class Meta:
        model = ScheduledMaintenance
        fields = ["name", "body", "scheduled_for", "scheduled_until", "components"]
        widgets = {"components": CheckboxSelectMultiple}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("scheduled_for"), cleaned.get("scheduled_until")
        if start and end and end <= start:
            self.add_error("scheduled_until", "The maintenance must end after it starts.")
        return cleaned


class MaintenanceUpdateInline(UpdateInline):
    fk_name = "maintenance"


@admin.register(ScheduledMaintenance)
class ScheduledMaintenanceAdmin(StatusConfigAdmin):
    form = MaintenanceForm
    list_display = ["name", "status", "scheduled_for", "scheduled_until"]
    list_filter = ["status"]
    search_fields = ["name", "body"]
    date_hierarchy = "scheduled_for"
    readonly_fields = ["status", "maintenance_window", "started_at", "completed_at"]
    inlines = [MaintenanceUpdateInline]
    actions = ["mark_verifying", "mark_completed"]

    def save_model(self, request: HttpRequest, obj: ScheduledMaintenance, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        actor = request.user if isinstance(request.user, User) else None
        created = maintenance_schedule(
            actor=actor,
            name=obj.name,
            body=obj.body,
            scheduled_for=obj.scheduled_for,
            scheduled_until=obj.scheduled_until,
            components=list(form.cleaned_data["components"]),
        )
        obj.pk = created.pk
        obj.public_id = created.public_id
        obj.maintenance_window = created.maintenance_window

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if change:
            maintenance_window_sync(form.instance)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        maintenance_delete(obj)  # its maintenance window goes too: paging is no longer muted

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for maintenance in queryset:
            maintenance_delete(maintenance)

    def _move(self, request: HttpRequest, queryset: QuerySet[ScheduledMaintenance], status: str) -> None:
        actor = request.user if isinstance(request.user, User) else None
        moved = 0
        for maintenance in queryset:
            try:
                moved += maintenance_transition(maintenance, status, actor=actor)
            except PublishRefused as refusal:
                self.message_user(request, f"{maintenance}: {refusal}", messages.WARNING)
        self.message_user(request, f"Moved {moved} maintenance(s).", messages.SUCCESS)

    @admin.action(description="Mark as verifying")
    def mark_verifying(self, request: HttpRequest, queryset: QuerySet[ScheduledMaintenance]) -> None:
        self._move(request, queryset, ScheduledMaintenance.Status.VERIFYING)

    @admin.action(description="Mark as completed")
    def mark_completed(self, request: HttpRequest, queryset: QuerySet[ScheduledMaintenance]) -> None:
        self._move(request, queryset, ScheduledMaintenance.Status.COMPLETED)


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "confirmed_at", "created_at"]
    list_filter = [("confirmed_at", admin.EmptyFieldListFilter)]
    search_fields = ["email"]
    fields = ["email", "components", "confirmed_at", "created_at"]
    readonly_fields = ["created_at"]
    filter_horizontal = ["components"]
