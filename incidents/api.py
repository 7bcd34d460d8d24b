from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from incidents.models import (
    Alert,
    ChangeEvent,
    Incident,
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
from incidents.models.comms import CommsRule
from incidents.services import responding
from incidents.services.declaring import incident_declare
from incidents.services.errors import InvalidInput
from incidents.services.integrations import integration_rotate_key
from incidents.services.lifecycle import TransitionNotAllowed, incident_resolve, incident_transition
from incidents.services.roles import current_roles_prefetch, role_assign, role_holders, role_release
from incidents.services.severity import incident_severity_change
from incidents.services.timeline import person_name
from irp_site.api import DurationSecondsField, ModelCleanSerializer
from irp_site.permissions import InIRPGroup
from oncall.models import EscalationPolicy


class PlanNameField(serializers.SlugRelatedField):
    """A plan object by its name or key. PostgreSQL refuses to look up a text with a NUL byte (a
    database error, so a 500): such a value names nothing, like any unknown name."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.replace("\x00", "\\x00"))
        return super().to_internal_value(data)


class ResponsePlanSerializer(ModelCleanSerializer):
    next_review_on = serializers.DateField(read_only=True)

    class Meta:
        model = ResponsePlan
        fields = [
            "id",
            "organisation_name",
            "purpose_and_scope",
            "incident_definition",
            "exclusions",
            "post_incident_review",
            "owner",
            "review_interval_days",
            "last_reviewed_on",
            "next_review_on",
        ]
        read_only_fields = ["id"]


class SeverityCommsRuleSerializer(serializers.ModelSerializer):
    """One line of a severity's communication cadence, read-only here: it is written through
    /api/v1/comms-rules/."""

    first_due_after_seconds = DurationSecondsField(source="first_due_after", read_only=True)
    interval_seconds = DurationSecondsField(source="interval", read_only=True, allow_null=True)
    grace_seconds = DurationSecondsField(source="grace", read_only=True)

    class Meta:
        model = CommsRule
        fields = ["id", "kind", "stakeholder_group", "first_due_after_seconds", "interval_seconds", "grace_seconds"]
        read_only_fields = fields


class SeverityLevelSerializer(ModelCleanSerializer):
    ack_window_seconds = DurationSecondsField(source="ack_window", required=False, allow_null=True)
    resolution_target_seconds = DurationSecondsField(source="resolution_target", required=False, allow_null=True)
    comms_rules = SeverityCommsRuleSerializer(many=True, read_only=True)

    # Fields this resource once had: the cadence is now the severity's comms rules. Refused in words,
    # so that a client written for them learns it changes nothing rather than getting a silent 200.
    RETIRED_FIELDS = ("internal_update_interval_seconds", "status_page_update_interval_seconds")

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            retired = [name for name in self.RETIRED_FIELDS if name in data]
            if retired:
                raise serializers.ValidationError(
                    {name: ["No longer here: the cadence is set through /api/v1/comms-rules/."] for name in retired}
                )
        return super().to_internal_value(data)

    class Meta:
        model = SeverityLevel
        fields = [
            "id",
            "name",
            "title",
            "rank",
            "impact_criteria",
            "pages_responders",
            "ack_window_seconds",
            "resolution_target_kind",
            "resolution_target_seconds",
            "comms_rules",
            "postmortem_required",
            "postmortem_due_business_days",
            "review_practice",
        ]


class RoleSerializer(ModelCleanSerializer):
    required_for = PlanNameField(many=True, slug_field="name", queryset=SeverityLevel.objects.all(), required=False)

    class Meta:
        model = Role
        fields = ["id", "key", "name", "summary", "responsibilities", "required_for", "position"]


class ServiceSerializer(ModelCleanSerializer):
    class Meta:
        model = Service
        fields = ["id", "name", "description", "owner_team", "criticality", "in_scope", "flap_grace_period_seconds"]

    flap_grace_period_seconds = DurationSecondsField(source="flap_grace_period", minimum=0, required=False)


class ResponsePlanView(generics.RetrieveUpdateAPIView):
    """The plan itself, a single object: GET reads it, PATCH edits it."""

    queryset = ResponsePlan.objects.all()
    serializer_class = ResponsePlanSerializer

    def get_object(self) -> ResponsePlan:
        plan = ResponsePlan.objects.current()
        self.check_object_permissions(self.request, plan)
        return plan


class SeverityLevelViewSet(viewsets.ModelViewSet):
    queryset = SeverityLevel.objects.prefetch_related("comms_rules")
    serializer_class = SeverityLevelSerializer
    filterset_fields = ["name", "pages_responders", "postmortem_required"]


class RoleViewSet(viewsets.ModelViewSet):
    queryset = Role.objects.prefetch_related("required_for")
    serializer_class = RoleSerializer
    filterset_fields = ["key"]


class ServiceViewSet(viewsets.ModelViewSet):
    queryset = Service.objects.select_related("owner_team")
    serializer_class = ServiceSerializer
    filterset_fields = ["owner_team", "criticality", "in_scope"]


# --- Ingestion and incidents ---------------------------------------------------------------------


class IntegrationSerializer(ModelCleanSerializer):
    url = serializers.CharField(read_only=True)

    class Meta:
        model = Integration
        fields = [
            "id",
            "name",
            "service",
            "kind",
            "key",
            "url",
            "rate_limit_per_minute",
            "auto_resolve",
            "created_at",
            "key_rotated_at",
        ]
        read_only_fields = ["key", "created_at", "key_rotated_at"]


class IntegrationViewSet(viewsets.ModelViewSet):
    queryset = Integration.objects.select_related("service")
    serializer_class = IntegrationSerializer
    filterset_fields = ["service", "kind"]

    @extend_schema(request=None, responses=IntegrationSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-key")
    def rotate_key(self, request: Request, pk: str | None = None) -> Response:
        integration = integration_rotate_key(self.get_object())
        return Response(self.get_serializer(integration).data)


class RoutingRuleSerializer(ModelCleanSerializer):
    class Meta:
        model = RoutingRule
        fields = [
            "id",
            "name",
            "position",
            "enabled",
            "integration",
            "match",
            "conditions",
            "set_service",
            "set_severity",
            "add_labels",
            "suppress",
        ]


class RoutingRuleViewSet(viewsets.ModelViewSet):
    queryset = RoutingRule.objects.all()
    serializer_class = RoutingRuleSerializer
    filterset_fields = ["integration", "enabled"]


class MaintenanceWindowSerializer(ModelCleanSerializer):
    class Meta:
        model = MaintenanceWindow
        fields = ["id", "title", "description", "services", "starts_at", "ends_at", "public"]


class MaintenanceWindowViewSet(viewsets.ModelViewSet):
    queryset = MaintenanceWindow.objects.prefetch_related("services")
    serializer_class = MaintenanceWindowSerializer

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.save(created_by=self.request.user)


class SilenceSerializer(ModelCleanSerializer):
    class Meta:
        model = Silence
        fields = ["id", "comment", "matchers", "service", "starts_at", "ends_at"]


class SilenceViewSet(viewsets.ModelViewSet):
    queryset = Silence.objects.all()
    serializer_class = SilenceSerializer
    filterset_fields = ["service"]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.save(created_by=self.request.user)


class AlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = Alert
        fields = [
            "id",
            "incident",
            "integration",
            "service",
            "key",
            "status",
            "summary",
            "source",
            "severity",
            "component",
            "group",
            "alert_class",
            "labels",
            "details",
            "links",
            "images",
            "started_at",
            "first_received_at",
            "last_received_at",
            "resolved_at",
            "occurrences",
        ]
        read_only_fields = fields


class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Alert.objects.all()
    serializer_class = AlertSerializer
    filterset_fields = ["incident", "integration", "service", "status", "key"]


class ChangeEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChangeEvent
        fields = [
            "id",
            "service",
            "integration",
            "summary",
            "source",
            "timestamp",
            "custom_details",
            "links",
            "received_at",
        ]
        read_only_fields = fields


class ChangeEventViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = ChangeEvent.objects.all()
    serializer_class = ChangeEventSerializer
    filterset_fields = ["service"]


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()


@extend_schema_field(serializers.DictField(child=PersonSerializer(many=True)))
class RolesField(serializers.Field):
    """Current role holders by role key: {"incident-commander": [{"id", "username", "name"}], …}."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, incident: Incident) -> dict[str, list[dict[str, Any]]]:
        return {
            key: [{"id": user.pk, "username": user.get_username(), "name": person_name(user)} for user in users]
            for key, users in role_holders(incident).items()
        }


class IncidentSerializer(serializers.ModelSerializer):
    number = serializers.IntegerField(read_only=True)
    severity = serializers.CharField(source="severity.name", read_only=True)
    url = serializers.CharField(source="absolute_url", read_only=True)
    roles = RolesField()

    class Meta:
        model = Incident
        fields = [
            "id",
            "number",
            "title",
            "description",
            "status",
            "severity",
            "service",
            "dedup_key",
            "integration",
            "created_at",
            "started_at",
            "detected_at",
            "acknowledged_at",
            "resolved_at",
            "last_alert_at",
            "alert_count",
            "severity_reason",
            "routing_rule",
            "pages_at",
            "paging_suppressed_reason",
            "is_drill",
            "declared_by",
            "roles",
            "resolution_note",
            "root_cause_hypothesis",
            "merged_into",
            "url",
        ]
        read_only_fields = fields


class IncidentActionSerializer(serializers.Serializer):
    message = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class IncidentResolveSerializer(IncidentActionSerializer):
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=10_000, help_text="What fixed it (the resolution note)."
    )
    hypothesis = serializers.CharField(
        required=False, allow_blank=True, max_length=10_000, help_text="A first root-cause hypothesis."
    )


