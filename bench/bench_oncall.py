"""Who is on call: the cost of the final schedule must not grow with a rotation's age (issue 4).

The schedule work is measured in a Django process of its own (`python -m bench.bench_oncall PHASE`,
started with the server's settings and database), which prints its timings as one JSON line; the
endpoint is loaded with wrk like every other row. All of it asks about one fixed instant, `AT`
(a Wednesday, 14:30 in Berlin), so runs compare with each other.

Rows:

- **on_call_at, pure**: `oncall.rotation.on_call_at` on a spec of 3 layers (weekly, daily on
  weekdays 09:00–17:00, 12-hourly at weekends, Europe/Berlin) and 20 overrides, once for layers
  that started a week before `AT`, once for the same layers started ten years before. Median of
  interleaved batches of calls. The ten-year row's ratio is taken against the one-week row, so it
  reads `1 / cost ratio`; the target is a cost ratio ≤ 1.5 (a ratio column ≥ 0.67), and the row
  counts an error when it is missed, which fails the run.
- **on_call_at, from the database**: the same two schedules, loaded as the API loads them
  (`schedules_with_rotations` for one schedule, then `shifts_between`, which builds the spec with
  `schedule_spec` from the overrides `overrides_between` finds). The ten-year schedule also holds
  ten years of past overrides (one a week), which a query for `AT` must not read. Same target.
- **who is on call, 2 schedules**: `GET /api/v1/oncall/?at=…` under wrk, against the bare
  yardstick, while only those two schedules exist. Its answer is checked against the in-process one.
- **500 schedules × 3 layers × 20 overrides at one instant**: 500 more schedules (random zones,
  rotation ages from a week to ten years, 20 overrides each within ±15 days of `AT`) made with
  `bulk_create`, then resolved at `AT` as the API does: `schedules_with_rotations`,
  `overrides_between`, `schedule_spec` + `final_schedule` per schedule. The figures are per
  schedule (the total divided by 500); the parts and the query count are printed.
- **who is on call, 502 schedules**: the same endpoint answering for all of them, one request at a
  time (32 connections would queue past wrk's 2 s timeout). Checked against the in-process answers.
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from functools import partial
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bench.context import BenchmarkError, Context, Row
from bench.phases import phase_run
from bench.wrk import Measurement

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from oncall.models import Layer, LayerMember, LayerRestriction, Override, Schedule

AT = datetime(2026, 11, 25, 13, 30, tzinfo=UTC)
AT_QUERY = AT.isoformat().replace("+00:00", "Z")
API_PATH = f"/api/v1/oncall/?at={AT_QUERY}"
INSTANT = timedelta(microseconds=1)
MAX_COST_RATIO = 1.5
TEN_YEARS = timedelta(days=3652)
ONE_WEEK = timedelta(days=7)

SCHEDULES = 500
OVERRIDES_PER_SCHEDULE = 20
USERS = 60
PREFIX = "bench-oncall"
SEED = 4

# Short interleaved batches: one batch of each kind in turn (in alternating order), so what other
# work on the machine does to the figures hits both kinds alike.
PURE_BATCHES = 41
PURE_CALLS_PER_BATCH = 100
DB_BATCHES = 21
DB_CALLS_PER_BATCH = 5
LARGE_REPEATS = 3
SEQUENTIAL_REQUESTS = 3
WORKER_TIMEOUT_S = 300


def run(ctx: Context) -> list[Row]:
    small = _worker(ctx, "small")
    headers = {"Authorization": f"Bearer {small['token']}"}
    pure, db, pure_calls, db_calls = small["pure"], small["db"], PURE_CALLS_PER_BATCH, DB_CALLS_PER_BATCH
    pure_week = _timing_row(ctx, "on_call_at, started 1 week ago", "rotation.on_call_at", pure["1w"], pure_calls)
    pure_decade = _ratio_row(
        ctx, "on_call_at, started 10 years ago", "rotation.on_call_at", pure["10y"], pure_calls, pure_week
    )
    db_week = _timing_row(ctx, "from the DB, started 1 week ago", "selectors.shifts_between", db["1w"], db_calls)
    db_decade = _ratio_row(
        ctx, "from the DB, started 10 years ago", "selectors.shifts_between", db["10y"], db_calls, db_week
    )
    http_small = _measure_api(ctx, "who is on call, 2 schedules", headers, small["on_call"])

    large = _worker(ctx, "large")
    rows = [pure_week, pure_decade, db_week, db_decade, http_small, _large_row(ctx, large)]
    rows.append(_sequential_api(ctx, headers, {**small["on_call"], **large["on_call"]}))
    return rows


# --- The rows, in the runner's process --------------------------------------------------------


def _timing_row(
    ctx: Context, name: str, function: str, samples: list[float], calls: int, baseline: Row | None = None
) -> Row:
    """A row from in-process timings, seconds per call by batch: requests/s is 1 / the median batch."""
    median = statistics.median(samples)
    measurement = Measurement(
        requests=len(samples) * calls,
        duration_s=median * len(samples) * calls,
        p50_ms=median * 1000,
        p99_ms=_p99(samples) * 1000,
        errors={},
    )
    return Row(ctx.current_benchmark, name, "call", function, measurement, baseline, json.dumps({"samples_s": samples}))


def _ratio_row(ctx: Context, name: str, function: str, samples: list[float], calls: int, week: Row) -> Row:
    row = _timing_row(ctx, name, function, samples, calls, baseline=week)
    cost_ratio = row.measurement.p50_ms / week.measurement.p50_ms
    met = cost_ratio <= MAX_COST_RATIO
    _say(
        f"{name}: {row.measurement.p50_ms * 1000:.1f} µs vs {week.measurement.p50_ms * 1000:.1f} µs a week after the "
        f"start: {cost_ratio:.2f} x (target ≤ {MAX_COST_RATIO}): {'met' if met else 'NOT met'}"
    )
    row.measurement = replace(row.measurement, errors={"cost_ratio_over_1_5": 0 if met else 1})
    return row


def _large_row(ctx: Context, large: dict[str, Any]) -> Row:
    count = large["schedules"]
    repeats: list[dict[str, float]] = large["repeats"]
    per_schedule = [repeat["total"] / count for repeat in repeats]
    parts = {part: statistics.median(repeat[part] for repeat in repeats) * 1000 for part in repeats[0]}
    errors = {"nobody_on_call": large["nobody_on_call"]}
    _say(
        f"{count} schedules x 3 layers x {OVERRIDES_PER_SCHEDULE} overrides (made in {large['create_s']:.1f} s): "
        f"resolved at one instant in {parts['total']:.1f} ms, {statistics.median(per_schedule) * 1e6:.0f} µs per "
        f"schedule (loading layers {parts['load']:.1f} ms, overrides {parts['overrides']:.1f} ms, final schedules "
        f"{parts['compute']:.1f} ms; {large['queries']} queries); {large['nobody_on_call']} with nobody on call"
    )
    measurement = Measurement(
        requests=count * len(repeats),
        duration_s=statistics.median(per_schedule) * count * len(repeats),
        p50_ms=statistics.median(per_schedule) * 1000,
        p99_ms=_p99(per_schedule) * 1000,
        errors=errors,
    )
    name = f"{count} schedules x 3 layers x {OVERRIDES_PER_SCHEDULE} overrides, per schedule"
    summary = {key: value for key, value in large.items() if key != "on_call"}
    return Row(ctx.current_benchmark, name, "call", "selectors.shifts_between", measurement, None, json.dumps(summary))


def _measure_api(ctx: Context, name: str, headers: dict[str, str], expected: dict[str, int | None]) -> Row:
    wrong, _ = _wrong_answers(ctx, headers, expected)
    row = ctx.measure(name, API_PATH, headers=headers, baseline=ctx.yardstick_bare())
    # A server too slow to answer anything within the run shows no errors in wrk's count.
    errors = {**row.measurement.errors, "wrong_answer": wrong, "no_answer": int(row.measurement.requests == 0)}
    row.measurement = replace(row.measurement, errors=errors)
    return row


def _sequential_api(ctx: Context, headers: dict[str, str], expected: dict[str, int | None]) -> Row:
    """One request at a time: the latency of the whole answer, not the server's capacity."""
    wrong, answered = _wrong_answers(ctx, headers, expected)  # also the warm-up
    name = f"who is on call, {answered} schedules"
    samples: list[float] = []
    failed = 0
    for _ in range(SEQUENTIAL_REQUESTS):
        start = time.perf_counter()
        status, _ = ctx.request("GET", API_PATH, headers=headers)
        samples.append(time.perf_counter() - start)
        failed += status >= 400
    _say(f"{name}: {statistics.median(samples) * 1000:.1f} ms per request, one at a time")
    measurement = Measurement(
        requests=len(samples),
        duration_s=sum(samples),
        p50_ms=statistics.median(samples) * 1000,
        p99_ms=_p99(samples) * 1000,
        errors={"status": failed, "wrong_answer": wrong},
    )
    return Row(ctx.current_benchmark, f"{name}, one request at a time", "GET", API_PATH, measurement)


