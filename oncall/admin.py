from __future__ import annotations

from datetime import timedelta
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

from oncall.ics_import import (
    DEFAULT_WEEKS_AHEAD,
    MAX_UPLOAD_BYTES,
    MAX_WEEKS_AHEAD,
    IcsImportError,
    ImportProblem,
    schedule_import_ics,
)
from oncall.models import (
    HandoffNotice,
    Layer,
    LayerMember,
    LayerRestriction,
    Override,
    Profile,
    Schedule,
    ShiftSwap,
    Team,
)
from oncall.selectors import schedules_with_rotations, shifts_between
from oncall.services import schedule_rotate_calendar_secret


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
