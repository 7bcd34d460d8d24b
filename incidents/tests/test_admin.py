from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from incidents.models import SeverityLevel

pytestmark = pytest.mark.django_db


def test_a_plan_owner_who_is_not_staff_can_use_the_admin(client: Client, plan_owner: User) -> None:
    assert not plan_owner.is_staff
    client.force_login(plan_owner)

    html = client.get("/admin/").content.decode()

    for section in ("Plan", "Services", "People &amp; teams"):
        assert f">{section}</a>" in html or f">{section}<" in html, section
    assert "Severity levels" in html


@pytest.mark.parametrize(
    "path",
    [
        "/admin/incidents/severitylevel/",
        "/admin/incidents/role/",
        "/admin/incidents/service/",
        "/admin/oncall/team/",
        "/admin/incidents/severitylevel/add/",
        "/admin/incidents/service/add/",
        "/admin/oncall/team/add/",
    ],
)
def test_plan_owner_admin_pages_render(client: Client, plan_owner: User, path: str) -> None:
    client.force_login(plan_owner)

    assert client.get(path).status_code == 200


def test_the_plan_changelist_opens_the_one_plan_with_its_severity_levels_inline(
    client: Client, plan_owner: User
) -> None:
    client.force_login(plan_owner)

    response = client.get("/admin/incidents/responseplan/", follow=True)

    assert response.redirect_chain[-1][0] == "/admin/incidents/responseplan/1/change/"
    html = response.content.decode()
    assert 'value="5 min"' in html  # P1's ack window, written as plan owners write it
    assert "Severity levels" in html


def test_ack_windows_are_edited_in_plain_words(client: Client, plan_owner: User) -> None:
    client.force_login(plan_owner)
    p2 = SeverityLevel.objects.get(name="P2")
    form = {
        "name": "P2",
        "title": "Major",
        "rank": "2",
        "impact_criteria": p2.impact_criteria,
        "pages_responders": "on",
        "ack_window": "10 min",
        "resolution_target_kind": "duration",
        "resolution_target": "4 h",
        "internal_update_interval": "30 min",
        "status_page_update_interval": "1 h",
        "postmortem_required": "on",
        "postmortem_due_business_days": "5",
        "review_practice": "",
    }

    response = client.post(f"/admin/incidents/severitylevel/{p2.pk}/change/", form)

    assert response.status_code == 302, response.content.decode()[-2000:]
    p2.refresh_from_db()
    assert p2.ack_window == timedelta(minutes=10)


def test_the_admin_explains_a_duration_it_cannot_read_and_keeps_the_old_value(client: Client, plan_owner: User) -> None:
    client.force_login(plan_owner)
    p3 = SeverityLevel.objects.get(name="P3")

    response = client.post(
        f"/admin/incidents/severitylevel/{p3.pk}/change/",
        {
            "name": "P3",
            "title": "Minor",
            "rank": "3",
            "impact_criteria": "x",
            "ack_window": "half an hour",
            "resolution_target_kind": "next_business_day",
            "pages_responders": "on",
        },
    )

    assert response.status_code == 200
    assert "Write a duration such as" in response.content.decode()
    p3.refresh_from_db()
    assert p3.ack_window == timedelta(minutes=30)


def test_responders_and_stakeholders_cannot_open_the_admin(client: Client, responder: User, stakeholder: User) -> None:
    for person in (responder, stakeholder):
        client.force_login(person)
        response = client.get("/admin/", follow=True)
        assert response.redirect_chain[-1][0].startswith("/accounts/login/")
        assert "Sign in to IRP" in response.content.decode()


def test_a_plan_owner_cannot_promote_themselves(client: Client, plan_owner: User) -> None:
    client.force_login(plan_owner)

    response = client.get(f"/admin/auth/user/{plan_owner.pk}/change/")

    # Plan owners may look people up (for teams) but not change accounts or their privileges.
    assert response.status_code == 200
    assert 'name="is_superuser"' not in response.content.decode()
