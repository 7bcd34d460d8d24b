"""OpenAPI for the ingestion doors, which are plain Django views that drf-spectacular cannot see.

`add_ingestion_endpoints` is a drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS
["POSTPROCESSING_HOOKS"]): it adds `POST /v2/enqueue`, `POST /v2/change/enqueue` and
`POST /integrations/{key}/alerts` with their request and answer shapes (DESIGN.md §4) to
`/api/schema/`. The schema is OpenAPI 3.0, so nullability and "one of" are spelled the 3.0 way.
"""

from __future__ import annotations

import copy
from typing import Any

from incidents.sources.events import SEVERITIES
from incidents.sources.jsonbody import MAX_BODY_BYTES
from incidents.sources.pagerduty import ACTIONS, MAX_DEDUP_KEY, MAX_SUMMARY

Schema = dict[str, Any]

TAG = "ingestion"
JSON = "application/json"


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _text(max_length: int, description: str, *, min_length: int = 0) -> Schema:
    schema: Schema = {"type": "string", "maxLength": max_length, "description": description}
    if min_length:
        schema["minLength"] = min_length
    return schema


ANY_OBJECT: Schema = {"type": "object", "additionalProperties": True}

COMPONENTS: dict[str, Schema] = {
    # --- PagerDuty Events API v2 -------------------------------------------------------------------
    "PagerDutyLink": {
        "type": "object",
        "required": ["href"],
        "properties": {
            "href": _text(2048, "URL of the link.", min_length=1),
            "text": _text(2048, "Text shown for the link."),
        },
    },
    "PagerDutyImage": {
        "type": "object",
        "required": ["src"],
        "properties": {
            "src": _text(2048, "URL of the image.", min_length=1),
            "href": _text(2048, "Where a click on the image leads."),
            "alt": _text(2048, "Alternative text."),
        },
    },
    "PagerDutyPayload": {
        "type": "object",
        "required": ["summary", "source", "severity"],
        "properties": {
            "summary": _text(MAX_SUMMARY, "What is wrong; becomes the incident title.", min_length=1),
            "source": _text(255, "Where the problem is (a host, a service).", min_length=1),
            "severity": {"type": "string", "enum": list(SEVERITIES), "description": "Maps to P1…P4."},
            "timestamp": {"type": "string", "format": "date-time", "description": "When the problem began."},
            "component": _text(255, "The part of the source that is affected."),
            "group": _text(255, "A logical grouping of components."),
            "class": _text(255, "The kind of event (e.g. 'high latency')."),
            "custom_details": {**ANY_OBJECT, "description": "Free-form details, kept and shown."},
        },
    },
    "PagerDutyEvent": {
        "type": "object",
        "description": "A PagerDuty Events API v2 alert event. `payload` is required to trigger; "
        "`dedup_key` is required to acknowledge or resolve.",
        "required": ["routing_key", "event_action"],
        "properties": {
            "routing_key": {"type": "string", "minLength": 1, "description": "The integration's key."},
            "event_action": {"type": "string", "enum": list(ACTIONS)},
            "dedup_key": _text(MAX_DEDUP_KEY, "Identifies the alert; generated and returned when omitted."),
            "payload": _ref("PagerDutyPayload"),
            "links": {"type": "array", "items": _ref("PagerDutyLink")},
            "images": {"type": "array", "items": _ref("PagerDutyImage")},
            "client": {"type": "string", "description": "Name of the sending tool (ignored)."},
            "client_url": {"type": "string", "description": "URL of the sending tool (ignored)."},
        },
    },
    "PagerDutyChangePayload": {
        "type": "object",
        "required": ["summary"],
        "properties": {
            "summary": _text(MAX_SUMMARY, "What changed.", min_length=1),
            "source": _text(255, "Where it changed."),
            "timestamp": {"type": "string", "format": "date-time", "description": "When it changed."},
            "custom_details": {**ANY_OBJECT, "description": "Free-form details, kept and shown."},
        },
    },
    "PagerDutyChangeEvent": {
        "type": "object",
        "description": "A PagerDuty Events API v2 change event (a deploy, a config change).",
        "required": ["routing_key", "payload"],
        "properties": {
            "routing_key": {"type": "string", "minLength": 1, "description": "The integration's key."},
            "payload": _ref("PagerDutyChangePayload"),
            "links": {"type": "array", "items": _ref("PagerDutyLink")},
        },
    },
    "EventAccepted": {
        "type": "object",
        "required": ["status", "message"],
        "properties": {
            "status": {"type": "string", "enum": ["success"]},
            "message": {"type": "string"},
            "dedup_key": {"type": "string", "description": "Only for alert events."},
        },
    },
    "EventInvalid": {
        "type": "object",
        "required": ["status", "message", "errors"],
        "properties": {
            "status": {"type": "string", "enum": ["invalid event"]},
            "message": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "string"}, "description": "Each names one problem."},
        },
    },
    "EventThrottled": {
        "type": "object",
        "required": ["status", "message"],
        "properties": {"status": {"type": "string", "enum": ["throttle event"]}, "message": {"type": "string"}},
    },
    "IngestionUnavailable": {
        "type": "object",
        "required": ["status", "message"],
        "properties": {"status": {"type": "string", "enum": ["unavailable"]}, "message": {"type": "string"}},
    },
    # --- Webhooks at an integration's url ----------------------------------------------------------
    "AlertmanagerAlert": {
        "type": "object",
        "additionalProperties": True,
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "enum": ["firing", "resolved"]},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            "startsAt": {"type": "string", "format": "date-time"},
            "endsAt": {"type": "string", "format": "date-time"},
            "generatorURL": {"type": "string"},
            "fingerprint": {"type": "string"},
        },
    },
    "AlertmanagerWebhook": {
        "type": "object",
        "description": "Prometheus Alertmanager webhook, version 4 (Grafana alerting sends version 1 with "
        "`title`, `message`, `state` and per-alert dashboard, panel, silence and image URLs). "
        "Unknown fields are kept.",
        "additionalProperties": True,
        "required": ["groupKey", "alerts"],
        "properties": {
            "version": {"type": "string", "enum": ["4", "1"]},
            "groupKey": {"type": "string", "minLength": 1},
            "status": {"type": "string", "enum": ["firing", "resolved"]},
            "receiver": {"type": "string"},
            "groupLabels": {"type": "object", "additionalProperties": {"type": "string"}},
            "commonLabels": {"type": "object", "additionalProperties": {"type": "string"}},
            "commonAnnotations": {"type": "object", "additionalProperties": {"type": "string"}},
            "externalURL": {"type": "string"},
            "truncatedAlerts": {"type": "integer", "minimum": 0},
            "alerts": {"type": "array", "items": _ref("AlertmanagerAlert")},
            "title": {"type": "string", "description": "Grafana only."},
            "message": {"type": "string", "description": "Grafana only."},
            "state": {"type": "string", "description": "Grafana only; `ok` resolves every alert."},
        },
    },
    "GenericAlert": {
        "type": "object",
        "description": "IRP's own shape for tools with a configurable webhook (docs/ingestion.md).",
        "required": ["title"],
        "properties": {
            "title": _text(1024, "Becomes the incident title.", min_length=1),
            "dedup_key": {"type": "string", "minLength": 1, "description": "Defaults to the title."},
            "status": {"type": "string", "enum": ["firing", "trigger", "resolved", "resolve", "acknowledge"]},
            "severity": {"type": "string", "description": "critical, error, warning, info, or P1…P4."},
            "source": {"type": "string"},
            "started_at": {"type": "string", "format": "date-time"},
            "details": ANY_OBJECT,
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "links": {"type": "array", "items": _ref("PagerDutyLink")},
        },
    },
    "WebhookAccepted": {
        "type": "object",
        "required": ["status", "message", "incidents"],
        "properties": {
            "status": {"type": "string", "enum": ["success"]},
            "message": {"type": "string"},
            "incidents": {"type": "array", "items": {"type": "integer"}, "description": "Incidents touched."},
        },
    },
    "UnknownIntegration": {
        "type": "object",
        "required": ["status", "message"],
        "properties": {"status": {"type": "string", "enum": ["unknown integration"]}, "message": {"type": "string"}},
    },
}

