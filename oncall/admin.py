from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from oncall.deliveries import send_test
from oncall.ics_import import (
    DEFAULT_WEEKS_AHEAD,
    MAX_UPLOAD_BYTES,
    MAX_WEEKS_AHEAD,
    IcsImportError,
    ImportProblem,
    schedule_import_ics,
)
from oncall.models import (
    ContactMethod,
    Delivery,
    DeliveryAttempt,
    EscalationPolicy,
    EscalationStep,
    HandoffNotice,
    Layer,
    LayerMember,
    LayerRestriction,
    NotificationRule,
    Override,
    Profile,
    Schedule,
    ShiftSwap,
    Team,
)
from oncall.selectors import schedules_with_rotations, shifts_between
from oncall.services import schedule_rotate_calendar_secret
from oncall.warnings import PagingWarning, paging_warnings


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    fields = ["time_zone", "phone"]


admin.site.unregister(User)


@admin.register(User)
class PersonAdmin(UserAdmin):
    inlines = [ProfileInline]
    list_display = ["username", "first_name", "last_name", "email", "is_active", "is_staff"]
    list_filter = ["groups", "is_active", "is_staff", "is_superuser"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "manager", "member_count"]
    list_select_related = ["manager"]
    search_fields = ["name", "description"]
    autocomplete_fields = ["manager", "members"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).annotate(member_count=Count("members", distinct=True))

    @admin.display(description="Members", ordering="member_count")
    def member_count(self, obj: Team) -> int:
        return int(getattr(obj, "member_count", 0))


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "time_zone", "phone"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "phone"]
    autocomplete_fields = ["user"]


def schedule_preview_html(schedule: Schedule) -> str:
    """The next two weeks of the final schedule, for the admin's change page."""
    start = timezone.now()
    loaded = schedules_with_rotations(Schedule.objects.filter(pk=schedule.pk)).first()
    if loaded is None:
        return "—"
    shifts = shifts_between([loaded], start, start + timedelta(weeks=2))[loaded.pk]
    people = User.objects.in_bulk({shift.user_id for shift in shifts})
    if not shifts:
        return "Nobody is on call in the next two weeks."
    items = format_html_join(
        "",
        "<li>{} – {}: <strong>{}</strong>{}</li>",
        (
            (
                date_format(timezone.localtime(shift.start), "D j M H:i"),
                date_format(timezone.localtime(shift.end), "D j M H:i"),
                str(people.get(shift.user_id) or shift.user_id),
                " (override)" if shift.source == "override" else "",
            )
            for shift in shifts
        ),
    )
    return format_html("<ol>{}</ol>", items)


class LayerMemberInline(admin.TabularInline):
    model = LayerMember
    extra = 1
    autocomplete_fields = ["user"]


class LayerRestrictionInline(admin.TabularInline):
    model = LayerRestriction
    extra = 0


@admin.register(Layer)
class LayerAdmin(admin.ModelAdmin):
    list_display = ["__str__", "level", "shift_length", "shift_unit", "rotation_start"]
    list_select_related = ["schedule"]
    list_filter = ["schedule"]
    inlines = [LayerMemberInline, LayerRestrictionInline]
    readonly_fields = ["preview"]
    fields = ["schedule", "name", "level", "shift_length", "shift_unit", "rotation_start", "ends_at", "preview"]

    @admin.display(description="Schedule preview (next two weeks)")
    def preview(self, obj: Layer) -> str:
        return schedule_preview_html(obj.schedule) if obj.pk else "Save to see a preview."


class LayerInline(admin.TabularInline):
    model = Layer
    extra = 0
    fields = ["name", "level", "shift_length", "shift_unit", "rotation_start", "ends_at"]
    show_change_link = True


