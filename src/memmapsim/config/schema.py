"""Typed tables: TOML and JSON documents decoded into frozen msgspec structs, with every
schema error reworded in TOML terms (``devices[0].size: expected a size such as 3T,
128M or 0x1_0000_0000, got true``).

Scenarios, cost profiles, sweep specs and saved results are :class:`Strict` (every key
known) or :class:`Open` (unknown keys ignored) structs, decoded by :func:`convert` in
strict mode: no string is taken for a number, no number for a boolean. Sizes and names
are the two scalar types of our own: :data:`Size` is decoded by :func:`_dec_hook`,
:data:`Name` is a constrained string; floats that must be finite are :data:`Finite` or carry bounds.

Why msgspec and not pydantic (which the project used until issue 7): start-up.
``memmapsim run`` must answer in under half a second, and importing pydantic and
building the scenario and profile models took some 0.2 s of every command (``python
-X importtime -c "import memmapsim.cli"``: pydantic, pydantic_core, annotated_types and
the model classes). msgspec builds a struct class in C, and its decode is strict and
typed the same way. What msgspec does not give is the value at fault, nor the key of a
table of tables (``costs[...]``); :func:`schema_error` finds both in the data.
"""

from __future__ import annotations

import math
import operator
import re
import sys
import types
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import msgspec

from memmapsim.errors import InputError, toml_value
from memmapsim.units import SizeError, parse_size

T = TypeVar("T")