RETRY_AFTER: Schema = {
    "Retry-After": {"description": "Seconds to wait before sending again.", "schema": {"type": "integer"}}
}


def _answer(description: str, component: str, *, retry_after: bool = False) -> Schema:
    answer: Schema = {"description": description, "content": {JSON: {"schema": _ref(component)}}}
    if retry_after:
        answer["headers"] = copy.deepcopy(RETRY_AFTER)
    return answer


def _answers(success: Schema, client_errors: dict[str, Schema]) -> dict[str, Schema]:
    limit = f"{MAX_BODY_BYTES // 1024} KB"
    return {
        **success,
        **client_errors,
        "413": _answer(f"The body is larger than {limit}.", "EventInvalid"),
        "429": _answer("This key is over its rate limit.", "EventThrottled", retry_after=True),
        "503": _answer("The database is briefly unavailable; send again.", "IngestionUnavailable", retry_after=True),
    }


def _body(schema: Schema, description: str) -> Schema:
    return {"required": True, "description": description, "content": {JSON: {"schema": schema}}}


INVALID_EVENT = {
    "400": _answer(
        "Not a valid event (bad JSON, wrong Content-Type, unknown routing key, a field out of bounds).",
        "EventInvalid",
    )
}

PATHS: dict[str, Schema] = {
    "/v2/enqueue": {
        "post": {
            "operationId": "pagerduty_enqueue",
            "summary": "Send an alert event (PagerDuty Events API v2)",
            "description": "Trigger, acknowledge or resolve an alert, exactly as PagerDuty's endpoint does. "
            "Authenticated by `routing_key`.",
            "tags": [TAG],
            "security": [],
            "requestBody": _body(_ref("PagerDutyEvent"), "A PagerDuty Events API v2 event."),
            "responses": _answers({"202": _answer("Event processed.", "EventAccepted")}, INVALID_EVENT),
        }
    },
    "/v2/change/enqueue": {
        "post": {
            "operationId": "pagerduty_change_enqueue",
            "summary": "Send a change event (PagerDuty Events API v2)",
            "description": "Record a change on the integration's service; incidents opening within the "
            "following hour show it. Authenticated by `routing_key`.",
            "tags": [TAG],
            "security": [],
            "requestBody": _body(_ref("PagerDutyChangeEvent"), "A PagerDuty Events API v2 change event."),
            "responses": _answers({"202": _answer("Change event processed.", "EventAccepted")}, INVALID_EVENT),
        }
    },
    "/integrations/{key}/alerts": {
        "post": {
            "operationId": "integration_webhook",
            "summary": "Send a monitoring tool's webhook to an integration",
            "description": "The integration's `url`. The body is read as the integration's kind says: "
            "Alertmanager (version 4), Grafana alerting (version 1), IRP's generic JSON, or a PagerDuty "
            "event. Authenticated by the key in the path.",
            "tags": [TAG],
            "security": [],
            "parameters": [
                {
                    "name": "key",
                    "in": "path",
                    "required": True,
                    "description": "The integration's secret key.",
                    "schema": {"type": "string"},
                }
            ],
            "requestBody": _body(
                {
                    "anyOf": [_ref("AlertmanagerWebhook"), _ref("GenericAlert"), _ref("PagerDutyEvent")],
                    "description": "Any JSON object; which shape is valid depends on the integration's kind.",
                },
                "A webhook body in the shape of the integration's kind.",
            ),
            "responses": _answers(
                {"200": _answer("Alerts processed.", "WebhookAccepted")},
                {
                    "400": _answer("Not valid for this integration's kind.", "EventInvalid"),
                    "404": _answer("No integration has this key.", "UnknownIntegration"),
                },
            ),
        }
    },
}


def add_ingestion_endpoints(result: Schema, generator: Any = None, **kwargs: Any) -> Schema:
    """Add the ingestion paths and their components to the generated schema."""
    result.setdefault("paths", {}).update(copy.deepcopy(PATHS))
    result.setdefault("components", {}).setdefault("schemas", {}).update(copy.deepcopy(COMPONENTS))
    tags = result.setdefault("tags", [])
    if not any(tag.get("name") == TAG for tag in tags):
        tags.append({"name": TAG, "description": "Doors for monitoring tools (DESIGN.md §4)."})
    return result
