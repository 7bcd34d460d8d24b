"""REST under /api/v1/ for runbooks and the communication cadence."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers, viewsets
from rest_framework.routers import DefaultRouter

from incidents.models import Service, SeverityLevel
from incidents.models.comms import CommsRule, StakeholderGroup
from incidents.models.runbooks import Runbook
from irp_site.api import DurationSecondsField, ModelCleanSerializer


class SeverityNameField(serializers.SlugRelatedField):
    """A severity by its name (P1…)."""

    def to_internal_value(self, data: Any) -> Any:
        # PostgreSQL refuses NUL in a text comparison: a name with one exists nowhere.
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)


class StakeholderGroupSerializer(ModelCleanSerializer):
    emails = serializers.ListField(child=serializers.EmailField(), required=False, allow_empty=True)

    class Meta:
        model = StakeholderGroup
        fields = ["id", "name", "description", "emails"]


class CommsRuleSerializer(ModelCleanSerializer):
    severity = SeverityNameField(slug_field="name", queryset=SeverityLevel.objects.all())
    first_due_after_seconds = DurationSecondsField(source="first_due_after", minimum=0, required=False)
    interval_seconds = DurationSecondsField(source="interval", required=False, allow_null=True)
    grace_seconds = DurationSecondsField(source="grace", required=False)

    class Meta:
        model = CommsRule
        fields = [
            "id",
            "severity",
            "kind",
            "stakeholder_group",
            "first_due_after_seconds",
            "interval_seconds",
            "grace_seconds",
        ]
        # The database's unique constraints are conditional; clean() and the view say it in words.
        validators: list[Any] = []

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        severity = attrs.get("severity", getattr(self.instance, "severity", None))
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        group = attrs.get("stakeholder_group", getattr(self.instance, "stakeholder_group", None))
        clash = CommsRule.objects.filter(severity=severity, kind=kind, stakeholder_group=group)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(
                {"kind": [f"{severity} already has a rule for this kind{' and group' if group else ''}."]}
            )
        return attrs


class RunbookSerializer(ModelCleanSerializer):
    services = serializers.PrimaryKeyRelatedField(many=True, queryset=Service.objects.all(), required=False)
    is_stale = serializers.BooleanField(read_only=True)
    body_html = serializers.CharField(read_only=True)

    class Meta:
        model = Runbook
        fields = [
            "id",
            "title",
            "body",
            "body_html",
            "external_url",
            "services",
            "match",
            "conditions",
            "last_reviewed_on",
            "is_stale",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class StakeholderGroupViewSet(viewsets.ModelViewSet):
    queryset = StakeholderGroup.objects.all()
    serializer_class = StakeholderGroupSerializer
    filterset_fields = ["name"]


class CommsRuleViewSet(viewsets.ModelViewSet):
    queryset = CommsRule.objects.select_related("severity", "stakeholder_group")
    serializer_class = CommsRuleSerializer
    filterset_fields = ["severity", "kind", "stakeholder_group"]


class RunbookViewSet(viewsets.ModelViewSet):
    queryset = Runbook.objects.prefetch_related("services")
    serializer_class = RunbookSerializer
    filterset_fields = ["services"]


def register(router: DefaultRouter) -> None:
    """Add runbooks' and the cadence's resources to the project's API router."""
    router.register("runbooks", RunbookViewSet)
    router.register("stakeholder-groups", StakeholderGroupViewSet)
    router.register("comms-rules", CommsRuleViewSet)
