"""The communication cadence with a controllable clock: the engine's comms tick is called with
chosen times, reminders are delivered for real (SMTP on loopback) and the timeline records them.

The clock starts two hours in the past so that every chosen time has already come for the
delivery workers too (they send only what is due by the real clock)."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from incidents.models import Incident, Role, Service, SeverityLevel, TimelineEntry
from incidents.models.comms import CommsKind, CommsObligation, CommsRule, IncidentUpdate, StakeholderGroup
from incidents.services import comms
from incidents.services.comms import (
    comms_due,
    comms_fulfil,
    comms_tick,
    oldest_due_obligation,
    update_post,
    update_template,
)
from incidents.services.errors import InvalidInput
from incidents.services.lifecycle import incident_resolve
from incidents.services.roles import role_assign
from incidents.services.severity import incident_severity_change
from incidents.tests.factories import make_person, make_service, make_team
from irp_site import auditor, engine
from irp_site.testing.receivers import SmtpReceiver
from oncall import deliveries

pytestmark = pytest.mark.usefixtures("migrated_data")

MINUTE = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def default_cadence(migrated_data: None) -> None:
    importlib.import_module("incidents.migrations.0008_runbooks_comms").create_default_cadence(apps, None)


@pytest.fixture(autouse=True)
def send_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deliveries and notices run in this process after their transaction commits: the code a
    worker runs, without a worker."""
    monkeypatch.setattr(deliveries, "enqueue", lambda ids: [deliveries.deliver(pk) for pk in ids])
    monkeypatch.setattr(comms, "notice_enqueue", comms.stakeholder_notice_send)


@pytest.fixture
def t0() -> datetime:
    return timezone.now().replace(microsecond=0) - timedelta(hours=2)


@pytest.fixture
def cast() -> dict[str, User]:
    return {
        "cl": make_person("cleo", methods={"email": "cleo@example.com"}),
        "ic": make_person("ivan", methods={"email": "ivan@example.com"}),
        "manager": make_person("mona", methods={"email": "mona@example.com"}),
    }


@pytest.fixture
def service(cast: dict[str, User]) -> Service:
    return make_service("Checkout API", team=make_team("Payments", manager=cast["manager"]))


def declare(service: Service, at: datetime, severity: str = "P1") -> Incident:
    return Incident.objects.create(
        title="Checkout 5xx above 5% (db-2 pool exhausted)",
        severity=SeverityLevel.objects.get(name=severity),
        service=service,
        status=Incident.Status.ACKNOWLEDGED,
        created_at=at,
        detected_at=at,
        acknowledged_at=at,
    )


def assign(incident: Incident, key: str, user: User, at: datetime) -> None:
    role_assign(incident, Role.objects.get(key=key), user, actor=None, at=at)


def mails_to(smtp: SmtpReceiver, address: str, about: str = "Internal update") -> list[Any]:
    return [mail for mail in smtp.received() if address in mail.rcpt_tos and about in str(mail.message["subject"])]


@pytest.fixture
def p1(service: Service, cast: dict[str, User], t0: datetime) -> Incident:
    incident = declare(service, t0)
    assign(incident, "communications-lead", cast["cl"], t0)
    assign(incident, "incident-commander", cast["ic"], t0)
    return incident


