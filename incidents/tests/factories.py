"""Builders for incident tests: small functions with sensible defaults, named for what they make."""

from __future__ import annotations

from typing import Any

from incidents.models import Integration, Service
from oncall.models import Team


def make_team(name: str = "Payments", **extra: Any) -> Team:
    return Team.objects.create(name=name, **extra)


def make_service(name: str = "Checkout API", *, team: Team | None = None, **extra: Any) -> Service:
    return Service.objects.create(name=name, owner_team=team or make_team(f"{name} team"), **extra)


def make_integration(
    kind: str = Integration.Kind.PAGERDUTY, *, service: Service | None = None, name: str = "Monitoring", **extra: Any
) -> Integration:
    return Integration.objects.create(name=name, kind=kind, service=service or make_service(), **extra)