class Strict(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A table whose keys are all known: an unknown key is an error. Subclasses repeat
    ``frozen=True, kw_only=True``: msgspec inherits them, but mypy's dataclass_transform
    reading does not."""


class Open(msgspec.Struct, frozen=True, kw_only=True):
    """A table of which only some keys are read (a saved result from a newer memmapsim
    may carry more): unknown keys are ignored."""


FLOAT_MAX = sys.float_info.max
Finite = Annotated[float, msgspec.Meta(ge=-FLOAT_MAX, le=FLOAT_MAX)]
"""A float that is neither infinite nor NaN (NaN fails every bound)."""

_CONTROL = "\x00-\x1f\x7f-\x9f\u2028\u2029"
Name = Annotated[str, msgspec.Meta(min_length=1, pattern=f"^[^{_CONTROL}]*$")]
"""A non-empty name without control characters: names appear in tables, logs and file
names."""

if TYPE_CHECKING:
    Size = int
else:

    class Size(int):
        """A size in bytes, written ``3T``, ``128M``, ``0x1_0000_0000`` or as an int
        (decoded by :func:`_dec_hook`); arithmetic on it gives plain ints."""


def _size(v: Any) -> int:
    if isinstance(v, str | int) and not isinstance(v, bool):
        try:
            return parse_size(v)
        except SizeError as e:
            raise ValueError(str(e)) from None
    raise ValueError(f"expected a size such as 3T, 128M or 0x1_0000_0000, got {toml_value(v)}")


def _dec_hook(tp: Any, v: Any) -> Any:
    if tp is Size:
        return Size(_size(v))
    raise NotImplementedError(tp)


def _enc_hook(v: Any) -> Any:
    if isinstance(v, Size):
        return int(v)
    raise NotImplementedError(type(v))


def convert(data: Any, tp: type[T], source: str) -> T:
    """``data`` (parsed TOML or JSON) as ``tp``; InputError naming ``source`` and the key."""
    try:
        return msgspec.convert(data, tp, strict=True, dec_hook=_dec_hook)
    except msgspec.ValidationError as e:
        raise schema_error(e, data, tp, source) from None


def to_data(obj: Any, *, drop_none: bool = False) -> Any:
    """A struct as plain data (tables as dicts, arrays as lists), keys in field order;
    with ``drop_none``, without the keys whose value is None (TOML has no null)."""
    data = msgspec.to_builtins(obj, enc_hook=_enc_hook)
    return _without_none(data) if drop_none else data


def _without_none(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _without_none(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_without_none(x) for x in v]
    return v


# --- errors ---------------------------------------------------------------------------------
_AT = re.compile(r"(?s)(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?")
_PART = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")
_EXPECTED = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "str": "a string",
    "array": "an array",
    "object": "a table",
}
_BOUNDS = {
    "ge": ("at least", operator.ge),
    "gt": ("greater than", operator.gt),
    "le": ("at most", operator.le),
    "lt": ("less than", operator.lt),
}
"""msgspec.Meta's bounds: how a message words each, and the test a value passes."""
_UNSET = object()


def schema_error(e: msgspec.ValidationError, data: Any, tp: Any, source: str) -> InputError:
    """msgspec's error as an InputError: the key as a TOML path, the offending value quoted."""
    m = _AT.fullmatch(str(e))
    assert m is not None  # the pattern matches any text
    what, loc, value, leaf = m["what"], "", data, tp
    for name, index in _PART.findall(m["path"] or ""):
        if name:
            loc += ("." if loc else "") + name
            value, leaf = _field(value, leaf, name)
        elif index == "...":  # msgspec does not say which key of a table of tables
            key, value, leaf = _failing_entry(value, leaf)
            loc += ("." if loc else "") + key
        else:
            loc += f"[{index}]"
            value, leaf = _item(value, leaf, int(index))
    if k := re.fullmatch(r"Object (contains unknown|missing required) field `(.*)`", what):
        loc += ("." if loc else "") + k[2]
        return InputError(source, loc, "unknown key" if k[1] == "contains unknown" else
                          "required key is missing")  # fmt: skip
    return InputError(source, loc or None, _message(what, value, leaf))


def _message(what: str, value: Any, leaf: Any) -> str:
    got = toml_value(value)
    if isinstance(value, float) and not math.isfinite(value) and "float" in what:
        return f"must be a finite number, got {got}"
    if m := re.fullmatch(r"Expected `(\w+)[^`]*`, got `\w+`", what):
        return f"expected {_EXPECTED.get(m[1], m[1])}, got {got}"
    if m := re.fullmatch(r"Expected `(\w+)` of length ([<>]=) (\d+)", what):
        n = int(m[3])
        if m[2] == ">=":
            return "must not be empty" if n == 1 else f"must have at least {n} entries"
        return f"longer than {n} characters" if m[1] == "str" else f"has more than {n} entries"
    if re.fullmatch(r"Expected `\w+` [<>]=? .*", what):
        meta = _meta(leaf)
        for key, (words, holds) in _BOUNDS.items():
            bound = getattr(meta, key, None) if meta is not None else None
            if bound is not None and not (isinstance(value, int | float) and holds(value, bound)):
                return f"must be {words} {toml_value(bound)}, got {got}"
    if what.startswith("Expected `str` matching regex"):
        return f"a name must not contain control characters, got {got}"
    if what.startswith("Invalid enum value"):
        options = [toml_value(o) for o in _literal(leaf)]
        listed = ", ".join(options[:-1]) + " or " + options[-1] if len(options) > 1 else options[0]
        return f"expected {listed}, got {got}"
    return what


def _unwrap(tp: Any, value: Any = _UNSET) -> Any:
    """``tp`` without Annotated, and of a union the member ``value`` would decode as."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin is Union or origin is types.UnionType:
            members = [a for a in get_args(tp) if a is not type(None)]
            tp = next((a for a in members if _shape_fits(a, value)), members[0])
        else:
            return tp


def _shape_fits(tp: Any, value: Any) -> bool:
    tp = _unwrap(tp)
    origin = get_origin(tp) or tp
    if isinstance(origin, type) and issubclass(origin, msgspec.Struct):
        return isinstance(value, dict)
    if origin in (list, tuple):
        return isinstance(value, list | tuple)
    if origin is dict:
        return isinstance(value, dict)
    return not isinstance(value, dict | list)


def _meta(tp: Any) -> msgspec.Meta | None:
    while get_origin(tp) is Annotated:
        found = [a for a in get_args(tp)[1:] if isinstance(a, msgspec.Meta)]
        if found:
            return found[0]
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, types.UnionType):
        members = [a for a in get_args(tp) if a is not type(None)]
        return next((m for m in map(_meta, members) if m is not None), None)
    return None


def _literal(tp: Any) -> tuple[Any, ...]:
    tp = _unwrap(tp)
    if get_origin(tp) is Literal:
        return get_args(tp)
    return ()


def _field(value: Any, tp: Any, name: str) -> tuple[Any, Any]:
    cls = _unwrap(tp, value)
    inner = value.get(name, _UNSET) if isinstance(value, dict) else _UNSET
    if not (isinstance(cls, type) and issubclass(cls, msgspec.Struct)):
        return inner, Any
    fields = {f.encode_name: f.type for f in msgspec.structs.fields(cls)}
    return inner, fields.get(name, Any)


def _item(value: Any, tp: Any, index: int) -> tuple[Any, Any]:
    args = get_args(_unwrap(tp, value))
    inner = value[index] if isinstance(value, list | tuple) and index < len(value) else _UNSET
    return inner, (args[0] if args else Any)


def _failing_entry(value: Any, tp: Any) -> tuple[str, Any, Any]:
    """The first entry of the table ``value`` (a ``dict[str, X]``) that is not an X."""
    args = get_args(_unwrap(tp, value))
    item_tp = args[1] if len(args) == 2 else Any
    for key, inner in value.items() if isinstance(value, dict) else ():
        try:
            msgspec.convert(inner, item_tp, strict=True, dec_hook=_dec_hook)
        except msgspec.ValidationError:
            return str(key), inner, item_tp
    return "...", _UNSET, item_tp