def test_a_p1_without_an_internal_update_reminds_the_cl_then_the_ic_then_the_manager(
    p1: Incident, t0: datetime, smtp: SmtpReceiver
) -> None:
    assert engine.registered()["comms"] is comms_tick
    engine.tick(t0 + 14 * MINUTE, beat=False)  # the engine's whole tick, as run_engine calls it
    assert mails_to(smtp, "cleo@example.com") == []

    engine.tick(t0 + 15 * MINUTE, beat=False)
    reminder = mails_to(smtp, "cleo@example.com")
    assert len(reminder) == 1
    assert f"#{p1.number}" in reminder[0].message["subject"]
    assert mails_to(smtp, "ivan@example.com") == []

    comms_tick(t0 + 19 * MINUTE)
    assert mails_to(smtp, "ivan@example.com") == []

    comms_tick(t0 + 20 * MINUTE)  # the default grace is five minutes
    told = mails_to(smtp, "ivan@example.com")
    assert len(told) == 1
    assert "Overdue" in told[0].message["subject"]
    assert mails_to(smtp, "mona@example.com") == []

    comms_tick(t0 + 25 * MINUTE)
    assert len(mails_to(smtp, "mona@example.com")) == 1

    comms_tick(t0 + 60 * MINUTE)
    assert len(mails_to(smtp, "cleo@example.com")) == 1
    assert len(mails_to(smtp, "ivan@example.com")) == 1
    assert len(mails_to(smtp, "mona@example.com")) == 1
    reminders = [
        entry.message
        for entry in p1.timeline.filter(kind=TimelineEntry.Kind.COMMS_REMINDER)
        if "internal_update" in entry.data["kinds"]
    ]
    assert len(reminders) == 3
    # What falls due together is one reminder: the guide's P1 owes three things at T+15.
    assert reminders[0] == (
        "Internal update, Management briefing and Stakeholder notice — Customer success — enterprise due "
        f"{timezone.localtime(t0 + 15 * MINUTE):%H:%M}: reminded Cleo (Communications Lead)."
    )
    assert "told Ivan (Incident Commander)" in reminders[1]
    assert "10 min overdue" in reminders[2]
    assert "manager of Payments" in reminders[2]
    sent = p1.timeline.filter(kind=TimelineEntry.Kind.NOTIFIED, data__outcome="sent", data__obligation__isnull=False)
    assert sent.count() >= 3


def test_without_a_cl_the_ic_is_reminded(
    service: Service, cast: dict[str, User], t0: datetime, smtp: SmtpReceiver
) -> None:
    incident = declare(service, t0)
    assign(incident, "incident-commander", cast["ic"], t0)

    comms_tick(t0 + 15 * MINUTE)

    assert len(mails_to(smtp, "ivan@example.com")) == 1
    assert comms_due(incident, now=t0 + 15 * MINUTE)[0].reminded == "Ivan (Incident Commander)"


def test_a_manager_who_is_the_ic_is_told_once(
    service: Service, cast: dict[str, User], t0: datetime, smtp: SmtpReceiver
) -> None:
    incident = declare(service, t0)
    assign(incident, "incident-commander", cast["manager"], t0)

    for minutes in (0, 15, 20, 25):
        comms_tick(t0 + minutes * MINUTE)

    told = mails_to(smtp, "mona@example.com")
    assert [str(mail.message["subject"]).strip().split(":")[0] for mail in told] == ["Due now", "Overdue"]
    last = incident.timeline.filter(kind=TimelineEntry.Kind.COMMS_REMINDER).last()
    assert last is not None
    assert last.message.endswith("Mona (manager of Payments) was told already (Incident Commander).")


def test_an_update_resets_the_clock(p1: Incident, t0: datetime, cast: dict[str, User], smtp: SmtpReceiver) -> None:
    comms_tick(t0 + 15 * MINUTE)
    assert len(mails_to(smtp, "cleo@example.com")) == 1

    update = update_post(p1, "internal_update", "Pool exhausted; failing over.", actor=cast["cl"], at=t0 + 17 * MINUTE)

    comms_tick(t0 + 31 * MINUTE)  # past the old deadline's grace: nothing, it was fulfilled
    assert mails_to(smtp, "ivan@example.com") == []
    assert len(mails_to(smtp, "cleo@example.com")) == 1
    comms_tick(t0 + 32 * MINUTE)  # posted + 15 minutes
    assert len(mails_to(smtp, "cleo@example.com")) == 2

    posted = p1.timeline.get(kind=TimelineEntry.Kind.UPDATE_POSTED)
    assert "Pool exhausted; failing over." in posted.message
    assert posted.actor == cast["cl"]
    assert posted.data["update"] == update.pk
    fulfilled = CommsObligation.objects.get(update=update)
    assert fulfilled.fulfilled_at == t0 + 17 * MINUTE
    assert fulfilled.stage == CommsObligation.Stage.REMINDED


