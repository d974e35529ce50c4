"""Config fields that declare themselves: default, help text, allowed values, check and command-line flag.

A field made with `option` carries everything the rest of the code needs to
know about it in its metadata, so that one declaration feeds the config's
validation (`check_options`), train.py's flags (`gan3d_tf.cli.train`), the
`--set` names (`gan3d_tf.config.core.parse_set`) and the option tables of
docs/design.md (`gan3d_tf.config.doc_tables`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable


def option(
    default: Any,
    help: str,
    *,
    flag: str | None = None,
    choices: tuple | None = None,
    check: tuple[Callable[[Any], bool], str] | None = None,
    group: str = "training",
    metavar: str | None = None,
    values: str | None = None,
    via: str | None = None,
) -> Any:
    """A dataclass field with its description in its metadata.

    Args:
        default: the field's default value.
        help: one sentence on what the field does (train.py's help and the docs table).
        flag: the train.py flag that sets it ("--n-critic"); None: `--set SECTION.FIELD=VALUE` only.
        choices: the allowed values (checked; the flag's choices).
        check: (predicate, requirement): the value is refused unless predicate(value); the message reads
            "FIELD must be REQUIREMENT, got VALUE".
        group: the group of train.py's --help the flag is listed in.
        metavar: the flag's metavar.
        values: the allowed values as the docs table shows them (default: the choices, or the requirement).
        via: the flag train.py declares by hand that sets it (e.g. "--betas", which sets two fields).
    """
    return dataclasses.field(
        default=default,
        metadata={
            "help": help,
            "flag": flag,
            "choices": choices,
            "check": check,
            "group": group,
            "metavar": metavar,
            "values": values,
            "via": via,
        },
    )


def options(cls_or_obj) -> list[dataclasses.Field]:
    """The fields of a dataclass (or of its instance) declared with `option`."""
    return [f for f in dataclasses.fields(cls_or_obj) if "help" in f.metadata]


def check_options(obj, prefix: str = "") -> None:
    """Raises ValueError naming the first field of `obj` outside its choices or failing its check.

    Args:
        obj: a dataclass instance whose fields were declared with `option`.
        prefix: put before the field's name in the message ("vaegan.").
    """
    for f in options(obj):
        value, choices, check = getattr(obj, f.name), f.metadata["choices"], f.metadata["check"]
        if choices is not None and value not in choices:
            raise ValueError(f"{prefix}{f.name} must be one of {choices}, got {value!r}")
        if check is not None and not check[0](value):
            raise ValueError(f"{prefix}{f.name} must be {check[1]}, got {value!r}")


def values_text(f: dataclasses.Field) -> str:
    """The allowed values of an `option` field, as the docs table shows them."""
    m = f.metadata
    if m["values"]:
        return m["values"]
    if m["choices"]:
        return ", ".join(f"`{c}`" for c in m["choices"])
    if m["check"]:
        return m["check"][1]
    return "`true`, `false`" if isinstance(f.default, bool) else ""
