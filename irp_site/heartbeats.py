"""Heartbeats of the worker and engine processes, and what /healthz makes of them."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.db.models import Max
from django.utils import timezone

from irp_site.models import Heartbeat
from irp_site.services import heartbeat_record

logger = logging.getLogger(__name__)

BEAT_INTERVAL_SECONDS = 1.0
# Rows of processes that stopped long ago are removed so the table stays one row per live process.
FORGET_AFTER = timedelta(days=1)


def latest_beats() -> dict[str, datetime | None]:
    beats = dict(Heartbeat.objects.values_list("kind").annotate(last=Max("beat_at")))
    return {kind: beats.get(kind) for kind in Heartbeat.Kind.values}


def forget_stopped_processes(now: datetime) -> int:
    deleted, _ = Heartbeat.objects.filter(beat_at__lt=now - FORGET_AFTER).delete()
    return deleted


def _beat_forever(stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            close_old_connections()
            heartbeat_record(Heartbeat.Kind.WORKER)
        except Exception:
            # A database hiccup must not kill the worker; /healthz shows the stale beat instead.
            logger.exception("worker heartbeat failed")
        stop.wait(BEAT_INTERVAL_SECONDS)


def _start_worker_heartbeat(sender: Any, proc_name: str, **kwargs: Any) -> None:
    # Runs inside each django-q2 worker process as it spawns: a worker that dies takes its
    # heartbeat with it, and the cluster's replacement starts a new one.
    thread = threading.Thread(target=_beat_forever, args=(threading.Event(),), name="irp-heartbeat", daemon=True)
    thread.start()


def connect_worker_heartbeat() -> None:
    from django_q.signals import post_spawn

    post_spawn.connect(_start_worker_heartbeat, dispatch_uid="irp_worker_heartbeat")


def heartbeat_checks(now: datetime | None = None) -> dict[str, dict[str, Any]]:
    now = now or timezone.now()
    max_age = settings.HEARTBEAT_MAX_AGE_SECONDS
    checks: dict[str, dict[str, Any]] = {}
    for kind, last in latest_beats().items():
        if last is None:
            checks[kind] = {"ok": False, "message": f"no {kind} has ever reported"}
            continue
        age = (now - last).total_seconds()
        ok = age <= max_age
        checks[kind] = {
            "ok": ok,
            "age_seconds": round(age, 3),
            "last_beat_at": last.isoformat(),
        }
        if not ok:
            checks[kind]["message"] = f"last {kind} heartbeat {age:.0f} s ago (limit {max_age} s)"
    return checks
