"""The forms of the responder workspace: each one parses a request for one service call."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import IntegerField, Q, QuerySet
from django.db.models.functions import Cast, Substr
from django.utils import timezone

from incidents.models import Incident, IncidentRole, Role, Service, SeverityLevel, TimelineEntry
from incidents.models.comms import CommsKind, StakeholderGroup
from incidents.services.timeline import person_name
from irp_site.groups import PLAN_OWNERS, RESPONDERS
from oncall.models import Delivery, EscalationPolicy, Team

# status IN (…) rather than IncidentQuerySet.open()'s status <> 'resolved': only IN can use the
# (status, created_at) index.
OPEN_STATUSES = (Incident.Status.TRIGGERED, Incident.Status.ACKNOWLEDGED)
# The largest id a database's integer column holds: anything bigger is bad input, not a query to
# run (SQLite raises OverflowError on `id IN (…)` with it, a 500).
LARGEST_ID = 2**63 - 1


def people() -> QuerySet[User]:
    """Who can be given a role or paged into an incident: active responders and plan owners.
    Not stakeholders: they can read the incident but not act on it, so a stakeholder as
    Incident Commander could not even acknowledge it."""
    return (
        User.objects.filter(is_active=True, groups__name__in=(PLAN_OWNERS, RESPONDERS))
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return person_name(obj)


class PeopleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return person_name(obj)

    def clean(self, value: Any) -> Any:
        for pk in value if isinstance(value, list | tuple) else ():
            text = str(pk).strip()
            if not (text.isascii() and text.isdigit()) or int(text) > LARGEST_ID:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                )
        return super().clean(value)


class SeverityChoiceField(forms.ModelChoiceField):
    """Each level with the plan's impact criteria beside it, so choosing needs no judgement call."""

    widget = forms.RadioSelect

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} — {obj.title}: {obj.impact_criteria}"


def error_messages(form: forms.Form) -> list[str]:
    """Each problem as one sentence that names its field, for the messages at the top of the page."""
    found = []
    for field, problems in form.errors.items():
        label = form[field].label if field in form.fields else None
        found += [f"{label}: {problem}" if label else str(problem) for problem in problems]
    return found


# --- The incident list --------------------------------------------------------------------------


def involving(user: User) -> Q:
    """Incidents that are "mine": where the person holds or held a role, or that IRP paged them for.

    One IN over a UNION rather than EXISTS or two INs joined by OR: PostgreSQL then starts from the
    person's few incidents instead of probing for every incident it walks (170 → a few ms at
    100,000 incidents).
    """
    held = IncidentRole.objects.filter(user=user).order_by().values("incident_id")
    # Deliveries name what they are about as "incident:<id>" (incidents/services/escalation.py).
    paged = (
        Delivery.objects.filter(user=user, subject__regex=r"^incident:[0-9]+$")
        .annotate(incident_id=Cast(Substr("subject", len("incident:") + 1), output_field=IntegerField()))
        .order_by()
        .values("incident_id")
    )
    return Q(pk__in=held.union(paged))


class IncidentFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any"), ("open", "Open"), *Incident.Status.choices], required=False)
    severity = forms.ModelChoiceField(
        queryset=SeverityLevel.objects.all(), to_field_name="name", required=False, empty_label="Any"
    )
    service = forms.ModelChoiceField(queryset=Service.objects.all(), required=False, empty_label="Any")
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False, empty_label="Any")
    mine = forms.BooleanField(required=False, label="Mine only")
    q = forms.CharField(required=False, max_length=200, label="Search")

    def filter(self, incidents: Any, user: User) -> Any:
        data = self.cleaned_data
        if data.get("status") == "open":
            incidents = incidents.filter(status__in=OPEN_STATUSES)
        elif data.get("status"):
            incidents = incidents.filter(status=data["status"])
        if data.get("severity"):
            incidents = incidents.filter(severity=data["severity"])
        if data.get("service"):
            incidents = incidents.filter(service=data["service"])
        if data.get("team"):
            incidents = incidents.filter(service__owner_team=data["team"])
        if data.get("mine"):
            incidents = incidents.filter(involving(user))
        query = (data.get("q") or "").strip().removeprefix("#")
        if query:
            by_title = Q(title__icontains=query)
            incidents = incidents.filter(by_title | Q(pk=int(query)) if query.isdigit() else by_title)
        return incidents


