"""The status page's set-up in the admin: every page opens, and saving goes through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from incidents.demo import seed_demo_organisation
from incidents.models.status import Component, ScheduledMaintenance, StatusPage
from incidents.services.statuspage import public_incident_publish
from incidents.status_demo import seed_status_page
from incidents.tests.status_builders import make_component, make_incident

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("status_cache_cleared")]

LOGO = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'


@pytest.mark.parametrize(
    "model", ["statuspage", "componentgroup", "component", "publicincident", "scheduledmaintenance", "subscriber"]
)
def test_every_admin_page_opens(client: Client, plan_owner: User, responder: User, model: str) -> None:
    make_component("Checkout")
    public_incident_publish(make_incident(), actor=responder, name="Slow", body="Looking.")
    client.force_login(plan_owner)
    listing = client.get(f"/admin/incidents/{model}/", follow=True)
    assert listing.status_code == 200


def test_the_look_set_in_the_admin_reaches_the_page(client: Client, plan_owner: User) -> None:
    client.force_login(plan_owner)
    page = StatusPage.objects.current()
    response = client.post(
        f"/admin/incidents/statuspage/{page.pk}/change/",
        {
            "name": "Acme status",
            "logo_upload": SimpleUploadedFile("logo.svg", LOGO, content_type="image/svg+xml"),
            "accent_colour": "#123456",
            "background_colour": "#ffffff",
            "text_colour": "#000000",
            "support_url": "",
        },
    )
    assert response.status_code == 302
    client.logout()
    html = client.get("/status/").content.decode()
    assert "<title>Acme status</title>" in html
    assert '<img class="status-logo" src="/status/logo?v=' in html
    logo = client.get("/status/logo")
    assert logo.content == LOGO
    assert logo["Content-Type"] == "image/svg+xml"
    assert "sandbox" in logo["Content-Security-Policy"]
    assert "--status-accent: #123456;" in client.get("/status/theme.css").content.decode()


def test_a_bad_colour_is_refused_naming_the_field(client: Client, plan_owner: User) -> None:
    client.force_login(plan_owner)
    page = StatusPage.objects.current()
    response = client.post(
        f"/admin/incidents/statuspage/{page.pk}/change/",
        {"name": "Acme", "accent_colour": "red", "background_colour": "#ffffff", "text_colour": "#000000"},
    )
    assert response.status_code == 200
    assert "accent_colour" in response.context["adminform"].form.errors


def test_scheduling_maintenance_in_the_admin_opens_the_paging_window(client: Client, plan_owner: User) -> None:
    incident = make_incident()
    search = make_component("Search", services=[incident.service])
    start = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    client.force_login(plan_owner)
    response = client.post(
        "/admin/incidents/scheduledmaintenance/add/",
        {
            "name": "Reindex",
            "body": "Search may be stale.",
            "scheduled_for_0": start.strftime("%Y-%m-%d"),
            "scheduled_for_1": start.strftime("%H:%M:%S"),
            "scheduled_until_0": (start + timedelta(hours=1)).strftime("%Y-%m-%d"),
            "scheduled_until_1": (start + timedelta(hours=1)).strftime("%H:%M:%S"),
            "components": [search.pk],
            "updates-TOTAL_FORMS": "0",
            "updates-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    maintenance = ScheduledMaintenance.objects.get()
    assert maintenance.maintenance_window is not None
    assert list(maintenance.maintenance_window.services.all()) == [incident.service]
    assert maintenance.updates.count() == 1
    assert "Reindex" in client.get("/status/").content.decode()


def test_the_demo_status_page_has_components_behind_the_demo_services(client: Client) -> None:
    seed_demo_organisation()
    seed_status_page("Acme")
    page = client.get("/status/").content.decode()
    assert "<title>Acme status</title>" in page
    assert Component.objects.get(name="Checkout").services.filter(name="Checkout API").exists()


def test_deleting_a_public_incident_in_the_admin_takes_it_off_the_page(
    client: Client, plan_owner: User, responder: User
) -> None:
    checkout = make_component("Checkout")
    public = public_incident_publish(
        make_incident(), actor=responder, name="Posted by mistake", body="Oops.", components={checkout: "major_outage"}
    )
    assert "Posted by mistake" in client.get("/status/").content.decode()
    client.force_login(plan_owner)
    response = client.post(f"/admin/incidents/publicincident/{public.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    client.logout()
    page = client.get("/status/").content.decode()
    assert "Posted by mistake" not in page
    assert "banner-none" in page
