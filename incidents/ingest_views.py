"""HTTP doors for monitoring tools. Each parses, checks the key and the rate, and calls one service."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from django.db import OperationalError
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from incidents.models import Integration
from incidents.services.ingestion import change_event_record, ingest_events
from incidents.services.ratelimit import rate_limit_consume, rate_limit_consume_by_key
from incidents.services.routing import PlanIncomplete
from incidents.sources import alertmanager, generic, grafana, pagerduty
from incidents.sources.events import AlertEvent, InvalidEvent
from incidents.sources.jsonbody import MAX_BODY_BYTES, BodyError, load_json

logger = logging.getLogger(__name__)
T = TypeVar("T")

WEBHOOK_PARSERS: dict[str, Callable[[Any], list[AlertEvent]]] = {
    Integration.Kind.ALERTMANAGER: alertmanager.parse,
    Integration.Kind.GRAFANA: grafana.parse,
    Integration.Kind.GENERIC: generic.parse,
    Integration.Kind.PAGERDUTY: lambda body: [pagerduty.parse_event(body)],
}


def invalid(errors: list[str], *, status: int = 400) -> JsonResponse:
    # PagerDuty's own answer for a bad event, so its clients report the errors as they would.
    return JsonResponse(
        {"status": "invalid event", "message": "Event object is invalid", "errors": errors}, status=status
    )


def read_json(request: HttpRequest) -> Any:
    content_type = request.content_type or ""
    if content_type != "application/json":
        raise BodyError(f"Content-Type must be application/json, not {content_type or 'missing'!r}.")
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        raise BodyError(f"The body is larger than {MAX_BODY_BYTES // 1024} KB.", status=413)
    return load_json(request.read(MAX_BODY_BYTES + 1))


def too_many(retry_after: int, limit: int) -> JsonResponse:
    response = JsonResponse(
        {"status": "throttle event", "message": f"Rate limit of {limit} events per minute for this key exceeded"},
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


def unavailable(message: str = "Try again shortly") -> JsonResponse:
    # A transient fault: 5xx so the sender retries (Alertmanager and PagerDuty clients do) and the
    # alert is not lost while the database is away or the plan is being fixed.
    response = JsonResponse({"status": "unavailable", "message": message}, status=503)
    response["Retry-After"] = "5"
    return response


def _integration_for_routing_key(body: Any) -> Integration:
    key = pagerduty.parse_routing_key(body)
    integration = Integration.objects.select_related("service").order_by().filter(key=key).first()
    if integration is None:
        raise InvalidEvent(["'routing_key' does not match any integration"])
    return integration


def store_within_limit(
    integration: Integration,
    store: Callable[[datetime], T],
    *,
    events: int = 1,
    counted: bool = False,
    now: datetime | None = None,
) -> tuple[T | None, JsonResponse | None]:
    """Count the events against the key's rate limit (unless already `counted`), then store them;
    or say why not (429/503)."""
    now = now or timezone.now()
    try:
        if not counted:
            allowance = rate_limit_consume(integration, now=now, events=max(1, events))
            if not allowance.allowed:
                return None, too_many(allowance.retry_after_seconds, allowance.limit)
        return store(now), None
    except OperationalError:
        logger.exception("could not store events from integration %s", integration.pk)
        return None, unavailable()
    except PlanIncomplete as error:
        logger.error("could not open an incident: %s", error)
        return None, unavailable(str(error))


@csrf_exempt
@require_POST
def pagerduty_enqueue(request: HttpRequest) -> JsonResponse:
    try:
        body = read_json(request)
        key = pagerduty.parse_routing_key(body)
        event = pagerduty.parse_event(body)
    except BodyError as error:
        return invalid([str(error)], status=error.status)
    except InvalidEvent as error:
        return invalid(error.errors)
    now = timezone.now()
    try:
        # The hottest door: the key lookup and the rate limit are one statement.
        found = rate_limit_consume_by_key(key, now=now)
        if found is None:
            return invalid(["'routing_key' does not match any integration"])
        integration, allowance = found
        if not allowance.allowed:
            return too_many(allowance.retry_after_seconds, allowance.limit)
    except OperationalError:
        logger.exception("could not count an event against its key's limit")
        return unavailable()
    _, refused = store_within_limit(
        integration, lambda now: ingest_events(integration, [event], now=now), counted=True, now=now
    )
    return refused or JsonResponse(
        {"status": "success", "message": "Event processed", "dedup_key": event.incident_key}, status=202
    )


@csrf_exempt
@require_POST
def pagerduty_change_enqueue(request: HttpRequest) -> JsonResponse:
    try:
        body = read_json(request)
        integration = _integration_for_routing_key(body)
        change = pagerduty.parse_change_event(body)
    except BodyError as error:
        return invalid([str(error)], status=error.status)
    except InvalidEvent as error:
        return invalid(error.errors)
    _, refused = store_within_limit(integration, lambda now: change_event_record(integration, change, now=now))
    return refused or JsonResponse({"status": "success", "message": "Change event processed"}, status=202)


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, key: str) -> JsonResponse:
    integration = Integration.objects.select_related("service").order_by().filter(key=key).first()
    if integration is None:
        return JsonResponse({"status": "unknown integration", "message": "No integration has this key"}, status=404)
    try:
        events = WEBHOOK_PARSERS[integration.kind](read_json(request))
    except BodyError as error:
        return invalid([str(error)], status=error.status)
    except InvalidEvent as error:
        return invalid(error.errors)
    outcomes, refused = store_within_limit(
        integration, lambda now: ingest_events(integration, events, now=now), events=len(events)
    )
    if refused is not None:
        return refused
    incidents = sorted({outcome.incident_id for outcome in outcomes or [] if outcome.incident_id})
    return JsonResponse({"status": "success", "message": f"{len(events)} alert(s) processed", "incidents": incidents})