# Ids beyond a 64-bit integer are refused by field rather than reaching the database driver.
MAX_ID = 2**63 - 1


def _active_users(value: list[int]) -> list[User]:
    wanted = list(dict.fromkeys(value))
    found = User.objects.filter(is_active=True).in_bulk(wanted)
    unknown = [str(user_id) for user_id in wanted if user_id not in found]
    if unknown:
        raise serializers.ValidationError(f"No active person with id {', '.join(unknown)}.")
    return [found[user_id] for user_id in wanted]


def _id_field(help_text: str, **kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text=help_text, **kwargs)


class IncidentReassignSerializer(serializers.Serializer):
    users = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=50,
        help_text="Ids of the people to page now.",
    )
    escalation_policy = _id_field("Id of a policy to run from its first step instead.", required=False)

    def validate_users(self, value: list[int]) -> list[User]:
        return _active_users(value)

    def validate_escalation_policy(self, value: int) -> EscalationPolicy:
        policy = EscalationPolicy.objects.filter(pk=value).first()
        if policy is None:
            raise serializers.ValidationError(f"No escalation policy with id {value}.")
        return policy

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("users")) == ("escalation_policy" in attrs):
            problem = "Give either users or escalation_policy: exactly one of them."
            raise serializers.ValidationError({"users": [problem], "escalation_policy": [problem]})
        return attrs


