"""The plan, as a person sees it in a real browser."""

from typing import Any

import pytest
from django.contrib.auth.models import Group, User

from conftest import save_screenshot
from irp_site.groups import PLAN_OWNERS, RESPONDERS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("migrated_data")]


def sign_in(page: Any, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def pat() -> User:
    user = User.objects.create_user("pat", password="correct horse battery", first_name="Pat", last_name="Plan")
    user.groups.set(Group.objects.filter(name__in=[PLAN_OWNERS, RESPONDERS]))
    return user


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_sign_in_and_read_the_plan(live_server: Any, page: Any, pat: User, width: int, height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})

    sign_in(page, live_server.url, "pat", "correct horse battery")

    page.wait_for_url(f"{live_server.url}/plan/")
    p1 = page.locator("#severity-P1")
    assert p1.locator("td[data-field=ack]").inner_text() == "5 min"
    assert p1.locator("td[data-field=resolution]").inner_text() == "1 h"
    assert page.locator("#severity-P2 td[data-field=ack]").inner_text() == "15 min"
    assert page.locator("#severity-P3 td[data-field=resolution]").inner_text() == "Next business day"
    assert page.locator("#severity-P4 td[data-field=resolution]").inner_text() == "Scheduled sprint"
    assert "Internal update: at T+15 min, then every 15 min" in p1.locator("td[data-field=cadence]").inner_text()
    assert page.locator("#severity-P4 td[data-field=cadence]").inner_text() == "—"
    assert page.get_by_role("heading", name="Roles").is_visible()
    assert page.get_by_role("link", name="Admin").is_visible()
    save_screenshot(page, f"plan-{width}x{height}")
    # Everything (htmx included) comes from this server and obeys the Content-Security-Policy.
    assert page.console_errors == []


def test_a_wrong_password_is_refused_plainly(live_server: Any, page: Any, pat: User) -> None:
    sign_in(page, live_server.url, "pat", "wrong")

    assert page.get_by_role("alert").inner_text().startswith("Your username and password didn't match")


def test_plan_owner_edits_an_ack_window_in_the_admin(live_server: Any, page: Any, pat: User) -> None:
    sign_in(page, live_server.url, "pat", "correct horse battery")
    page.wait_for_url(f"{live_server.url}/plan/")

    page.get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Severity levels").first.click()
    page.get_by_role("link", name="P2").click()
    page.get_by_label("Ack window").fill("10 min")
    page.get_by_role("button", name="Save", exact=True).click()
    save_screenshot(page, "admin-severity-saved")

    page.goto(f"{live_server.url}/plan/")
    assert page.locator("#severity-P2 td[data-field=ack]").inner_text() == "10 min"
    assert page.console_errors == []


def test_plan_owner_adds_a_comms_rule_on_the_severitys_admin_page(live_server: Any, page: Any, pat: User) -> None:
    sign_in(page, live_server.url, "pat", "correct horse battery")
    page.wait_for_url(f"{live_server.url}/plan/")

    page.goto(f"{live_server.url}/admin/incidents/severitylevel/")
    page.get_by_role("link", name="P3").click()
    page.get_by_role("button", name="Add another communication rule").click()
    page.locator("select[name='comms_rules-0-kind']").select_option("internal_update")
    page.locator("input[name='comms_rules-0-first_due_after']").fill("1 h")
    page.locator("input[name='comms_rules-0-interval']").fill("2 h")
    page.get_by_role("button", name="Save", exact=True).click()
    save_screenshot(page, "admin-severity-comms-rule-added")

    page.goto(f"{live_server.url}/plan/")
    cadence = page.locator("#severity-P3 td[data-field=cadence]").inner_text()
    assert cadence == "Internal update: at T+1 h, then every 2 h"
    assert page.console_errors == []
