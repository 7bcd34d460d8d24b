"""The engine: a loop that claims due work every tick.

Apps register what they need done on each tick (escalation steps, comms obligations, handoff
notices) with `register`; the loop itself only knows about ticks, heartbeats and clean shutdown.
Each tick function must claim its rows with `SELECT … FOR UPDATE SKIP LOCKED` so any number of
engines can run side by side.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime
from types import FrameType

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from irp_site.heartbeats import forget_stopped_processes
from irp_site.models import Heartbeat
from irp_site.services import heartbeat_record

logger = logging.getLogger(__name__)

TickFunction = Callable[[datetime], object]
_tick_functions: dict[str, TickFunction] = {}

# How many ticks between removals of heartbeats of processes that are long gone.
HOUSEKEEPING_EVERY_TICKS = 3600


def register(name: str, function: TickFunction) -> None:
    _tick_functions[name] = function


def registered() -> dict[str, TickFunction]:
    return dict(_tick_functions)


# The engine ticks several times a second; its heartbeat needs writing only about once a second.
HEARTBEAT_EVERY_SECONDS = 1.0


def tick(now: datetime | None = None, *, beat: bool = True) -> None:
    now = now or timezone.now()
    if beat:
        heartbeat_record(Heartbeat.Kind.ENGINE, at=now)
    for name, function in _tick_functions.items():
        try:
            function(now)
        except Exception:
            # One failing kind of work must not stop the others, nor the heartbeat.
            logger.exception("engine tick %s failed", name)


class Engine:
    def __init__(self, tick_seconds: float | None = None) -> None:
        self.tick_seconds = tick_seconds or settings.ENGINE_TICK_SECONDS
        self.stopping = threading.Event()

    def stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        self.stopping.set()

    def run(self, *, max_ticks: int | None = None) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        ticks = 0
        last_beat = -HEARTBEAT_EVERY_SECONDS
        logger.info("engine started, ticking every %.2f s", self.tick_seconds)
        while not self.stopping.is_set():
            started = time.monotonic()
            close_old_connections()
            try:
                beat = started - last_beat >= HEARTBEAT_EVERY_SECONDS
                tick(beat=beat)
                if beat:
                    last_beat = started
                if ticks % HOUSEKEEPING_EVERY_TICKS == 0:
                    forget_stopped_processes(timezone.now())
            except Exception:
                # Typically the database is away; keep trying, /healthz reports the stale beat.
                logger.exception("engine tick failed")
            ticks += 1
            if max_ticks is not None and ticks >= max_ticks:
                break
            self.stopping.wait(max(0.0, self.tick_seconds - (time.monotonic() - started)))
        logger.info("engine stopped after %d ticks", ticks)
        return ticks
