from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from irp_site.api import ModelCleanSerializer
from irp_site.permissions import InIRPGroup, PlanPermissions
from oncall.ics_import import (
    DEFAULT_WEEKS_AHEAD,
    MAX_UPLOAD_BYTES,
    MAX_WEEKS_AHEAD,
    IcsImportError,
    schedule_import_ics,
)
from oncall.models import Layer, Override, Schedule, ShiftSwap, Team
from oncall.rotation import Shift, coverage_gaps
from oncall.selectors import schedules_with_rotations, shifts_between
from oncall.services import (
    RestrictionInput,
    SwapError,
    layer_save,
    override_create,
    schedule_rotate_calendar_secret,
    swap_accept,
    swap_approve,
    swap_decline,
    swap_request,
)

GAP_HORIZON = timedelta(days=14)
NEXT_HANDOFF_HORIZON = timedelta(days=30)
MAX_RANGE = timedelta(days=366)


class TeamSerializer(ModelCleanSerializer):
    manager = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), allow_null=True, required=False
    )
    members = serializers.PrimaryKeyRelatedField(
        many=True, queryset=User.objects.filter(is_active=True), required=False
    )

    class Meta:
        model = Team
        fields = ["id", "name", "description", "manager", "members"]


class TeamViewSet(viewsets.ModelViewSet):
    queryset = Team.objects.with_people()
    serializer_class = TeamSerializer
    filterset_fields = ["name"]


def parse_moment(value: str | None, name: str) -> datetime:
    if not value:
        return timezone.now()
    try:
        parsed = parse_datetime(value.replace(" ", "+"))  # "+" in a query string arrives as a space
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError({name: ["Give an ISO 8601 time, e.g. 2026-11-27T09:00:00Z."]})
    if parsed.tzinfo is None:
        raise ValidationError({name: ["Give a time zone offset or Z, e.g. 2026-11-27T09:00:00Z."]})
    return parsed


def shift_json(shift: Shift, people: dict[int, User]) -> dict[str, Any]:
    person = people.get(shift.user_id)
    return {
        "start": shift.start.isoformat(),
        "end": shift.end.isoformat(),
        "user": {"id": shift.user_id, "username": person.username, "name": person.get_full_name()} if person else None,
        "source": "override" if shift.source == "override" else f"layer {shift.source}",
    }


def people_for(shifts: list[Shift]) -> dict[int, User]:
    return User.objects.in_bulk({shift.user_id for shift in shifts})


class RestrictionSerializer(serializers.Serializer):
    start_day = serializers.IntegerField(min_value=0, max_value=6)
    start_time = serializers.TimeField()
    end_day = serializers.IntegerField(min_value=0, max_value=6)
    end_time = serializers.TimeField()


class LayerSerializer(ModelCleanSerializer):
    participants = serializers.PrimaryKeyRelatedField(
        many=True, queryset=User.objects.filter(is_active=True), help_text="User ids, in rotation order."
    )
    restrictions = RestrictionSerializer(many=True, required=False)

    class Meta:
        model = Layer
        fields = [
            "id", "schedule", "name", "level", "shift_length", "shift_unit", "rotation_start", "ends_at",
            "participants", "restrictions",
        ]  # fmt: skip

    def to_representation(self, instance: Layer) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["participants"] = [member.user_id for member in instance.members.all()]
        data["restrictions"] = RestrictionSerializer(instance.restrictions.all(), many=True).data
        return data

    def validate_participants(self, value: list[User]) -> list[User]:
        if not value:
            raise ValidationError("A rotation needs at least one participant.")
        return value


class LayerViewSet(viewsets.ModelViewSet):
    queryset = Layer.objects.prefetch_related("members", "restrictions")
    serializer_class = LayerSerializer
    filterset_fields = ["schedule"]

    def _save(self, serializer: serializers.BaseSerializer, layer: Layer) -> None:
        data = dict(serializer.validated_data)
        participants = data.pop("participants", None)
        restrictions = data.pop("restrictions", None)
        for name, value in data.items():
            setattr(layer, name, value)
        try:
            serializer.instance = layer_save(
                layer,
                participants=participants,
                restrictions=[RestrictionInput(**item) for item in restrictions] if restrictions is not None else None,
            )
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict) from error

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        self._save(serializer, Layer())

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        self._save(serializer, self.get_object())


