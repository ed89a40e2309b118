"""Reads the values of a set of JSON selectors out of a message, decoding it once.

The fast path decodes into msgspec structs generated from the selectors, so only the fields some
pattern reads are built as Python objects (a CloudTrail record is ~1 KB; the CIS patterns read about
ten fields of it). When the message does not fit those structs (a selected field that is a string
where the selectors step into an object, a top level that is not an object) it is decoded generically
and read with ``match.resolve``: the same values, more slowly. A message that is not JSON has none.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from opentrail.streams.patterns.match import MISSING, resolve
from opentrail.streams.patterns.nodes import Selector

Getter = Callable[[Any], Any]
Tree = dict[str, "Tree"]
Names = dict[str, tuple[str, "Names | None"]]


class SelectorReader:
    """The values of ``selectors`` (``MISSING`` when absent) for any message, in selector order."""

    def __init__(self, selectors: Sequence[Selector]) -> None:
        self.selectors = tuple(selectors)
        self._generic = msgspec.json.Decoder()
        self._typed: Callable[[str | bytes], Any] | None = None
        self._getters: list[Getter] = []
        if self.selectors and all(_keys(s) for s in self.selectors):
            event, names = _struct(_tree(self.selectors), "Event")
            self._typed = msgspec.json.Decoder(event).decode
            self._getters = [_getter(s, names) for s in self.selectors]

    def values(self, message: str | bytes) -> list[Any] | None:
        """The selectors' values, or ``None`` when ``message`` is not JSON."""
        if self._typed is not None:
            try:
                document = self._typed(message)
            except msgspec.ValidationError:
                pass
            except msgspec.DecodeError:
                return None
            else:
                return [get(document) for get in self._getters]
        try:
            document = self._generic.decode(message)
        except msgspec.DecodeError:
            return None
        return [resolve(s, document) for s in self.selectors]


def _keys(selector: Selector) -> tuple[str, ...]:
    """The selector's leading object keys (the part a struct can hold)."""
    keys: list[str] = []
    for step in selector.steps:
        if isinstance(step, int):
            break
        keys.append(step)
    return tuple(keys)


def _tree(selectors: Sequence[Selector]) -> Tree:
    """Nested keys; a key some selector stops at (or indexes into) is a leaf, read as any value."""
    leaves = {_keys(s) for s in selectors}
    tree: Tree = {}
    for keys in sorted(leaves, key=len):
        node = tree
        for depth, key in enumerate(keys):
            if keys[: depth + 1] in leaves and depth + 1 < len(keys):
                break  # an ancestor is read whole: the rest is resolved from it
            node = node.setdefault(key, {})
    return tree


def _struct(tree: Tree, name: str) -> tuple[Any, Names]:
    """A struct type for ``tree`` and, per key, its attribute and the names below it (``None``: a leaf)."""
    fields = []
    rename = {}
    names: Names = {}
    for number, (key, children) in enumerate(sorted(tree.items())):
        attribute = f"f{number}"
        kind: Any = Any
        below: Names | None = None
        if children:
            child, below = _struct(children, f"{name}_{number}")
            kind = child | None
        fields.append((attribute, kind, msgspec.UNSET))
        rename[attribute] = key
        names[key] = (attribute, below)
    return msgspec.defstruct(name, fields, rename=rename), names


def _getter(selector: Selector, names: Names) -> Getter:
    """Attribute steps through the structs, then ``resolve`` for what is below the leaf."""
    attributes: list[str] = []
    level: Names | None = names
    depth = 0
    while level is not None:
        attribute, level = level[str(selector.steps[depth])]
        attributes.append(attribute)
        depth += 1
    rest = Selector(selector.steps[depth:], selector.text)
    if len(attributes) == 1 and not rest.steps:
        return operator.attrgetter(attributes[0])

    def get(document: Any) -> Any:
        value = document
        for attribute in attributes:
            if value is None or value is MISSING:
                return MISSING
            value = getattr(value, attribute)
        if rest.steps and value is not MISSING:
            return resolve(rest, value)
        return value

    return get
