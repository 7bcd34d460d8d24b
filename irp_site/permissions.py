from __future__ import annotations

from typing import Any

from rest_framework.permissions import DjangoModelPermissions, IsAuthenticated
from rest_framework.request import Request

from irp_site.groups import belongs_to_irp


class PlanPermissions(DjangoModelPermissions):
    """Reads need the model's view permission, writes its add/change/delete permission.

    Every IRP group may view; only plan owners may write the plan. People in no group get 403.
    """

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request: Request, view: Any) -> bool:
        if getattr(view, "queryset", None) is None and not hasattr(view, "get_queryset"):
            # Views that are not about one model (the API root): any IRP member.
            return bool(request.user and request.user.is_authenticated and belongs_to_irp(request.user))
        return super().has_permission(request, view)


class InIRPGroup(IsAuthenticated):
    def has_permission(self, request: Request, view: Any) -> bool:
        return super().has_permission(request, view) and belongs_to_irp(request.user)
