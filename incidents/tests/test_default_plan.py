from datetime import timedelta
from pathlib import Path

import pytest

from incidents.models import ResponsePlan, Role, SeverityLevel
from incidents.models.comms import CommsKind, CommsRule, StakeholderGroup

GUIDE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "incident-response-plan-guide.txt"

pytestmark = pytest.mark.django_db


def test_fresh_database_has_the_guides_severity_table() -> None:
    levels = {level.name: level for level in SeverityLevel.objects.all()}

    assert list(levels) == ["P1", "P2", "P3", "P4"]
    assert [levels[name].title for name in levels] == ["Critical", "Major", "Minor", "Low"]
    assert levels["P1"].ack_window == timedelta(minutes=5)
    assert levels["P2"].ack_window == timedelta(minutes=15)
    assert levels["P3"].ack_window == timedelta(minutes=30)
    assert levels["P4"].ack_window is None
    assert not levels["P4"].pages_responders
    assert levels["P1"].resolution_target == timedelta(minutes=60)
    assert levels["P2"].resolution_target == timedelta(hours=4)
    assert levels["P3"].resolution_target_kind == SeverityLevel.ResolutionTarget.NEXT_BUSINESS_DAY
    assert levels["P4"].resolution_target_kind == SeverityLevel.ResolutionTarget.SCHEDULED_SPRINT
    assert [name for name, level in levels.items() if level.postmortem_required] == ["P1", "P2"]
    assert {levels[name].postmortem_due_business_days for name in ("P1", "P2")} == {5}


def test_fresh_database_has_the_guides_communication_cadence() -> None:
    minutes = timedelta(minutes=1)
    cadence = {
        (rule.severity.name, rule.kind, rule.stakeholder_group.name if rule.stakeholder_group else None): (
            rule.first_due_after,
            rule.interval,
            rule.grace,
        )
        for rule in CommsRule.objects.select_related("severity", "stakeholder_group")
    }

    # The guide's P1 cadence (internal every 15 min, management at T+15 and every 30, status page at
    # declaration and every 30, customer success at T+15 for enterprise customers); P2's intervals.
    assert cadence == {
        ("P1", CommsKind.INTERNAL_UPDATE, None): (15 * minutes, 15 * minutes, 5 * minutes),
        ("P1", CommsKind.STATUS_PAGE, None): (timedelta(0), 30 * minutes, 5 * minutes),
        ("P1", CommsKind.MANAGEMENT_BRIEFING, None): (15 * minutes, 30 * minutes, 5 * minutes),
        ("P1", CommsKind.STAKEHOLDER_NOTICE, "Customer success — enterprise"): (15 * minutes, None, 5 * minutes),
        ("P2", CommsKind.INTERNAL_UPDATE, None): (30 * minutes, 30 * minutes, 5 * minutes),
        ("P2", CommsKind.STATUS_PAGE, None): (timedelta(0), 60 * minutes, 5 * minutes),
    }
    assert StakeholderGroup.objects.get(name="Customer success — enterprise").emails == []


def test_fresh_database_has_the_guides_roles_and_where_they_are_required() -> None:
    required = {role.name: sorted(level.name for level in role.required_for.all()) for role in Role.objects.all()}

    assert required == {
        "Incident Commander": ["P1", "P2", "P3"],
        "Technical Lead": ["P1", "P2", "P3"],
        "Communications Lead": ["P1", "P2"],
        "Subject Matter Expert": [],
    }


def test_plan_defaults_to_a_quarterly_review() -> None:
    plan = ResponsePlan.objects.current()

    assert plan.review_interval_days == 90
    assert plan.incident_definition.startswith("An incident is any unplanned disruption")


def test_plan_texts_are_the_guides_own_words() -> None:
    if not GUIDE.exists():
        pytest.skip(f"the guide is not beside this checkout ({GUIDE})")
    guide = " ".join(GUIDE.read_text().split())
    plan = ResponsePlan.objects.current()

    for text in (plan.incident_definition, plan.exclusions):
        assert text in guide
    for level in SeverityLevel.objects.all():
        assert f"| {level.name} — {level.title} | {level.impact_criteria} |" in guide
    for role in Role.objects.exclude(key__in=["technical-lead", "subject-matter-expert"]):
        assert role.responsibilities in guide
