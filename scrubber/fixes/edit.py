"""Edits: what a rule proposes to change, on the segments of the input.

Edits name a segment and an element (and component) position; they never
hold byte offsets computed by a rule.  :mod:`scrubber.fixes.apply` is the one
component that turns them into bytes.
"""
from __future__ import annotations

from typing import Union

from ..record import Frozen, set_field
from ..x12.tokenizer import Segment

# A new element is a plain value or a composite (tuple of component values).
NewElement = Union[str, tuple[str, ...]]


class SetValue(Frozen):
    """Set element ``element`` (1-based) or its component ``component`` (1-based).

    ``value`` is text, or (for a whole composite element) a tuple of
    component values that the fixes component joins with the segment's own
    component separator."""

    __slots__ = ("segment", "element", "component", "value")

    def __init__(self, segment: Segment, element: int, component: int | None, value: str | tuple[str, ...]):
        set_field(self, "segment", segment)
        set_field(self, "element", element)
        set_field(self, "component", component)
        set_field(self, "value", value)

    @property
    def key(self) -> tuple:
        return (id(self.segment), self.element, self.component)


class InsertAfter(Frozen):
    """Insert new segments right after ``segment``; each is (tag, element, ...)."""

    __slots__ = ("segment", "segments")

    def __init__(self, segment: Segment, segments: tuple[tuple[NewElement, ...], ...]):
        set_field(self, "segment", segment)
        set_field(self, "segments", segments)


class Delete(Frozen):
    __slots__ = ("segment",)

    def __init__(self, segment: Segment):
        set_field(self, "segment", segment)


Edit = Union[SetValue, InsertAfter, Delete]
