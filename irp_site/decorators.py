from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from irp_site.groups import belongs_to_irp

View = Callable[..., HttpResponse]


def irp_member_required(view: View) -> View:
    """Signed in and in one of IRP's groups; anyone else sees nothing."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not belongs_to_irp(request.user):
            raise PermissionDenied("You are not in any IRP group. Ask a plan owner to add you.")
        return view(request, *args, **kwargs)

    return wrapper