def test_a_p3_owes_no_updates(service: Service, t0: datetime, smtp: SmtpReceiver) -> None:
    incident = declare(service, t0, severity="P3")

    for minutes in (0, 15, 30, 60, 120):
        comms_tick(t0 + minutes * MINUTE)

    assert not CommsObligation.objects.filter(incident=incident).exists()
    assert comms_due(incident) == []
    assert smtp.received() == []


def test_the_p1_cadence_follows_the_guide(p1: Incident, t0: datetime) -> None:
    comms_tick(t0)

    due = comms_due(p1, now=t0 + 5 * MINUTE)

    assert [(item.label, item.due_at - t0) for item in due] == [
        ("Status page update", timedelta(0)),
        ("Internal update", 15 * MINUTE),
        ("Management briefing", 15 * MINUTE),
        ("Stakeholder notice — Customer success — enterprise", 15 * MINUTE),
    ]
    assert [item.overdue for item in due] == [True, False, False, False]
    assert due[1].seconds_left == 600
    assert due[0].reminded == "Cleo (Communications Lead)"
    assert due[0].stage == CommsObligation.Stage.REMINDED


def test_the_status_page_helper_fulfils_its_obligation(p1: Incident, t0: datetime, cast: dict[str, User]) -> None:
    comms_tick(t0)

    fulfilled = comms_fulfil(p1, "status_page", actor=cast["cl"], at=t0 + 2 * MINUTE)

    assert [o.kind for o in fulfilled] == ["status_page"]
    nxt = CommsObligation.objects.open().get(incident=p1, kind="status_page")
    assert nxt.due_at == t0 + 32 * MINUTE


def test_resolving_ends_what_is_owed(p1: Incident, t0: datetime, smtp: SmtpReceiver) -> None:
    comms_tick(t0)
    assert CommsObligation.objects.open().filter(incident=p1).count() == 4

    incident_resolve(p1, actor=None, note="Failed over.", at=t0 + 10 * MINUTE)
    comms_tick(t0 + 60 * MINUTE)

    assert CommsObligation.objects.open().filter(incident=p1).count() == 0
    assert mails_to(smtp, "cleo@example.com") == []
    assert oldest_due_obligation() is None


def test_a_change_of_severity_reschedules_from_the_change(
    service: Service, cast: dict[str, User], t0: datetime, smtp: SmtpReceiver
) -> None:
    incident = declare(service, t0, severity="P3")
    assign(incident, "communications-lead", cast["cl"], t0)
    comms_tick(t0 + MINUTE)
    assert not CommsObligation.objects.filter(incident=incident).exists()

    changed_at = timezone.now() - 30 * MINUTE
    incident_severity_change(
        incident, SeverityLevel.objects.get(name="P1"), reason="All checkouts failing", actor=cast["ic"], at=changed_at
    )

    owed = {o.kind: o.due_at for o in CommsObligation.objects.open().filter(incident=incident)}
    assert owed[CommsKind.INTERNAL_UPDATE] - changed_at == pytest.approx(15 * MINUTE, abs=timedelta(seconds=60))
    incident.refresh_from_db()
    incident_severity_change(
        incident, SeverityLevel.objects.get(name="P2"), reason="Only some cards", actor=cast["ic"], at=changed_at
    )
    kinds = sorted(CommsObligation.objects.open().filter(incident=incident).values_list("kind", "severity__name"))
    assert kinds == [("internal_update", "P2"), ("status_page", "P2")]


def test_stakeholder_notices_are_emailed_to_the_group(
    p1: Incident, t0: datetime, cast: dict[str, User], smtp: SmtpReceiver
) -> None:
    StakeholderGroup.objects.filter(name="Customer success — enterprise").update(
        emails=["cs-lead@example.com", "enterprise-desk@example.com"]
    )
    comms_tick(t0)

    update_post(
        p1,
        "stakeholder_notice",
        "Checkout is failing for some customers; next update in 30 minutes.",
        actor=cast["cl"],
        at=t0 + 12 * MINUTE,
    )

    notices = [mail for mail in smtp.received() if "cs-lead@example.com" in mail.rcpt_tos]
    assert len(notices) == 1
    mail = notices[0]
    assert set(mail.rcpt_tos) == {"cs-lead@example.com", "enterprise-desk@example.com"}
    plain = mail.message.get_body(("plain",))
    assert plain is not None
    body = plain.get_content()
    assert "Checkout is failing for some customers" in body
    assert "Checkout API" in str(mail.message["subject"])
    assert IncidentUpdate.objects.get(kind="stakeholder_notice").emailed_at is not None
    # Once only: the notice's rule has no interval.
    assert not CommsObligation.objects.open().filter(incident=p1, kind="stakeholder_notice").exists()


