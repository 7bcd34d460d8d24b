from collections.abc import Iterator
from datetime import datetime

import pytest

from irp_site import engine
from irp_site.models import Heartbeat

# The engine runs in autocommit and recycles its connection each tick, as it does in production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tick_functions() -> Iterator[dict[str, engine.TickFunction]]:
    saved = engine.registered()
    yield engine._tick_functions
    engine._tick_functions.clear()
    engine._tick_functions.update(saved)


def test_the_engine_beats_and_runs_every_registered_tick(tick_functions: dict[str, engine.TickFunction]) -> None:
    seen: list[datetime] = []
    engine.register("record", seen.append)

    ticks = engine.Engine(tick_seconds=0.01).run(max_ticks=3)

    assert ticks == 3
    assert len(seen) == 3
    assert seen == sorted(seen)
    # Three ticks within a second: one heartbeat, written on the first.
    beat = Heartbeat.objects.get(kind=Heartbeat.Kind.ENGINE)
    assert beat.beat_at == seen[0]


def test_one_failing_kind_of_work_does_not_stop_the_others(tick_functions: dict[str, engine.TickFunction]) -> None:
    seen: list[datetime] = []

    def broken(now: datetime) -> None:
        raise RuntimeError("boom")

    engine.register("broken", broken)
    engine.register("record", seen.append)

    engine.Engine(tick_seconds=0.01).run(max_ticks=2)

    assert len(seen) == 2
    assert Heartbeat.objects.filter(kind=Heartbeat.Kind.ENGINE).exists()
