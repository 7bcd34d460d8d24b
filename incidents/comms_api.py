"""REST under /api/v1/ for runbooks and the communication cadence."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Add runbooks' and the cadence's resources to the project's API router."""
