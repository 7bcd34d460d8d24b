"""The public status page: pages, Statuspage-compatible JSON and feeds; and the publish pages.

Public answers come from incidents/status_cache.py: rendered once per page version. The publish
pages are for signed-in people allowed to publish (Communications Leads: responders and plan owners).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from itertools import groupby
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_safe

from incidents import status_cache, status_feeds, status_json
from incidents.models import Incident
from incidents.models.comms import CommsKind
from incidents.models.status import (
    Component,
    ComponentGroup,
    ComponentStatus,
    PublicIncident,
    ScheduledMaintenance,
    StatusPage,
    Subscriber,
)
from incidents.services.comms import update_template
from incidents.services.statuspage import (
    PublishRefused,
    maintenance_schedule,
    maintenance_transition,
    public_incident_publish,
    public_incident_update,
)
from incidents.services.subscribers import SignupRefused, subscriber_confirm, subscriber_signup, subscriber_unsubscribe

# --- Public pages ----------------------------------------------------------------------------------

STATUS_HEADLINES = {
    "none": "All systems operational",
    "maintenance": "Maintenance in progress",
    "minor": "Some systems are degraded",
    "major": "Partial outage",
    "critical": "Major outage",
}
# The page lists the last fortnight's incidents; /status/history/ the latest few hundred.
HISTORY_DAYS_ON_PAGE = 14
HISTORY_ON_PAGE = 25
HISTORY_LIMIT = 500


def _page_context() -> dict[str, Any]:
    page = StatusPage.objects.current()
    components = list(Component.objects.in_page_order().defer("uptime_days"))
    unresolved = list(status_json.public_incidents().unresolved())
    indicator = status_json.status_json(components, unresolved)["indicator"]
    sections: list[tuple[ComponentGroup | None, list[Component]]] = []
    for group, members in groupby(components, key=lambda component: component.group):
        shown = [c for c in members if not c.only_show_if_degraded or c.status != ComponentStatus.OPERATIONAL]
        if shown:
            sections.append((group, shown))
    return {
        "page": page,
        "indicator": indicator,
        "headline": STATUS_HEADLINES[indicator],
        "sections": sections,
        "unresolved": unresolved,
        "active_maintenance": list(status_json.maintenances().active()),
        "upcoming_maintenance": list(status_json.maintenances().upcoming()),
    }


def _history(*, days: int | None, limit: int) -> list[tuple[str, list[PublicIncident]]]:
    """Resolved incidents by month, newest first: the page shows recent ones, /history/ more."""
    resolved = status_json.public_incidents().filter(status=PublicIncident.Status.RESOLVED).order_by("-created_at")
    if days is not None:
        resolved = resolved.filter(created_at__gte=timezone.now() - timedelta(days=days))
    return [
        (month, list(incidents))
        for month, incidents in groupby(resolved[:limit], key=lambda i: i.created_at.strftime("%B %Y"))
    ]


def _html(template: str, context: Callable[[], dict[str, Any]]) -> Callable[[], tuple[bytes, str]]:
    return lambda: (render_to_string(template, context()).encode(), "text/html; charset=utf-8")


@require_safe
def status_page(request: HttpRequest) -> HttpResponse:
    return status_cache.cached_response(
        request,
        "page",
        _html(
            "incidents/status_page.html",
            lambda: {**_page_context(), "history": _history(days=HISTORY_DAYS_ON_PAGE, limit=HISTORY_ON_PAGE)},
        ),
    )


@require_safe
def history(request: HttpRequest) -> HttpResponse:
    return status_cache.cached_response(
        request,
        "history",
        _html(
            "incidents/status/history.html",
            lambda: {"page": StatusPage.objects.current(), "history": _history(days=None, limit=HISTORY_LIMIT)},
        ),
    )


@require_safe
def incident_permalink(request: HttpRequest, public_id: str) -> HttpResponse:
    def context() -> dict[str, Any]:
        subject: PublicIncident | ScheduledMaintenance | None = (
            status_json.public_incidents().filter(public_id=public_id).first()
            or status_json.maintenances().filter(public_id=public_id).first()
        )
        if subject is None:
            raise Http404("No such incident.")
        return {
            "page": StatusPage.objects.current(),
            "subject": subject,
            "is_maintenance": isinstance(subject, ScheduledMaintenance),
        }

    return status_cache.cached_response(
        request, f"incident:{public_id}", _html("incidents/status/incident.html", context)
    )


THEME_CSS = """:root {{
  --status-accent: {accent};
  --status-background: {background};
  --status-text: {text};
}}
"""


@require_safe
def theme_css(request: HttpRequest) -> HttpResponse:
    # The colours set in the admin, as a stylesheet: the strict CSP allows no inline styles.
    def render_css() -> tuple[bytes, str]:
        page = StatusPage.objects.current()
        css = THEME_CSS.format(accent=page.accent_colour, background=page.background_colour, text=page.text_colour)
        return css.encode(), "text/css; charset=utf-8"

    return status_cache.cached_response(request, "theme.css", render_css)


@require_safe
def logo(request: HttpRequest) -> HttpResponse:
    def render_logo() -> tuple[bytes, str]:
        page = StatusPage.objects.current()
        if not page.logo:
            raise Http404("No logo.")
        return bytes(page.logo), page.logo_content_type

    response = status_cache.cached_response(request, "logo", render_logo)
    # An uploaded SVG is an image here, never a document that could run script.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response


def json_endpoint(kind: str) -> Callable[[HttpRequest], HttpResponse]:
    @require_safe
    def view(request: HttpRequest) -> HttpResponse:
        def render_json() -> tuple[bytes, str]:
            body = json.dumps(status_json.document(kind), cls=DjangoJSONEncoder, separators=(",", ":"))
            return body.encode(), "application/json"

        return status_cache.cached_response(request, f"json:{kind}", render_json, cors=True)

    view.__name__ = f"status_{kind.replace('/', '_').replace('-', '_')}_json"
    return view


def feed(kind: str) -> Callable[[HttpRequest], HttpResponse]:
    @require_safe
    def view(request: HttpRequest) -> HttpResponse:
        return status_cache.cached_response(request, f"feed:{kind}", lambda: status_feeds.render(kind), cors=True)

    view.__name__ = f"status_history_{kind}"
    return view


# --- Subscribers -----------------------------------------------------------------------------------


class SubscribeForm(forms.Form):
    email = forms.EmailField(label="E-mail address", max_length=254)
    components = forms.ModelMultipleChoiceField(
        queryset=Component.objects.in_page_order(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Choose none to hear about everything.",
    )


def _client_ip(request: HttpRequest) -> str:
    # Behind the TLS proxy IRP is told to trust (BEHIND_TLS_PROXY), every peer is the proxy: the
    # address it appended last to X-Forwarded-For is the client's (earlier ones can be forged).
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None) and forwarded:
        return str(forwarded.split(",")[-1].strip())
    return str(request.META.get("REMOTE_ADDR", ""))


@never_cache
@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    page = StatusPage.objects.current()
    form = SubscribeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            subscriber_signup(form.cleaned_data["email"], list(form.cleaned_data["components"]), ip=_client_ip(request))
        except SignupRefused as refusal:
            return render(
                request, "incidents/status/subscribe.html", {"page": page, "form": form, "refusal": refusal}, status=429
            )
        return render(request, "incidents/status/message.html", {"page": page, "message": "check-inbox"})
    status = 400 if request.method == "POST" else 200
    return render(request, "incidents/status/subscribe.html", {"page": page, "form": form}, status=status)


@never_cache
@require_GET
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    page = StatusPage.objects.current()
    if subscriber_confirm(token) is None:
        return render(request, "incidents/status/message.html", {"page": page, "message": "unknown-link"}, status=404)
    return render(request, "incidents/status/message.html", {"page": page, "message": "confirmed"})


# One-click unsubscribing (RFC 8058) is a POST from the mail client, without a CSRF token; the
# token in the URL is the secret.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    page = StatusPage.objects.current()
    if request.method == "GET":
        if not Subscriber.objects.filter(token=token).exists():
            return render(request, "incidents/status/message.html", {"page": page, "message": "unsubscribed"})
        return render(request, "incidents/status/unsubscribe.html", {"page": page, "token": token})
    subscriber_unsubscribe(token)
    return render(request, "incidents/status/message.html", {"page": page, "message": "unsubscribed"})


# --- Publishing (signed in) --------------------------------------------------------------------------

View = Callable[..., HttpResponse]


def publisher_required(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.has_perm("incidents.add_publicincident"):
            raise PermissionDenied("Only Communications Leads (responders and plan owners) publish to the status page.")
        return view(request, *args, **kwargs)

    return wrapper


class PublishForm(forms.Form):
    name = forms.CharField(label="Public title", max_length=255)
    status = forms.ChoiceField(choices=PublicIncident.Status.choices)
    impact = forms.ChoiceField(choices=PublicIncident.Impact.choices, initial=PublicIncident.Impact.MINOR)
    body = forms.CharField(label="What customers are told", widget=forms.Textarea(attrs={"rows": 5}))

    def __init__(self, *args: Any, components: list[Component], with_impact: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.components = components
        if not with_impact:
            del self.fields["impact"]
            del self.fields["name"]
        for component in components:
            self.fields[f"component_{component.pk}"] = forms.ChoiceField(
                label=component.name,
                required=False,
                choices=[("", "Not affected"), *ComponentStatus.choices],
            )

    def component_fields(self) -> list[forms.BoundField]:
        return [self[f"component_{component.pk}"] for component in self.components]

    def impacts(self) -> dict[Component, str]:
        return {
            component: self.cleaned_data[f"component_{component.pk}"]
            for component in self.components
            if self.cleaned_data.get(f"component_{component.pk}")
        }


def _phase_texts(incident: Incident) -> dict[str, str]:
    return {
        phase: update_template(incident, CommsKind.STATUS_PAGE, phase=phase)
        for phase in ("investigating", "identified", "monitoring", "resolved")
    }


def _refused(form: forms.Form, refusal: PublishRefused) -> None:
    form.add_error(
        None if refusal.field == "__all__" or refusal.field not in form.fields else refusal.field, str(refusal)
    )


@publisher_required
@require_http_methods(["GET", "POST"])
def publish(request: HttpRequest, incident_pk: int) -> HttpResponse:
    incident = get_object_or_404(Incident.objects.select_related("service", "severity"), pk=incident_pk)
    existing = PublicIncident.objects.filter(incident=incident).first()
    if existing is not None:
        return HttpResponseRedirect(reverse("status:manage-update", args=[existing.public_id]))
    components = list(Component.objects.in_page_order())
    behind = {c.pk for c in Component.objects.filter(services=incident.service_id)}
    texts = _phase_texts(incident)
    initial = {
        "status": PublicIncident.Status.INVESTIGATING,
        "body": texts["investigating"],
        **{f"component_{pk}": ComponentStatus.PARTIAL_OUTAGE for pk in behind},
    }
    form = PublishForm(request.POST or None, initial=initial, components=components)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            assert isinstance(request.user, User)
            try:
                public = public_incident_publish(
                    incident,
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    body=form.cleaned_data["body"],
                    status=form.cleaned_data["status"],
                    impact=form.cleaned_data["impact"],
                    components=form.impacts(),
                )
            except PublishRefused as refusal:
                _refused(form, refusal)
            else:
                return HttpResponseRedirect(reverse("status:manage-update", args=[public.public_id]))
        status = 400
    return render(
        request,
        "incidents/status/publish.html",
        {"incident": incident, "form": form, "texts": texts, "is_drill": incident.is_drill},
        status=status,
    )


@publisher_required
@require_http_methods(["GET", "POST"])
def publish_update(request: HttpRequest, public_id: str) -> HttpResponse:
    public = get_object_or_404(
        PublicIncident.objects.select_related("incident__service", "incident__severity").prefetch_related(
            "updates", Prefetch("affected", queryset=status_json._affected_rows())
        ),
        public_id=public_id,
    )
    components = list(Component.objects.in_page_order())
    current = {row.component_id: row.status for row in public.affected.all()}
    texts = _phase_texts(public.incident) if public.incident else {}
    initial = {"status": public.status, **{f"component_{pk}": status for pk, status in current.items()}}
    form = PublishForm(request.POST or None, initial=initial, components=components, with_impact=False)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            assert isinstance(request.user, User)
            try:
                public_incident_update(
                    public,
                    actor=request.user,
                    status=form.cleaned_data["status"],
                    body=form.cleaned_data["body"],
                    components=form.impacts(),
                )
            except PublishRefused as refusal:
                _refused(form, refusal)
            else:
                return HttpResponseRedirect(reverse("status:manage-update", args=[public.public_id]))
        status = 400
    return render(
        request,
        "incidents/status/publish_update.html",
        {"public": public, "form": form, "texts": texts},
        status=status,
    )


@publisher_required
@require_GET
def manage(request: HttpRequest) -> HttpResponse:
    """What the Communications Lead looks after: open public incidents, incidents not yet published,
    and maintenance."""
    published = PublicIncident.objects.filter(incident__isnull=False).values("incident_id")
    return render(
        request,
        "incidents/status/manage.html",
        {
            "public_open": PublicIncident.objects.unresolved().select_related("incident"),
            "unpublished": Incident.objects.open()
            .filter(is_drill=False)
            .exclude(pk__in=published)
            .select_related("severity", "service")[:50],
            "maintenance": ScheduledMaintenance.objects.exclude(status=ScheduledMaintenance.Status.COMPLETED),
        },
    )


class MaintenanceForm(forms.Form):
    name = forms.CharField(label="Public title", max_length=255)
    body = forms.CharField(label="What customers are told", widget=forms.Textarea(attrs={"rows": 4}))
    scheduled_for = forms.DateTimeField(
        label="Starts (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    scheduled_until = forms.DateTimeField(
        label="Ends (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    components = forms.ModelMultipleChoiceField(
        queryset=Component.objects.in_page_order(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Times are typed, and read, in the viewer's time zone (the middleware activates it).
        zone = timezone.get_current_timezone_name()
        self.fields["scheduled_for"].label = f"Starts ({zone})"
        self.fields["scheduled_until"].label = f"Ends ({zone})"


@publisher_required
@require_http_methods(["GET", "POST"])
def maintenance_new(request: HttpRequest) -> HttpResponse:
    form = MaintenanceForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            assert isinstance(request.user, User)
            try:
                data = form.cleaned_data
                maintenance_schedule(
                    actor=request.user,
                    name=data["name"],
                    body=data["body"],
                    scheduled_for=data["scheduled_for"],
                    scheduled_until=data["scheduled_until"],
                    components=list(data["components"]),
                )
            except PublishRefused as refusal:
                _refused(form, refusal)
            else:
                return HttpResponseRedirect(reverse("status:manage"))
        status = 400
    return render(request, "incidents/status/maintenance_new.html", {"form": form}, status=status)


class MaintenanceMoveForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (ScheduledMaintenance.Status.IN_PROGRESS, "In progress"),
            (ScheduledMaintenance.Status.VERIFYING, "Verifying"),
            (ScheduledMaintenance.Status.COMPLETED, "Completed"),
        ]
    )
    body = forms.CharField(
        label="What customers are told (optional)", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


@publisher_required
@require_http_methods(["GET", "POST"])
def maintenance_move(request: HttpRequest, public_id: str) -> HttpResponse:
    maintenance = get_object_or_404(ScheduledMaintenance.objects.prefetch_related("updates"), public_id=public_id)
    form = MaintenanceMoveForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            assert isinstance(request.user, User)
            try:
                maintenance_transition(
                    maintenance, form.cleaned_data["status"], actor=request.user, body=form.cleaned_data["body"]
                )
            except PublishRefused as refusal:
                _refused(form, refusal)
            else:
                return HttpResponseRedirect(reverse("status:manage"))
        status = 400
    return render(
        request, "incidents/status/maintenance_move.html", {"maintenance": maintenance, "form": form}, status=status
    )
