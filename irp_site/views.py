from __future__ import annotations

from typing import Any

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from irp_site.auditor import describe, overdue_work
from irp_site.heartbeats import heartbeat_checks


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, dict[str, Any]] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = {"ok": True, "vendor": connection.vendor}
    except DatabaseError as error:
        checks["database"] = {"ok": False, "message": f"database unreachable: {error.__class__.__name__}"}
    if checks["database"]["ok"]:
        try:
            checks.update(heartbeat_checks())
        except DatabaseError as error:
            checks["database"] = {"ok": False, "message": f"database error: {error.__class__.__name__}"}
    failing = sorted(name for name, check in checks.items() if not check["ok"])
    if failing:
        body = {"status": "unhealthy", "failing": failing, "checks": checks}
        return JsonResponse(body, status=503)
    # Late due work with every process alive: still serving (200, so a load balancer keeps this
    # node), but whoever watches /healthz must hear that paging is behind.
    late = overdue_work()
    checks["due_work"] = {"ok": not late, "overdue_seconds": late}
    if late:
        checks["due_work"]["message"] = describe(late)
        return JsonResponse({"status": "degraded", "failing": ["due_work"], "checks": checks})
    return JsonResponse({"status": "ok", "checks": checks})


def home(request: HttpRequest) -> HttpResponse:
    return redirect("incidents:plan")


def favicon(request: HttpRequest) -> HttpResponse:
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's).
    return redirect(static("irp/favicon.svg"), permanent=True)
