from django.http import HttpRequest, JsonResponse


def bare(request: HttpRequest) -> JsonResponse:
    """No database, no DRF: what IRP's middleware stack alone costs per request."""
    return JsonResponse({"ok": True, "yardstick": "bare"})
