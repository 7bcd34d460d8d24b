"""The incident list: open incidents first, filtered, counted per severity, refreshed by htmx."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from incidents import forms as workspace_forms
from incidents.forms import OPEN_STATUSES, error_messages
from incidents.models import Incident, SeverityLevel
from incidents.views.access import HtmxHttpRequest, can_change_incidents
from irp_site.decorators import irp_member_required

INCIDENTS_PER_PAGE = 50
# Page numbers beyond this are a typo or a probe; they show the first page.
LAST_PAGE_NUMBER = 999_999


def open_first_page(incidents: QuerySet[Incident], number: int, size: int) -> tuple[list[Incident], bool]:
    """One page of `incidents`, open ones first, newest first within each part; and whether more follow.

    Two index-backed queries instead of one ORDER BY on a computed "is open" column, which would
    sort every incident ever opened; and no COUNT(*) of the resolved ones, which only grows.
    """
    newest_first = ("-created_at", "-id")
    open_part = incidents.filter(status__in=OPEN_STATUSES).order_by(*newest_first)
    resolved_part = incidents.filter(status=Incident.Status.RESOLVED).order_by(*newest_first)
    open_count = open_part.count()
    start = (number - 1) * size
    rows = list(open_part[start : start + size + 1]) if start < open_count else []
    if len(rows) <= size:
        offset = max(0, start - open_count)
        rows += list(resolved_part[offset : offset + size + 1 - len(rows)])
    return rows[:size], len(rows) > size


def open_counts_by_severity() -> list[tuple[SeverityLevel, int]]:
    counts = dict(
        Incident.objects.filter(status__in=OPEN_STATUSES)
        .values_list("severity")
        .annotate(count=Count("id"))
        .values_list("severity", "count")
    )
    return [(level, counts.get(level.pk, 0)) for level in SeverityLevel.objects.all()]


def page_number(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1")
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= LAST_PAGE_NUMBER:
        return 1
    return int(raw)


@irp_member_required
@require_safe
# The same URL answers a page or an htmx partial: a browser's cache (Back) must not mix them up.
@vary_on_headers("HX-Request")
def incident_list(request: HtmxHttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)
    form = workspace_forms.IncidentFilterForm(request.GET)
    incidents = Incident.objects.select_related("severity", "service")
    status = 200
    if form.is_valid():
        incidents = form.filter(incidents, request.user)
    else:
        status = 400
        incidents = incidents.none()
    number = page_number(request)
    rows, has_next = open_first_page(incidents, number, INCIDENTS_PER_PAGE)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "problems": error_messages(form),
        "incidents": rows,
        "page_number": number,
        "has_next": has_next,
        "query": query.urlencode(),
        "filtered": any(value for key, value in request.GET.items() if key != "page"),
        "now": timezone.now(),
    }
    if request.htmx:
        return render(request, "incidents/list.html#results", context, status=status)
    context["severity_counts"] = open_counts_by_severity()
    context["can_act"] = can_change_incidents(request.user)
    return render(request, "incidents/list.html", context, status=status)
