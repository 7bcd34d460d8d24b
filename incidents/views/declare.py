"""Declaring an incident by hand: a person saw what the monitoring did not."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from incidents import forms as workspace_forms
from incidents.forms import error_messages
from incidents.services import declaring
from incidents.services.errors import InvalidInput
from incidents.views.access import responder
from irp_site.decorators import irp_member_required


@irp_member_required
@require_http_methods(["GET", "HEAD", "POST"])
def incident_declare(request: HttpRequest) -> HttpResponse:
    user = responder(request, doing="declare an incident")
    form = workspace_forms.DeclareForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            incident = declaring.incident_declare(actor=user, **form.cleaned_data)
        except InvalidInput as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, f"Declared #{incident.number}: paging per {incident.service.name}'s policy.")
            return redirect(incident)
    status = 400 if form.errors else 200
    context = {"form": form, "problems": error_messages(form), "list_url": reverse("incidents:list")}
    return render(request, "incidents/declare.html", context, status=status)
