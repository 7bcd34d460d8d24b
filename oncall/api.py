from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from irp_site.api import DurationSecondsField, ModelCleanSerializer
from irp_site.groups import is_plan_owner
from irp_site.permissions import InIRPGroup, PlanPermissions
from oncall.deliveries import send_test
from oncall.ics_import import (
    DEFAULT_WEEKS_AHEAD,
    MAX_UPLOAD_BYTES,
    MAX_WEEKS_AHEAD,
    IcsImportError,
    schedule_import_ics,
)
from oncall.models import (
    ContactMethod,
    Delivery,
    EscalationPolicy,
    EscalationStep,
    Layer,
    NotificationRule,
    Override,
    Schedule,
    ShiftSwap,
    Team,
)
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
from oncall.targets import policies_on_call, steps_with_targets
from oncall.warnings import paging_warnings

GAP_HORIZON = timedelta(days=14)
NEXT_HANDOFF_HORIZON = timedelta(days=30)
MAX_RANGE = timedelta(days=366)
MAX_RULE_DELAY = timedelta(hours=24)


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


# Escalation policies ---------------------------------------------------------------------------


class EscalationStepSerializer(ModelCleanSerializer):
    delay_seconds = DurationSecondsField(
        source="delay",
        required=False,
        allow_null=True,
        help_text="How long to wait for an acknowledgement before the next step; null: the severity's ack window.",
    )
    users = serializers.PrimaryKeyRelatedField(
        many=True, queryset=User.objects.filter(is_active=True), required=False, help_text="User ids."
    )
    schedules = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Schedule.objects.all(), required=False, help_text="Whoever is on call on these."
    )
    teams = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Team.objects.all(), required=False, help_text="Every member of these teams."
    )
    team_managers = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Team.objects.all(), required=False, help_text="The manager of each of these teams."
    )

    class Meta:
        model = EscalationStep
        fields = ["id", "policy", "position", "delay_seconds", "mode", "users", "schedules", "teams", "team_managers"]


class EscalationPolicySerializer(ModelCleanSerializer):
    steps = EscalationStepSerializer(many=True, read_only=True, help_text="Write them at /api/v1/escalation-steps/.")

    class Meta:
        model = EscalationPolicy
        fields = ["id", "name", "description", "team", "repeat_count", "steps"]


class EscalationPolicyViewSet(viewsets.ModelViewSet):
    queryset = EscalationPolicy.objects.prefetch_related(Prefetch("steps", queryset=steps_with_targets()))
    serializer_class = EscalationPolicySerializer
    filterset_fields = ["name", "team"]


class EscalationStepViewSet(viewsets.ModelViewSet):
    queryset = steps_with_targets().order_by("policy_id", "position", "pk")
    serializer_class = EscalationStepSerializer
    filterset_fields = ["policy"]


# A person's own paging settings: contact methods and notification rules -----------------------


class OwnPagingSettings(PlanPermissions):
    """The model permissions as everywhere; writing a row also needs to be its person or a plan owner."""

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        return request.method in SAFE_METHODS or obj.user_id == request.user.pk or view.manages_everyone()


class PersonalSerializer(ModelCleanSerializer):
    """A row that belongs to a person: `user` defaults to whoever creates it."""

    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, help_text="A user id; default: you."
    )

    def to_internal_value(self, data: Any) -> Any:
        attrs = super().to_internal_value(data)
        # Here rather than as a field default: a PUT that leaves `user` out must not move the row.
        if self.instance is None and "user" not in attrs:
            attrs["user"] = self.context["request"].user
        return attrs


class PersonalSettingsViewSet(viewsets.ModelViewSet):
    permission_classes = [OwnPagingSettings]

    def manages_everyone(self) -> bool:
        if not hasattr(self, "_manages_everyone"):
            self._manages_everyone = is_plan_owner(self.request.user)
        return self._manages_everyone

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "manages_everyone": self.manages_everyone()}

    def _check_person(self, serializer: serializers.BaseSerializer) -> None:
        person = serializer.validated_data.get("user")
        if person is not None and person.pk != self.request.user.pk and not self.manages_everyone():
            raise PermissionDenied("Only plan owners manage other people's contact methods and notification rules.")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        self._check_person(serializer)
        serializer.save()

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        self._check_person(serializer)
        serializer.save()


class ContactMethodSerializer(PersonalSerializer):
    signing_secret = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The HMAC-SHA256 key of webhook signatures (X-IRP-Signature). "
        "Shown to the method's person and to plan owners; null for everyone else.",
    )

    class Meta:
        model = ContactMethod
        fields = [
            "id", "user", "kind", "label", "address", "signing_secret",
            "last_outcome", "last_outcome_message", "last_outcome_at", "created_at",
        ]  # fmt: skip
        read_only_fields = ["last_outcome", "last_outcome_message", "last_outcome_at", "created_at"]

    def to_representation(self, instance: ContactMethod) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        viewer = request.user.pk if request is not None else None
        if not self.context.get("manages_everyone") and instance.user_id != viewer:
            # Slack and webhook URLs are secrets too: others see only where they point.
            data["signing_secret"] = None
            data["address"] = instance.address_shown
        return data


class TestDeliverySerializer(serializers.Serializer):
    delivery = serializers.IntegerField(help_text="The id of the test delivery.")
    status = serializers.ChoiceField(choices=Delivery.Status.choices)


class ContactMethodViewSet(PersonalSettingsViewSet):
    queryset = ContactMethod.objects.order_by("user_id", "kind", "pk")
    serializer_class = ContactMethodSerializer
    filterset_fields = ["user", "kind"]

    @extend_schema(request=None, responses={202: TestDeliverySerializer})
    @action(detail=True, methods=["post"], url_path="test")
    def send_test_notification(self, request: Request, pk: str | None = None) -> Response:
        """Send a test notification now; its outcome shows on the method as `last_outcome`."""
        delivery = send_test(self.get_object())
        return Response({"delivery": delivery.pk, "status": delivery.status}, status=202)


class NotificationRuleSerializer(PersonalSerializer):
    delay_seconds = DurationSecondsField(
        source="delay",
        minimum=0,
        maximum=int(MAX_RULE_DELAY.total_seconds()),
        default=timedelta(0),
        help_text="How long after being paged to use this method (0: at once; at most 24 hours).",
    )

    class Meta:
        model = NotificationRule
        fields = ["id", "user", "urgency", "contact_method", "delay_seconds"]


class NotificationRuleViewSet(PersonalSettingsViewSet):
    queryset = NotificationRule.objects.all()
    serializer_class = NotificationRuleSerializer
    filterset_fields = ["user", "urgency", "contact_method"]


class PagingWarningSerializer(serializers.Serializer):
    user = serializers.IntegerField(source="user_id")
    name = serializers.CharField()
    urgency = serializers.ChoiceField(choices=NotificationRule.Urgency.choices)
    message = serializers.CharField()


class PagingWarningViewSet(viewsets.GenericViewSet):
    """People on a rotation or in an escalation step without a working rule for an urgency."""

    serializer_class = PagingWarningSerializer
    permission_classes = [InIRPGroup]
    filter_backends: list[Any] = []

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(paging_warnings())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class OnCallView(APIView):
    """Who is on call at an instant, per schedule, and whom each escalation policy step would notify."""

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
        return Response({"at": at.isoformat(), "schedules": entries, "escalation_policies": policies_on_call(at)})


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