def test_posting_checks_its_input(p1: Incident, cast: dict[str, User]) -> None:
    with pytest.raises(InvalidInput) as error:
        update_post(p1, "tweet", "hi", actor=cast["cl"])
    assert error.value.field == "kind"
    with pytest.raises(InvalidInput) as error:
        update_post(p1, "internal_update", "   ", actor=cast["cl"])
    assert error.value.field == "text"
    StakeholderGroup.objects.create(name="Legal")
    CommsRule.objects.create(
        severity=p1.severity, kind="stakeholder_notice", stakeholder_group=StakeholderGroup.objects.get(name="Legal")
    )
    with pytest.raises(InvalidInput) as error:
        update_post(p1, "stakeholder_notice", "hi", actor=cast["cl"])
    assert error.value.field == "stakeholder_group"
    assert not IncidentUpdate.objects.exists()


def test_status_page_templates_are_customer_facing(p1: Incident) -> None:
    from incidents.models.status import Component

    p1.severity = SeverityLevel.objects.get(name="P1")
    unnamed = update_template(p1, "status_page", phase="investigating")
    for name in ("Payments", "Checkout"):
        Component.objects.create(name=name).services.add(p1.service)
    texts = {phase: update_template(p1, "status_page", phase=phase) for phase in comms.STATUS_PAGE_PHASES}

    # What customers know the parts as (the status page's components), never the internal service.
    assert unnamed.startswith("We are investigating reports of degraded performance on some of our services.")
    assert texts["investigating"].startswith(
        "We are investigating reports of degraded performance on Checkout and Payments."
    )
    assert not [text for text in [unnamed, *texts.values()] if p1.service.name in text]
    assert "identified" in texts["identified"]
    assert "monitoring" in texts["monitoring"]
    assert "resolved" in texts["resolved"]
    for text in texts.values():
        # Nothing internal: not the title (host names), not the number, not the severity's name.
        assert [word for word in ("db-2", "pool", "#", "P1") if word in text] == [], text
    assert update_template(p1, "status_page") == texts["identified"]  # acknowledged


def test_internal_and_briefing_templates_are_prefilled_from_the_incident(p1: Incident, t0: datetime) -> None:
    internal = update_template(p1, "internal_update", next_update_in=15 * MINUTE, now=t0 + 20 * MINUTE)
    briefing = update_template(p1, "management_briefing", now=t0 + 20 * MINUTE)

    assert internal.startswith(f"[P1] #{p1.number} Checkout 5xx above 5% (db-2 pool exhausted) — acknowledged")
    assert "open 20 minutes" in internal
    assert "Next update in 15 minutes." in internal
    assert "critical (P1) incident affecting Checkout API" in briefing
    with pytest.raises(InvalidInput):
        update_template(p1, "status_page", phase="panicking")


def test_overdue_reminders_show_in_the_auditor(p1: Incident, t0: datetime) -> None:
    comms_tick(t0)  # the status page is reminded; the IC is to be told at t0 + 5 min

    assert oldest_due_obligation() == t0 + 5 * MINUTE
    assert "communication reminders" not in auditor.overdue_work(t0 + 5 * MINUTE)
    assert "communication reminders" in auditor.overdue_work(t0 + 60 * MINUTE)


# --- REST -----------------------------------------------------------------------------------------------


@pytest.fixture
def owner_api(plan_owner: User, api_client_for: Callable[[User], APIClient]) -> APIClient:
    return api_client_for(plan_owner)


