"""Place pyx12's errors in the file, and keep patient data out of their messages.

:func:`contexts` reads the file a second time (our tokenizer is far faster
than pyx12) and gives, for each wanted ``segment_index``, the segment and
where it stands: ISA13, ST02, and the CLM01, claim ordinal and LX01 of the
claim it belongs to (through :class:`scrubber.claims.ClaimStream`, read-only).

:func:`redact` removes quoted values from a pyx12 message about a segment
that carries patient data (names, addresses, ids, birth dates).
"""
from __future__ import annotations

import re
from typing import Iterable, Iterator, NamedTuple

from ..claims import ClaimStream
from ..x12.tokenizer import Segment

REDACTED_SEGMENTS = frozenset({"NM1", "N3", "N4", "DMG", "REF", "PER", "PAT"})
"""pyx12 quotes bad values in its messages; for these segments (names,
addresses, member and other ids, birth dates, contacts) no value is quoted."""

MASK = "***"


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
            interchange, transaction = seg.element(13).strip(), ""
        elif tag == "ST":
            transaction = seg.element(2)
        _, passthrough = stream.feed(seg)
        if passthrough:
            claim_id, claim_index, line = "", None, ""
        elif tag == "CLM":
            claim_id, claim_index, line = seg.element(1), stream.claims_seen, ""
        elif tag == "LX":
            line = seg.element(1)
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


_PARENS = re.compile(r"\(([^()]*)\)")
# what pyx12 puts in parentheses besides values: element references
# (NM103, CTP05-01), syntax rules (P0809) and segment ids
_REF_LIKE = re.compile(r"[A-Z][A-Z0-9]{1,2}\d{2}(?:\d{2})*(?:-\d+)?\Z|min_len\Z|max_len\Z")
_LEN = re.compile(r'len\("[^"]*"\)')
_NOT_FOUND = re.compile(r"Segment ([A-Z][A-Z0-9]{1,2})\*.*? not found")


def _values(seg: Segment | None) -> Iterator[str]:
    if seg is None:
        return
    comp = seg.delims.component.decode("latin-1")
    rep = seg.delims.repetition.decode("latin-1") if seg.delims.repetition else None
    for raw in seg.elements[1:]:
        text = raw.decode("latin-1")
        yield text
        for part in (text.split(rep) if rep else [text]):
            yield part
            yield from part.split(comp)


def redact(message: str, value: str | None, seg: Segment | None) -> str:
    """``message`` without the values of ``seg`` (and pyx12's bad ``value``)."""
    # longer values are masked wherever they appear; shorter ones (which
    # could match inside words and references) where pyx12 quotes values:
    # in parentheses and in len("...")
    values = {v for v in _values(seg) if len(v.strip()) >= 3}
    if value and len(value.strip()) >= 3:
        values.add(value)
    for v in sorted(values, key=len, reverse=True):
        message = message.replace(v, MASK)
    message = _NOT_FOUND.sub(r"Segment \1 not found", message)
    message = _LEN.sub(f"len({MASK})", message)
    tag = seg.tag if seg is not None else ""

    def keep(m: re.Match) -> str:
        inner = m.group(1)
        if inner == MASK or _REF_LIKE.match(inner) or inner == tag or inner in REDACTED_SEGMENTS:
            return m.group(0)
        return f"({MASK})"

    return _PARENS.sub(keep, message)
