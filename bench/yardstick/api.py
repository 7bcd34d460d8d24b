from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.yardstick.models import YardstickRow


class YardstickRowSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    value = serializers.IntegerField()


class YardstickInsertView(APIView):
    """Validate a small body and insert one row: the floor under any IRP API write."""

    # No authentication: a yardstick must not pay for token or session lookups. With no
    # SessionAuthentication nothing enforces CSRF, and APIView.as_view() marks the view exempt too.
    authentication_classes = []
    permission_classes = [AllowAny]
    schema = None  # not part of IRP's API documentation

    def post(self, request: Request) -> Response:
        serializer = YardstickRowSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = YardstickRow.objects.create(**serializer.validated_data)
        return Response({"id": row.pk}, status=status.HTTP_201_CREATED)
