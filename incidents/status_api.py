"""REST under /api/v1/ for the public status page: its set-up, publishing and maintenance.

Writes that show on the page go through incidents/services/statuspage.py, as in the admin.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from incidents.models import Incident
from incidents.models.status import (
    Component,
    ComponentGroup,
    ComponentStatus,
    PublicIncident,
    PublicIncidentUpdate,
    ScheduledMaintenance,
    Subscriber,
)
from incidents.services.statuspage import (
    PublishRefused,
    maintenance_delete,
    maintenance_schedule,
    maintenance_transition,
    maintenance_window_sync,
    public_incident_publish,
    public_incident_update,
    status_config_changed,
)


def _refusal(refusal: PublishRefused) -> Response:
    field = "non_field_errors" if refusal.field == "__all__" else refusal.field
    return Response({field: [str(refusal)]}, status=status.HTTP_400_BAD_REQUEST)


def _actor(request: Request) -> User | None:
    return request.user if isinstance(request.user, User) else None


class ComponentGroupSerializer(serializers.ModelSerializer):
    class Meta:
        model = ComponentGroup
        fields = ["id", "public_id", "name", "description", "position"]
        read_only_fields = ["public_id"]


class ComponentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Component
        fields = [
            "id",
            "public_id",
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
        read_only_fields = ["public_id", "status"]
        extra_kwargs = {"services": {"required": False}}


class StatusConfigViewSet(viewsets.ModelViewSet):
    def perform_create(self, serializer: Any) -> None:
        super().perform_create(serializer)
        status_config_changed()
        serializer.instance.refresh_from_db()  # the status it shows now

    def perform_update(self, serializer: Any) -> None:
        super().perform_update(serializer)
        status_config_changed()
        serializer.instance.refresh_from_db()

    def perform_destroy(self, instance: Any) -> None:
        super().perform_destroy(instance)
        status_config_changed()


class ComponentGroupViewSet(StatusConfigViewSet):
    queryset = ComponentGroup.objects.all()
    serializer_class = ComponentGroupSerializer


class ComponentViewSet(StatusConfigViewSet):
    queryset = Component.objects.select_related("group").prefetch_related("services")
    serializer_class = ComponentSerializer
    filterset_fields = ["group", "status"]


class SubscriberSerializer(serializers.ModelSerializer):
    class Meta:
        model = Subscriber
        fields = ["id", "email", "components", "confirmed_at", "created_at"]
        read_only_fields = ["created_at"]
        extra_kwargs = {"components": {"required": False}}


class SubscriberViewSet(viewsets.ModelViewSet):
    queryset = Subscriber.objects.prefetch_related("components")
    serializer_class = SubscriberSerializer


class ImpactSerializer(serializers.Serializer):
    component = serializers.PrimaryKeyRelatedField(queryset=Component.objects.all())
    status = serializers.ChoiceField(choices=ComponentStatus.choices)


class UpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = PublicIncidentUpdate
        fields = ["id", "public_id", "status", "body", "created_at", "affected_components"]


class PublicIncidentSerializer(serializers.ModelSerializer):
    updates = UpdateSerializer(many=True, read_only=True)
    incident = serializers.PrimaryKeyRelatedField(queryset=Incident.objects.all())
    body = serializers.CharField(write_only=True)
    components = ImpactSerializer(many=True, write_only=True, required=False)
    status = serializers.ChoiceField(choices=PublicIncident.Status.choices, required=False)
    impact = serializers.ChoiceField(choices=PublicIncident.Impact.choices, required=False)

    class Meta:
        model = PublicIncident
        fields = [
            "id",
            "public_id",
            "incident",
            "name",
            "status",
            "impact",
            "body",
            "components",
            "created_at",
            "updated_at",
            "monitoring_at",
            "resolved_at",
            "updates",
        ]
        read_only_fields = ["public_id", "created_at", "updated_at", "monitoring_at", "resolved_at"]


class PostUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=PublicIncident.Status.choices)
    body = serializers.CharField()
    components = ImpactSerializer(many=True, required=False)


def _impacts(items: list[dict[str, Any]] | None) -> dict[Component, str]:
    return {item["component"]: item["status"] for item in items or []}


class PublicIncidentViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Publish an internal incident (POST) and post updates to it (POST …/updates/)."""

    queryset = PublicIncident.objects.prefetch_related("updates").select_related("incident")
    serializer_class = PublicIncidentSerializer
    filterset_fields = ["status", "incident"]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            public = public_incident_publish(
                data["incident"],
                actor=_actor(request),
                name=data["name"],
                body=data["body"],
                status=data.get("status", PublicIncident.Status.INVESTIGATING),
                impact=data.get("impact", PublicIncident.Impact.MINOR),
                components=_impacts(data.get("components")),
            )
        except PublishRefused as refusal:
            return _refusal(refusal)
        return Response(self.get_serializer(public).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"], serializer_class=PostUpdateSerializer)
    def updates(self, request: Request, pk: str | None = None) -> Response:
        public = self.get_object()
        serializer = PostUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            update = public_incident_update(
                public,
                actor=_actor(request),
                status=data["status"],
                body=data["body"],
                components=_impacts(data.get("components")),
            )
        except PublishRefused as refusal:
            return _refusal(refusal)
        return Response(UpdateSerializer(update).data, status=status.HTTP_201_CREATED)


class ScheduledMaintenanceSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScheduledMaintenance
        fields = [
            "id",
            "public_id",
            "name",
            "body",
            "status",
            "scheduled_for",
            "scheduled_until",
            "components",
            "maintenance_window",
            "started_at",
            "completed_at",
        ]
        read_only_fields = ["public_id", "status", "maintenance_window", "started_at", "completed_at"]
        extra_kwargs = {"components": {"required": False}}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start = attrs.get("scheduled_for", getattr(self.instance, "scheduled_for", None))
        end = attrs.get("scheduled_until", getattr(self.instance, "scheduled_until", None))
        if start and end and end <= start:
            raise serializers.ValidationError({"scheduled_until": ["The maintenance must end after it starts."]})
        return attrs


class MoveSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ScheduledMaintenance.Status.choices)
    body = serializers.CharField(required=False, allow_blank=True)


