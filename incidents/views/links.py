"""One-click links from notifications: acknowledge or resolve without signing in."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from incidents.action_links import ACTIONS, LinkExpired, LinkInvalid, action_link_read
from incidents.models import Incident, UsedActionLink
from incidents.services.responding import ActionRefused, act_on_link


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def action_link(request: HttpRequest, token: str) -> HttpResponse:
    """A one-click link from a notification. GET (and HEAD) only ask: link-preview bots and mail
    scanners fetch links; the POST of the confirmation form acts. No login needed: the signed link
    is the credential."""
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
    if incident is None:
        context["problem"] = "This link no longer points to anything: the incident is gone."
        return render(request, "incidents/action_link.html", context, status=404)
    if UsedActionLink.objects.filter(nonce=link.nonce).exists():
        context["problem"] = "This link was already used. Each link works once."
        return render(request, "incidents/action_link.html", context, status=409)
    return render(request, "incidents/action_link.html", context)
