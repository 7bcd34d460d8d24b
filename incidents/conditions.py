"""The condition language of routing rules (and later runbooks), and Alertmanager-style matchers.

Pure functions over a dict of alert facts, so rules are easy to test and to explain in words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from irp_site.validation import contains_nul

OPERATORS = ("equals", "not_equals", "regex", "one_of", "exists", "not_exists")
TOP_LEVEL_FIELDS = ("summary", "source", "severity", "component", "group", "class", "dedup_key", "integration")
NESTED_FIELDS = ("labels", "details")
MATCHER_OPERATORS = ("=", "!=", "=~", "!~")
MISSING = object()


class ConditionError(ValueError):
    pass


def _check_field(field: Any) -> None:
    if not isinstance(field, str) or not field:
        raise ConditionError('Each condition needs a field, e.g. "labels.team".')
    head, _, rest = field.partition(".")
    if head in NESTED_FIELDS and rest:
        return
    if field not in TOP_LEVEL_FIELDS:
        raise ConditionError(
            f"Unknown field {field!r}: use one of {', '.join(TOP_LEVEL_FIELDS)}, labels.NAME or details.PATH."
        )


def _compile(pattern: Any, where: str) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise ConditionError(f"{where}: a regular expression must be text.")
    try:
        return re.compile(pattern)
    except re.error as error:
        raise ConditionError(f"{where}: invalid regular expression ({error}).") from error


def _refuse_nul(value: Any, what: str) -> None:
    # PostgreSQL's jsonb cannot store U+0000; refuse it here rather than fail on save.
    if contains_nul(value):
        raise ConditionError(f"{what} must not contain the NUL character (U+0000).")


def validate_conditions(conditions: Any) -> None:
    if not isinstance(conditions, list):
        raise ConditionError("Conditions are a list.")
    _refuse_nul(conditions, "Conditions")
    for number, condition in enumerate(conditions, start=1):
        where = f"Condition {number}"
        if not isinstance(condition, dict):
            raise ConditionError(f"{where}: must be an object with field, op and value.")
        _check_field(condition.get("field"))
        op = condition.get("op")
        if op not in OPERATORS:
            raise ConditionError(f"{where}: unknown operator {op!r}; use one of {', '.join(OPERATORS)}.")
        value = condition.get("value")
        if op == "regex":
            _compile(value, where)
        elif op == "one_of":
            if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
                raise ConditionError(f"{where}: one_of needs a non-empty list of text values.")
        elif op in ("equals", "not_equals") and not isinstance(value, str | int | float | bool):
            raise ConditionError(f"{where}: {op} needs a value.")


def lookup(facts: Mapping[str, Any], field: str) -> Any:
    head, _, rest = field.partition(".")
    value: Any = facts.get(head, MISSING)
    for part in rest.split(".") if rest else ():
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def condition_holds(condition: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    value = lookup(facts, condition["field"])
    op = condition["op"]
    if op == "exists":
        return value is not MISSING and value not in ("", None)
    if op == "not_exists":
        return value is MISSING or value in ("", None)
    if value is MISSING:
        return op == "not_equals"
    text = _as_text(value)
    if op == "equals":
        return text == _as_text(condition["value"])
    if op == "not_equals":
        return text != _as_text(condition["value"])
    if op == "regex":
        return re.search(condition["value"], text) is not None
    if op == "one_of":
        return text in condition["value"]
    return False


def describe(condition: Mapping[str, Any]) -> str:
    op = condition["op"]
    field = condition["field"]
    if op in ("exists", "not_exists"):
        return f"{field} {'exists' if op == 'exists' else 'is missing'}"
    if op == "regex":
        return f"{field} matches /{condition['value']}/"
    if op == "one_of":
        return f"{field} is one of {', '.join(repr(item) for item in condition['value'])}"
    return f"{field} {'equals' if op == 'equals' else 'does not equal'} {_as_text(condition['value'])!r}"


def conditions_match(conditions: list[Mapping[str, Any]], facts: Mapping[str, Any], *, match_all: bool) -> bool:
    if not conditions:
        return True
    results = (condition_holds(condition, facts) for condition in conditions)
    return all(results) if match_all else any(results)


def validate_matchers(matchers: Any) -> None:
    if not isinstance(matchers, list) or not matchers:
        raise ConditionError("A silence needs at least one matcher.")
    _refuse_nul(matchers, "Matchers")
    for number, matcher in enumerate(matchers, start=1):
        where = f"Matcher {number}"
        if not isinstance(matcher, dict) or not isinstance(matcher.get("name"), str) or not matcher["name"]:
            raise ConditionError(f"{where}: needs a label name.")
        if matcher.get("op", "=") not in MATCHER_OPERATORS:
            raise ConditionError(f"{where}: operator must be one of {', '.join(MATCHER_OPERATORS)}.")
        if not isinstance(matcher.get("value"), str):
            raise ConditionError(f"{where}: needs a text value.")
        if matcher.get("op") in ("=~", "!~"):
            _compile(matcher["value"], where)


def matchers_match(matchers: list[Mapping[str, Any]], labels: Mapping[str, str]) -> bool:
    """Alertmanager semantics: every matcher must hold; a missing label is the empty string."""
    for matcher in matchers:
        value = labels.get(matcher["name"], "")
        op = matcher.get("op", "=")
        if op == "=" and value != matcher["value"]:
            return False
        if op == "!=" and value == matcher["value"]:
            return False
        if op == "=~" and re.fullmatch(matcher["value"], value) is None:
            return False
        if op == "!~" and re.fullmatch(matcher["value"], value) is not None:
            return False
    return True