class ScheduleSerializer(ModelCleanSerializer):
    ical_url = serializers.SerializerMethodField()

    class Meta:
        model = Schedule
        fields = [
            "id", "name", "description", "team", "time_zone", "owner", "swaps_need_approval",
            "calendar_weeks_ahead", "ical_url",
        ]  # fmt: skip

    def get_ical_url(self, schedule: Schedule) -> str:
        return settings.SITE_URL + reverse("oncall:schedule-ics", args=[schedule.calendar_secret])


class ScheduleViewSet(viewsets.ModelViewSet):
    queryset = Schedule.objects.all()
    serializer_class = ScheduleSerializer
    filterset_fields = ["team"]

    @extend_schema(request=None, responses=ScheduleSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-calendar-secret")
    def rotate_calendar_secret(self, request: Request, pk: str | None = None) -> Response:
        """A new secret calendar URL; the old one stops working at once."""
        schedule = schedule_rotate_calendar_secret(self.get_object())
        return Response(self.get_serializer(schedule).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATETIME, description="Start (default: now)"),
            OpenApiParameter("to", OpenApiTypes.DATETIME, description="End (default: from + 14 days)"),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    @action(detail=True, methods=["get"])
    def shifts(self, request: Request, pk: str | None = None) -> Response:
        """The final schedule over a range, and the gaps in it."""
        schedule = schedules_with_rotations(Schedule.objects.filter(pk=self.get_object().pk)).get()
        start = parse_moment(request.query_params.get("from"), "from")
        end = (
            parse_moment(request.query_params.get("to"), "to")
            if request.query_params.get("to")
            else start + GAP_HORIZON
        )
        if end <= start:
            raise ValidationError({"to": ["Must be after 'from'."]})
        if end - start > MAX_RANGE:
            raise ValidationError({"to": ["Ask for a year at most."]})
        shifts = shifts_between([schedule], start, end)[schedule.pk]
        people = people_for(shifts)
        return Response(
            {
                "schedule": schedule.pk,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "shifts": [shift_json(shift, people) for shift in shifts],
                "gaps": [{"start": a.isoformat(), "end": b.isoformat()} for a, b in coverage_gaps(shifts, start, end)],
            }
        )


class OverrideSerializer(ModelCleanSerializer):
    class Meta:
        model = Override
        fields = ["id", "schedule", "user", "starts_at", "ends_at", "reason", "created_by", "created_at"]
        read_only_fields = ["created_by", "created_at"]


class OverrideViewSet(viewsets.ModelViewSet):
    queryset = Override.objects.all()
    serializer_class = OverrideSerializer
    filterset_fields = ["schedule", "user"]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = serializer.validated_data
        user = self.request.user
        serializer.instance = override_create(
            data["schedule"],
            user=data["user"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            reason=data.get("reason", ""),
            created_by=user if isinstance(user, User) else None,
        )


class ShiftSwapSerializer(ModelCleanSerializer):
    class Meta:
        model = ShiftSwap
        fields = [
            "id",
            "schedule",
            "requester",
            "taker",
            "starts_at",
            "ends_at",
            "note",
            "status",
            "override",
            "created_at",
        ]
        read_only_fields = ["requester", "status", "override", "created_at"]


class ShiftSwapViewSet(viewsets.ModelViewSet):
    queryset = ShiftSwap.objects.all()
    serializer_class = ShiftSwapSerializer
    filterset_fields = ["schedule", "status", "requester", "taker"]
    http_method_names = ["get", "post", "head", "options"]

    def _user(self) -> User:
        user = self.request.user
        assert isinstance(user, User)
        return user

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = swap_request(
            data["schedule"],
            requester=self._user(),
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            taker=data.get("taker"),
            note=data.get("note", ""),
        )

    def _settle(self, change: Any) -> Response:
        try:
            swap = change(self.get_object())
        except SwapError as error:
            return Response({"status": [str(error)]}, status=409)
        return Response(self.get_serializer(swap).data)

    @extend_schema(request=None, responses=ShiftSwapSerializer)
    @action(detail=True, methods=["post"], permission_classes=[InIRPGroup])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        return self._settle(lambda swap: swap_accept(swap, taker=self._user()))

    @extend_schema(request=None, responses=ShiftSwapSerializer)
    @action(detail=True, methods=["post"], permission_classes=[InIRPGroup])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        return self._settle(lambda swap: swap_approve(swap, approver=self._user()))

    @extend_schema(request=None, responses=ShiftSwapSerializer)
    @action(detail=True, methods=["post"], permission_classes=[InIRPGroup])
    def decline(self, request: Request, pk: str | None = None) -> Response:
        return self._settle(lambda swap: swap_decline(swap, by=self._user()))


class OnCallView(APIView):
    """Who is on call at an instant, per schedule (and, once escalation policies exist, per policy step)."""

    permission_classes = [InIRPGroup]

    @extend_schema(
        parameters=[OpenApiParameter("at", OpenApiTypes.DATETIME, description="The instant (default: now)")],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        at = parse_moment(request.query_params.get("at"), "at")
        schedules = list(schedules_with_rotations())
        # Looking ahead also answers "until when" and "who is next" (the next handoff).
        shifts = shifts_between(schedules, at, at + NEXT_HANDOFF_HORIZON)
        people = people_for([shift for found in shifts.values() for shift in found])
        entries = []
        for schedule in schedules:
            found = shifts[schedule.pk]
            current = found[0] if found and found[0].start <= at else None
            upcoming = found[1] if current and len(found) > 1 else (found[0] if found and not current else None)
            entries.append(
                {
                    "schedule": {"id": schedule.pk, "name": schedule.name},
                    "on_call": shift_json(current, people)["user"] if current else None,
                    "until": current.end.isoformat() if current and current.end < at + NEXT_HANDOFF_HORIZON else None,
                    "next": {"user": shift_json(upcoming, people)["user"], "from": upcoming.start.isoformat()}
                    if upcoming
                    else None,
                }
            )
        return Response({"at": at.isoformat(), "schedules": entries, "escalation_policies": []})


# ICS import ----------------------------------------------------------------------------------
# Routed in irp_site/urls.py as POST /api/v1/schedules/{id}/import-ics/.


class ScheduleImportPermissions(PlanPermissions):
    """An import changes the schedule and adds a layer or overrides: it needs all three."""

    perms_map = {
        **PlanPermissions.perms_map,
        "POST": ["oncall.change_schedule", "oncall.add_layer", "oncall.add_override"],
    }


class ScheduleIcsImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="An iCalendar (.ics) file of at most 1 MB.")
    weeks_ahead = serializers.IntegerField(
        min_value=1,
        max_value=MAX_WEEKS_AHEAD,
        default=DEFAULT_WEEKS_AHEAD,
        help_text="Import shifts from two weeks ago to this many weeks ahead.",
    )

    def validate_file(self, value: Any) -> Any:
        if value.size > MAX_UPLOAD_BYTES:
            raise ValidationError(f"The file is larger than {MAX_UPLOAD_BYTES // 1024 // 1024} MB.")
        return value


class ScheduleIcsImportView(GenericAPIView):
    """Import another tool's on-call calendar into a schedule: a new top layer, or overrides."""

    queryset = Schedule.objects.all()
    serializer_class = ScheduleIcsImportSerializer
    parser_classes = [MultiPartParser]
    permission_classes = [ScheduleImportPermissions]

    @extend_schema(responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, pk: int) -> Response:
        schedule = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        user = request.user
        try:
            result = schedule_import_ics(
                schedule,
                upload.read(),
                filename=upload.name or "",
                created_by=user if isinstance(user, User) else None,
                weeks_ahead=serializer.validated_data["weeks_ahead"],
            )
        except IcsImportError as error:
            problems = [{"kind": str(problem.kind), "message": problem.message} for problem in error.problems]
            return Response({"file": [str(error)], "problems": problems}, status=400)
        return Response(result.as_json(), status=201)
