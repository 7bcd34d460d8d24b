"""The war room in a real browser (Debian's Chromium through Playwright): a responder works a P1
from the list to resolution, on a desktop and on a phone, by mouse and by keyboard; and the pages
pass a small accessibility check (labels, headings, alt text, contrast)."""

from __future__ import annotations

import importlib
import re
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.utils import timezone

from conftest import save_screenshot
from incidents.models import Incident, SeverityLevel, TimelineEntry
from incidents.services.lifecycle import incident_transition
from incidents.services.timeline import timeline_add
from incidents.tests.factories import make_service
from irp_site.groups import PLAN_OWNERS, RESPONDERS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("migrated_data")]

PASSWORD = "correct horse battery"

# Run in the page: what a person using a screen reader or a keyboard, or with low vision, would
# trip over. Returns a list of problems, empty when the page passes.
ACCESSIBILITY_CHECK = """
() => {
  const problems = [];
  const visible = (el) => el.checkVisibility ? el.checkVisibility() : el.getClientRects().length > 0;
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    const byFor = el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
    if (!byFor && !el.closest("label") && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby")) {
      problems.push("no label: " + (el.name || el.outerHTML.slice(0, 80)));
    }
  }
  for (const img of document.querySelectorAll("img")) {
    if (!img.hasAttribute("alt")) problems.push("image without alt: " + img.src);
  }
  for (const button of document.querySelectorAll("button")) {
    if (!button.textContent.trim() && !button.getAttribute("aria-label")) problems.push("button without a name");
  }
  let previous = 0;
  for (const heading of document.querySelectorAll("h1, h2, h3, h4, h5, h6")) {
    const level = Number(heading.tagName[1]);
    if (previous === 0 && level !== 1) problems.push("the first heading is not h1");
    if (level > previous + 1) problems.push(`heading skips to ${heading.tagName}: ${heading.textContent.trim()}`);
    previous = level;
  }
  if (document.querySelectorAll("h1").length !== 1) problems.push("not exactly one h1");
  // At 390 px nothing may push the page sideways (wide tables scroll inside their own box).
  if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px wide`);
  }
  // Targets a thumb can hit (WCAG 2.2 target size, minimum 24 px); links inside text are exempt.
  for (const el of document.querySelectorAll("button, select, summary, input:not([type=hidden]), textarea, .button")) {
    if (!visible(el)) continue;
    const box = el.getBoundingClientRect();
    const small = el.matches("input[type=radio], input[type=checkbox]") ? 13 : 24;
    if (box.height < small || box.width < small) {
      const name = (el.textContent || el.name || el.tagName).trim().slice(0, 40);
      problems.push(`target ${Math.round(box.width)}x${Math.round(box.height)} px: ${name}`);
    }
  }
  if (!document.documentElement.lang) problems.push("no lang on <html>");

  const rgba = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const channel = (value) => {
      const c = value / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const background = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const colour = rgba(getComputedStyle(node).backgroundColor);
      if (colour.length === 3 || colour[3] > 0) return colour.slice(0, 3);
    }
    return [255, 255, 255];
  };
  let checked = 0;
  for (const el of document.querySelectorAll("body *")) {
    const ownText = [...el.childNodes].some((node) => node.nodeType === 3 && node.textContent.trim());
    if (!ownText || !visible(el)) continue;
    const style = getComputedStyle(el);
    const fg = luminance(rgba(style.color).slice(0, 3));
    const bg = luminance(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    checked += 1;
    if (ratio < (large ? 3 : 4.5)) {
      problems.push(`contrast ${ratio.toFixed(2)} for "${el.textContent.trim().slice(0, 40)}"`);
    }
  }
  if (checked < 10) problems.push(`only ${checked} text elements checked`);
  return problems;
}
"""


def person(username: str, first: str, last: str, *groups: str) -> User:
    user = User.objects.create_user(username, password=PASSWORD, first_name=first, last_name=last)
    user.groups.set(Group.objects.filter(name__in=groups))
    return user


