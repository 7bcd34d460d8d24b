from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from incidents.models import ResponsePlan, Service
from oncall.models import Team

pytestmark = pytest.mark.django_db


def test_seed_demo_loads_acme_once(settings: Any, capsys: pytest.CaptureFixture[str]) -> None:
    settings.DEBUG = True

    call_command("seed_demo")
    call_command("seed_demo")

    output = capsys.readouterr().out
    assert "Sign in as alex / irp-demo" in output
    assert "already loaded" in output
    assert 12 <= User.objects.count() <= 15
    assert Team.objects.count() == 3
    assert all(team.manager_id for team in Team.objects.all())
    assert Service.objects.count() == 6
    assert len(set(Service.objects.values_list("criticality", flat=True))) >= 3
    plan = ResponsePlan.objects.current()
    assert plan.organisation_name == "Acme"
    assert plan.owner is not None
    assert plan.owner.username == "alex"
    alex = User.objects.get(username="alex")
    assert alex.check_password("irp-demo")


def test_seed_demo_refuses_to_run_in_production(settings: Any) -> None:
    settings.DEBUG = False

    with pytest.raises(CommandError, match="only runs with DEBUG=1"):
        call_command("seed_demo")
    assert not User.objects.exists()


def test_the_demo_pages_the_primary_on_call_by_the_guides_path(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from incidents.models import Incident
    from incidents.services.escalation import escalation_tick
    from oncall import deliveries
    from oncall.models import Delivery
    from oncall.warnings import paging_warnings

    settings.DEBUG = True
    monkeypatch.setattr(deliveries, "enqueue", lambda ids: None)
    call_command("seed_demo")

    assert all(service.escalation_policy for service in Service.objects.all())
    policy = Service.objects.get(name="Checkout API").escalation_policy
    assert policy is not None
    assert [step.position for step in policy.steps.all()] == [0, 1, 2]
    assert paging_warnings() == []
    escalation_tick(Incident.objects.get(dedup_key="checkout-5xx").detected_at)
    paged = Delivery.objects.get()
    assert paged.channel == "email"
    assert paged.user.teams.filter(name="Payments").exists()
