"""The status page in a real browser: publish from the incident, see it, resolve it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User

from conftest import save_screenshot
from incidents.models import SeverityLevel
from incidents.models.status import PublicIncident
from incidents.services.comms import comms_schedule
from incidents.status_tasks import uptime_bars_compute
from incidents.tests.status_builders import make_component, make_group, make_incident
from irp_site.groups import RESPONDERS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("migrated_data", "status_cache_cleared")]


@pytest.fixture
def casey() -> User:
    """The Communications Lead."""
    user = User.objects.create_user("casey", password="correct horse battery", first_name="Casey", last_name="Comms")
    user.groups.set(Group.objects.filter(name=RESPONDERS))
    return user


def sign_in(page: Any, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_publish_from_the_incident_see_it_resolve_and_the_banner_returns(
    live_server: Any, page: Any, casey: User
) -> None:
    incident = make_incident("db-primary-3 replication lag 45s", severity=SeverityLevel.objects.get(name="P1"))
    comms_schedule(incident)  # the plan owes a status page update for a P1 from the start
    payments = make_group("Payments")
    make_component("Checkout", services=[incident.service], group=payments)
    make_component("Card payments", group=payments)
    make_component("Search")
    page.goto(f"{live_server.url}/status/")
    assert page.get_by_role("heading", name="All systems operational").is_visible()

    sign_in(page, live_server.url, "casey", "correct horse battery")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    # From the incident page, whose links lead to the publish page.
    page.goto(f"{live_server.url}/incidents/{incident.pk}/")
    page.locator(f'a[href="/status/manage/incidents/{incident.pk}/publish/"]').first.click()
    page.wait_for_url(f"{live_server.url}/status/manage/incidents/{incident.pk}/publish/")
    page.get_by_label("Public title").fill("Card payments failing for some customers")
    page.get_by_label("Impact").select_option("major")
    page.get_by_label("What customers are told").fill("Some card payments fail. We are investigating.")
    # The component behind the incident's service is proposed; the Communications Lead confirms it.
    assert page.get_by_label("Checkout").input_value() == "partial_outage"
    save_screenshot(page, "status-publish-form")
    page.get_by_role("button", name="Publish").click()
    page.wait_for_url(lambda url: "/status/manage/public/" in url)
    page.goto(f"{live_server.url}/incidents/{incident.pk}/")
    assert page.get_by_text("Published on the status page as “Card payments failing for some customers”").is_visible()
    save_screenshot(page, "status-incident-timeline")

    page.goto(f"{live_server.url}/status/")
    assert page.get_by_role("heading", name="Partial outage").is_visible()
    assert page.get_by_role("link", name="Card payments failing for some customers").is_visible()
    assert page.get_by_text("Some card payments fail. We are investigating.").is_visible()
    checkout = page.locator("li.component", has_text="Checkout")
    assert checkout.locator(".component-status").inner_text() == "Partial outage"
    assert "db-primary-3" not in page.content()
    save_screenshot(page, "status-page-incident")

    public = PublicIncident.objects.get(incident=incident)
    page.goto(f"{live_server.url}/status/manage/public/{public.public_id}/")
    page.get_by_label("Status").select_option("resolved")
    page.get_by_label("What customers are told").fill("Card payments work again.")
    page.get_by_role("button", name="Post update").click()
    page.wait_for_load_state()

    page.goto(f"{live_server.url}/status/")
    assert page.get_by_role("heading", name="All systems operational").is_visible()
    assert checkout.locator(".component-status").inner_text() == "Operational"
    past = page.locator("section", has=page.get_by_role("heading", name="Past incidents"))
    assert past.get_by_role("link", name="Card payments failing for some customers").is_visible()
    save_screenshot(page, "status-page-resolved")

    # The worker's job draws the 90-day bars; today's shows the incident on hover.
    uptime_bars_compute()
    page.reload()
    today = page.locator("li.component", has_text="Checkout").locator("li.bar").last
    assert "status-partial_outage" in (today.get_attribute("class") or "")
    today.hover()
    assert today.locator(".tip").is_visible()
    assert "Card payments failing for some customers" in today.locator(".tip").inner_text()
    save_screenshot(page, "status-page-bars")

    page.get_by_role("link", name="Card payments failing for some customers").first.click()
    assert page.get_by_text("Card payments work again.").is_visible()
    # Everything comes from this server and obeys the Content-Security-Policy (no inline style or script).
    assert page.console_errors == []


def test_the_page_works_on_a_phone_without_javascript(live_server: Any, chromium: Any) -> None:
    context = chromium.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    tab = context.new_page()
    try:
        make_component("Checkout")
        uptime_bars_compute()
        tab.goto(f"{live_server.url}/status/")
        assert tab.get_by_role("heading", name="All systems operational").is_visible()
        assert tab.locator("li.bar").count() == 90
        assert tab.locator("li.bar:visible").count() == 30  # a phone shows the last 30 days
        save_screenshot(tab, "status-page-phone-no-js")
        tab.get_by_role("link", name="Subscribe to updates").click()
        tab.get_by_label("E-mail address").fill("phone@example.test")
        tab.get_by_role("button", name="Subscribe").click()
        assert tab.get_by_role("heading", name="Check your inbox").is_visible()
        save_screenshot(tab, "status-subscribe-phone-no-js")
    finally:
        context.close()