def test_comms_rules_through_the_api(owner_api: APIClient) -> None:
    rules = owner_api.get("/api/v1/comms-rules/?kind=management_briefing").json()["results"]
    assert rules == [
        {
            "id": rules[0]["id"],
            "severity": "P1",
            "kind": "management_briefing",
            "stakeholder_group": None,
            "first_due_after_seconds": 900,
            "interval_seconds": 1800,
            "grace_seconds": 300,
        }
    ]

    created = owner_api.post(
        "/api/v1/comms-rules/",
        {"severity": "P2", "kind": "management_briefing", "first_due_after_seconds": 1800},
        format="json",
    )

    assert created.status_code == 201, created.json()
    assert created.json()["interval_seconds"] is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"severity": "P9", "kind": "internal_update"}, "severity"),
        ({"severity": "P\x001", "kind": "internal_update"}, "severity"),
        ({"severity": "P3", "kind": "carrier_pigeon"}, "kind"),
        ({"severity": "P3", "kind": "stakeholder_notice"}, "stakeholder_group"),
        ({"severity": "P3", "kind": "internal_update", "first_due_after_seconds": -5}, "first_due_after_seconds"),
        ({"severity": "P3", "kind": "internal_update", "interval_seconds": 0}, "interval_seconds"),
        ({"severity": "P3", "kind": "internal_update", "grace_seconds": "soon"}, "grace_seconds"),
        ({"severity": "P1", "kind": "internal_update"}, "kind"),  # P1 has one already
    ],
)
def test_bad_comms_rules_are_refused_naming_the_field(
    owner_api: APIClient, payload: dict[str, Any], field: str
) -> None:
    answer = owner_api.post("/api/v1/comms-rules/", payload, format="json")

    assert answer.status_code == 400
    assert field in answer.json()


def test_stakeholder_groups_through_the_api(owner_api: APIClient) -> None:
    created = owner_api.post(
        "/api/v1/stakeholder-groups/", {"name": "Leadership", "emails": ["vp@example.com"]}, format="json"
    )
    bad = owner_api.post("/api/v1/stakeholder-groups/", {"name": "Legal", "emails": ["not an address"]}, format="json")

    assert created.status_code == 201
    assert StakeholderGroup.objects.get(name="Leadership").emails == ["vp@example.com"]
    assert bad.status_code == 400
    assert "emails" in bad.json()


def test_a_drill_owes_no_status_page_update_and_is_scheduled_once(service: Service, t0: datetime) -> None:
    drill = declare(service, t0)
    Incident.objects.filter(pk=drill.pk).update(is_drill=True)

    comms_tick(t0)
    comms_tick(t0 + MINUTE)

    assert sorted(item.kind for item in comms_due(drill)) == [
        "internal_update",
        "management_briefing",
        "stakeholder_notice",
    ]
    assert CommsObligation.objects.filter(incident=drill).count() == 4
    assert not comms._unscheduled().filter(pk=drill.pk).exists()


# --- Admin -----------------------------------------------------------------------------------------------


def test_plan_owners_write_rules_in_plain_words_in_the_admin(client: Any, plan_owner: User) -> None:
    plan_owner.is_staff = True
    plan_owner.save()
    client.force_login(plan_owner)
    p3 = SeverityLevel.objects.get(name="P3")

    answer = client.post(
        "/admin/incidents/commsrule/add/",
        {"severity": p3.pk, "kind": "internal_update", "first_due_after": "1 h", "interval": "1 h", "grace": "10 min"},
    )

    assert answer.status_code == 302, answer.content.decode()[-1500:]
    rule = CommsRule.objects.get(severity=p3)
    assert (rule.first_due_after, rule.interval, rule.grace) == (60 * MINUTE, 60 * MINUTE, 10 * MINUTE)
    listing = client.get("/admin/incidents/commsrule/?severity__id__exact=" + str(p3.pk)).content.decode()
    assert "T+1 h" in listing


