"""Reading a request body as JSON without letting hostile input reach the database or crash us."""

from __future__ import annotations

import json
import math
from typing import Any

MAX_BODY_BYTES = 512 * 1024


class BodyError(ValueError):
    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number out of range: {text[:40]}")
    return number


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def load_json(body: bytes) -> Any:
    """Parse a JSON body. Raises BodyError with a message that names the problem."""
    if len(body) > MAX_BODY_BYTES:
        raise BodyError(f"The body is larger than {MAX_BODY_BYTES // 1024} KB.", status=413)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BodyError(f"The body is not valid UTF-8 (byte {error.start}).") from error
    # PostgreSQL cannot store NUL in text; refuse it here rather than fail later.
    if "\x00" in text or "\\u0000" in text:
        raise BodyError("The body contains a NUL character.")
    try:
        return json.loads(text, parse_float=_finite, parse_constant=_no_constants)
    except RecursionError as error:
        raise BodyError("The body is not valid JSON: nested too deeply.") from error
    except ValueError as error:  # JSONDecodeError, huge integers, out-of-range floats
        raise BodyError(f"The body is not valid JSON: {str(error)[:200]}") from error
