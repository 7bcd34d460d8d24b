from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from incidents.durations import format_duration
from incidents.models import SeverityLevel
from incidents.models.comms import CommsKind, CommsRule, StakeholderGroup

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
        "postmortem_required": "on",
        "postmortem_due_business_days": "5",
        "review_practice": "",
        # The cadence inline, left as it is.
        "comms_rules-TOTAL_FORMS": "0",
        "comms_rules-INITIAL_FORMS": "0",
    }

    response = client.post(f"/admin/incidents/severitylevel/{p2.pk}/change/", form)

    assert response.status_code == 302, response.content.decode()[-2000:]
    p2.refresh_from_db()
    assert p2.ack_window == timedelta(minutes=10)


def severity_form(level: SeverityLevel) -> dict[str, str]:
    """The severity's change form as the admin would post it unchanged, with its cadence inline."""
    return {
        "name": level.name,
        "title": level.title,
        "rank": str(level.rank),
        "impact_criteria": level.impact_criteria,
        "ack_window": format_duration(level.ack_window),
        "resolution_target_kind": level.resolution_target_kind,
        "pages_responders": "on",
        "comms_rules-TOTAL_FORMS": "0",
        "comms_rules-INITIAL_FORMS": "0",
    }


def test_the_severity_page_shows_its_cadence_and_no_dead_interval_fields(client: Client, plan_owner: User) -> None:
    client.force_login(plan_owner)
    p1 = SeverityLevel.objects.get(name="P1")

    html = client.get(f"/admin/incidents/severitylevel/{p1.pk}/change/").content.decode()

    assert "Communication cadence (0 = at declaration; empty interval = once)" in html
    assert 'name="comms_rules-TOTAL_FORMS" value="4"' in html  # internal, status page, briefing, notice
    assert "update_interval" not in html


def test_a_comms_rule_is_added_on_the_severitys_admin_page(client: Client, plan_owner: User) -> None:
    client.force_login(plan_owner)
    p3 = SeverityLevel.objects.get(name="P3")
    group = StakeholderGroup.objects.create(name="Support leads", emails=["support@example.com"])
    form = severity_form(p3) | {
        "comms_rules-TOTAL_FORMS": "2",
        "comms_rules-0-kind": "internal_update",
        "comms_rules-0-first_due_after": "30 min",
        "comms_rules-0-interval": "1 h",
        "comms_rules-0-grace": "10 min",
        "comms_rules-1-kind": "stakeholder_notice",
        "comms_rules-1-stakeholder_group": str(group.pk),
        "comms_rules-1-first_due_after": "0",
        "comms_rules-1-interval": "",
        "comms_rules-1-grace": "5 min",
    }

    response = client.post(f"/admin/incidents/severitylevel/{p3.pk}/change/", form)

    assert response.status_code == 302, response.content.decode()[-3000:]
    rules = {rule.kind: rule for rule in CommsRule.objects.filter(severity=p3)}
    assert set(rules) == {CommsKind.INTERNAL_UPDATE, CommsKind.STAKEHOLDER_NOTICE}
    internal = rules[CommsKind.INTERNAL_UPDATE]
    assert (internal.first_due_after, internal.interval, internal.grace) == (
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(minutes=10),
    )
    notice = rules[CommsKind.STAKEHOLDER_NOTICE]
    assert (notice.stakeholder_group, notice.first_due_after, notice.interval) == (group, timedelta(0), None)


def test_a_stakeholder_notice_without_a_group_is_refused_on_the_severity_page(client: Client, plan_owner: User) -> None:
    client.force_login(plan_owner)
    p3 = SeverityLevel.objects.get(name="P3")
    form = severity_form(p3) | {
        "comms_rules-TOTAL_FORMS": "1",
        "comms_rules-0-kind": "stakeholder_notice",
        "comms_rules-0-first_due_after": "0",
        "comms_rules-0-grace": "5 min",
    }

    response = client.post(f"/admin/incidents/severitylevel/{p3.pk}/change/", form)

    assert response.status_code == 200
    assert "A stakeholder notice needs the group it is sent to." in response.content.decode()
    assert not CommsRule.objects.filter(severity=p3).exists()


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
            "comms_rules-TOTAL_FORMS": "0",
            "comms_rules-INITIAL_FORMS": "0",
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
