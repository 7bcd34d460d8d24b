"""REST under /api/v1/ for configuring the public status page."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Add the status page's resources to the project's API router."""
