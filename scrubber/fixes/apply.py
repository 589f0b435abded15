"""Apply edits to segments: the only code that builds corrected bytes.

Edits come in groups (one group per finding) and a group is applied whole or
not at all.  A group conflicts with the groups accepted before it when it
sets a value another group already set differently, or touches a segment
another group deletes.  Conflicting groups are returned so that the caller can
re-check and propose them again against the corrected segments.

Every byte outside the edited elements is kept: the segment's own delimiters,
its trailing line break and indentation, and every untouched element.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from ..x12.tokenizer import Segment
from .edit import Delete, Edit, InsertAfter, NewElement, SetValue


def _enc(value: str) -> bytes:
    return value.encode("latin-1", "replace")


def _set(elements: list[bytes], edit: SetValue, comp_sep: bytes) -> None:
    n = edit.element
    while len(elements) <= n:
        elements.append(b"")
    if isinstance(edit.value, tuple):  # a whole composite, trailing empty components dropped
        comps = list(edit.value)
        while len(comps) > 1 and comps[-1] == "":
            comps.pop()
        elements[n] = comp_sep.join(_enc(c) for c in comps)
    elif edit.component is None:
        elements[n] = _enc(edit.value)
    else:
        comps = elements[n].split(comp_sep) if elements[n] else [b""]
        k = edit.component - 1
        while len(comps) <= k:
            comps.append(b"")
        comps[k] = _enc(edit.value)
        # no trailing component separators at or after the edited position
        while len(comps) > max(k, 1) and comps[-1] == b"":
            comps.pop()
        elements[n] = comp_sep.join(comps)
    while len(elements) > max(n, 1) and elements[-1] == b"":
        elements.pop()


def rewrite(seg: Segment, sets: Sequence[SetValue]) -> Segment:
    """A copy of ``seg`` with values set; untouched bytes are kept."""
    elements = list(seg.elements)
    for edit in sets:
        _set(elements, edit, seg.delims.component)
    content = seg.delims.element.join(elements)
    new = Segment(content, seg.terminator, seg.trailer, seg.offset, seg.index, seg.delims, seg.lead)
    new.origin = seg.received
    new.inserted = seg.inserted
    return new


def render(anchor: Segment, elements: Sequence[NewElement]) -> Segment:
    """Build a new segment in the delimiters and line layout of ``anchor``."""
    d = anchor.delims
    parts = []
    for el in elements:
        if isinstance(el, tuple):
            comps = list(el)
            while len(comps) > 1 and comps[-1] == "":
                comps.pop()
            parts.append(d.component.join(_enc(c) for c in comps))
        else:
            parts.append(_enc(el))
    while len(parts) > 1 and parts[-1] == b"":
        parts.pop()
    term = anchor.terminator or d.segment
    new = Segment(d.element.join(parts), term, anchor.trailer, anchor.offset, anchor.index, d)
    new.inserted = True
    return new


def _conflicts(group: Sequence[Edit], sets: dict, deleted: set, inserted: set) -> bool:
    for e in group:
        if isinstance(e, SetValue):
            sid = id(e.segment)
            if sid in deleted:
                return True
            prior = sets.get(sid, {})
            for (el, comp) in prior:
                # the same value twice conflicts too: both groups computed it from
                # the claim before either applied (e.g. CLM02 or an LX number)
                if el == e.element and (comp == e.component or comp is None or e.component is None):
                    return True
        elif isinstance(e, Delete):
            if id(e.segment) in sets or id(e.segment) in inserted:
                return True
        elif isinstance(e, InsertAfter):
            if id(e.segment) in deleted or id(e.segment) in inserted:
                return True
    return False


def apply_groups(
    segments: Sequence[Segment], groups: Iterable[Sequence[Edit]]
) -> tuple[list[Segment], list[int]]:
    """Apply edit groups to ``segments``.

    Returns the new segment list and the positions (in ``groups``) of the
    groups that were applied.  Groups are tried in order; a group that
    conflicts with an accepted one is skipped.
    """
    sets: dict[int, dict[tuple[int, int | None], str]] = {}
    set_edits: dict[int, list[SetValue]] = {}
    deleted: set[int] = set()
    inserts: dict[int, list[InsertAfter]] = {}
    applied: list[int] = []
    for pos, group in enumerate(groups):
        if _conflicts(group, sets, deleted, set(inserts)):
            continue
        applied.append(pos)
        for e in group:
            sid = id(e.segment)
            if isinstance(e, SetValue):
                sets.setdefault(sid, {})[(e.element, e.component)] = e.value
                set_edits.setdefault(sid, []).append(e)
            elif isinstance(e, Delete):
                deleted.add(sid)
            else:
                inserts.setdefault(sid, []).append(e)
    if not applied:
        return list(segments), applied
    out: list[Segment] = []
    for seg in segments:
        sid = id(seg)
        if sid not in deleted:
            edits = set_edits.get(sid)
            new = rewrite(seg, _unique(edits)) if edits else seg
            out.append(new)
            anchor = new
        else:
            anchor = seg
        for ins in inserts.get(sid, ()):
            for elements in ins.segments:
                out.append(render(anchor, elements))
    return out, applied


def _unique(edits: list[SetValue]) -> list[SetValue]:
    seen = {}
    for e in edits:
        seen[(e.element, e.component)] = e
    # whole-element sets first, then components, so both can combine
    return sorted(seen.values(), key=lambda e: (e.element, e.component or 0))
