from __future__ import annotations

from django.contrib.auth.models import User
from rest_framework import serializers, viewsets

from irp_site.api import ModelCleanSerializer
from oncall.models import Team


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
