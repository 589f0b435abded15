"""Edits: what a rule proposes to change, on the segments of the input.

Edits name a segment and an element (and component) position; they never
hold byte offsets computed by a rule.  :mod:`scrubber.fixes.apply` is the one
component that turns them into bytes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from ..x12.tokenizer import Segment

# A new element is a plain value or a composite (tuple of component values).
NewElement = Union[str, tuple[str, ...]]


@dataclass(frozen=True, eq=False)
class SetValue:
    """Set element ``element`` (1-based) or its component ``component`` (1-based).

    ``value`` is text, or (for a whole composite element) a tuple of
    component values that the fixes component joins with the segment's own
    component separator."""

    segment: Segment
    element: int
    component: int | None
    value: str | tuple[str, ...]

    @property
    def key(self) -> tuple:
        return (id(self.segment), self.element, self.component)


@dataclass(frozen=True, eq=False)
class InsertAfter:
    """Insert new segments right after ``segment``; each is (tag, element, ...)."""

    segment: Segment
    segments: tuple[tuple[NewElement, ...], ...]


@dataclass(frozen=True, eq=False)
class Delete:
    segment: Segment


Edit = Union[SetValue, InsertAfter, Delete]
