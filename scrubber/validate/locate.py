"""Place pyx12's errors in the file, and keep patient data out of their messages.

:func:`contexts` reads the file a second time (our tokenizer is far faster
than pyx12) and gives, for each wanted ``segment_index``, the segment and
where it stands: ISA13, ST02, and the CLM01, claim ordinal and LX01 of the
claim it belongs to (through :class:`scrubber.claims.ClaimStream`, read-only).

:func:`redact` removes the values pyx12 quotes in its messages: every value
of a segment that may carry patient data (names, addresses, ids, dates,
diagnoses, free text), and every quoted segment or segment id.  Only the
values of :data:`QUOTABLE_SEGMENTS` that look like codes, counts, amounts or
dates may stay.
"""
from __future__ import annotations

import re
from typing import Iterable, Iterator, NamedTuple

from ..claims import ClaimStream
from ..x12.envelope import describe_id, shown_control
from ..x12.tokenizer import Segment, is_segment_tag

REDACTED_SEGMENTS = frozenset({"NM1", "N3", "N4", "DMG", "REF", "PER", "PAT"})
"""Segments that carry patient data (names, addresses, member and other ids,
birth dates, contacts): no value of theirs is ever quoted.  Nor is any value
of a segment outside :data:`QUOTABLE_SEGMENTS`."""

MASK = "***"


_LINE_NUMBER = re.compile(r"[0-9]{1,6}\Z")  # LX01


class Place(NamedTuple):
    segment: Segment
    interchange: str = ""
    transaction: str = ""
    claim_id: str = ""
    claim_index: int | None = None
    line_number: str = ""


def contexts(tokens: Iterable[Segment], wanted: set[int]) -> dict[int, Place]:
    """The :class:`Place` of every segment index in ``wanted``."""
    out: dict[int, Place] = {}
    if not wanted:
        return out
    last = max(wanted)
    stream = ClaimStream()
    interchange = transaction = claim_id = line = ""
    claim_index: int | None = None
    for seg in tokens:
        tag = seg.tag
        if tag == "ISA":
            interchange, transaction = shown_control(seg.element(13).strip()), ""
        elif tag == "ST":
            transaction = shown_control(seg.element(2))
        _, passthrough = stream.feed(seg)
        if passthrough:
            claim_id, claim_index, line = "", None, ""
        elif tag == "CLM":
            claim_id, claim_index, line = seg.element(1), stream.claims_seen, ""
        elif tag == "LX":
            line = seg.element(1) if _LINE_NUMBER.match(seg.element(1)) else ""
        if seg.index in wanted:
            out[seg.index] = Place(seg, interchange, transaction, claim_id, claim_index, line)
        if seg.index >= last:
            break
        # a trailer still belongs to what it closes
        if tag == "SE":
            transaction = ""
        elif tag == "IEA":
            interchange = ""
    return out


# an element reference as our findings write it: NM103, CTP05-1
_ELEMENT_REF = re.compile(r"[A-Z][A-Z0-9]{1,2}\d{2}(?:-\d+)?\Z")
_PARENS = re.compile(r"\(([^()]*)\)")
# what pyx12 puts in parentheses besides values: element references
# (NM103, CTP05-01), syntax rules (P0809), loop ids (2010BA) and length words
_REF_LIKE = re.compile(r"[A-Z][A-Z0-9]{1,2}\d{2}(?:\d{2})*(?:-\d+)?\Z|\d{4}[A-Z]{0,2}\Z|min_len\Z|max_len\Z")
# the id in parentheses after a name from pyx12's map: 'Mandatory segment "Subscriber
# Name" (NM1)', 'Mandatory segment "Transaction Set Trailer" (SE=0001)'
_MAP_ID = re.compile(r"[A-Z0-9]{2,6}(?:-\d{1,2})?(?:=[A-Za-z0-9]{1,9})?\Z")
# a quoted name from pyx12's map (not a value): 'Data element "Subscriber Last Name"'
_MAP_NAME = re.compile(r'((?i:element|composite|loop|expression)|segment) "([^"]*)"')
_QUOTED = re.compile(r'"[^"]*"')
# pyx12's messages that quote a segment or its id (greedy: the segment may hold quotes)
_NOT_FOUND = re.compile(r"Segment (.*) not found(?=\.  Started at )", re.S)
_BAD_ID = re.compile(r'Segment identifier "(.*)" is invalid', re.S)
_EMPTY = re.compile(r'Segment "(.*)" is empty', re.S)
_LEN = re.compile(r'len\(".*"\)(?= = \d)', re.S)

QUOTABLE_SEGMENTS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE", "BHT", "HL", "LX", "SV1", "SV2", "LIN", "CTP"})
"""The only segments whose values a pyx12 message may quote, and then only
values that look like a code, a count, an amount or a date (:func:`quotable`):
the envelope, the hierarchy and line counters, the service line's codes,
units and charges and the drug's NDC and quantity (what the scrubber's own
findings quote).  The values of every other segment (names, addresses,
member and other ids, birth and service dates, diagnoses, free text) and of a
segment with an ill-formed id are never quoted."""

_QUOTABLE_VALUE = re.compile(r"[A-Z0-9]{1,3}\Z|(?=[A-Z0-9.:\-]*\d)[A-Z0-9][A-Z0-9.:\-]{0,14}\Z")


def quotable(value: str | None) -> bool:
    """A value that may be quoted from a :data:`QUOTABLE_SEGMENTS` segment: up to
    three upper-case letters and digits (a code), or up to fifteen upper-case
    letters, digits, '.', ':' and '-' with at least one digit (a count, an amount,
    a date, a procedure code or an NDC), never a word (a name)."""
    return bool(value) and bool(_QUOTABLE_VALUE.match(value))