class ScheduledMaintenanceViewSet(viewsets.ModelViewSet):
    queryset = ScheduledMaintenance.objects.prefetch_related("components")
    serializer_class = ScheduledMaintenanceSerializer
    filterset_fields = ["status"]

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        serializer.instance = maintenance_schedule(
            actor=_actor(self.request),
            name=data["name"],
            body=data.get("body", ""),
            scheduled_for=data["scheduled_for"],
            scheduled_until=data["scheduled_until"],
            components=list(data.get("components", [])),
        )

    def perform_update(self, serializer: Any) -> None:
        super().perform_update(serializer)
        maintenance_window_sync(serializer.instance)

    def perform_destroy(self, instance: ScheduledMaintenance) -> None:
        maintenance_delete(instance)

    @action(detail=True, methods=["post"], serializer_class=MoveSerializer)
    def move(self, request: Request, pk: str | None = None) -> Response:
        maintenance = self.get_object()
        serializer = MoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            maintenance_transition(
                maintenance,
                serializer.validated_data["status"],
                actor=_actor(request),
                body=serializer.validated_data.get("body", ""),
            )
        except PublishRefused as refusal:
            return _refusal(refusal)
        maintenance.refresh_from_db()
        return Response(ScheduledMaintenanceSerializer(maintenance).data)


def register(router: DefaultRouter) -> None:
    """Add the status page's resources to the project's API router."""
    router.register("status-component-groups", ComponentGroupViewSet)
    router.register("status-components", ComponentViewSet)
    router.register("status-subscribers", SubscriberViewSet)
    router.register("public-incidents", PublicIncidentViewSet)
    router.register("scheduled-maintenances", ScheduledMaintenanceViewSet)
