"""What responders do on the incident page: each view parses a form, calls one service, goes back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from incidents import forms as workspace_forms
from incidents.forms import error_messages
from incidents.models import Incident
from incidents.services import comms, lifecycle, responding
from incidents.services.errors import InvalidInput
from incidents.services.lifecycle import TransitionNotAllowed, incident_transition
from incidents.services.responding import ActionRefused
from incidents.services.roles import role_assign, role_release
from incidents.services.severity import incident_severity_change
from incidents.services.timeline import person_name
from incidents.views.access import HtmxHttpRequest, incident_for_responder
from incidents.views.incident import timeline_context
from irp_site.decorators import irp_member_required

# Ways a service says "not now" or "not that": shown to the person as a message, never a 500.
REFUSALS = (ActionRefused, InvalidInput, TransitionNotAllowed)
RACE_LOST = "Someone else changed this incident first; here it is as it is now."


def _act(
    request: HttpRequest,
    pk: int,
    form_class: Callable[..., forms.Form] | None,
    action: Callable[[Incident, User, dict[str, Any]], str],
    *,
    needs_incident: bool = False,
) -> HttpResponse:
    """The shape of every action: parse the form, call one service, say what happened, go back."""
    incident, user = incident_for_responder(request, pk)
    form = None
    if form_class is not None:
        form = form_class(request.POST, incident=incident) if needs_incident else form_class(request.POST)
        if not form.is_valid():
            for problem in error_messages(form):
                messages.error(request, problem)
            return redirect(incident)
    try:
        done = action(incident, user, form.cleaned_data if form else {})
    except REFUSALS as error:
        messages.error(request, _refusal_message(error, form))
    else:
        messages.success(request, done)
    return redirect(incident)


def _refusal_message(error: Exception, form: forms.Form | None) -> str:
    """The service's words, led by the label the person saw for the field it names."""
    if not isinstance(error, InvalidInput):
        return str(error)
    if form is not None and error.field in form.fields:
        return f"{form[error.field].label}: {error.message}"
    return f"{error.field.replace('_', ' ').capitalize()}: {error.message}"


@irp_member_required
@require_POST
def incident_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    incident, user = incident_for_responder(request, pk)
    new_status = Incident.Status.ACKNOWLEDGED
    try:
        changed = incident_transition(incident, new_status, actor=user)
    except TransitionNotAllowed:
        messages.error(
            request,
            f"The incident is {incident.get_status_display().lower()}; it cannot be {new_status.label.lower()} now.",
        )
    else:
        if changed:
            messages.success(request, f"{new_status.label}.")
        else:
            messages.error(request, RACE_LOST)
    return redirect(incident)


@irp_member_required
@require_POST
def incident_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    def resolve(incident: Incident, user: User, data: dict[str, Any]) -> str:
        if incident.status == Incident.Status.RESOLVED:
            raise ActionRefused("The incident is resolved already.")
        if not lifecycle.incident_resolve(incident, actor=user, note=data["note"], hypothesis=data["hypothesis"]):
            raise ActionRefused(RACE_LOST)
        return "Resolved."

    return _act(request, pk, workspace_forms.ResolveForm, resolve)


@irp_member_required
@require_POST
def incident_escalate(request: HttpRequest, pk: int) -> HttpResponse:
    def escalate(incident: Incident, user: User, data: dict[str, Any]) -> str:
        responding.escalate(incident, actor=user)
        return "Escalated: the next step fires now."

    return _act(request, pk, None, escalate)


@irp_member_required
@require_POST
def incident_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    def reassign(incident: Incident, user: User, data: dict[str, Any]) -> str:
        responding.reassign(incident, actor=user, users=list(data["users"]), policy=data["escalation_policy"])
        return "Reassigned: paging them now."

    return _act(request, pk, workspace_forms.ReassignForm, reassign)


@irp_member_required
@require_POST
def incident_severity(request: HttpRequest, pk: int) -> HttpResponse:
    def change(incident: Incident, user: User, data: dict[str, Any]) -> str:
        if not incident_severity_change(incident, data["severity"], reason=data["reason"], actor=user):
            raise ActionRefused("Someone else changed the severity first; here it is as it is now.")
        return f"Severity changed to {data['severity'].name}."

    return _act(request, pk, workspace_forms.SeverityChangeForm, change, needs_incident=True)


@irp_member_required
@require_POST
def incident_role_assign(request: HttpRequest, pk: int) -> HttpResponse:
    def assign(incident: Incident, user: User, data: dict[str, Any]) -> str:
        role_assign(incident, data["role"], data["user"], actor=user)
        return f"{person_name(data['user'])} is {data['role'].name}."

    return _act(request, pk, workspace_forms.RoleAssignForm, assign)


@irp_member_required
@require_POST
def incident_role_release(request: HttpRequest, pk: int) -> HttpResponse:
    def release(incident: Incident, user: User, data: dict[str, Any]) -> str:
        role_release(incident, data["role"], data["user"], actor=user)
        return f"{data['role'].name} released."

    return _act(request, pk, workspace_forms.RoleReleaseForm, release)


@irp_member_required
@require_POST
def incident_responders_add(request: HttpRequest, pk: int) -> HttpResponse:
    def add(incident: Incident, user: User, data: dict[str, Any]) -> str:
        responding.responders_add(
            incident, list(data["users"]), actor=user, message=data["message"], as_role=data["as_role"]
        )
        return "Paging them now through their own contact methods."

    return _act(request, pk, workspace_forms.RespondersAddForm, add)


@irp_member_required
@require_POST
def incident_merge(request: HttpRequest, pk: int) -> HttpResponse:
    def merge(incident: Incident, user: User, data: dict[str, Any]) -> str:
        responding.incident_merge(incident, data["target"], actor=user)
        return f"Merged into #{data['target'].number}."

    return _act(request, pk, workspace_forms.MergeForm, merge, needs_incident=True)


@irp_member_required
@require_POST
def incident_update_post(request: HttpRequest, pk: int) -> HttpResponse:
    def post(incident: Incident, user: User, data: dict[str, Any]) -> str:
        update = comms.update_post(
            incident, data["kind"], data["text"], actor=user, stakeholder_group=data["stakeholder_group"]
        )
        return f"{update.get_kind_display()} posted."

    return _act(request, pk, workspace_forms.UpdatePostForm, post)


@irp_member_required
@require_POST
def incident_note(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """A note from the timeline's inline form: htmx gets the timeline back, a plain POST a redirect."""
    incident, user = incident_for_responder(request, pk)
    form = workspace_forms.NoteForm(request.POST)
    if not form.is_valid():
        if request.htmx:
            context = {**timeline_context(incident, request), "note_problems": error_messages(form)}
            return render(request, "incidents/detail.html#timeline", context, status=400)
        for problem in error_messages(form):
            messages.error(request, problem)
        return redirect(incident)
    responding.note_add(incident, form.cleaned_data["text"], actor=user)
    if request.htmx:
        return render(request, "incidents/detail.html#timeline", timeline_context(incident, request))
    messages.success(request, "Note added.")
    return redirect(f"{incident.get_absolute_url()}#timeline")
