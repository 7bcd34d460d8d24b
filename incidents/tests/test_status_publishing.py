"""Publishing to the public status page from an incident, and what the page then shows."""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from incidents.models import SeverityLevel, TimelineEntry
from incidents.models.comms import CommsKind, CommsObligation
from incidents.models.status import Component, PublicIncident, ScheduledMaintenance, StatusPage
from incidents.services.comms import comms_schedule
from incidents.services.statuspage import (
    PublishRefused,
    public_incident_publish,
    public_incident_update,
    status_config_changed,
)
from incidents.tests.status_builders import make_component, make_group, make_incident
from oncall.models import Profile

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("status_cache_cleared")]


def publish_form(incident_component: Component, **fields: str) -> dict[str, str]:
    return {
        "name": "Checkout is failing for some customers",
        "status": "investigating",
        "impact": "major",
        "body": "We are investigating errors when paying.",
        f"component_{incident_component.pk}": "partial_outage",
        **fields,
    }


def test_a_communications_lead_publishes_from_the_incident_and_the_page_shows_it(
    client: Client, responder: User
) -> None:
    incident = make_incident()
    group = make_group("Payments")
    checkout = make_component("Checkout", services=[incident.service], group=group)
    make_component("Search")
    client.get("/status/")  # cached before publishing: publishing must invalidate it
    client.force_login(responder)

    form = client.get(f"/status/manage/incidents/{incident.pk}/publish/")
    assert form.status_code == 200
    # The component behind the incident's service is proposed as affected; the plan's text is offered.
    assert 'value="partial_outage" selected' in form.content.decode()
    response = client.post(f"/status/manage/incidents/{incident.pk}/publish/", publish_form(checkout))
    public = PublicIncident.objects.get(incident=incident)
    assert response.status_code == 302
    assert response["Location"] == f"/status/manage/public/{public.public_id}/"

    client.logout()
    page = client.get("/status/").content.decode()
    assert "Checkout is failing for some customers" in page
    assert "We are investigating errors when paying." in page
    assert "Partial outage" in page
    assert "banner-major" in page
    checkout.refresh_from_db()
    assert checkout.status == "partial_outage"
    entry = incident.timeline.get(kind=TimelineEntry.Kind.STATUS_PAGE)
    assert "Published on the status page" in entry.message
    assert entry.actor == responder


def test_resolving_returns_the_components_and_the_banner_to_operational(client: Client, responder: User) -> None:
    incident = make_incident()
    checkout = make_component("Checkout", services=[incident.service])
    public = public_incident_publish(
        incident, actor=responder, name="Payments failing", body="Looking.", components={checkout: "major_outage"}
    )
    assert "banner-critical" in client.get("/status/").content.decode()
    client.force_login(responder)
    response = client.post(
        f"/status/manage/public/{public.public_id}/",
        {"status": "resolved", "body": "Payments work again."},
    )
    assert response.status_code == 302
    client.logout()
    page = client.get("/status/").content.decode()
    assert "banner-none" in page
    assert "All systems operational" in page
    # Resolved incidents move to the history.
    assert "Payments failing" in page.split("Past incidents")[1]
    checkout.refresh_from_db()
    assert checkout.status == "operational"
    public.refresh_from_db()
    assert public.resolved_at is not None
    assert list(public.updates.values_list("status", flat=True)) == ["resolved", "investigating"]


def test_a_resolved_public_incident_cannot_be_updated(responder: User) -> None:
    public = public_incident_publish(make_incident(), actor=responder, name="Slow search", body="Looking.")
    public_incident_update(public, actor=responder, status="resolved", body="Fixed.")
    with pytest.raises(PublishRefused, match="resolved"):
        public_incident_update(public, actor=responder, status="monitoring", body="Again?")


