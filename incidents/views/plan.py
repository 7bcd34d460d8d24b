"""The response plan as one page: severity levels, roles and the services in scope."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from incidents.models import ResponsePlan, Role, Service, SeverityLevel
from incidents.models.comms import CommsRule
from irp_site.decorators import irp_member_required


@irp_member_required
def plan(request: HttpRequest) -> HttpResponse:
    current = ResponsePlan.objects.select_related("owner").get(pk=ResponsePlan.objects.current().pk)
    # One query per relation however many levels and rules: the cadence is each level's CommsRules.
    severity_levels = SeverityLevel.objects.prefetch_related(
        Prefetch("required_roles", queryset=Role.objects.order_by("position")),
        Prefetch(
            "comms_rules",
            queryset=CommsRule.objects.select_related("stakeholder_group").order_by("first_due_after", "kind", "id"),
        ),
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
