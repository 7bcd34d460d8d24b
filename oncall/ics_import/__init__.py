"""Import an .ics file into a schedule: as one layer when it is a regular rotation, else as overrides."""

from oncall.ics_import.detection import detect_rotation
from oncall.ics_import.reading import (
    DEFAULT_WEEKS_AHEAD,
    MAX_UPLOAD_BYTES,
    MAX_WEEKS_AHEAD,
    IcsImportError,
    ImportedShift,
    ImportProblem,
    PeopleIndex,
    Person,
    ProblemKind,
    parse_calendar,
)
from oncall.ics_import.service import ImportResult, schedule_import_ics

__all__ = [
    "DEFAULT_WEEKS_AHEAD",
    "MAX_UPLOAD_BYTES",
    "MAX_WEEKS_AHEAD",
    "IcsImportError",
    "ImportProblem",
    "ImportResult",
    "ImportedShift",
    "PeopleIndex",
    "Person",
    "ProblemKind",
    "detect_rotation",
    "parse_calendar",
    "schedule_import_ics",
]
