"""The one write of an import: a layer, or overrides, on a schedule."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max

from oncall.ics_import.detection import detect_rotation
from oncall.ics_import.reading import (
    DEFAULT_WEEKS_AHEAD,
    MAX_WEEKS_AHEAD,
    OVERRIDE_MAX_LENGTH,
    IcsImportError,
    ImportedShift,
    ImportProblem,
    Person,
    describe_moment,
    import_window,
    parse_calendar,
)
from oncall.models import Layer, Override, Schedule
from oncall.services import layer_save, override_create


@dataclass(frozen=True)
class ImportResult:
    filename: str
    window: tuple[datetime, datetime]
    shifts: tuple[ImportedShift, ...]
    problems: tuple[ImportProblem, ...]
    layer: Layer | None
    overrides: tuple[Override, ...]
    # Rows from an earlier import of a file with the same name, which this one replaced.
    replaced: int = 0

    def describe(self) -> str:
        people = len({shift.user_id for shift in self.shifts})
        found = f"Imported {self.filename}: {len(self.shifts)} shift(s) of {people} person(s)"
        if self.layer is None:
            text = (
                f"{found} do not form a regular rotation, so they became {len(self.overrides)} override(s) "
                f"with the reason “{_marker(self.filename)}”."
            )
        else:
            layer = self.layer
            unit = layer.shift_unit[:-1] if layer.shift_length == 1 else layer.shift_unit
            every = f"{layer.shift_length} {unit}"
            ends = (
                f"ends {describe_moment(layer.ends_at, ZoneInfo(layer.schedule.time_zone))}"
                if layer.ends_at
                else "keeps rotating"
            )
            text = (
                f"{found} form a rotation: created the layer “{layer.name}” (level {layer.level}, "
                f"a shift every {every}, {layer.members.count()} turn(s) in the rotation, {ends})."
            )
            if self.overrides:
                text += " The first shift, cut short in the file, became an override."
        if self.replaced:
            text += f" This replaced {self.replaced} layer(s) and override(s) from an earlier import of this file."
        if self.problems:
            text += f" {len(self.problems)} problem(s) to look at."
        return text

    def as_json(self) -> dict[str, Any]:
        return {
            "result": "layer" if self.layer is not None else "overrides",
            "layer": self.layer.pk if self.layer is not None else None,
            "overrides": [override.pk for override in self.overrides],
            "shifts": len(self.shifts),
            "window": {"from": self.window[0].isoformat(), "to": self.window[1].isoformat()},
            "replaced": self.replaced,
            "problems": [{"kind": str(problem.kind), "message": problem.message} for problem in self.problems],
            "message": self.describe(),
        }


def clean_filename(name: str) -> str:
    name = re.split(r"[\\/]", name or "")[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()
    return name[:80] or "calendar.ics"


def _marker(filename: str) -> str:
    return f"Imported from {filename}"


def _overrides_for(
    schedule: Schedule,
    shifts: Iterable[ImportedShift],
    people: dict[int, User],
    *,
    reason: str,
    created_by: User | None,
) -> list[Override]:
    created = []
    for shift in shifts:
        start = shift.start
        while start < shift.end:  # an override lasts a year at most
            end = min(shift.end, start + OVERRIDE_MAX_LENGTH)
            created.append(
                override_create(
                    schedule,
                    user=people[shift.user_id],
                    starts_at=start,
                    ends_at=end,
                    created_by=created_by,
                    reason=reason,
                )
            )
            start = end
    return created


@transaction.atomic
def schedule_import_ics(
    schedule: Schedule,
    data: bytes,
    *,
    filename: str,
    created_by: User | None,
    weeks_ahead: int = DEFAULT_WEEKS_AHEAD,
    now: datetime | None = None,
) -> ImportResult:
    """Import another tool's calendar into `schedule`: a new top layer, or overrides when irregular.

    Importing a file of the same name again replaces what the earlier import created.
    Raises IcsImportError, having changed nothing, when the file cannot be imported at all.
    """
    if not 1 <= weeks_ahead <= MAX_WEEKS_AHEAD:
        raise ValueError(f"weeks_ahead must be between 1 and {MAX_WEEKS_AHEAD}.")
    filename = clean_filename(filename)
    zone = ZoneInfo(schedule.time_zone)
    window = import_window(weeks_ahead, now)
    active = User.objects.filter(is_active=True).only("pk", "username", "email", "first_name", "last_name")
    parsed = parse_calendar(data, people=map(Person.of, active), zone=zone, start=window[0], end=window[1])
    if not parsed.shifts:
        raise IcsImportError("No event in the weeks imported names a person with an IRP account.", parsed.problems)

    marker = _marker(filename)
    _, layers_deleted = schedule.layers.filter(name=marker).delete()
    _, overrides_deleted = schedule.overrides.filter(reason=marker).delete()
    replaced = layers_deleted.get("oncall.Layer", 0) + overrides_deleted.get("oncall.Override", 0)
    people = User.objects.in_bulk({shift.user_id for shift in parsed.shifts})
    rotation = detect_rotation(parsed.shifts, zone)
    layer = None
    if rotation is None:
        overrides = _overrides_for(schedule, parsed.shifts, people, reason=marker, created_by=created_by)
    else:
        top = schedule.layers.aggregate(top=Max("level"))["top"] or 0
        layer = layer_save(
            Layer(
                schedule=schedule,
                name=marker,
                level=top + 1,
                shift_unit=rotation.unit,
                shift_length=rotation.length,
                rotation_start=rotation.rotation_start,
                ends_at=None if parsed.continues_after_window else parsed.shifts[-1].end,
            ),
            participants=[people[user_id] for user_id in rotation.participants],
        )
        overrides = _overrides_for(schedule, rotation.lead_in, people, reason=marker, created_by=created_by)
    return ImportResult(
        filename=filename,
        window=window,
        shifts=parsed.shifts,
        problems=parsed.problems,
        layer=layer,
        overrides=tuple(overrides),
        replaced=replaced,
    )
