from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Prefetch, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from incidents.action_links import ACTIONS, LinkExpired, LinkInvalid, action_link_read
from incidents.models import (
    ChangeEvent,
    EscalationRun,
    Incident,
    ResponsePlan,
    Role,
    Service,
    SeverityLevel,
    UsedActionLink,
)
from incidents.services import responding
from incidents.services.escalation import incident_subject
from incidents.services.lifecycle import TransitionNotAllowed, incident_transition
from incidents.services.responding import ActionRefused, act_on_link
from incidents.services.timeline import person_name
from irp_site.decorators import irp_member_required
from oncall.models import Delivery, EscalationPolicy


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


class PersonChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return person_name(obj)


class ReassignForm(forms.Form):
    users = PersonChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("first_name", "last_name", "username"),
        required=False,
        label="People",
    )
    escalation_policy = forms.ModelChoiceField(
        queryset=EscalationPolicy.objects.all(), required=False, label="Escalation policy", empty_label="—"
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if bool(cleaned.get("users")) == bool(cleaned.get("escalation_policy")):
            raise forms.ValidationError("Choose either people or an escalation policy to reassign to.")
        return cleaned


def escalation_panel(run: EscalationRun | None) -> dict[str, Any] | None:
    """What the incident page says about paging: which policy, the next step and when, or why it stopped."""
    if run is None:
        return None
    steps = run.steps
    return {
        "run": run,
        "policy_name": run.snapshot.get("name") or (run.policy.name if run.policy else ""),
        "steps": len(steps),
        "next_step": run.step_index + 1 if steps and not run.past_last_step else None,
        "round": run.round,
    }


def can_change_incidents(user: Any) -> bool:
    return bool(user.has_perm("incidents.change_incident"))


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
    can_act = can_change_incidents(request.user)
    context = {
        "incident": incident,
        "alerts": alerts,
        "timeline": incident.timeline.select_related("actor"),
        "changes": changes,
        "escalation": escalation_panel(incident.escalation_runs.select_related("policy").first()),
        "deliveries": Delivery.objects.filter(subject=incident_subject(incident.pk))
        .select_related("user")
        .order_by("created_at", "pk"),
        "can_act": can_act,
        "reassign_form": ReassignForm() if can_act and incident.status != Incident.Status.RESOLVED else None,
    }
    return render(request, "incidents/detail.html", context)


def _incident_for_responder(request: HttpRequest, pk: int) -> tuple[Incident, User]:
    user = request.user
    if not isinstance(user, User) or not can_change_incidents(user):
        raise PermissionDenied("Only responders may change an incident.")
    return get_object_or_404(Incident, pk=pk), user


def _transition(request: HttpRequest, pk: int, new_status: Incident.Status) -> HttpResponse:
    incident, user = _incident_for_responder(request, pk)
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
            messages.error(request, "Someone else changed this incident first; here it is as it is now.")
    return redirect(incident)


@irp_member_required
@require_POST
def incident_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(request, pk, Incident.Status.ACKNOWLEDGED)


@irp_member_required
@require_POST
def incident_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(request, pk, Incident.Status.RESOLVED)


@irp_member_required
@require_POST
def incident_escalate(request: HttpRequest, pk: int) -> HttpResponse:
    incident, user = _incident_for_responder(request, pk)
    try:
        responding.escalate(incident, actor=user)
    except ActionRefused as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Escalated: the next step fires now.")
    return redirect(incident)


@irp_member_required
@require_POST
def incident_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    incident, user = _incident_for_responder(request, pk)
    form = ReassignForm(request.POST)
    if not form.is_valid():
        for field, problems in form.errors.items():
            label = form.fields[field].label if field in form.fields else None
            for problem in problems:
                messages.error(request, f"{label}: {problem}" if label else str(problem))
        return redirect(incident)
    try:
        responding.reassign(
            incident,
            actor=user,
            users=list(form.cleaned_data["users"]),
            policy=form.cleaned_data["escalation_policy"],
        )
    except ActionRefused as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Reassigned: paging them now.")
    return redirect(incident)


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
