from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Prefetch, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from incidents.action_links import ACTIONS, LinkExpired, LinkInvalid, action_link_read
from incidents.models import ChangeEvent, Incident, ResponsePlan, Role, Service, SeverityLevel, UsedActionLink
from incidents.services.responding import ActionRefused, act_on_link
from irp_site.decorators import irp_member_required


@irp_member_required
def plan(request: HttpRequest) -> HttpResponse:
    current = ResponsePlan.objects.select_related("owner").get(pk=ResponsePlan.objects.current().pk)
    severity_levels = SeverityLevel.objects.prefetch_related(
        Prefetch("required_roles", queryset=Role.objects.order_by("position"))
    )
    roles = Role.objects.prefetch_related(Prefetch("required_for", queryset=SeverityLevel.objects.order_by("rank")))
    services = Service.objects.in_scope().select_related("owner_team")
    context = {
        "plan": current,
        "severity_levels": severity_levels,
        "roles": roles,
        "services": services,
        "review_overdue": current.review_overdue(timezone.localdate()),
    }
    return render(request, "incidents/plan.html", context)


# "What changed?": change events this long before an incident opened are shown with it.
CHANGES_BEFORE_INCIDENT = timedelta(hours=1)
INCIDENTS_PER_PAGE = 50


@irp_member_required
def incident_list(request: HttpRequest) -> HttpResponse:
    incidents = Incident.objects.select_related("severity", "service").annotate(
        open_first=Case(
            When(status=Incident.Status.RESOLVED, then=Value(1)), default=Value(0), output_field=IntegerField()
        )
    )
    status = request.GET.get("status", "")
    if status in Incident.Status.values:
        incidents = incidents.filter(status=status)
    severity = request.GET.get("severity", "")
    if severity:
        incidents = incidents.filter(severity__name=severity)
    page = Paginator(incidents.order_by("open_first", "-created_at", "-id"), INCIDENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "statuses": Incident.Status.choices,
        "severity_levels": SeverityLevel.objects.all(),
        "status": status,
        "severity": severity,
    }
    return render(request, "incidents/list.html", context)


@irp_member_required
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_object_or_404(
        Incident.objects.select_related("severity", "service", "integration", "routing_rule"), pk=pk
    )
    # Shown as text in <pre>: the template escapes it, so a payload can never become markup.
    alerts = [
        (alert, json.dumps(alert.details, indent=2, sort_keys=True, ensure_ascii=False))
        for alert in incident.alerts.all()
    ]
    changes = ChangeEvent.objects.filter(
        service=incident.service,
        timestamp__gte=incident.detected_at - CHANGES_BEFORE_INCIDENT,
        timestamp__lte=incident.detected_at,
    )
    context = {
        "incident": incident,
        "alerts": alerts,
        "timeline": incident.timeline.select_related("actor"),
        "changes": changes,
    }
    return render(request, "incidents/detail.html", context)


def status_page(request: HttpRequest) -> HttpResponse:
    return render(request, "incidents/status_page.html", {"plan": ResponsePlan.objects.current()})


@never_cache
@require_http_methods(["GET", "POST"])
def action_link(request: HttpRequest, token: str) -> HttpResponse:
    """A one-click link from a notification. GET only asks (link-preview bots fetch links);
    the POST of the confirmation form acts. No login needed: the signed link is the credential."""
    try:
        link = action_link_read(token)
    except LinkExpired:
        problem = "This link has expired. Open the incident in IRP to act on it."
        return render(request, "incidents/action_link.html", {"problem": problem}, status=410)
    except LinkInvalid:
        problem = "This is not a valid IRP link. Check that it was copied whole."
        return render(request, "incidents/action_link.html", {"problem": problem}, status=404)
    incident = Incident.objects.select_related("severity", "service").filter(pk=link.incident_id).first()
    context: dict[str, Any] = {"incident": incident, "action": ACTIONS[link.action], "link": link}
    if request.method == "POST":
        try:
            incident, outcome = act_on_link(link)
        except ActionRefused as error:
            context["problem"] = str(error)
            return render(request, "incidents/action_link.html", context, status=409)
        context.update(incident=incident, outcome=outcome)
        return render(request, "incidents/action_link.html", context)
    if UsedActionLink.objects.filter(nonce=link.nonce).exists():
        context["problem"] = "This link was already used. Each link works once."
        return render(request, "incidents/action_link.html", context, status=409)
    return render(request, "incidents/action_link.html", context)
