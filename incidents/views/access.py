"""Who may do what on the incident pages."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django_htmx.middleware import HtmxDetails

from incidents.models import Incident


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def can_change_incidents(user: Any) -> bool:
    return bool(user.has_perm("incidents.change_incident"))


def responder(request: HttpRequest, *, doing: str = "change an incident") -> User:
    """The signed-in responder; a stakeholder (who may read) gets 403 before anything is parsed."""
    user = request.user
    if not isinstance(user, User) or not can_change_incidents(user):
        raise PermissionDenied(f"Only responders may {doing}.")
    return user


def incident_for_responder(request: HttpRequest, pk: int) -> tuple[Incident, User]:
    user = responder(request)
    return get_object_or_404(Incident.objects.select_related("severity", "service"), pk=pk), user