@pytest.fixture
def cast() -> dict[str, User]:
    # What migration 0008 creates (the plan's communication cadence), which a transactional test's
    # flush removes and conftest's migrated_data does not put back.
    cadence = importlib.import_module("incidents.migrations.0008_runbooks_comms")
    cadence.create_default_cadence(apps, None)
    return {
        "pat": person("pat", "Pat", "Plan", PLAN_OWNERS, RESPONDERS),
        "ines": person("ines", "Ines", "Commander", RESPONDERS),
        "carl": person("carl", "Carl", "Comms", RESPONDERS),
    }


@pytest.fixture
def p1() -> Incident:
    created = timezone.now() - timedelta(minutes=3)
    incident = Incident.objects.create(
        title="Checkout is down",
        severity=SeverityLevel.objects.get(name="P1"),
        service=make_service("Checkout API"),
        created_at=created,
        detected_at=created,
    )
    timeline_add(incident, TimelineEntry.Kind.TRIGGERED, "Opened by an alert.", at=created, actor_label="test")
    return incident


def sign_in(page: Any, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/plan/")


def accessibility_problems(page: Any) -> list[str]:
    problems: list[str] = page.evaluate(ACCESSIBILITY_CHECK)
    return problems


def timeline_kinds(page: Any) -> list[str]:
    kinds: list[str] = page.locator("#timeline-entries li[data-kind]").evaluate_all(
        "(items) => items.map((item) => item.dataset.kind)"
    )
    return kinds


def assign(page: Any, role_key: str, role_name: str, person_name: str) -> None:
    card = page.locator(f"#role-{role_key}")
    card.get_by_label("Assign").select_option(label=person_name)
    card.get_by_role("button", name=f"Assign {role_name}").click()
    page.wait_for_load_state()
    assert card.locator(".holder").inner_text() == person_name


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_a_responder_works_a_p1_from_the_list_to_resolution(
    live_server: Any, page: Any, cast: dict[str, User], p1: Incident, width: int, height: int
) -> None:
    page.set_viewport_size({"width": width, "height": height})
    size = f"{width}x{height}"
    sign_in(page, live_server.url, "pat")

    page.get_by_role("link", name="Incidents", exact=True).click()
    row = page.locator(f"#incident-{p1.pk}")
    assert row.locator(".status").inner_text() == "Triggered"
    assert row.locator("[data-clock=ack]").inner_text() == "Ack due in 2 min"
    assert accessibility_problems(page) == []
    save_screenshot(page, f"workspace-list-{size}")
    row.get_by_role("link", name="Checkout is down").click()
    page.wait_for_url(f"{live_server.url}/incidents/{p1.pk}/")
    assert "No Incident Commander yet" in page.locator(".warnings").inner_text()
    assert accessibility_problems(page) == []
    save_screenshot(page, f"workspace-incident-triggered-{size}")

    # Paging the next level takes two deliberate taps, not one stray one.
    assert not page.get_by_role("button", name="Escalate now").is_visible()
    page.locator("#escalate-panel > summary").click()
    assert page.get_by_role("button", name="Escalate now").is_visible()

    page.get_by_role("button", name="Acknowledge").click()
    page.wait_for_load_state()
    assert page.locator("[data-field=status]").inner_text() == "Acknowledged"
    assert timeline_kinds(page)[-1] == "acknowledged"

    assign(page, "incident-commander", "Incident Commander", "Pat Plan")
    assign(page, "technical-lead", "Technical Lead", "Ines Commander")
    assign(page, "communications-lead", "Communications Lead", "Carl Comms")
    assert timeline_kinds(page)[-3:] == ["role_assigned"] * 3
    assert page.locator(".warnings").count() == 0

    # A note goes in without a page load (htmx), and the form empties itself.
    page.locator("#note-text").fill("Error rate climbing since the 02:10 deploy.")
    page.get_by_role("button", name="Add note").click()
    page.locator("#timeline-entries li[data-kind=note]").wait_for()
    assert page.locator("#note-text").input_value() == ""

    page.locator("#post-update > summary").click()
    page.locator("#update-internal_update > summary").click()
    update = page.get_by_label("Internal update text")
    assert update.input_value().startswith(f"[P1] #{p1.number} Checkout is down")
    update.fill("Rolled back the 02:10 deploy; watching the error rate.")
    page.get_by_role("button", name="Post internal update").click()
    page.wait_for_load_state()
    assert timeline_kinds(page)[-1] == "update_posted"
    assert "Rolled back the 02:10 deploy" in page.locator("#timeline-entries li").last.inner_text()

    page.locator("#severity-panel > summary").click()
    page.get_by_label("P2 — Major: Core feature degraded, subset of users impacted").check()
    page.get_by_label("Reason").fill("Only EU customers are affected")
    page.locator("#severity-panel").get_by_role("button", name="Change severity").click()
    page.wait_for_load_state()
    assert page.locator("h1 .severity").inner_text() == "P2"
    assert timeline_kinds(page)[-1] == "severity_changed"
    save_screenshot(page, f"workspace-incident-working-{size}")

    page.locator("#resolve-panel > summary").click()
    page.get_by_label("Resolution note").fill("Rolled back checkout v2.3.1")
    page.get_by_label("First root-cause hypothesis").fill("Connection pool too small in v2.3.1")
    page.locator("#resolve-panel").get_by_role("button", name="Resolve").click()
    page.wait_for_load_state()
    assert page.locator("[data-field=status]").inner_text() == "Resolved"
    assert timeline_kinds(page)[-1] == "resolved"
    assert "Rolled back checkout v2.3.1" in page.locator("#timeline-entries li").last.inner_text()
    assert page.locator("form[action$='/resolve/']").count() == 0
    assert accessibility_problems(page) == []
    save_screenshot(page, f"workspace-incident-resolved-{size}")
    # Nothing broke the Content-Security-Policy, no request failed.
    assert page.console_errors == []

    p1.refresh_from_db()
    assert (p1.status, p1.severity.name, p1.resolution_note) == ("resolved", "P2", "Rolled back checkout v2.3.1")


def test_acknowledge_by_keyboard_with_a_visible_focus(
    live_server: Any, page: Any, cast: dict[str, User], p1: Incident
) -> None:
    sign_in(page, live_server.url, "pat")
    page.goto(f"{live_server.url}/incidents/{p1.pk}/")

    focused = ""
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement.textContent.trim()")
        if focused == "Acknowledge":
            break
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    width = page.evaluate("() => parseFloat(getComputedStyle(document.activeElement).outlineWidth)")
    page.keyboard.press("Enter")
    page.wait_for_load_state()

    assert focused == "Acknowledge"
    assert outline == "solid"
    assert width >= 2
    assert page.locator("[data-field=status]").inner_text() == "Acknowledged"


def test_declare_an_incident_in_the_browser(live_server: Any, page: Any, cast: dict[str, User]) -> None:
    make_service("Search")
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server.url, "pat")
    page.goto(f"{live_server.url}/incidents/")

    page.get_by_role("link", name="Declare an incident").click()
    assert accessibility_problems(page) == []
    page.get_by_label("Service:", exact=True).select_option(label="Search")
    page.get_by_label("P3 — Minor: Non-critical feature impacted, workaround available").check()
    page.get_by_label("Title:", exact=True).fill("Search results are stale")
    page.get_by_label("What is seen:", exact=True).fill("Indexing stopped at 01:50")
    page.get_by_role("button", name="Declare and page").click()
    page.wait_for_url(f"{live_server.url}/incidents/*/")
    save_screenshot(page, "workspace-declared-390x844")

    assert page.locator("h1").inner_text().endswith("Search results are stale")
    assert timeline_kinds(page)[0] == "declared"
    assert page.console_errors == []


