from datetime import timedelta

import pytest

from incidents.durations import HumanDurationField, format_duration, parse_duration_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5 min", timedelta(minutes=5)),
        ("5", timedelta(minutes=5)),
        ("4 h", timedelta(hours=4)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1 hour, 30 minutes", timedelta(hours=1, minutes=30)),
        ("2 days", timedelta(days=2)),
        ("90 s", timedelta(seconds=90)),
        ("00:05:00", timedelta(minutes=5)),
        ("1 02:00:00", timedelta(days=1, hours=2)),
    ],
)
def test_parses_what_plan_owners_write(text: str, expected: timedelta) -> None:
    assert parse_duration_text(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "5 fortnights", "5 min later", "min"])
def test_rejects_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies with the input
        parse_duration_text(text)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (timedelta(minutes=5), "5 min"),
        (timedelta(minutes=60), "1 h"),
        (timedelta(hours=4), "4 h"),
        (timedelta(hours=1, minutes=30), "1 h 30 min"),
        (timedelta(days=1), "1 day"),
        (timedelta(days=2, seconds=5), "2 days 5 s"),
        (None, "—"),
    ],
)
def test_formats_the_shortest_readable_form(value: timedelta | None, shown: str) -> None:
    assert format_duration(value) == shown


def test_form_field_round_trips_and_explains_bad_input() -> None:
    field = HumanDurationField(required=False)

    assert field.clean("1 h 30 min") == timedelta(minutes=90)
    assert field.prepare_value(timedelta(minutes=90)) == "1 h 30 min"
    assert field.clean("") is None
    with pytest.raises(Exception, match="duration such as"):
        field.clean("a while")
    with pytest.raises(Exception, match="duration such as"):
        field.clean("99999999999999 days")