class IncidentDeclareSerializer(serializers.Serializer):
    service = _id_field("Id of the affected service.")
    severity = PlanNameField(
        slug_field="name", queryset=SeverityLevel.objects.all(), help_text="Severity name, e.g. P1."
    )
    title = serializers.CharField(max_length=1024, help_text="What is broken, in a few words.")
    description = serializers.CharField(required=False, allow_blank=True, max_length=20_000, help_text="What is seen.")
    started_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When the problem began (for time to detect); not in the future."
    )

    def validate_service(self, value: int) -> Service:
        service = Service.objects.filter(pk=value).first()
        if service is None:
            raise serializers.ValidationError(f"No service with id {value}.")
        return service


class IncidentSeverityChangeSerializer(serializers.Serializer):
    severity = PlanNameField(
        slug_field="name", queryset=SeverityLevel.objects.all(), help_text="The new severity's name, e.g. P1."
    )
    reason = serializers.CharField(max_length=2000, help_text="Why the severity changes (required).")


class IncidentRoleSerializer(serializers.Serializer):
    role = PlanNameField(slug_field="key", queryset=Role.objects.all(), help_text="Role key, e.g. incident-commander.")
    user = _id_field("Id of the person.")

    def validate_user(self, value: int) -> User:
        return _active_users([value])[0]


class IncidentRoleReleaseSerializer(IncidentRoleSerializer):
    def validate_user(self, value: int) -> User:
        # A deactivated account may still hold a role: it must be possible to take it back.
        user = User.objects.filter(pk=value).first()
        if user is None:
            raise serializers.ValidationError(f"No person with id {value}.")
        return user


class IncidentAddRespondersSerializer(serializers.Serializer):
    users = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1,
        max_length=responding.MAX_RESPONDERS,
        help_text="Ids of the people to page to join.",
    )
    message = serializers.CharField(required=False, allow_blank=True, max_length=2000, help_text="Why they are needed.")
    as_role = PlanNameField(
        slug_field="key",
        queryset=Role.objects.all(),
        required=False,
        allow_null=True,
        help_text="Also give them this role, e.g. subject-matter-expert.",
    )

    def validate_users(self, value: list[int]) -> list[User]:
        return _active_users(value)


