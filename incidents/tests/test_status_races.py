"""Two Communications Leads at once: components must end up showing what all publications say."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection

from conftest import skip_or_fail
from incidents.models.status import Component
from incidents.services.statuspage import public_incident_publish, public_incident_update
from incidents.tests.status_builders import fresh_status_cache, make_component, make_incident
from irp_site.testing.concurrency import at_once

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migrated_data"),
]


@pytest.fixture(autouse=True)
def _postgres_only() -> Iterator[None]:
    if connection.vendor != "postgresql":
        skip_or_fail("these races need PostgreSQL's concurrent writers (SQLite serialises them)")
    fresh_status_cache()
    yield
    fresh_status_cache()


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_publications_and_resolutions_leave_the_right_component_status(round_: int) -> None:
    lead = User.objects.create_user(f"lead{round_}")
    checkout = make_component(f"Checkout {round_}")

    def publish(status: str) -> Callable[[], Any]:
        return lambda: public_incident_publish(
            make_incident(), actor=lead, name=f"{status} {round_}", body="Looking.", components={checkout: status}
        )

    first, second = at_once(publish("partial_outage"), publish("major_outage"))
    assert not isinstance(first, Exception), first
    assert not isinstance(second, Exception), second
    assert Component.objects.get(pk=checkout.pk).status == "major_outage"

    results = at_once(
        lambda: public_incident_update(first, actor=lead, status="resolved", body="Fixed."),
        lambda: public_incident_update(second, actor=lead, status="resolved", body="Fixed."),
    )
    assert not any(isinstance(result, Exception) for result in results), results
    assert Component.objects.get(pk=checkout.pk).status == "operational"
