"""The public status page: pages, Statuspage-compatible JSON and feeds."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from incidents.models import ResponsePlan


def status_page(request: HttpRequest) -> HttpResponse:
    return render(request, "incidents/status_page.html", {"plan": ResponsePlan.objects.current()})