class IncidentMergeSerializer(serializers.Serializer):
    target = _id_field("Id of the incident to merge this one into.")

    def validate_target(self, value: int) -> Incident:
        target = Incident.objects.filter(pk=value).first()
        if target is None:
            raise serializers.ValidationError(f"No incident with id {value}.")
        return target


class NoteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=responding.NOTE_MAX, help_text="The note.")


class TimelineEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = TimelineEntry
        fields = ["id", "incident", "at", "kind", "actor", "actor_label", "message", "data"]
        read_only_fields = fields


REFUSED = {409: OpenApiResponse(description='The incident cannot be changed so now: `{"status": ["why"]}`.')}


class IncidentViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Incident.objects.select_related("severity").prefetch_related(current_roles_prefetch())
    serializer_class = IncidentSerializer
    filterset_fields = ["status", "service", "severity", "is_drill"]

    def get_permissions(self) -> Sequence[Any]:
        # Declaring is a responder's action (checked in create), not a plan owner's "add".
        if self.action == "create":
            return [InIRPGroup()]
        return super().get_permissions()

    def _responder(self, request: Request) -> User:
        user = request.user
        if not isinstance(user, User) or not user.has_perm("incidents.change_incident"):
            raise PermissionDenied("Only responders may change an incident.")
        return user

    def _payload(self, serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
        payload = serializer_class(data=request.data)
        payload.is_valid(raise_exception=True)
        return payload.validated_data

    def _answer(self, incident: Incident, code: int = 200) -> Response:
        fresh = self.get_queryset().get(pk=incident.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    def _transition(self, request: Request, new_status: Incident.Status) -> Response:
        incident = self.get_object()
        user = self._responder(request)
        resolving = new_status == Incident.Status.RESOLVED
        data = self._payload(IncidentResolveSerializer if resolving else IncidentActionSerializer, request)
        try:
            if resolving:
                changed = incident_resolve(
                    incident,
                    actor=user,
                    note=data.get("note", ""),
                    hypothesis=data.get("hypothesis", ""),
                    message=data.get("message", ""),
                )
            else:
                changed = incident_transition(incident, new_status, actor=user, message=data.get("message", ""))
        except TransitionNotAllowed as error:
            return Response({"status": [str(error)]}, status=409)
        if not changed:
            return Response({"status": ["Someone else changed this incident first; reload it."]}, status=409)
        return self._answer(incident)

    @extend_schema(
        request=IncidentDeclareSerializer,
        responses={201: IncidentSerializer},
        description="Declare an incident by hand. It pages per the service's escalation policy like any other.",
    )
    def create(self, request: Request) -> Response:
        user = self._responder(request)
        data = self._payload(IncidentDeclareSerializer, request)
        try:
            incident = incident_declare(
                service=data["service"],
                severity=data["severity"],
                title=data["title"],
                description=data.get("description", ""),
                started_at=data.get("started_at"),
                actor=user,
            )
        except InvalidInput as error:
            raise ValidationError({error.field: [error.message]}) from error
        return self._answer(incident, status.HTTP_201_CREATED)

    @extend_schema(request=IncidentActionSerializer, responses={200: IncidentSerializer, **REFUSED})
    @action(detail=True, methods=["post"], permission_classes=[InIRPGroup])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        return self._transition(request, Incident.Status.ACKNOWLEDGED)

    @extend_schema(
        request=IncidentResolveSerializer,
        responses={200: IncidentSerializer, **REFUSED},
        description="Resolve, optionally with a resolution note and a first root-cause hypothesis.",
    )
    @action(detail=True, methods=["post"], permission_classes=[InIRPGroup])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        return self._transition(request, Incident.Status.RESOLVED)

    @extend_schema(
        request=None,
        responses={200: IncidentSerializer, **REFUSED},
        description="Fire the next step of the escalation now; an acknowledged incident goes back to triggered.",
    )
    @action(detail=True, methods=["post"], permission_classes=[InIRPGroup])
    def escalate(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        user = self._responder(request)
        try:
            responding.escalate(incident, actor=user)
        except responding.ActionRefused as error:
            return Response({"status": [str(error)]}, status=409)
        return self._answer(incident)

    @extend_schema(
        request=IncidentReassignSerializer,
        responses={200: IncidentSerializer, **REFUSED},
        description="Page these people, or run this escalation policy from its first step, instead.",
    )
    @action(detail=True, methods=["post"], permission_classes=[InIRPGroup])
    def reassign(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        user = self._responder(request)
        data = self._payload(IncidentReassignSerializer, request)
        try:
            responding.reassign(incident, actor=user, users=data.get("users", []), policy=data.get("escalation_policy"))
        except responding.ActionRefused as error:
            return Response({"status": [str(error)]}, status=409)
        return self._answer(incident)

    @extend_schema(
        request=IncidentSeverityChangeSerializer,
        responses={200: IncidentSerializer, **REFUSED},
        description="Change the severity, with a reason. A shorter acknowledgement window applies to paging "
        "under way at once.",
    )
    @action(detail=True, methods=["post"], url_path="change-severity", permission_classes=[InIRPGroup])
    def change_severity(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        user = self._responder(request)
        data = self._payload(IncidentSeverityChangeSerializer, request)
        try:
            changed = incident_severity_change(incident, data["severity"], reason=data["reason"], actor=user)
        except InvalidInput as error:
            raise ValidationError({error.field: [error.message]}) from error
        if not changed:
            return Response({"status": ["Someone else changed the severity first; reload it."]}, status=409)
        return self._answer(incident)

    @extend_schema(
        request=IncidentRoleSerializer,
        responses={200: IncidentSerializer},
        description="Give a person a role; for every role but subject-matter-expert this hands it over.",
    )
    @action(detail=True, methods=["post"], url_path="assign-role", permission_classes=[InIRPGroup])
    def assign_role(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        user = self._responder(request)
        data = self._payload(IncidentRoleSerializer, request)
        role_assign(incident, data["role"], data["user"], actor=user)
        return self._answer(incident)

    @extend_schema(
        request=IncidentRoleReleaseSerializer,
        responses={200: IncidentSerializer},
        description="The person no longer holds the role.",
    )
    @action(detail=True, methods=["post"], url_path="release-role", permission_classes=[InIRPGroup])
    def release_role(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        user = self._responder(request)
        data = self._payload(IncidentRoleReleaseSerializer, request)
        try:
            role_release(incident, data["role"], data["user"], actor=user)
        except InvalidInput as error:
            raise ValidationError({error.field: [error.message]}) from error
        return self._answer(incident)

    @extend_schema(
        request=IncidentAddRespondersSerializer,
        responses={200: IncidentSerializer, **REFUSED},
        description="Page more people to join (each through their own contact methods), optionally giving them a role.",
    )
    @action(detail=True, methods=["post"], url_path="add-responders", permission_classes=[InIRPGroup])
    def add_responders(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        user = self._responder(request)
        data = self._payload(IncidentAddRespondersSerializer, request)
        try:
            responding.responders_add(
                incident, data["users"], actor=user, message=data.get("message", ""), as_role=data.get("as_role")
            )
        except InvalidInput as error:
            raise ValidationError({error.field: [error.message]}) from error
        except responding.ActionRefused as error:
            return Response({"status": [str(error)]}, status=409)
        return self._answer(incident)

    @extend_schema(
        request=IncidentMergeSerializer,
        responses={200: IncidentSerializer, **REFUSED},
        description="Merge this incident (a duplicate) into `target`: its alerts move there and it is resolved.",
    )
    @action(detail=True, methods=["post"], permission_classes=[InIRPGroup])
    def merge(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        user = self._responder(request)
        data = self._payload(IncidentMergeSerializer, request)
        try:
            responding.incident_merge(incident, data["target"], actor=user)
        except InvalidInput as error:
            raise ValidationError({error.field: [error.message]}) from error
        except responding.ActionRefused as error:
            return Response({"status": [str(error)]}, status=409)
        return self._answer(incident)

    @extend_schema(request=NoteSerializer, responses={201: TimelineEntrySerializer})
    @action(detail=True, methods=["post"], permission_classes=[InIRPGroup])
    def notes(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        user = self._responder(request)
        data = self._payload(NoteSerializer, request)
        try:
            entry = responding.note_add(incident, data["text"], actor=user)
        except InvalidInput as error:
            raise ValidationError({error.field: [error.message]}) from error
        return Response(TimelineEntrySerializer(entry).data, status=status.HTTP_201_CREATED)
