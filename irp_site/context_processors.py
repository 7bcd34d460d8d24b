from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from irp_site.auditor import describe, overdue_work
from irp_site.groups import is_plan_owner

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
    items: list[dict[str, Any]] = [{"label": label, "url": reverse(name)} for label, name in NAVIGATION]
    if request.user.has_perm("incidents.add_publicincident"):
        # Those who publish land on the page that manages it (it links to the public one).
        for item in items:
            if item["url"] == reverse("status:page"):
                item["url"] = reverse("status:manage")
    if request.user.is_staff or is_plan_owner(request.user):
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
