from __future__ import annotations

from rest_framework import generics, serializers, viewsets

from incidents.models import ResponsePlan, Role, Service, SeverityLevel
from irp_site.api import DurationSecondsField, ModelCleanSerializer


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
        fields = ["id", "name", "description", "owner_team", "criticality", "in_scope"]


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
