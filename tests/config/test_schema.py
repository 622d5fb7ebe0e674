"""Schema errors in TOML terms: every kind of msgspec error, the key as a TOML path, the
value at fault quoted, and the key of a table of tables found in the data."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import msgspec
import pytest
from msgspec import Meta, field

from memmapsim.config.schema import Finite, Name, Open, Size, Strict, convert, to_data
from memmapsim.errors import InputError


class Leaf(Strict, frozen=True, kw_only=True):
    ns: Annotated[float, Meta(ge=0, le=1e6)]
    kind: Literal["fitted", "assumed"] = "fitted"
    hz: Literal[100, 1000] = 1000


class Table(Strict, frozen=True, kw_only=True):
    name: Name
    size: Size = 0
    count: Annotated[int, Meta(gt=0, lt=10)] = 1
    flag: bool = False
    ratio: Finite = 0.0
    tags: Annotated[list[str], Meta(min_length=1, max_length=2)] = field(
        default_factory=lambda: ["t"]
    )
    region: Annotated[str, Meta(min_length=1)] | None = None
    leaves: dict[str, Leaf] = field(default_factory=dict)
    items: list[Leaf] = field(default_factory=list)


class Loose(Open, frozen=True, kw_only=True):
    n: int


def error(data: Any) -> tuple[str | None, str]:
    with pytest.raises(InputError) as e:
        convert(data, Table, "f.toml")
    assert e.value.source == "f.toml"
    return e.value.field, e.value.message


@pytest.mark.parametrize(
    "data, where, message",
    [
        ({"name": "a", "zz": 1}, "zz", "unknown key"),
        ({}, "name", "required key is missing"),
        ({"name": "a", "items": [{"kind": "fitted"}]}, "items[0].ns", "required key is missing"),
        ({"name": "a", "count": "3"}, "count", 'expected an integer, got "3"'),
        ({"name": "a", "count": True}, "count", "expected an integer, got true"),
        ({"name": "a", "flag": 1}, "flag", "expected true or false, got 1"),
        ({"name": "a", "ratio": "x"}, "ratio", 'expected a number, got "x"'),
        ({"name": "a", "tags": "x"}, "tags", 'expected an array, got "x"'),
        ({"name": "a", "items": [5]}, "items[0]", "expected a table, got 5"),
        ({"name": 4.18}, "name", "expected a string, got 4.18"),
        ({"name": "a", "count": 0}, "count", "must be greater than 0, got 0"),
        ({"name": "a", "count": 10}, "count", "must be less than 10, got 10"),
        ({"name": "a", "items": [{"ns": -1}]}, "items[0].ns", "must be at least 0, got -1"),
        ({"name": "a", "items": [{"ns": 2e6}]}, "items[0].ns", "must be at most 1000000.0, got"),
        ({"name": "a", "ratio": math.inf}, "ratio", "must be a finite number, got inf"),
        ({"name": "a", "ratio": math.nan}, "ratio", "must be a finite number, got nan"),
        ({"name": "a", "items": [{"ns": math.nan}]}, "items[0].ns", "finite number, got nan"),
        ({"name": "a", "tags": []}, "tags", "must not be empty"),
        ({"name": "a", "tags": ["a", "b", "c"]}, "tags", "has more than 2 entries"),
        ({"name": ""}, "name", "must not be empty"),
        ({"name": "a\x1b"}, "name", 'control characters, got "a\\u001b"'),
        ({"name": "a\u2028"}, "name", "control characters"),
        ({"name": "a", "region": ""}, "region", "must not be empty"),
        ({"name": "a", "region": 3}, "region", "expected a string, got 3"),
        ({"name": "a", "count": None}, "count", "expected an integer, got null"),
        ({"name": "a", "size": True}, "size", "expected a size such as 3T"),
        ({"name": "a", "size": "zz"}, "size", "cannot parse size 'zz'"),
        (
            {"name": "a", "items": [{"ns": 1, "kind": "x"}]},
            "items[0].kind",
            'expected "fitted" or "assumed", got "x"',
        ),
        (
            {"name": "a", "items": [{"ns": 1, "hz": 5}]},
            "items[0].hz",
            "expected 100 or 1000, got 5",
        ),
        ([], None, "expected a table, got []"),
    ],
)
def test_each_error_names_the_key_and_quotes_the_value(
    data: Any, where: str | None, message: str
) -> None:
    field_, got = error(data)
    assert field_ == where
    assert message in got, got


def test_the_key_of_a_table_of_tables_is_found_in_the_data() -> None:
    """msgspec says ``leaves[...]``; the failing entry is the second one, by name."""
    good, bad = {"ns": 1.0}, {"ns": 1.0, "kind": "measured"}
    assert error({"name": "a", "leaves": {"ok": good, "not ok": bad}}) == (
        "leaves.not ok.kind",
        'expected "fitted" or "assumed", got "measured"',
    )
    assert error({"name": "a", "leaves": {"ok": good, "x": 5}}) == (
        "leaves.x",
        "expected a table, got 5",
    )


def test_sizes_decode_and_encode_as_plain_numbers() -> None:
    t = convert({"name": "a", "size": "2M"}, Table, "f.toml")
    assert t.size == 2 << 20 and t.size + 1 == (2 << 20) + 1
    data = to_data(t)
    assert data["size"] == 2 << 20 and type(data["size"]) is int
    assert msgspec.json.encode(data) == msgspec.json.encode(to_data(t))


def test_to_data_can_drop_none() -> None:
    t = convert({"name": "a"}, Table, "f.toml")
    assert to_data(t)["region"] is None
    assert "region" not in to_data(t, drop_none=True)


def test_open_tables_ignore_unknown_keys_and_strict_ones_do_not() -> None:
    assert convert({"n": 1, "newer": 2}, Loose, "r.json") == Loose(n=1)
    with pytest.raises(InputError, match="unknown key"):
        convert({"name": "a", "newer": 2}, Table, "f.toml")


def test_strict_decoding_takes_no_string_for_a_number_and_an_int_for_a_float() -> None:
    t = convert({"name": "a", "ratio": 2, "items": [{"ns": 3}]}, Table, "f.toml")
    assert t.ratio == 2.0 and t.items[0].ns == 3.0
    with pytest.raises(InputError, match="expected a number"):
        convert({"name": "a", "ratio": "2"}, Table, "f.toml")