def _wrong_answers(ctx: Context, headers: dict[str, str], expected: dict[str, int | None]) -> tuple[int, int]:
    """Schedules for which the API names someone else than the in-process answer; schedules answered."""
    status, content = ctx.request("GET", API_PATH, headers=headers)
    if status != 200:
        raise BenchmarkError(f"GET {API_PATH} answered {status}: {content[:300]!r}")
    answered = {
        str(entry["schedule"]["id"]): entry["on_call"]["id"] if entry["on_call"] else None
        for entry in json.loads(content)["schedules"]
    }
    wrong = sum(answered.get(pk, "missing") != user_id for pk, user_id in expected.items())
    if wrong:
        _say(f"the API names someone else than the in-process answer for {wrong} of {len(expected)} schedules")
    return wrong, len(answered)


def _worker(ctx: Context, phase: str) -> dict[str, Any]:
    result, seconds = phase_run(ctx, "bench.bench_oncall", phase, timeout_s=WORKER_TIMEOUT_S)
    _say(f"the {phase} phase took {seconds:.1f} s")
    return result


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98] if len(samples) > 1 else samples[0]


def _say(message: str) -> None:
    print(f"bench: oncall: {message}", file=sys.stderr, flush=True)


# --- The measuring process: Django with the server's settings and database --------------------


