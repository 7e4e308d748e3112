from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.durations import format_duration, parse_duration

M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", 15 * M),
        ("15 min", 15 * M),
        ("15 minutes", 15 * M),
        ("1 minute", M),
        ("1h", H),
        ("1 hour", H),
        ("2 hrs", 2 * H),
        ("8h", 8 * H),
        ("2d", 2 * D),
        ("2 days", 2 * D),
        ("1w", 7 * D),
        ("2 weeks", 14 * D),
        ("1h30m", 90 * M),
        ("1h 30m", 90 * M),
        ("1 hour 30 minutes", 90 * M),
        ("90m", 90 * M),
        ("40 working hours", 40 * H),
        ("8 working hours", 8 * H),
        ("1 working day", D),
        ("  8H  ", 8 * H),
        ("1d 2h 3m", D + 2 * H + 3 * M),
    ],
)
def test_parses(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "15 minuts",
        "",
        "   ",
        "15",
        "m",
        "1h30",
        "0m",
        "0h 0m",
        "-15m",
        "1.5h",
        "15 working",
        "working 15m",
        "15 workinghours",
        "1 hour and 30 minutes",
        "15 мин",
        "9999999m",
        "15s",
    ],
)
def test_rejects_with_exact_message(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert str(info.value) == (
        f'"{text}" is not a duration (examples: 15m, 1h, 8h, 2d, 40 working hours)'
    )


def test_error_text_for_the_typo_example() -> None:
    with pytest.raises(ValueError, match=r"^\"15 minuts\" is not a duration \(examples: 15m, 1h, "
                       r"8h, 2d, 40 working hours\)$"):
        parse_duration("15 minuts")


@pytest.mark.parametrize(
    ("td", "text"),
    [
        (90 * M, "1h 30m"),
        (2 * D, "2d"),
        (15 * M, "15m"),
        (D + 5 * M, "1d 5m"),
        (timedelta(), "0m"),
        (timedelta(seconds=45), "45s"),
        (-(90 * M), "-1h 30m"),
        (timedelta(minutes=3, microseconds=900), "3m"),
    ],
)
def test_formats(td: timedelta, text: str) -> None:
    assert format_duration(td) == text


@given(st.integers(min_value=1, max_value=60 * 24 * 400))
def test_format_then_parse_is_identity_for_whole_minutes(minutes: int) -> None:
    td = timedelta(minutes=minutes)
    assert parse_duration(format_duration(td)) == td
