from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from irp_site.decorators import irp_member_required
from oncall.models import Team


@irp_member_required
def oncall_now(request: HttpRequest) -> HttpResponse:
    return render(request, "oncall/now.html", {"teams": Team.objects.with_people()})