def test_the_page_follows_what_others_do_without_a_reload(
    live_server: Any, page: Any, cast: dict[str, User], p1: Incident
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server.url, "pat")
    page.goto(f"{live_server.url}/incidents/{p1.pk}/")
    assert page.locator("[data-field=status]").inner_text() == "Triggered"

    # Someone else acknowledges (from a notification link, say); the page polls every 10 s.
    incident_transition(p1, Incident.Status.ACKNOWLEDGED, actor=cast["ines"])

    expect(page.locator("#timeline-entries li[data-kind=acknowledged]")).to_have_count(1, timeout=20_000)
    expect(page.locator("[data-field=status]")).to_have_text("Acknowledged")
    expect(page.locator("[data-clock=ack] .clock-text")).to_have_text("acknowledged in 3 min")
    assert page.console_errors == []


def test_hostile_payloads_and_runbooks_stay_inert_in_the_browser(
    live_server: Any, page: Any, cast: dict[str, User], p1: Incident
) -> None:
    from incidents.models import Alert
    from incidents.models.runbooks import Runbook

    Alert.objects.create(
        incident=p1,
        service=p1.service,
        key="x",
        summary='<img src=x onerror="alert(1)">',
        details={"html": "</pre><script>alert(2)</script>"},
        links=[{"href": " JavaScript:alert(3)", "text": "dashboard"}],
    )
    runbook = Runbook.objects.create(
        title="<svg onload=alert(4)>",
        body='[a](javascript:alert(5)) [b](JAVASCRIPT:alert(6)) <a href="javascript:alert(7)">c</a> '
        "<img src=x onerror=alert(8)> [d](data:text/html,<script>alert(9)</script>) [ok](https://wiki.example/lb)",
    )
    runbook.services.add(p1.service)
    dialogs: list[str] = []

    def record(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    sign_in(page, live_server.url, "pat")

    page.goto(f"{live_server.url}/incidents/{p1.pk}/")
    # Everything folded away is rendered too: open it, so that a handler in it would have fired.
    page.evaluate("() => document.querySelectorAll('details').forEach((details) => { details.open = true; })")
    page.wait_for_timeout(300)  # not a timing assertion: lets an onerror or onload fire, if any
    hrefs: list[str] = page.locator("a[href]").evaluate_all("(links) => links.map((link) => link.href)")

    assert dialogs == []
    assert [href for href in hrefs if not href.startswith(("http://", "https://"))] == []
    assert page.locator("#runbooks a[href='https://wiki.example/lb']").count() == 1
    assert page.locator("img, svg, script:not([src])").count() == 0
    # An injected inline script or handler would also show here: the CSP blocks it and says so.
    assert page.console_errors == []


def test_a_signed_out_page_asks_to_sign_in_instead_of_nesting_the_sign_in_page(
    live_server: Any, page: Any, cast: dict[str, User], p1: Incident
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server.url, "pat")
    page.goto(f"{live_server.url}/incidents/{p1.pk}/")
    page.locator("#note-text").fill("Keep this text")
    page.context.clear_cookies(name="sessionid")  # the session expired; the CSRF cookie stays

    # The note cannot be sent: the page says so and keeps what was typed.
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#htmx-problem")).to_contain_text("You are signed out")
    assert page.locator("#note-text").input_value() == "Keep this text"
    assert page.locator("#timeline-entries form, #timeline-entries input[name=password]").count() == 0

    # The list's next refresh (every 10 s) reloads the page, which asks to sign in and comes back
    # to the list (not to the partial's URL), rather than nesting the sign-in form in the table.
    sign_in(page, live_server.url, "pat")
    page.goto(f"{live_server.url}/incidents/")
    page.context.clear_cookies(name="sessionid")
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/incidents/$"), timeout=25_000)
    assert page.locator("#incident-results").count() == 0
