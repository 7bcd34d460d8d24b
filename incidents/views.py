from __future__ import annotations

import json
from datetime import timedelta

from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Prefetch, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from incidents.models import ChangeEvent, Incident, ResponsePlan, Role, Service, SeverityLevel
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
