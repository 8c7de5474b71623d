"""The one way ghee reads an environment variable (plain Python: settings import it).

Every type follows one rule: unset means the default; set but empty, or not readable as
its type, is an ``EnvError`` whose message is one line naming the variable, the value and
the form expected, e.g. ``GHEE_WEBHOOK_TIMEOUT='abc' is not a number (seconds, e.g. 10)``.
``ghee`` prints that line and exits non-zero before doing anything (ghee/cli.py).

Every variable read is kept in ``VARIABLES`` (name -> ``Variable``): the test that checks
docs/configuration.md lists each one, and the test that feeds each one bad values, use it.
"""

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The spellings a boolean accepts (case-insensitive, surrounding spaces ignored).
TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


class EnvError(ValueError):
    """An environment variable set to something ghee cannot use: a one-line message."""


@dataclass(frozen=True)
class Variable:
    name: str
    kind: str  # integer, number, boolean, choice, string, path, list
    default: Any
    parse: Callable[[str], Any]  # the set value to the setting's value, or ValueError
    expected: str  # the form a value must take, said after the value in an error
    secret: bool = False  # the value may hold a password: errors do not repeat it

    def read(self) -> Any:
        raw = os.environ.get(self.name)
        if raw is None:
            return self.default
        shown = "(not shown: it may hold a password)" if self.secret else repr(raw)
        if not raw.strip():
            raise EnvError(f"{self.name}={shown} is empty: expected {self.expected}, or unset it")
        try:  # free text is taken as written; anything else may have spaces around it
            return self.parse(raw if self.kind == "string" else raw.strip())
        except (ValueError, TypeError, LookupError):
            raise EnvError(f"{self.name}={shown} is not {self.expected}") from None


VARIABLES: dict[str, Variable] = {}


def _read(
    name: str, kind: str, default: Any, parse: Callable[[str], Any], expected: str, **options
) -> Any:
    variable = Variable(name, kind, default, parse, expected, **options)
    VARIABLES[name] = variable
    return variable.read()


def _at_least(minimum: float, convert: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(raw: str) -> Any:
        value = convert(raw)
        if not value >= minimum:  # also refuses nan
            raise ValueError(raw)
        return value

    return parse


# The unit a number is in, said in its error, from how the variable's name ends.
UNITS = {
    "_SECONDS": "seconds",
    "_TIMEOUT": "seconds",
    "_MS": "milliseconds",
    "_DAYS": "days",
    "_HOURS": "hours",
    "_MINUTES": "minutes",
    "_BYTES": "bytes",
}


def _unit(name: str, default: str) -> str:
    return next((unit for end, unit in UNITS.items() if name.endswith(end)), default)


non_negative = _at_least(0, float)  # a number of at least 0, e.g. for ``items(item=...)``


def integer(name: str, default: int, *, minimum: int = 0) -> int:
    """A whole number of at least ``minimum``."""
    unit = _unit(name, "")
    expected = f"a whole number of at least {minimum} ({unit + ', ' if unit else ''}e.g. {default})"
    return _read(name, "integer", default, _at_least(minimum, int), expected)


def number(name: str, default: float, *, unit: str = "") -> float:
    """A number of at least 0, decimals allowed (in seconds unless the name says otherwise)."""
    expected = f"a number ({unit or _unit(name, 'seconds')}, e.g. {default:g})"
    return _read(name, "number", float(default), non_negative, expected)


def _boolean(raw: str) -> bool:
    word = raw.lower()
    if word in TRUE | FALSE:
        return word in TRUE
    raise ValueError(raw)


def boolean(name: str, default: bool = False) -> bool:
    expected = "a boolean (1, true, yes or on; 0, false, no or off)"
    return _read(name, "boolean", default, _boolean, expected)


def choice(name: str, default: str, choices: Iterable[str]) -> str:
    """One of ``choices`` (compared case-insensitively, returned as spelled there)."""
    allowed = {option.lower(): option for option in choices}

    expected = f"one of {', '.join(allowed.values())}"
    return _read(name, "choice", default, lambda raw: allowed[raw.lower()], expected)


def string(
    name: str, default: str, *, expected: str = "a value", check=None, secret: bool = False
) -> str:
    """Free text; ``check(value)`` may refuse it by raising ``ValueError``."""

    def parse(raw: str) -> str:
        if check is not None:
            check(raw)
        return raw

    return _read(name, "string", default, parse, expected, secret=secret)


def path(name: str, default: Path | str) -> Path:
    """A file-system path, made absolute (relative to the working directory)."""
    return _read(name, "path", Path(default).resolve(), lambda raw: Path(raw).resolve(), "a path")


def items(
    name: str,
    default: Iterable[Any] = (),
    *,
    item: Callable[[str], Any] = str,
    expected: str = "a comma-separated list",
) -> list:
    """A comma-separated list; each part is stripped, read by ``item``, and may not be empty."""

    def parse(raw: str) -> list:
        parts = [part.strip() for part in raw.split(",")]
        if not all(parts):
            raise ValueError(raw)
        return [item(part) for part in parts]

    return _read(name, "list", list(default), parse, expected)
