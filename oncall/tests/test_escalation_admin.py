"""The admin pages for escalation policies, contact methods, notification rules and deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from oncall.models import (
    ContactMethod,
    Delivery,
    DeliveryAttempt,
    EscalationPolicy,
    EscalationStep,
    Layer,
    NotificationRule,
    Schedule,
)
from oncall.services import layer_save

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client, plan_owner: User) -> Client:
    assert not plan_owner.is_staff
    client.force_login(plan_owner)
    return client


def unreachable(name: str) -> User:
    return User.objects.create_user(name.lower(), first_name=name)


def a_delivery(user: User) -> Delivery:
    method = ContactMethod.objects.create(user=user, kind="email", address="someone@example.test")
    delivery = Delivery.objects.create(
        key="test:1:1",
        page_key="test:1:1",
        subject="test:1",
        user=user,
        contact_method=method,
        channel="email",
        address=method.address,
        urgency="low",
        status=Delivery.Status.FAILED,
        attempts=1,
        last_error="550 no such user",
    )
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=1,
        started_at=timezone.now(),
        duration_ms=12.5,
        outcome="permanent",
        answer="550 no such user",
    )
    return delivery


@pytest.mark.parametrize(
    "path",
    [
        "/admin/oncall/escalationpolicy/",
        "/admin/oncall/escalationpolicy/add/",
        "/admin/oncall/contactmethod/",
        "/admin/oncall/contactmethod/add/",
        "/admin/oncall/notificationrule/",
        "/admin/oncall/notificationrule/add/",
        "/admin/oncall/delivery/",
    ],
)
def test_the_new_admin_pages_render_for_a_plan_owner(admin_client: Client, plan_owner: User, path: str) -> None:
    someone = unreachable("Someone")
    policy = EscalationPolicy.objects.create(name="Checkout")
    EscalationStep.objects.create(policy=policy, delay=timedelta(minutes=5)).users.set([someone])
    a_delivery(someone)
    NotificationRule.objects.create(user=someone, urgency="high", contact_method=someone.contact_methods.get())

    assert admin_client.get(path).status_code == 200


def test_the_index_has_an_escalation_section(admin_client: Client) -> None:
    html = admin_client.get("/admin/").content.decode()

    assert "Escalation &amp; notifications" in html
    for name in ("Escalation policies", "Contact methods", "Notification rules", "Deliveries"):
        assert name in html, name


def test_deliveries_are_read_only_with_their_attempts(admin_client: Client, plan_owner: User) -> None:
    delivery = a_delivery(plan_owner)

    page = admin_client.get(f"/admin/oncall/delivery/{delivery.pk}/change/")
    changed = admin_client.post(f"/admin/oncall/delivery/{delivery.pk}/change/", {"status": "sent"})

    assert page.status_code == 200
    html = page.content.decode()
    assert "550 no such user" in html
    assert 'name="status"' not in html
    assert changed.status_code == 403
    assert admin_client.get("/admin/oncall/delivery/add/").status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED


def test_a_policy_is_written_with_its_steps_and_delays_in_minutes(admin_client: Client) -> None:
    someone = unreachable("Someone")
    form = {
        "name": "Checkout",
        "description": "",
        "repeat_count": "1",
        "steps-TOTAL_FORMS": "2",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
        "steps-0-position": "0",
        "steps-0-delay": "5",
        "steps-0-mode": "all",
        "steps-0-users": [str(someone.pk)],
        "steps-1-position": "1",
        "steps-1-delay": "",
        "steps-1-mode": "round_robin",
        "steps-1-users": [str(someone.pk)],
    }

    response = admin_client.post("/admin/oncall/escalationpolicy/add/", form)

    assert response.status_code == 302, response.content.decode()[-3000:]
    policy = EscalationPolicy.objects.get(name="Checkout")
    assert [(step.delay, step.mode) for step in policy.steps.order_by("position")] == [
        (timedelta(minutes=5), "all"),
        (None, "round_robin"),
    ]
    page = admin_client.get(f"/admin/oncall/escalationpolicy/{policy.pk}/change/").content.decode()
    assert 'name="steps-0-delay" value="5"' in page


def test_a_step_delay_must_be_a_positive_number_of_minutes(admin_client: Client) -> None:
    form = {
        "name": "Checkout",
        "repeat_count": "0",
        "steps-TOTAL_FORMS": "1",
        "steps-INITIAL_FORMS": "0",
        "steps-0-position": "0",
        "steps-0-mode": "all",
    }

    for delay in ("soon", "0", "-5", "0.001"):
        response = admin_client.post("/admin/oncall/escalationpolicy/add/", {**form, "steps-0-delay": delay})
        assert response.status_code == 200, delay
        assert "errorlist" in response.content.decode()
    assert not EscalationPolicy.objects.exists()
    accepted = admin_client.post("/admin/oncall/escalationpolicy/add/", {**form, "steps-0-delay": "1.5"})
    assert accepted.status_code == 302
    assert EscalationStep.objects.get().delay == timedelta(seconds=90)


def test_policy_and_schedule_pages_warn_about_people_without_a_working_rule(admin_client: Client) -> None:
    nina, omar = unreachable("Nina"), unreachable("Omar")
    schedule = Schedule.objects.create(name="Payments primary")
    layer = Layer(
        schedule=schedule,
        name="Weekly",
        shift_length=1,
        shift_unit="weeks",
        rotation_start=datetime(2026, 11, 2, 9, tzinfo=UTC),
    )
    layer_save(layer, participants=[nina])
    policy = EscalationPolicy.objects.create(name="Checkout")
    EscalationStep.objects.create(policy=policy).users.set([omar])

    policy_page = admin_client.get(f"/admin/oncall/escalationpolicy/{policy.pk}/change/").content.decode()
    schedule_page = admin_client.get(f"/admin/oncall/schedule/{schedule.pk}/change/").content.decode()

    assert "No working notification rule" in policy_page
    assert "Omar (high and low)" in policy_page
    assert "Nina" not in policy_page
    assert "Nina (high and low)" in schedule_page
    assert "Omar" not in schedule_page


def test_send_a_test_from_the_admin(admin_client: Client, plan_owner: User) -> None:
    method = ContactMethod.objects.create(user=plan_owner, kind="email", address="olivia@example.test")
    rule = NotificationRule.objects.create(user=plan_owner, urgency="high", contact_method=method)

    from_methods = admin_client.post(
        "/admin/oncall/contactmethod/",
        {"action": "send_test_notifications", "_selected_action": [method.pk]},
        follow=True,
    )
    from_rules = admin_client.post(
        "/admin/oncall/notificationrule/",
        {"action": "send_test_notifications", "_selected_action": [rule.pk]},
        follow=True,
    )

    assert "Sent 1 test notification(s)" in from_methods.content.decode()
    assert "Sent 1 test notification(s)" in from_rules.content.decode()
    assert list(Delivery.objects.values_list("contact_method", "subject")) == [
        (method.pk, f"test:{method.pk}"),
        (method.pk, f"test:{method.pk}"),
    ]