def _phase_small() -> dict[str, Any]:
    from django.contrib.auth.models import User

    from irp_site.services import api_token_issue
    from oncall.models import Schedule
    from oncall.rotation import ScheduleSpec, on_call_at
    from oncall.selectors import overrides_between, schedule_spec, schedules_with_rotations

    users = _users()
    admin = User.objects.create_superuser(f"{PREFIX}-admin", email=None, password=None)
    _, token = api_token_issue(admin, name="bench oncall")
    pks: dict[str, int] = {}
    for key, age in (("1w", ONE_WEEK), ("10y", TEN_YEARS)):
        # The same seed for both: the same participants and the same 20 overrides around AT.
        wanted = [(f"{PREFIX}-{key}", "Europe/Berlin", AT - age)]
        [pks[key]] = _make_schedules(wanted, users, random.Random(SEED), history=key == "10y")

    def spec_of(pk: int) -> ScheduleSpec:
        schedule = schedules_with_rotations(Schedule.objects.filter(pk=pk)).get()
        return schedule_spec(schedule, overrides=overrides_between([schedule], AT, AT + INSTANT)[pk])

    specs = {key: spec_of(pk) for key, pk in pks.items()}
    pure = _interleaved(
        {key: partial(on_call_at, spec, AT) for key, spec in specs.items()},
        batches=PURE_BATCHES,
        calls_per_batch=PURE_CALLS_PER_BATCH,
    )
    db = _interleaved(
        {key: partial(_on_call_from_db, pk) for key, pk in pks.items()},
        batches=DB_BATCHES,
        calls_per_batch=DB_CALLS_PER_BATCH,
    )
    on_call = {str(pk): _on_call_from_db(pk) for pk in pks.values()}
    if any(on_call_at(specs[key], AT) != on_call[str(pk)] for key, pk in pks.items()):
        raise BenchmarkError("on_call_at on the spec and shifts_between disagree")
    return {"token": token, "schedules": pks, "on_call": on_call, "pure": pure, "db": db}