# --- Actions on one incident --------------------------------------------------------------------


class ResolveForm(forms.Form):
    note = forms.CharField(label="Resolution note", widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000)
    hypothesis = forms.CharField(
        label="First root-cause hypothesis",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=10_000,
        required=False,
    )


class SeverityChangeForm(forms.Form):
    severity = SeverityChoiceField(queryset=SeverityLevel.objects.all(), label="New severity", empty_label=None)
    reason = forms.CharField(label="Reason", widget=forms.Textarea(attrs={"rows": 2}), max_length=2_000)

    def __init__(self, *args: Any, incident: Incident, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.incident = incident
        self.fields["severity"].initial = incident.severity_id

    def clean_severity(self) -> SeverityLevel:
        severity: SeverityLevel = self.cleaned_data["severity"]
        if severity.pk == self.incident.severity_id:
            raise forms.ValidationError(f"The incident is {severity.name} already.")
        return severity


class RoleAssignForm(forms.Form):
    role = forms.ModelChoiceField(queryset=Role.objects.all(), label="Role", empty_label=None)
    user = PersonChoiceField(queryset=people(), label="Person", empty_label=None)


class RoleReleaseForm(forms.Form):
    role = forms.ModelChoiceField(queryset=Role.objects.all(), label="Role")
    user = PersonChoiceField(queryset=people(), label="Person")


class RespondersAddForm(forms.Form):
    users = PeopleChoiceField(queryset=people(), label="People to page")
    as_role = forms.ModelChoiceField(
        queryset=Role.objects.all(), required=False, label="As role", empty_label="No role (responder)"
    )
    message = forms.CharField(
        label="Why they are needed", required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class MergeForm(forms.Form):
    target = forms.IntegerField(label="Merge into incident number", min_value=1, max_value=LARGEST_ID)

    def __init__(self, *args: Any, incident: Incident, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.incident = incident

    def clean_target(self) -> Incident:
        number = self.cleaned_data["target"]
        if number == self.incident.pk:
            raise forms.ValidationError("An incident cannot be merged into itself.")
        target = Incident.objects.filter(pk=number).first()
        if target is None:
            raise forms.ValidationError(f"There is no incident #{number}.")
        return target


class NoteForm(forms.Form):
    text = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 2}), max_length=10_000)


class UpdatePostForm(forms.Form):
    kind = forms.ChoiceField(choices=CommsKind.choices, label="Kind of update")
    text = forms.CharField(label="Update", widget=forms.Textarea(attrs={"rows": 5}), max_length=10_000)
    stakeholder_group = forms.ModelChoiceField(
        queryset=StakeholderGroup.objects.all(), required=False, label="Stakeholder group", empty_label="—"
    )


class TimelineFilterForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", "Everything"), *TimelineEntry.Kind.choices], required=False, label="Show")


class ReassignForm(forms.Form):
    users = PeopleChoiceField(
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


# --- Declaring an incident by hand ----------------------------------------------------------------


EARLIEST_START = timedelta(days=3653)


class DeclareForm(forms.Form):
    service = forms.ModelChoiceField(queryset=Service.objects.in_scope(), label="Service", empty_label=None)
    severity = SeverityChoiceField(queryset=SeverityLevel.objects.all(), label="Severity", empty_label=None)
    title = forms.CharField(label="Title", max_length=1024)
    description = forms.CharField(label="What is seen", widget=forms.Textarea(attrs={"rows": 4}), max_length=10_000)
    started_at = forms.DateTimeField(
        label="When it started",
        required=False,
        help_text="Your local time; leave empty if unknown. Used for time to detect.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def clean_started_at(self) -> Any:
        started_at = self.cleaned_data.get("started_at")
        if not started_at:
            return started_at
        now = timezone.now()
        if started_at > now:
            raise forms.ValidationError("It cannot start in the future.")
        # A mistyped year, not a real start; and year 1 east of UTC is year 0 in UTC, which no
        # database stores (a 500 on save).
        if started_at < now - EARLIEST_START:
            raise forms.ValidationError("More than 10 years ago: check the year.")
        return started_at
