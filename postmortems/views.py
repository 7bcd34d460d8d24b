from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from incidents.models import SeverityLevel
from irp_site.decorators import irp_member_required


@irp_member_required
def postmortem_list(request: HttpRequest) -> HttpResponse:
    required = SeverityLevel.objects.filter(postmortem_required=True)
    return render(request, "postmortems/list.html", {"required_levels": required})
