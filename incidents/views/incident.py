"""The incident page (the war room) and the timeline it polls."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from incidents import forms as workspace_forms
from incidents.models import ChangeEvent, EscalationRun, Incident, Role
from incidents.models.comms import CommsKind, StakeholderGroup
from incidents.services import comms
from incidents.services.escalation import incident_subject
from incidents.services.roles import current_roles_prefetch, role_holders, role_warnings
from incidents.services.runbooks import runbook_matches
from incidents.views.access import HtmxHttpRequest, can_change_incidents
from irp_site.decorators import irp_member_required
from oncall.models import Delivery

# "What changed?": change events this long before an incident opened are shown with it.
CHANGES_BEFORE_INCIDENT = timedelta(hours=1)
ALERTS_SHOWN = 50


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


def _incident(pk: int) -> Incident:
    return get_object_or_404(
        Incident.objects.select_related(
            "severity", "service", "service__owner_team", "integration", "routing_rule", "merged_into"
        ).prefetch_related(current_roles_prefetch()),
        pk=pk,
    )


def timeline_context(incident: Incident, request: HttpRequest) -> dict[str, Any]:
    # The note form sends the filter along (hx-include), so the timeline comes back as filtered.
    form = workspace_forms.TimelineFilterForm(
        request.POST if request.method == "POST" else request.GET, auto_id="timeline-%s"
    )
    entries = incident.timeline.select_related("actor")
    kind = form.cleaned_data["kind"] if form.is_valid() else ""
    if kind:
        entries = entries.filter(kind=kind)
    return {"incident": incident, "timeline": entries, "timeline_filter": form, "timeline_kind": kind}


def _roles_panel(incident: Incident) -> list[dict[str, Any]]:
    holders = role_holders(incident)
    return [
        {"role": role, "holders": holders.get(role.key, []), "required": incident.severity in role.required_for.all()}
        for role in Role.objects.prefetch_related("required_for")
    ]


def _comms_panel(incident: Incident, *, can_post: bool) -> dict[str, Any]:
    """What is owed and when; for responders, a pre-filled form per kind of update."""
    panel: dict[str, Any] = {"comms_due": comms.comms_due(incident)}
    if can_post:
        panel["update_forms"] = [
            {
                "kind": kind,
                "label": kind.label,
                "text": comms.update_template(incident, kind),
                "needs_group": kind in (CommsKind.STAKEHOLDER_NOTICE, CommsKind.MANAGEMENT_BRIEFING),
            }
            for kind in CommsKind
        ]
        panel["stakeholder_groups"] = list(StakeholderGroup.objects.all())
    return panel


@irp_member_required
@require_safe
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident(pk)
    # Shown as text in <pre>: the template escapes it, so a payload can never become markup.
    # The most recent first: a storm can bring thousands, and the page must stay readable and fast.
    alerts = [
        (alert, json.dumps(alert.details, indent=2, sort_keys=True, ensure_ascii=False))
        for alert in incident.alerts.order_by("-last_received_at", "-id")[:ALERTS_SHOWN]
    ]
    changes = ChangeEvent.objects.filter(
        service=incident.service,
        timestamp__gte=incident.detected_at - CHANGES_BEFORE_INCIDENT,
        timestamp__lte=incident.detected_at,
    )
    is_responder = can_change_incidents(request.user)
    can_act = is_responder and incident.is_open
    context = {
        **timeline_context(incident, request),
        "alerts": alerts,
        "alerts_total": incident.alerts.count(),
        "changes": changes,
        "escalation": escalation_panel(incident.escalation_runs.select_related("policy").first()),
        "deliveries": Delivery.objects.filter(subject=incident_subject(incident.pk))
        .select_related("user")
        .order_by("created_at", "pk"),
        "roles": _roles_panel(incident),
        "role_warnings": role_warnings(incident),
        "runbooks": runbook_matches(incident),
        # Updates stay possible once resolved: "resolved" is what the status page and the
        # stakeholders are told last.
        **_comms_panel(incident, can_post=is_responder),
        "can_act": can_act,
        "can_note": is_responder,
        "now": timezone.now(),
    }
    if is_responder:
        context["note_form"] = workspace_forms.NoteForm(auto_id="note-%s")
    if can_act:
        context |= {
            "reassign_form": workspace_forms.ReassignForm(auto_id="reassign-%s"),
            "resolve_form": workspace_forms.ResolveForm(auto_id="resolve-%s"),
            "severity_form": workspace_forms.SeverityChangeForm(incident=incident, auto_id="severity-%s"),
            "people": list(workspace_forms.people()),
            "responders_form": workspace_forms.RespondersAddForm(auto_id="responders-%s"),
            "merge_form": workspace_forms.MergeForm(incident=incident, auto_id="merge-%s"),
        }
    return render(request, "incidents/detail.html", context)


@irp_member_required
@require_safe
# The same URL answers a page or an htmx partial: a browser's cache (Back) must not mix them up.
@vary_on_headers("HX-Request")
def incident_timeline(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The timeline: what the incident page polls, and what its filter asks for."""
    incident = get_object_or_404(Incident.objects.select_related("severity"), pk=pk)
    if not request.htmx:
        return redirect(f"{incident.get_absolute_url()}?{request.GET.urlencode()}#timeline")
    # The header's status and clocks ride along (htmx out-of-band swaps): one poll keeps both live.
    context = {**timeline_context(incident, request), "oob": True, "now": timezone.now()}
    return render(request, "incidents/detail.html#timeline", context)
