from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
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
)
from incidents.services import responding
from incidents.services.integrations import integration_rotate_key
from incidents.services.lifecycle import TransitionNotAllowed, incident_transition
from irp_site.api import DurationSecondsField, ModelCleanSerializer
from irp_site.permissions import InIRPGroup
from oncall.models import EscalationPolicy


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


class SeverityLevelSerializer(ModelCleanSerializer):
    ack_window_seconds = DurationSecondsField(source="ack_window", required=False, allow_null=True)
    resolution_target_seconds = DurationSecondsField(source="resolution_target", required=False, allow_null=True)
    internal_update_interval_seconds = DurationSecondsField(
        source="internal_update_interval", required=False, allow_null=True
    )
    status_page_update_interval_seconds = DurationSecondsField(
        source="status_page_update_interval", required=False, allow_null=True
    )

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
            "internal_update_interval_seconds",
            "status_page_update_interval_seconds",
            "postmortem_required",
            "postmortem_due_business_days",
            "review_practice",
        ]


class RoleSerializer(ModelCleanSerializer):
    required_for = serializers.SlugRelatedField(
        many=True, slug_field="name", queryset=SeverityLevel.objects.all(), required=False
    )

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
    queryset = SeverityLevel.objects.all()
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


class IncidentSerializer(serializers.ModelSerializer):
    number = serializers.IntegerField(read_only=True)
    severity = serializers.CharField(source="severity.name", read_only=True)
    url = serializers.CharField(source="absolute_url", read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "number",
            "title",
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
            "url",
        ]
        read_only_fields = fields


class IncidentActionSerializer(serializers.Serializer):
    message = serializers.CharField(required=False, allow_blank=True, max_length=2000)


# Ids beyond a 64-bit integer are refused by field rather than reaching the database driver.
MAX_ID = 2**63 - 1


class IncidentReassignSerializer(serializers.Serializer):
    users = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=50,
        help_text="Ids of the people to page now.",
    )
    escalation_policy = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="Id of a policy to run from its first step instead."
    )

    def validate_users(self, value: list[int]) -> list[User]:
        wanted = list(dict.fromkeys(value))
        found = User.objects.filter(is_active=True).in_bulk(wanted)
        unknown = [str(user_id) for user_id in wanted if user_id not in found]
        if unknown:
            raise serializers.ValidationError(f"No active person with id {', '.join(unknown)}.")
        return [found[user_id] for user_id in wanted]

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


REFUSED = {409: OpenApiResponse(description='The incident cannot be changed so now: `{"status": ["why"]}`.')}


class IncidentViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Incident.objects.select_related("severity")
    serializer_class = IncidentSerializer
    filterset_fields = ["status", "service", "severity", "is_drill"]

    def _responder(self, request: Request) -> User:
        user = request.user
        if not isinstance(user, User) or not user.has_perm("incidents.change_incident"):
            raise PermissionDenied("Only responders may change an incident.")
        return user

    def _transition(self, request: Request, status: Incident.Status) -> Response:
        incident = self.get_object()
        user = self._responder(request)
        payload = IncidentActionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            changed = incident_transition(
                incident, status, actor=user, message=payload.validated_data.get("message", "")
            )
        except TransitionNotAllowed as error:
            return Response({"status": [str(error)]}, status=409)
        if not changed:
            return Response({"status": ["Someone else changed this incident first; reload it."]}, status=409)
        return Response(self.get_serializer(incident).data)

    @extend_schema(request=IncidentActionSerializer, responses={200: IncidentSerializer, **REFUSED})
    @action(detail=True, methods=["post"], permission_classes=[InIRPGroup])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        return self._transition(request, Incident.Status.ACKNOWLEDGED)

    @extend_schema(request=IncidentActionSerializer, responses={200: IncidentSerializer, **REFUSED})
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
        incident.refresh_from_db()
        return Response(self.get_serializer(incident).data)

    @extend_schema(
        request=IncidentReassignSerializer,
        responses={200: IncidentSerializer, **REFUSED},
        description="Page these people, or run this escalation policy from its first step, instead.",
    )
    @action(detail=True, methods=["post"], permission_classes=[InIRPGroup])
    def reassign(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        user = self._responder(request)
        payload = IncidentReassignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            responding.reassign(
                incident,
                actor=user,
                users=payload.validated_data.get("users", []),
                policy=payload.validated_data.get("escalation_policy"),
            )
        except responding.ActionRefused as error:
            return Response({"status": [str(error)]}, status=409)
        incident.refresh_from_db()
        return Response(self.get_serializer(incident).data)
