"""Pieces every app's API uses."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from irp_site.validation import NUL_MESSAGE, contains_nul

# 100 years: beyond this a duration is a typo, and timedelta overflows not far above.
MAX_DURATION_SECONDS = 100 * 365 * 86400


@extend_schema_field(OpenApiTypes.INT)
class DurationSecondsField(serializers.Field):
    """A duration as a whole number of seconds in JSON, a timedelta in Python."""

    default_error_messages = {
        "invalid": "A whole number of seconds is required.",
        "too_short": "Must be at least {minimum} second(s).",
        "too_long": "Must be at most {maximum} seconds (100 years).",
    }

    def __init__(self, *, minimum: int = 1, maximum: int = MAX_DURATION_SECONDS, **kwargs: Any) -> None:
        self.minimum = minimum
        self.maximum = maximum
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> int:
        return int(value.total_seconds())

    def to_internal_value(self, data: Any) -> Any:
        if (
            isinstance(data, bool)
            or not isinstance(data, int | str)
            or not re.fullmatch(r"-?\d{1,30}", str(data).strip())
        ):
            self.fail("invalid")
        seconds = int(str(data).strip())
        if seconds < self.minimum:
            self.fail("too_short", minimum=self.minimum)
        if seconds > self.maximum:
            self.fail("too_long", maximum=self.maximum)
        return timedelta(seconds=seconds)


class ModelCleanSerializer(serializers.ModelSerializer):
    """Runs the model's own `clean()` so the API enforces the same rules as the admin."""

    def to_internal_value(self, data: Any) -> Any:
        # DRF refuses NUL in its CharFields only; a JSON or related field would reach PostgreSQL.
        if isinstance(data, Mapping):
            with_nul = sorted(name for name, value in data.items() if name in self.fields and contains_nul(value))
            if with_nul:
                raise serializers.ValidationError({name: [NUL_MESSAGE] for name in with_nul})
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        model: Any = self.Meta.model
        candidate = copy.copy(self.instance) if self.instance is not None else model()
        many_to_many = {field.name for field in model._meta.many_to_many}
        for name, value in attrs.items():
            if name not in many_to_many:
                setattr(candidate, name, value)
        try:
            candidate.clean()
        except DjangoValidationError as error:
            raise serializers.ValidationError(self._map_field_names(error.message_dict)) from error
        return attrs

    def _map_field_names(self, errors: dict[str, list[str]]) -> dict[str, list[str]]:
        # Name the field as the API client knows it (e.g. `ack_window_seconds`, not `ack_window`).
        by_source = {field.source: name for name, field in self.fields.items()}
        return {by_source.get(name, name): messages for name, messages in errors.items()}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus a 409 naming what still depends on a row that someone tries to delete."""
    if isinstance(exc, ProtectedError | RestrictedError):
        blockers = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
        names = sorted({f"{obj._meta.verbose_name} '{obj}'" for obj in list(blockers)[:10]})
        return Response(
            {"detail": "Cannot delete: still in use by " + ", ".join(names) + "."},
            status=status.HTTP_409_CONFLICT,
        )
    return drf_exception_handler(exc, context)
