"""Admin for runbooks and the communication cadence (imported by incidents.admin)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.forms import CheckboxSelectMultiple
from django.http import HttpRequest

from incidents.durations import HumanDurationField, format_duration
from incidents.models.comms import CommsObligation, CommsRule, IncidentUpdate, StakeholderGroup
from incidents.models.runbooks import Runbook

HUMAN_DURATIONS: dict[type[models.Field[Any, Any]], dict[str, Any]] = {
    models.DurationField: {"form_class": HumanDurationField}
}


class EmailListField(forms.CharField):
    """A list of addresses written one per line (or separated by commas) in a text box."""

    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value: Any) -> Any:  # a list of addresses (CharField's would be one text)
        if isinstance(value, list):
            return value
        text = super().to_python(value) or ""
        return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")


class StakeholderGroupForm(forms.ModelForm):
    emails = EmailListField(required=False, help_text="One address per line.")

    class Meta:
        model = StakeholderGroup
        fields = ["name", "description", "emails"]


@admin.register(StakeholderGroup)
class StakeholderGroupAdmin(admin.ModelAdmin):
    form = StakeholderGroupForm
    list_display = ["name", "addresses"]
    search_fields = ["name", "description"]

    @admin.display(description="Addresses")
    def addresses(self, obj: StakeholderGroup) -> int:
        return len(obj.emails or [])


@admin.register(CommsRule)
class CommsRuleAdmin(admin.ModelAdmin):
    list_display = ["severity", "kind", "stakeholder_group", "first_due", "every", "grace_period"]
    list_filter = ["severity", "kind"]
    list_select_related = ["severity", "stakeholder_group"]
    autocomplete_fields = ["stakeholder_group"]
    formfield_overrides = HUMAN_DURATIONS
    fields = ["severity", "kind", "stakeholder_group", "first_due_after", "interval", "grace"]

    @admin.display(description="First due", ordering="first_due_after")
    def first_due(self, obj: CommsRule) -> str:
        return "at declaration" if not obj.first_due_after else f"T+{format_duration(obj.first_due_after)}"

    @admin.display(description="Then every", ordering="interval")
    def every(self, obj: CommsRule) -> str:
        return format_duration(obj.interval) if obj.interval else "once"

    @admin.display(description="Grace", ordering="grace")
    def grace_period(self, obj: CommsRule) -> str:
        return format_duration(obj.grace)


class CommsRuleInline(admin.TabularInline):
    """The cadence on each severity's admin page (SeverityLevelAdmin.inlines in incidents/admin.py)."""

    model = CommsRule
    extra = 0
    fields = ["kind", "stakeholder_group", "first_due_after", "interval", "grace"]
    autocomplete_fields = ["stakeholder_group"]
    formfield_overrides = HUMAN_DURATIONS
    verbose_name = "communication rule"
    verbose_name_plural = "Communication cadence (0 = at declaration; empty interval = once)"


@admin.register(Runbook)
class RunbookAdmin(admin.ModelAdmin):
    list_display = ["title", "service_list", "has_conditions", "last_reviewed_on", "stale"]
    list_filter = ["services", "last_reviewed_on"]
    search_fields = ["title", "body"]
    formfield_overrides = {
        models.ManyToManyField: {"widget": CheckboxSelectMultiple},
        models.URLField: {"assume_scheme": "https"},
    }
    fields = ["title", "body", "external_url", "services", "match", "conditions", "last_reviewed_on"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Runbook]:
        return super().get_queryset(request).prefetch_related("services")

    @admin.display(description="Services")
    def service_list(self, obj: Runbook) -> str:
        return ", ".join(service.name for service in obj.services.all()) or "—"

    @admin.display(description="Alert conditions", boolean=True)
    def has_conditions(self, obj: Runbook) -> bool:
        return bool(obj.conditions)

    @admin.display(description="Stale", boolean=True)
    def stale(self, obj: Runbook) -> bool:
        return obj.is_stale


@admin.register(CommsObligation)
class CommsObligationAdmin(admin.ModelAdmin):
    """Read-only: the cadence's due work, for seeing what the engine will do."""

    list_display = ["incident", "kind", "due_at", "stage", "next_action_at", "fulfilled_at", "cancelled_at"]
    list_filter = ["kind", "stage"]
    list_select_related = ["incident"]
    date_hierarchy = "due_at"
    readonly_fields = [field.name for field in CommsObligation._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(IncidentUpdate)
class IncidentUpdateAdmin(admin.ModelAdmin):
    list_display = ["incident", "kind", "posted_by", "posted_at", "stakeholder_group", "emailed_at"]
    list_filter = ["kind"]
    list_select_related = ["incident", "posted_by", "stakeholder_group"]
    search_fields = ["text"]
    readonly_fields = [field.name for field in IncidentUpdate._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # posted from the incident page, so that the cadence and the timeline follow

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