class OverrideInline(admin.TabularInline):
    model = Override
    extra = 0
    fields = ["user", "starts_at", "ends_at", "reason"]
    autocomplete_fields = ["user"]


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "time_zone", "owner"]
    list_select_related = ["team", "owner"]
    search_fields = ["name", "description"]
    autocomplete_fields = ["team", "owner"]
    inlines = [LayerInline, OverrideInline]
    readonly_fields = ["preview"]
    actions = ["rotate_calendar_secrets"]

    @admin.action(description="Rotate the calendar links of the selected schedules")
    def rotate_calendar_secrets(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        for schedule in queryset:
            schedule_rotate_calendar_secret(schedule)
        self.message_user(request, f"Rotated {queryset.count()} calendar link(s); the old links no longer work.")

    @admin.display(description="Final schedule, next two weeks")
    def preview(self, obj: Schedule) -> str:
        return schedule_preview_html(obj) if obj.pk else "Save to see a preview."


@admin.register(Override)
class OverrideAdmin(admin.ModelAdmin):
    list_display = ["schedule", "user", "starts_at", "ends_at", "reason"]
    list_select_related = ["schedule", "user"]
    list_filter = ["schedule"]
    autocomplete_fields = ["user", "schedule"]
    exclude = ["created_by"]


@admin.register(HandoffNotice)
class HandoffNoticeAdmin(admin.ModelAdmin):
    list_display = ["user", "schedule", "kind", "handoff_at", "due_at", "status"]
    list_select_related = ["user", "schedule"]
    list_filter = ["kind", "status", "schedule"]
    readonly_fields = ["schedule", "user", "kind", "handoff_at", "shift_start", "shift_end", "due_at", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ShiftSwap)
class ShiftSwapAdmin(admin.ModelAdmin):
    list_display = ["schedule", "requester", "taker", "starts_at", "ends_at", "status"]
    list_select_related = ["schedule", "requester", "taker"]
    list_filter = ["status", "schedule"]
    readonly_fields = ["override", "status"]


# ICS import: a page linked from the schedule's change page ------------------------------------


PROBLEMS_SHOWN = 20


class IcsImportForm(forms.Form):
    file = forms.FileField(label="Calendar file (.ics)")
    weeks_ahead = forms.IntegerField(
        min_value=1,
        max_value=MAX_WEEKS_AHEAD,
        initial=DEFAULT_WEEKS_AHEAD,
        help_text="Import shifts from two weeks ago to this many weeks ahead.",
    )

    def clean_file(self) -> UploadedFile:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_UPLOAD_BYTES // 1024 // 1024} MB.")
        return upload


class ScheduleWithImportAdmin(ScheduleAdmin):
    change_form_template = "oncall/admin/schedule_change_form.html"

    def get_urls(self) -> list[URLPattern]:
        opts = self.opts
        return [
            path(
                "<path:object_id>/import-ics/",
                self.admin_site.admin_view(self.import_ics_view),
                name=f"{opts.app_label}_{opts.model_name}_import_ics",
            ),
            *super().get_urls(),
        ]

    def can_import(self, request: HttpRequest, schedule: Schedule) -> bool:
        return self.has_change_permission(request, schedule) and request.user.has_perms(
            ["oncall.add_layer", "oncall.add_override"]
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        schedule = self.get_object(request, unquote(object_id))
        if schedule is not None and request.method == "GET":
            warn_about_paging(request, paging_warnings(schedule=schedule))
        extra_context = {
            **(extra_context or {}),
            "can_import_ics": bool(schedule and self.can_import(request, schedule)),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def import_ics_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        schedule = self.get_object(request, unquote(object_id))
        if schedule is None:
            raise Http404("No schedule with this id.")
        if not self.can_import(request, schedule):
            raise PermissionDenied
        form = IcsImportForm(request.POST or None, request.FILES or None)
        problems: tuple[ImportProblem, ...] = ()
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = schedule_import_ics(
                    schedule,
                    upload.read(),
                    filename=upload.name or "",
                    created_by=request.user if isinstance(request.user, User) else None,
                    weeks_ahead=form.cleaned_data["weeks_ahead"],
                )
            except IcsImportError as error:
                form.add_error("file", str(error))
                problems = error.problems
            else:
                self.log_change(request, schedule, result.describe())
                self.message_user(request, result.describe(), messages.SUCCESS)
                for problem in result.problems[:PROBLEMS_SHOWN]:
                    self.message_user(request, problem.message, messages.WARNING)
                if len(result.problems) > PROBLEMS_SHOWN:
                    more = len(result.problems) - PROBLEMS_SHOWN
                    self.message_user(request, f"… and {more} more problem(s).", messages.WARNING)
                return redirect("admin:oncall_schedule_change", schedule.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Import an .ics file into {schedule}",
            "opts": self.opts,
            "schedule": schedule,
            "form": form,
            "problems": problems[:PROBLEMS_SHOWN],
        }
        return TemplateResponse(request, "oncall/admin/schedule_import_ics.html", context)


admin.site.unregister(Schedule)
admin.site.register(Schedule, ScheduleWithImportAdmin)


# Escalation policies, contact methods, notification rules, deliveries ------------------------


PEOPLE_NAMED = 10


def warn_about_paging(request: HttpRequest, warnings: list[PagingWarning]) -> None:
    """One message naming the people (and urgencies) this page's rota or policy cannot page properly."""
    names = {warning.user_id: warning.name for warning in warnings}
    urgencies: dict[int, list[str]] = {}
    for warning in warnings:
        urgencies.setdefault(warning.user_id, []).append(warning.urgency)
    if not urgencies:
        return
    named = [f"{names[user_id]} ({' and '.join(found)})" for user_id, found in list(urgencies.items())[:PEOPLE_NAMED]]
    more = f" and {len(urgencies) - PEOPLE_NAMED} more" if len(urgencies) > PEOPLE_NAMED else ""
    messages.warning(
        request,
        "No working notification rule (an e-mail, Slack or webhook method for each urgency) for: "
        f"{', '.join(named)}{more}. They are paged on all their contact methods at once, or not at all.",
    )


class MinutesField(forms.Field):
    """A duration typed and shown in minutes ("5", "1.5"), stored as a timedelta."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, timedelta):
            # Two decimals are finer than a second, so whole seconds survive the round trip.
            minutes = (Decimal(value.total_seconds()) / 60).quantize(Decimal("0.01")).normalize()
            return f"{minutes:f}"
        return value

    def to_python(self, value: Any) -> timedelta | None:
        if value in self.empty_values:
            return None
        if isinstance(value, timedelta):
            return value
        try:
            minutes = Decimal(str(value).strip().replace(",", "."))
        except InvalidOperation as error:
            raise forms.ValidationError("Write a number of minutes, e.g. 5 or 1.5.") from error
        if not minutes.is_finite() or abs(minutes) > 60 * 24 * 366:
            raise forms.ValidationError("Write a number of minutes, e.g. 5 or 1.5.")
        return timedelta(seconds=round(minutes * 60))


class EscalationStepForm(forms.ModelForm):
    delay = MinutesField(
        required=False,
        label="Delay (minutes)",
        help_text="Minutes to wait for an acknowledgement before the next step, e.g. 5. "
        "Empty: the incident severity's acknowledgement window.",
    )

    class Meta:
        model = EscalationStep
        fields = ["position", "delay", "mode", "users", "schedules", "teams", "team_managers"]


class EscalationStepInline(admin.StackedInline):
    model = EscalationStep
    form = EscalationStepForm
    extra = 0
    ordering = ["position", "pk"]
    autocomplete_fields = ["users", "schedules", "teams", "team_managers"]


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "repeat_count", "step_count"]
    list_select_related = ["team"]
    list_filter = ["team"]
    search_fields = ["name", "description"]
    autocomplete_fields = ["team"]
    inlines = [EscalationStepInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[EscalationPolicy]:
        return super().get_queryset(request).annotate(step_count=Count("steps", distinct=True))

    @admin.display(description="Steps", ordering="step_count")
    def step_count(self, obj: EscalationPolicy) -> int:
        return int(getattr(obj, "step_count", 0))

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        policy = self.get_object(request, unquote(object_id))
        if policy is not None and request.method == "GET":
            warn_about_paging(request, paging_warnings(policy=policy))
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(ContactMethod)
class ContactMethodAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "label", "address_shown", "last_outcome", "last_outcome_at", "last_outcome_message"]
    list_select_related = ["user"]
    list_filter = ["kind", "last_outcome"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "label", "address"]
    autocomplete_fields = ["user"]
    readonly_fields = ["signing_secret", "last_outcome", "last_outcome_message", "last_outcome_at", "created_at"]
    actions = ["send_test_notifications"]

    @admin.display(description="Address")
    def address_shown(self, obj: ContactMethod) -> str:
        return obj.address_shown

    @admin.action(description="Send a test notification to the selected contact methods")
    def send_test_notifications(self, request: HttpRequest, queryset: QuerySet[ContactMethod]) -> None:
        send_tests(self, request, list(queryset.select_related("user")))


def send_tests(model_admin: admin.ModelAdmin, request: HttpRequest, methods: list[ContactMethod]) -> None:
    for method in methods:
        send_test(method)
    model_admin.message_user(
        request,
        f"Sent {len(methods)} test notification(s); reload in a few seconds to see the outcome.",
        messages.SUCCESS,
    )


class NotificationRuleForm(forms.ModelForm):
    delay = MinutesField(
        initial=timedelta(0),
        label="Delay (minutes)",
        help_text="Minutes after being paged to use this method, e.g. 0 (at once) or 5; at most 1440 (24 hours).",
    )

    class Meta:
        model = NotificationRule
        fields = ["user", "urgency", "contact_method", "delay"]


@admin.register(NotificationRule)
class NotificationRuleAdmin(admin.ModelAdmin):
    form = NotificationRuleForm
    list_display = [
        "user", "urgency", "contact_method", "delay_minutes", "method_last_outcome", "method_last_outcome_at",
    ]  # fmt: skip
    list_select_related = ["user", "contact_method"]
    list_filter = ["urgency", "contact_method__kind"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "contact_method__label"]
    autocomplete_fields = ["user", "contact_method"]
    actions = ["send_test_notifications"]

    @admin.display(description="Delay (minutes)", ordering="delay")
    def delay_minutes(self, obj: NotificationRule) -> str:
        return MinutesField().prepare_value(obj.delay)

    @admin.display(description="Last outcome", ordering="contact_method__last_outcome")
    def method_last_outcome(self, obj: NotificationRule) -> str:
        return obj.contact_method.last_outcome

    @admin.display(description="Last outcome at", ordering="contact_method__last_outcome_at")
    def method_last_outcome_at(self, obj: NotificationRule) -> Any:
        return obj.contact_method.last_outcome_at

    @admin.action(description="Send a test notification to the contact methods of the selected rules")
    def send_test_notifications(self, request: HttpRequest, queryset: QuerySet[NotificationRule]) -> None:
        methods = ContactMethod.objects.filter(rules__in=queryset).distinct().select_related("user")
        send_tests(self, request, list(methods))


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ["number", "started_at", "duration_ms", "outcome", "answer"]
    readonly_fields = ["number", "started_at", "duration_ms", "outcome", "answer"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The record of what was sent to whom: read-only, written only by the delivery machinery."""

    list_display = ["created_at", "user", "channel", "status", "attempts", "due_at", "sent_at", "last_error"]
    list_select_related = ["user"]
    list_filter = ["status", "channel", "urgency"]
    search_fields = ["user__username", "subject", "key", "provider_id"]
    date_hierarchy = "created_at"
    inlines = [DeliveryAttemptInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False
