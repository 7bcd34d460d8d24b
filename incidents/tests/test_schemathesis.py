"""Schemathesis against `/api/schema/`: nothing it sends to the ingestion, alert, incident and
integration endpoints gets a 5xx (issue 3's acceptance).

The app runs in-process through Django's WSGI handler, on the test database, with a Bearer token of a
plan owner who is also a responder. Schemathesis runs its examples, coverage (boundary and invalid
values, wrong content types) and fuzzing phases, positive and negative, for every operation.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import Group, User
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from incidents.models import Incident, Integration, Role, SeverityLevel
from incidents.tests.factories import make_integration, make_service
from irp_site.groups import RESPONDERS
from irp_site.services import api_token_issue

pytestmark = pytest.mark.django_db

# Operations under test: the ingestion doors first, so the REST lists that follow see what the fuzzer sent.
INGESTION = ("/v2/enqueue", "/v2/change/enqueue", "/integrations/{key}/alerts")
REST = ("/api/v1/alerts/", "/api/v1/incidents/", "/api/v1/integrations/")
MAX_EXAMPLES = 30
# 18 from ingestion, escalation and integrations; 7 from the responder workspace (declare,
# change-severity, assign-role, release-role, add-responders, merge, notes).
EXPECTED_OPERATIONS = 25
# A floor per operation (the coverage phase alone sends more), and operations that must have
# reached their success path at least once.
MIN_CALLS_PER_OPERATION = 10
MUST_SUCCEED = (
    "POST /v2/enqueue",
    "POST /v2/change/enqueue",
    "POST /integrations/{key}/alerts",
    "GET /api/v1/alerts/",
    "GET /api/v1/incidents/",
    "GET /api/v1/integrations/",
    "POST /api/v1/integrations/",
    "PATCH /api/v1/integrations/{id}/",
    "POST /api/v1/incidents/",
    "POST /api/v1/incidents/{id}/notes/",
    "POST /api/v1/incidents/{id}/assign-role/",
)


def _narrow(doc: dict[str, Any], integrations: list[Integration], incidents: list[int]) -> dict[str, Any]:
    """Keep only the operations under test, and let positive cases use keys and ids that exist, so
    they reach the parsers, transitions and writes rather than stopping at "unknown key" or 404.
    Negative cases still send keys and ids that do not exist."""
    paths = doc["paths"]
    kept = {path: paths[path] for path in INGESTION}
    kept |= {path: item for path, item in paths.items() if path.startswith(REST)}
    doc["paths"] = kept
    schemas = doc["components"]["schemas"]
    pagerduty = [i.key for i in integrations if i.kind == Integration.Kind.PAGERDUTY]
    for name in ("PagerDutyEvent", "PagerDutyChangeEvent"):
        schemas[name]["properties"]["routing_key"]["enum"] = pagerduty
    for name in ("IntegrationRequest", "PatchedIntegrationRequest"):
        schemas[name]["properties"]["service"]["enum"] = sorted({i.service_id for i in integrations})
    ids = [i.pk for i in integrations]
    # The responder workspace's requests name services, severities, roles, people and incidents.
    severities = list(SeverityLevel.objects.values_list("name", flat=True))
    roles = list(Role.objects.values_list("key", flat=True))
    people = list(User.objects.filter(is_active=True).values_list("pk", flat=True))
    for name, field, values in (
        ("IncidentDeclareRequest", "service", sorted({i.service_id for i in integrations})),
        ("IncidentDeclareRequest", "severity", severities),
        ("IncidentSeverityChangeRequest", "severity", severities),
        ("IncidentRoleRequest", "role", roles),
        ("IncidentRoleRequest", "user", people),
        ("IncidentRoleReleaseRequest", "role", roles),
        ("IncidentRoleReleaseRequest", "user", people),
        ("IncidentAddRespondersRequest", "as_role", roles),
        ("IncidentMergeRequest", "target", incidents),
    ):
        schemas[name]["properties"][field]["enum"] = values
    schemas["IncidentAddRespondersRequest"]["properties"]["users"]["items"]["enum"] = people
    for path, methods, values in (
        ("/integrations/{key}/alerts", ("post",), [i.key for i in integrations]),
        ("/api/v1/incidents/{id}/", ("get",), incidents),
        ("/api/v1/incidents/{id}/acknowledge/", ("post",), incidents),
        ("/api/v1/incidents/{id}/resolve/", ("post",), incidents),
        ("/api/v1/incidents/{id}/escalate/", ("post",), incidents),
        ("/api/v1/incidents/{id}/reassign/", ("post",), incidents),
        ("/api/v1/incidents/{id}/change-severity/", ("post",), incidents),
        ("/api/v1/incidents/{id}/assign-role/", ("post",), incidents),
        ("/api/v1/incidents/{id}/release-role/", ("post",), incidents),
        ("/api/v1/incidents/{id}/add-responders/", ("post",), incidents),
        ("/api/v1/incidents/{id}/merge/", ("post",), incidents),
        ("/api/v1/incidents/{id}/notes/", ("post",), incidents),
        # Not DELETE, which would leave rotate-key (next) nothing to rotate.
        ("/api/v1/integrations/{id}/", ("get", "put", "patch"), ids),
        ("/api/v1/integrations/{id}/rotate-key/", ("post",), ids),
    ):
        for method in methods:
            for parameter in kept[path][method]["parameters"]:
                if parameter["in"] == "path":
                    parameter["schema"]["enum"] = values
    return doc


@pytest.fixture
def irp_api(
    plan_owner: User,
    client: Client,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[schemathesis.BaseSchema]:
    # schemathesis 4.32's from_fixture reads `Node._nodeid`, which pytest 9.2 no longer has.
    request.node._nodeid = request.node.nodeid
    # Thousands of expected 4xx would bury the tracebacks of any 5xx.
    caplog.set_level(logging.ERROR, logger="django.request")
    plan_owner.groups.add(Group.objects.get(name=RESPONDERS))
    _, token = api_token_issue(plan_owner, name="schemathesis")
    service = make_service()
    integrations = [
        make_integration(kind, service=service, name=f"{kind} source", rate_limit_per_minute=1_000_000)
        for kind in Integration.Kind.values
    ]
    pagerduty = next(i for i in integrations if i.kind == Integration.Kind.PAGERDUTY)
    for dedup_key in ("disk-full", "latency", "errors"):
        event = {
            "routing_key": pagerduty.key,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {"summary": f"{dedup_key} on web-1", "source": "web-1", "severity": "critical"},
        }
        assert client.post("/v2/enqueue", event, content_type="application/json").status_code == 202
    incidents = list(Incident.objects.values_list("pk", flat=True))
    assert len(incidents) == 3

    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    doc = _narrow(json.loads(response.content), integrations, incidents)
    schema = schemathesis.openapi.from_dict(doc)
    schema.app = WSGIHandler()
    schema.config.update(headers={"Authorization": f"Bearer {token}"})
    schema.config.generation.update(modes=list(schemathesis.GenerationMode), max_examples=MAX_EXAMPLES, database="none")
    # Django closes "old" connections around each request, which would close the test's own
    # connection and its transaction; the test client turns this off the same way (so only now,
    # after the last test-client request, which turns it back on).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    # Each request in a savepoint, as each is its own transaction in production: a database error
    # fails that request alone instead of every request after it in the test's transaction.
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    yield schema
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def answers(irp_api: schemathesis.BaseSchema) -> Iterator[dict[str, Counter[int]]]:
    """Status codes seen per operation. from_fixture runs every operation as a subtest of one test,
    so the whole run can only be checked here, afterwards: the test must not pass by sending
    nothing, or by never getting past validation to the database."""
    seen: dict[str, Counter[int]] = defaultdict(Counter)
    yield seen
    labels = [f"{method.upper()} {path}" for path, item in irp_api.raw_schema["paths"].items() for method in item]
    print(f"\nschemathesis: {sum(sum(c.values()) for c in seen.values())} requests")
    for label in labels:
        print(f"  {label}: {dict(sorted(seen[label].items()))}")
    assert len(labels) == EXPECTED_OPERATIONS, labels
    starved = {label: seen[label].total() for label in labels if seen[label].total() < MIN_CALLS_PER_OPERATION}
    assert not starved, f"operations that got too few requests: {starved}"
    never_ok = [label for label in MUST_SUCCEED if not any(200 <= code < 300 for code in seen[label])]
    assert not never_ok, f"operations that never got a 2xx: {never_ok}"


schema = schemathesis.pytest.from_fixture("irp_api")


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case: schemathesis.Case, answers: dict[str, Counter[int]]) -> None:
    response = case.call()
    answers[case.operation.label][response.status_code] += 1
    case.validate_response(response, checks=[not_a_server_error])