def test_the_cadence_inline_shows_on_a_severitys_admin_page(rf: Any, plan_owner: User) -> None:
    from django.contrib import admin
    from django.contrib.messages.storage.fallback import FallbackStorage

    from incidents.comms_admin import CommsRuleInline

    plan_owner.is_staff = plan_owner.is_superuser = True
    plan_owner.save()
    base = type(admin.site._registry[SeverityLevel])
    with_cadence = type("WithCadence", (base,), {"inlines": [*base.inlines, CommsRuleInline]})
    p1 = SeverityLevel.objects.get(name="P1")
    request = rf.get(f"/admin/incidents/severitylevel/{p1.pk}/change/")
    request.user = plan_owner
    request.session = {}
    request._messages = FallbackStorage(request)

    page = with_cadence(SeverityLevel, admin.site).change_view(request, str(p1.pk))
    html = page.render().content.decode()

    assert "Communication cadence" in html
    assert 'value="15 min"' in html  # the internal update's first due and interval, in plain words
    assert "Customer success — enterprise" in html


def test_the_default_cadence_can_be_loaded_again_without_change() -> None:
    before = sorted(CommsRule.objects.values_list("severity__name", "kind", "first_due_after", "interval"))

    importlib.import_module("incidents.migrations.0008_runbooks_comms").create_default_cadence(apps, None)

    assert sorted(CommsRule.objects.values_list("severity__name", "kind", "first_due_after", "interval")) == before
    assert [name for name, _, _, _ in before].count("P1") == 4
    assert StakeholderGroup.objects.filter(name="Customer success — enterprise").count() == 1


def test_a_group_the_cadence_uses_cannot_be_deleted(owner_api: APIClient) -> None:
    group = StakeholderGroup.objects.get(name="Customer success — enterprise")
    rule = CommsRule.objects.get(stakeholder_group=group)

    refused = owner_api.delete(f"/api/v1/stakeholder-groups/{group.pk}/")
    once = owner_api.patch(f"/api/v1/comms-rules/{rule.pk}/", {"interval_seconds": None}, format="json")
    twice = owner_api.patch(f"/api/v1/comms-rules/{rule.pk}/", {"interval_seconds": 3600}, format="json")

    assert refused.status_code == 409
    assert "communication rule" in refused.json()["detail"]
    assert once.status_code == 200
    assert twice.json()["interval_seconds"] == 3600
    rule.refresh_from_db()
    assert rule.interval == 60 * MINUTE


@pytest.mark.postgres_only
def test_engines_side_by_side_schedule_and_remind_each_obligation_once(
    service: Service, cast: dict[str, User], t0: datetime, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    from django.db import connection

    from conftest import skip_or_fail
    from oncall.models import Delivery

    if connection.vendor != "postgresql":
        skip_or_fail("this race needs PostgreSQL's concurrent writers (SQLite serialises them)")
    monkeypatch.setattr(deliveries, "enqueue", lambda ids: None)
    incidents = [declare(service, t0) for _ in range(60)]
    for incident in incidents:
        assign(incident, "communications-lead", cast["cl"], t0)
    start = threading.Barrier(4)

    def engine_process(at: datetime) -> None:
        try:
            start.wait()
            # Tick until nothing is due (a tick stops at its time budget, the next goes on).
            for _ in range(50):
                comms_tick(at)
                if not CommsObligation.objects.due_by(at).exists():
                    break
        finally:
            connection.close()

    for at in (t0, t0 + 15 * MINUTE):
        threads = [threading.Thread(target=engine_process, args=(at,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert CommsObligation.objects.count() == 60 * 4
    entries = list(TimelineEntry.objects.filter(kind=TimelineEntry.Kind.COMMS_REMINDER))
    acted = [(obligation, entry.data["stage"]) for entry in entries for obligation in entry.data["obligations"]]
    assert len(acted) == len(set(acted)), "an obligation was acted on twice at one stage"
    # The status page: reminded at t0, then by T+15 its IC (nobody) and manager stages (T+5, T+10)
    # have come too; the other three are reminded at T+15.
    expected = {
        (obligation.pk, stage)
        for obligation in CommsObligation.objects.all()
        for stage in (
            ["reminded", "escalated_ic", "escalated_manager"] if obligation.kind == "status_page" else ["reminded"]
        )
    }
    assert set(acted) == expected
    reminded_people = sum(1 for entry in entries if entry.data["users"])
    assert Delivery.objects.filter(subject__startswith="comms:").count() == reminded_people
    assert reminded_people >= 60 * 3
    assert not [record for record in caplog.records if record.levelname == "ERROR"]
