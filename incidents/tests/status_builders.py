"""Builders for the status page's tests, and a way to run the django-q2 jobs they enqueue."""

from __future__ import annotations

import itertools
from typing import Any

from django.core.cache import cache
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from incidents import status_cache
from incidents.models import Incident, SeverityLevel
from incidents.models.status import Component, ComponentGroup
from incidents.tests.factories import make_service

_numbers = itertools.count(1)


def fresh_status_cache() -> None:
    # Each test's database starts at version 1 again: forget what an earlier test cached.
    cache.clear()
    status_cache.forget_version()


def make_incident(title: str = "Checkout API error rate above 5%", **extra: Any) -> Incident:
    service = extra.pop("service", None) or make_service(f"Service {next(_numbers)}")
    severity = extra.pop("severity", None) or SeverityLevel.objects.order_by("rank").first()
    assert severity is not None, "the default plan's severity levels are missing"
    return Incident.objects.create(title=title, service=service, severity=severity, **extra)


def make_component(name: str = "Checkout", *, services: list[Any] | None = None, **extra: Any) -> Component:
    component = Component.objects.create(name=name, **extra)
    component.services.set(services or [])
    return component


def make_group(name: str = "Payments", **extra: Any) -> ComponentGroup:
    return ComponentGroup.objects.create(name=name, **extra)


def run_queued_jobs(limit: int = 100) -> int:
    """Run what was handed to django-q2's ORM broker, as a worker would (including jobs they enqueue)."""
    ran = 0
    while ran < limit:
        queued = OrmQ.objects.order_by("pk").first()
        if queued is None:
            return ran
        task = SignedPackage.loads(queued.payload)
        queued.delete()
        task["func"](*task.get("args", ()), **task.get("kwargs", {}))
        ran += 1
    raise AssertionError(f"more than {limit} jobs: a job that enqueues itself?")