def test_a_drill_is_refused_and_never_published(client: Client, responder: User) -> None:
    drill = make_incident("Game day: payments down", is_drill=True)
    client.force_login(responder)
    page = client.get(f"/status/manage/incidents/{drill.pk}/publish/")
    assert "drills never reach the public status page" in page.content.decode()
    response = client.post(
        f"/status/manage/incidents/{drill.pk}/publish/",
        {"name": "Payments down", "status": "investigating", "impact": "major", "body": "Drill."},
    )
    assert response.status_code == 400
    assert "drill" in response.content.decode()
    assert not PublicIncident.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "This field is required"),
        ("body", "", "This field is required"),
        ("status", "exploded", "Select a valid choice"),
        ("impact", "apocalyptic", "Select a valid choice"),
    ],
)
def test_bad_input_on_the_publish_page_answers_400_naming_the_field(
    client: Client, responder: User, field: str, value: str, message: str
) -> None:
    incident = make_incident()
    checkout = make_component("Checkout", services=[incident.service])
    client.force_login(responder)
    response = client.post(f"/status/manage/incidents/{incident.pk}/publish/", publish_form(checkout, **{field: value}))
    assert response.status_code == 400
    form = response.context["form"]
    assert message in str(form.errors[field])
    assert not PublicIncident.objects.exists()


def test_publishing_twice_leads_to_the_update_page(client: Client, responder: User) -> None:
    incident = make_incident()
    public = public_incident_publish(incident, actor=responder, name="Slow", body="Looking.")
    client.force_login(responder)
    response = client.get(f"/status/manage/incidents/{incident.pk}/publish/")
    assert response.status_code == 302
    assert response["Location"] == f"/status/manage/public/{public.public_id}/"


def test_only_people_who_may_publish_reach_the_publish_pages(client: Client, stakeholder: User, outsider: User) -> None:
    incident = make_incident()
    assert client.get(f"/status/manage/incidents/{incident.pk}/publish/").status_code == 302  # to sign in
    for person in (stakeholder, outsider):
        client.force_login(person)
        assert client.get(f"/status/manage/incidents/{incident.pk}/publish/").status_code == 403


