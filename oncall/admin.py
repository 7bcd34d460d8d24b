from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

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
