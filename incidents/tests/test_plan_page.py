import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from incidents.models import SeverityLevel
from incidents.models.comms import CommsKind, CommsRule, StakeholderGroup

pytestmark = pytest.mark.django_db


def cells(html: str, level: str) -> list[str]:
    row = re.search(rf'<tr id="severity-{level}">(.*?)</tr>', html, re.S)
    assert row, f"no row for {level}"
    found = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row.group(1), re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in found]


def cadence(html: str, level: str) -> list[str]:
    """The lines of a level's communication cadence, as listed in its row."""
    row = re.search(rf'<tr id="severity-{level}">(.*?)</tr>', html, re.S)
    assert row, f"no row for {level}"
    cell = re.search(r'<td data-field="cadence">(.*?)</td>', row.group(1), re.S)
    assert cell, f"no cadence for {level}"
    return [
        " ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in re.findall(r"<li>(.*?)</li>", cell.group(1), re.S)
    ]


@pytest.mark.parametrize("person", ["plan_owner", "responder", "stakeholder"])
def test_every_signed_in_person_sees_the_severity_matrix(
    client: Client, person: str, request: pytest.FixtureRequest
) -> None:
    client.force_login(request.getfixturevalue(person))

    html = client.get("/plan/").content.decode()

    assert cells(html, "P1")[:4] == ["P1 Critical", "Full service down or majority of users impacted", "5 min", "1 h"]
    assert cells(html, "P2")[:4] == ["P2 Major", "Core feature degraded, subset of users impacted", "15 min", "4 h"]
    assert cells(html, "P3")[:4] == [
        "P3 Minor",
        "Non-critical feature impacted, workaround available",
        "30 min",
        "Next business day",
    ]
    assert cells(html, "P4")[2:4] == ["— (pages nobody)", "Scheduled sprint"]
    assert "Incident Commander, Technical Lead, Communications Lead" in cells(html, "P1")[5]
    assert "Blameless postmortem within 5 business days" in cells(html, "P1")[6]


def test_the_plan_page_shows_each_severitys_cadence_from_its_rules(client: Client, responder: User) -> None:
    client.force_login(responder)

    html = client.get("/plan/").content.decode()

    assert cadence(html, "P1") == [
        "Status page update: at declaration, then every 30 min",
        "Internal update: at T+15 min, then every 15 min",
        "Management briefing: at T+15 min, then every 30 min",
        "Stakeholder notice — Customer success — enterprise: at T+15 min, once",
    ]
    assert cadence(html, "P2") == [
        "Status page update: at declaration, then every 1 h",
        "Internal update: at T+30 min, then every 30 min",
    ]
    assert cells(html, "P3")[4] == "—"
    assert cells(html, "P4")[4] == "—"


def test_a_changed_rule_shows_on_the_plan_page(client: Client, responder: User) -> None:
    p3 = SeverityLevel.objects.get(name="P3")
    CommsRule.objects.create(
        severity=p3, kind=CommsKind.INTERNAL_UPDATE, first_due_after=timedelta(hours=1), interval=timedelta(hours=2)
    )
    CommsRule.objects.filter(severity__name="P2", kind=CommsKind.STATUS_PAGE).update(interval=timedelta(minutes=45))
    client.force_login(responder)

    html = client.get("/plan/").content.decode()

    assert cadence(html, "P3") == ["Internal update: at T+1 h, then every 2 h"]
    assert "Status page update: at declaration, then every 45 min" in cadence(html, "P2")


def test_the_plan_page_costs_the_same_queries_however_many_rules(client: Client, responder: User) -> None:
    client.force_login(responder)
    client.get("/plan/")  # the session and the plan row are in place
    with CaptureQueriesContext(connection) as before:
        client.get("/plan/")
    for number, level in enumerate(SeverityLevel.objects.filter(name__in=["P2", "P3", "P4"])):
        group = StakeholderGroup.objects.create(name=f"Group {number}")
        CommsRule.objects.create(severity=level, kind=CommsKind.STAKEHOLDER_NOTICE, stakeholder_group=group)
        CommsRule.objects.create(severity=level, kind=CommsKind.MANAGEMENT_BRIEFING, stakeholder_group=group)

    with CaptureQueriesContext(connection) as after:
        html = client.get("/plan/").content.decode()

    assert "Stakeholder notice — Group 2: at declaration, once" in cadence(html, "P4")
    assert len(after.captured_queries) == len(before.captured_queries), [q["sql"] for q in after.captured_queries]


def test_the_plan_page_shows_roles_definition_owner_and_review_date(client: Client, plan_owner: User) -> None:
    from incidents.models import ResponsePlan

    ResponsePlan.objects.filter(pk=1).update(owner=plan_owner, last_reviewed_on="2026-09-01", review_interval_days=90)
    client.force_login(plan_owner)

    html = client.get("/plan/").content.decode()

    assert "An incident is any unplanned disruption to a production service" in html
    assert "Owns response coordination. Declares incident severity." in html
    assert "Plan owner: <strong>Olivia Owner</strong>" in html
    assert 'Last reviewed <time datetime="2026-09-01">' in html
    assert 'next review due <time datetime="2026-11-30">' in html


def test_a_plan_past_its_review_date_says_so(client: Client, plan_owner: User) -> None:
    from incidents.models import ResponsePlan

    ResponsePlan.objects.filter(pk=1).update(last_reviewed_on="2020-01-01")
    client.force_login(plan_owner)

    assert "Review overdue" in client.get("/plan/").content.decode()


def test_signed_out_visitors_are_sent_to_sign_in(client: Client) -> None:
    response = client.get("/plan/")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/?next=/plan/")


@pytest.mark.parametrize("path", ["/plan/", "/incidents/", "/oncall/", "/postmortems/"])
def test_people_in_no_group_see_nothing(client: Client, outsider: User, path: str) -> None:
    client.force_login(outsider)

    response = client.get(path)

    assert response.status_code == 403
    assert "not in any IRP group" in response.content.decode()


@pytest.mark.parametrize("path", ["/plan/", "/incidents/", "/oncall/", "/postmortems/"])
def test_navigation_reaches_every_section(client: Client, responder: User, path: str) -> None:
    client.force_login(responder)

    html = client.get(path).content.decode()

    for label in ("Incidents", "On-call", "Postmortems", "Status page", "Plan"):
        assert f">{label}</a>" in html
    assert ">Admin</a>" not in html  # responders do not configure the plan
    assert 'aria-current="page"' in html


def test_plan_owners_get_an_admin_link(client: Client, plan_owner: User) -> None:
    client.force_login(plan_owner)

    assert ">Admin</a>" in client.get("/plan/").content.decode()


def test_pages_carry_a_strict_content_security_policy(client: Client, responder: User) -> None:
    client.force_login(responder)

    policy = client.get("/plan/").headers["Content-Security-Policy"]

    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_times_follow_the_viewers_time_zone(client: Client, responder: User) -> None:
    from oncall.models import Profile

    Profile.objects.create(user=responder, time_zone="Asia/Tokyo")
    client.force_login(responder)

    assert "times shown in Asia/Tokyo" in client.get("/plan/").content.decode()