def _phase_large() -> dict[str, Any]:
    from django.db import connection

    from oncall.models import Schedule
    from oncall.rotation import final_schedule
    from oncall.selectors import overrides_between, schedule_spec, schedules_with_rotations

    users = _users()
    rng = random.Random(SEED)
    zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]
    started = time.perf_counter()
    names = [
        (f"{PREFIX}-{number:03d}", rng.choice(zones), AT - timedelta(days=rng.uniform(7, TEN_YEARS.days)))
        for number in range(SCHEDULES)
    ]
    pks = _make_schedules(names, users, rng, history=False)
    create_s = time.perf_counter() - started

    repeats: list[dict[str, float]] = []
    queries: list[int] = []
    on_call: dict[str, int | None] = {}
    for _ in range(LARGE_REPEATS):
        with _counting_queries(connection) as counted:
            start = time.perf_counter()
            # The 500 only (ids from one bulk_create are consecutive), not the two of the small phase.
            schedules = list(schedules_with_rotations(Schedule.objects.filter(pk__gte=min(pks), pk__lte=max(pks))))
            loaded = time.perf_counter()
            overrides = overrides_between(schedules, AT, AT + INSTANT)
            found = time.perf_counter()
            shifts = {
                schedule.pk: final_schedule(schedule_spec(schedule, overrides=overrides[schedule.pk]), AT, AT + INSTANT)
                for schedule in schedules
            }
            done = time.perf_counter()
        queries.append(len(counted))
        repeats.append(
            {"load": loaded - start, "overrides": found - loaded, "compute": done - found, "total": done - start}
        )
        on_call = {str(pk): found_shifts[0].user_id if found_shifts else None for pk, found_shifts in shifts.items()}
    return {
        "schedules": SCHEDULES,
        "schedules_resolved": len(on_call),
        "create_s": create_s,
        "repeats": repeats,
        "queries": max(queries),
        "nobody_on_call": sum(user_id is None for user_id in on_call.values()),
        "on_call": on_call,
    }


def _on_call_from_db(pk: int) -> int | None:
    from oncall.models import Schedule
    from oncall.selectors import schedules_with_rotations, shifts_between

    schedules = list(schedules_with_rotations(Schedule.objects.filter(pk=pk)))
    shifts = shifts_between(schedules, AT, AT + INSTANT)[pk]
    return shifts[0].user_id if shifts else None


def _users() -> list[User]:
    from django.contrib.auth.models import User

    existing = list(User.objects.filter(username__startswith=f"{PREFIX}-user-").order_by("pk"))
    if existing:
        return existing
    return User.objects.bulk_create(
        User(username=f"{PREFIX}-user-{number}", first_name="On", last_name=f"Call {number}", password="!")
        for number in range(USERS)
    )


