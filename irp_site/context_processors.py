from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from irp_site.auditor import describe, overdue_work
from irp_site.groups import PLAN_OWNERS, RESPONDERS

NAVIGATION = (
    ("Incidents", "incidents:list"),
    ("On-call", "oncall:now"),
    ("Postmortems", "postmortems:list"),
    ("Status page", "status:page"),
    ("Plan", "incidents:plan"),
)


def navigation(request: HttpRequest) -> dict[str, Any]:
    if not request.user.is_authenticated:
        return {}
    user = request.user
    groups = set(user.groups.values_list("name", flat=True)) if user.is_active else set()
    responds = user.is_superuser or bool(groups & {RESPONDERS, PLAN_OWNERS})
    items: list[dict[str, Any]] = [
        # Those who publish land on the page that manages the status page (it links to the public one).
        {"label": label, "url": reverse("status:manage" if name == "status:page" and responds else name)}
        for label, name in NAVIGATION
    ]
    if user.is_staff or user.is_superuser or PLAN_OWNERS in groups:
        items.append({"label": "Admin", "url": reverse("admin:index")})
    for item in items:
        item["current"] = request.path.startswith(item["url"]) and item["url"] != "/"
    return {"navigation": items}


def due_work_alarm(request: HttpRequest) -> dict[str, Any]:
    """On admin pages, the auditor's alarm: plan owners are the ones who can act on it."""
    if not request.path.startswith("/admin/") or not request.user.is_authenticated:
        return {}
    late = overdue_work()
    return {"due_work_alarm": describe(late)} if late else {}