_SHORT_CODE = re.compile(r"[A-Z0-9]{1,3}\Z")


def short_code(value: str | None) -> bool:
    """A value that is at most three upper-case letters and digits: when
    pyx12 says it is not a valid code of a code list, it may be quoted from
    any segment but those of :data:`REDACTED_SEGMENTS`."""
    return bool(value) and bool(_SHORT_CODE.match(value))


def safe_segment_id(tag: str) -> str:
    """A segment id for a finding's ``segment`` field: ``tag`` when it is
    well-formed, else "" (an ill-formed id may be a piece of a name)."""
    return tag if is_segment_tag(tag) else ""


def safe_element_ref(ref: str) -> str:
    """An element reference (NM103, CTP05-1) when ``ref`` is one, else ""
    (pyx12 builds it from the segment id it read, which may be ill-formed)."""
    return ref if _ELEMENT_REF.match(ref) else ""


def _values(seg: Segment | None) -> Iterator[str]:
    if seg is None:
        return
    if not is_segment_tag(seg.tag):
        # an ill-formed id may be the whole segment (a wrong separator) or a
        # piece of a name (a terminator inside it): its words are values
        yield seg.tag
        yield from re.split(r"[^A-Za-z0-9]+", seg.tag)
    comp = seg.delims.component.decode("latin-1")
    rep = seg.delims.repetition.decode("latin-1") if seg.delims.repetition else None
    for raw in seg.elements[1:]:
        text = raw.decode("latin-1")
        yield text
        for part in (text.split(rep) if rep else [text]):
            yield part
            yield from part.split(comp)


def _describe_id(seg_id: str, seg: Segment | None) -> str:
    sep = seg.delims.element.decode("latin-1") if seg is not None else "*"
    return describe_id(seg_id, sep)


def redact(message: str, value: str | None, seg: Segment | None, *, quote_codes: bool = False,
           keep_value: str | None = None) -> str:
    """``message`` without the values of ``seg`` (and pyx12's bad ``value``).

    pyx12 quotes values in parentheses, in ``len("...")`` and in a few
    messages about a whole segment or its id; those are masked, and so is
    every value of ``seg`` of three or more characters wherever it appears.
    What stays is pyx12's description, the names and ids from its map and
    the element references.  With ``quote_codes`` (a segment of
    :data:`QUOTABLE_SEGMENTS`), values that are :func:`quotable` stay;
    ``keep_value`` (a short code that is not a valid code) stays too.
    """
    # the messages about a whole segment or its id: its text is never quoted
    def not_found(m: re.Match) -> str:
        seg_id = m.group(1).split("*", 1)[0]
        return f"Segment {seg_id if is_segment_tag(seg_id) else 'with an ill-formed id'} not found"

    # (what replaces them is set aside until the end: it is not pyx12's text)
    ours: list[str] = []

    def aside(text: str) -> str:
        ours.append(text)
        return f"\x00{len(ours) - 1}\x00"

    def bad_id(m: re.Match) -> str:
        seg_id = m.group(1)
        what = repr(seg_id) if is_segment_tag(seg_id) else f"({_describe_id(seg_id, seg)})"
        return aside(f"Segment identifier {what} is invalid")

    message = message.replace("\x00", "")
    message = _NOT_FOUND.sub(lambda m: aside(not_found(m)), message)
    message = _BAD_ID.sub(bad_id, message)
    message = _EMPTY.sub(lambda m: aside("Segment is empty"), message)
    message = _LEN.sub(lambda m: aside(f"len({MASK})"), message)

    def keep(v: str) -> bool:
        return (quote_codes and quotable(v)) or (keep_value is not None and v == keep_value)

    # longer values are masked wherever they appear; shorter ones (which
    # could match inside words and references) where pyx12 quotes values:
    # in parentheses and in quotes
    values = {v for v in _values(seg) if len(v.strip()) >= 3 and not keep(v)}
    if value and len(value.strip()) >= 3 and not keep(value):
        values.add(value)
    for v in sorted(values, key=len, reverse=True):
        message = message.replace(v, MASK)
    tag = seg.tag if seg is not None and is_segment_tag(seg.tag) else ""
    kept = {v for v in _values(seg) if keep(v)} | ({value} if value and keep(value) else set())

    # quoted text: names from pyx12's map stay, anything else is a value
    names: list[tuple[int, int]] = [m.span(2) for m in _MAP_NAME.finditer(message)]

    def quoted(m: re.Match) -> str:
        if any(a - 1 == m.start() and b + 1 == m.end() for a, b in names) or is_segment_tag(m.group(0)[1:-1]):
            return m.group(0)
        return f'"{MASK}"'

    message = _QUOTED.sub(quoted, message)

    def parens(m: re.Match) -> str:
        inner = m.group(1)
        if inner == MASK or _REF_LIKE.match(inner) or (tag and inner == tag) or inner in kept:
            return m.group(0)
        before = message[:m.start()]
        if before.endswith('" ') and not before.endswith(f'"{MASK}" ') and _MAP_ID.match(inner):
            # the id after a name from the map
            return m.group(0)
        return f"({MASK})"

    message = _PARENS.sub(parens, message)
    return re.sub("\x00(\\d+)\x00", lambda m: ours[int(m.group(1))], message)


_QUOTED_FREE = re.compile(r"\"[^\"]*\"|'[^']*'")


def scrub_free_text(message: str) -> str:
    """A message of an exception (not one of pyx12's validation messages):
    quoted text may be a value, so it is masked, except a segment id."""
    def one(m: re.Match) -> str:
        inner = m.group(0)[1:-1]
        return m.group(0) if is_segment_tag(inner) else f"{m.group(0)[0]}{MASK}{m.group(0)[0]}"

    return _QUOTED_FREE.sub(one, message)