def _make_schedules(
    wanted: list[tuple[str, str, datetime]], users: list[User], rng: random.Random, *, history: bool
) -> list[int]:
    """Schedules of 3 layers and 20 overrides around AT, with bulk_create; returns their ids.

    Each layer hands off at 09:00 in the schedule's zone on the day `started` falls on:
    level 1 weekly, around the clock; level 2 daily, weekdays 09:00–17:00; level 3 every 12 hours,
    at weekends. `history` adds one override a week from the start to two weeks before AT.
    """
    from oncall.models import Layer, LayerMember, LayerRestriction, Override, Schedule

    schedules = Schedule.objects.bulk_create(Schedule(name=name, time_zone=zone) for name, zone, _ in wanted)
    layers: list[Layer] = []
    for schedule, (_, zone, started) in zip(schedules, wanted, strict=True):
        handoff = started.astimezone(ZoneInfo(zone)).replace(hour=9, minute=0, second=0, microsecond=0)
        layers += [
            Layer(
                schedule=schedule, name="Primary", level=1, shift_unit="weeks", shift_length=1, rotation_start=handoff
            ),
            Layer(schedule=schedule, name="Business hours", level=2, shift_unit="days", rotation_start=handoff),
            Layer(
                schedule=schedule, name="Weekends", level=3, shift_unit="hours", shift_length=12, rotation_start=handoff
            ),
        ]
    layers = Layer.objects.bulk_create(layers)
    members: list[LayerMember] = []
    restrictions: list[LayerRestriction] = []
    for layer in layers:
        people = rng.sample(users, 6 - layer.level)
        members += [LayerMember(layer=layer, user=user, position=position) for position, user in enumerate(people)]
        if layer.level == 2:
            restrictions += [
                LayerRestriction(layer=layer, start_day=day, start_time=clock(9), end_day=day, end_time=clock(17))
                for day in range(5)
            ]
        elif layer.level == 3:
            restrictions.append(
                LayerRestriction(layer=layer, start_day=5, start_time=clock(0), end_day=0, end_time=clock(0))
            )
    LayerMember.objects.bulk_create(members)
    LayerRestriction.objects.bulk_create(restrictions)
    Override.objects.bulk_create(_overrides(schedules, wanted, users, rng, history=history))
    return [schedule.pk for schedule in schedules]


def _overrides(
    schedules: list[Schedule],
    wanted: list[tuple[str, str, datetime]],
    users: list[User],
    rng: random.Random,
    *,
    history: bool,
) -> Iterator[Override]:
    from oncall.models import Override

    created = AT - TEN_YEARS
    past = random.Random(SEED + 1)  # the history must not change the overrides around AT
    for schedule, (_, _, started) in zip(schedules, wanted, strict=True):
        if history:
            moment = started
            while moment < AT - 2 * ONE_WEEK:
                created += timedelta(seconds=1)
                yield Override(
                    schedule=schedule,
                    user=past.choice(users),
                    starts_at=moment,
                    ends_at=moment + timedelta(days=1),
                    created_at=created,
                )
                moment += ONE_WEEK
        for _ in range(OVERRIDES_PER_SCHEDULE):
            starts = AT + timedelta(hours=rng.uniform(-15 * 24, 15 * 24))
            created += timedelta(seconds=1)
            yield Override(
                schedule=schedule,
                user=rng.choice(users),
                starts_at=starts,
                ends_at=starts + timedelta(hours=rng.uniform(1, 48)),
                created_at=created,
            )


def _interleaved(
    calls: dict[str, Callable[[], object]], *, batches: int, calls_per_batch: int
) -> dict[str, list[float]]:
    """Seconds per call, one figure per batch; the kinds take turns, in alternating order."""
    for call in calls.values():  # warm-up: imports, caches, the connection
        for _ in range(max(1, calls_per_batch // 10)):
            call()
    samples: dict[str, list[float]] = {key: [] for key in calls}
    gc.collect()
    gc.disable()
    try:
        for batch in range(batches):
            order = list(calls.items()) if batch % 2 == 0 else list(reversed(calls.items()))
            for key, call in order:
                start = time.perf_counter()
                for _ in range(calls_per_batch):
                    call()
                samples[key].append((time.perf_counter() - start) / calls_per_batch)
    finally:
        gc.enable()
    return samples


@contextmanager
def _counting_queries(connection: Any) -> Iterator[list[str]]:
    executed: list[str] = []

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield executed


def main(argv: list[str]) -> int:
    import django

    django.setup()
    phases: dict[str, Callable[[], dict[str, Any]]] = {"small": _phase_small, "large": _phase_large}
    if len(argv) != 1 or argv[0] not in phases:
        print(f"usage: python -m bench.bench_oncall {{{','.join(phases)}}}", file=sys.stderr)
        return 2
    print(json.dumps(phases[argv[0]]()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