def test_answers_carry_validators_and_a_conditional_request_gets_304(client: Client, responder: User) -> None:
    first = client.get("/status/")
    assert first.status_code == 200
    assert first["Cache-Control"] == "public, max-age=0, s-maxage=10, must-revalidate"
    etag, modified = first["ETag"], first["Last-Modified"]
    assert client.get("/status/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get("/status/api/v2/summary.json", HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get("/status/", HTTP_IF_MODIFIED_SINCE=modified).status_code == 304

    public_incident_publish(make_incident(), actor=responder, name="Search is slow", body="Looking.")
    after = client.get("/status/", HTTP_IF_NONE_MATCH=etag)
    assert after.status_code == 200
    assert after["ETag"] != etag
    assert "Search is slow" in after.content.decode()


def test_large_answers_go_gzipped_to_clients_that_accept_it(client: Client) -> None:
    for number in range(30):
        make_component(f"Component {number}", description="A component with a longer description " * 3)
    plain = client.get("/status/")
    zipped = client.get("/status/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert "Content-Encoding" not in plain
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == plain.content
    assert zipped["ETag"] != plain["ETag"]
    assert "Accept-Encoding" in zipped["Vary"]
    again = client.get("/status/", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=zipped["ETag"])
    assert again.status_code == 304


def test_the_page_is_served_from_the_cache_without_queries(client: Client, django_assert_max_num_queries: Any) -> None:
    make_component("Checkout")
    client.get("/status/")
    client.get("/status/api/v2/summary.json")
    with django_assert_max_num_queries(0):
        assert client.get("/status/").status_code == 200
        assert client.get("/status/api/v2/summary.json").status_code == 200


def test_colours_from_the_admin_arrive_as_a_stylesheet_not_inline(client: Client) -> None:
    page = StatusPage.objects.current()
    page.accent_colour = "#ab12cd"
    page.save()
    status_config_changed()
    html = client.get("/status/").content.decode()
    assert "style=" not in html
    assert "<script" not in html
    css = client.get("/status/theme.css")
    assert css["Content-Type"].startswith("text/css")
    assert "--status-accent: #ab12cd;" in css.content.decode()


def test_the_communications_lead_schedules_and_moves_maintenance_without_the_admin(
    client: Client, responder: User
) -> None:
    incident = make_incident("Open and unpublished")
    search = make_component("Search", services=[incident.service])
    client.force_login(responder)
    overview = client.get("/status/manage/").content.decode()
    assert f"/status/manage/incidents/{incident.pk}/publish/" in overview
    bad = client.post(
        "/status/manage/maintenance/new/",
        {
            "name": "Reindex",
            "body": "Stale results.",
            "scheduled_for": "2030-01-01T10:00",
            "scheduled_until": "2030-01-01T09:00",
        },
    )
    assert bad.status_code == 400
    assert "scheduled_until" in bad.context["form"].errors
    response = client.post(
        "/status/manage/maintenance/new/",
        {
            "name": "Reindex",
            "body": "Stale results.",
            "scheduled_for": "2030-01-01T10:00",
            "scheduled_until": "2030-01-01T11:00",
            "components": [search.pk],
        },
    )
    assert response.status_code == 302
    maintenance = ScheduledMaintenance.objects.get()
    assert maintenance.maintenance_window is not None
    moved = client.post(f"/status/manage/maintenance/{maintenance.public_id}/", {"status": "in_progress"})
    assert moved.status_code == 302
    search.refresh_from_db()
    assert search.status == "under_maintenance"
    client.logout()
    assert "banner-maintenance" in client.get("/status/").content.decode()


@pytest.mark.parametrize("path", ["/status/", "/status/api/v2/summary.json", "/status/history.atom"])
def test_head_requests_are_answered_as_monitors_and_cdns_send_them(client: Client, path: str) -> None:
    response = client.head(path)
    assert response.status_code == 200
    assert response["ETag"]
    assert client.post(path).status_code == 405


def test_publishing_fulfils_the_plans_status_page_cadence(responder: User) -> None:
    p1 = SeverityLevel.objects.get(name="P1")
    incident = make_incident(severity=p1)
    comms_schedule(incident)
    owed = CommsObligation.objects.open().get(incident=incident, kind=CommsKind.STATUS_PAGE)

    public = public_incident_publish(incident, actor=responder, name="Checkout errors", body="Looking.")
    owed.refresh_from_db()
    assert owed.fulfilled_at is not None
    assert owed.fulfilled_by == responder
    # The next one is owed one status-page interval later, and an update fulfils it again.
    following = CommsObligation.objects.open().get(incident=incident, kind=CommsKind.STATUS_PAGE)
    cadence = p1.comms_rules.get(kind=CommsKind.STATUS_PAGE, stakeholder_group=None)
    assert cadence.interval is not None
    assert following.due_at == owed.fulfilled_at + cadence.interval
    public_incident_update(public, actor=responder, status="identified", body="Found it.")
    following.refresh_from_db()
    assert following.fulfilled_at is not None


def test_the_history_lists_resolved_incidents_by_month(client: Client, responder: User) -> None:
    for name, when in (("October trouble", "2026-10-03T10:00:00Z"), ("September trouble", "2026-09-20T10:00:00Z")):
        at = datetime.fromisoformat(when)
        public = public_incident_publish(make_incident(), actor=responder, name=name, body="Looking.", at=at)
        public_incident_update(public, actor=responder, status="resolved", body="Fixed.", at=at + timedelta(hours=1))
    public_incident_publish(make_incident(), actor=responder, name="Still open", body="Looking.")
    page = client.get("/status/history/").content.decode()
    assert page.index("October 2026") < page.index("October trouble") < page.index("September 2026")
    assert page.index("September 2026") < page.index("September trouble")
    assert "Still open" not in page


def test_the_same_cached_answer_serves_everyone_in_utc(client: Client, responder: User) -> None:
    Profile.objects.update_or_create(user=responder, defaults={"time_zone": "Pacific/Auckland"})
    at = datetime.fromisoformat("2026-11-20T23:30:00+00:00")
    public_incident_publish(make_incident(), actor=responder, name="Late night", body="Looking.", at=at)
    client.force_login(responder)  # the first to ask is someone in Auckland
    signed_in = client.get("/status/")
    assert "20 Nov 2026, 23:30 UTC" in signed_in.content.decode()
    assert "Cookie" not in signed_in.get("Vary", "")
    client.logout()
    assert client.get("/status/").content == signed_in.content
