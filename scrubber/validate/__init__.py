"""Implementation-guide validation with pyx12, and its 999 acknowledgment.

The scrubber's own checks read the file losslessly and fast; pyx12 is the
field's implementation-guide validator (005010X222A1 / X223A2 maps, 999
output) and about 300 times slower, so it runs only on request::

    from scrubber.validate import validate
    v = validate(data, file="claims.837")
    v.findings   # IG001-IG005 findings (scrubber.findings.Finding)
    v.ack        # pyx12's 999 (997 for 4010), latin-1 bytes; b"" when none

Each pyx12 error becomes one finding with a code of :data:`CHECKS`, placed at
its segment by our numbering (``segment_index``: ISA = 1, every segment of
the file counted, as in the rest of the log), with ``interchange`` (ISA13),
``transaction`` (ST02), and ``claim_id`` / ``claim_index`` / ``line_number``
when the segment is inside a claim.  The message starts with pyx12's own
error level and code.  No patient data: pyx12 quotes values and whole
segments in its messages, and those are masked (:func:`.locate.redact`);
only values of :data:`QUOTABLE_SEGMENTS` (envelope, counters, service line
codes and amounts, NDC) that look like codes, counts, amounts or dates stay,
in the message and in ``original``.  The ``segment`` field holds a
well-formed segment id or "", never an ill-formed id.

A transaction pyx12 has no map for (e.g. 005010X222A2, or a 270) gives one
IG004 *warning*: the file may well be valid, it just was not validated, and
a warning says so without failing the run (exit code 0).  Any other pyx12
failure gives one finding (IG001 when pyx12 cannot read an interchange,
IG005 when pyx12 itself fails) and never an exception.

Thread and process safety: :func:`validate` keeps no state between calls and
replaces no pyx12 module global; calls may run in separate processes (the
batch's process pool) or threads (pyx12 is pure Python, so threads share one
core).  On first use it silences the ``pyx12`` logger (NullHandler, no
propagation), because pyx12 logs every bad value, patient names included.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator

from ..findings import ERROR, Finding
from ..x12.tokenizer import Segment, X12Error, tokenize
from .codes import CHECKS, ELEMENT, ENVELOPE, NO_MAP, SEGMENT, VALIDATOR_FAILED
from .locate import (QUOTABLE_SEGMENTS, REDACTED_SEGMENTS, Place, contexts, quotable, redact, safe_element_ref,
                     safe_segment_id, scrub_free_text, short_code)
from .errors import RawError
from .feed import Feed, Tokens
from .runner import run_pyx12

__all__ = ["CHECKS", "QUOTABLE_SEGMENTS", "REDACTED_SEGMENTS", "Validation", "ack_path_for", "validate",
           "validate_file"]

_LEVEL = {"isa": "interchange", "gs": "group", "st": "transaction", "seg": "segment", "ele": "element"}
_MAP_NOT_FOUND = re.compile(r"icvn=(\S*?),\s*fic=(\S*?),\s*vriic=(\S*?)(?:,|$)")


@dataclass
class Validation:
    """The outcome of :func:`validate`."""

    findings: list[Finding] = field(default_factory=list)
    ack: bytes = b""  # pyx12's 999 (or 997 for 4010 input); b"" when it wrote none
    validated: bool = True  # False when a part of the file could not be validated (IG004, IG005)

    @property
    def ok(self) -> bool:
        """No IG error: every validated part passed."""
        return not any(f.severity == ERROR for f in self.findings)

    @property
    def ack_kind(self) -> str:
        """'999', '997' or '' (the ST01 of the acknowledgment)."""
        m = re.search(rb"ST.(999|997).", self.ack)
        return m.group(1).decode() if m else ""


def validate(data: bytes | BinaryIO, file: str = "", *, profile=None) -> Validation:
    """Validate an X12 file against pyx12's implementation-guide maps.

    ``data`` is the whole file (bytes) or a binary stream (read twice: it is
    seeked back when seekable, else read into memory).  ``file`` fills each
    finding's ``file``.  ``profile`` (a :class:`scrubber.profiles.Profile`)
    optionally applies its selection (``rule_enabled``), its severities and its
    name, as for the other findings.
    """
    source = _Source(data)
    result = Validation()
    raw: list[tuple[Feed, RawError]] = []
    failures: list[tuple[str, Feed, str, int]] = []  # (kind, feed, message, pyx12 line)
    acks: list[str] = []
    tokens = Tokens(source.tokens())
    try:
        while tokens.peek() is not None:
            feed = Feed(tokens)
            run = run_pyx12(feed)
            raw.extend((feed, e) for e in run.errors)
            if run.failure:
                failures.append((run.failure, feed, run.failure_message, run.failure_line))
            if run.ack:
                acks.append(run.ack)
    except X12Error as exc:  # our tokenizer: the file is not X12 (from here on)
        failures.append(("not-x12", None, _x12_message(exc), exc.segment_index or 0))

    positions = {i for feed, e in raw if (i := feed.index_of(e.line)) is not None}
    positions |= {i for kind, feed, _, line in failures if feed is not None and (i := feed.index_of(line))}
    places = contexts(source.tokens(), positions) if positions else {}

    findings = [_error_finding(feed, e, places, file) for feed, e in raw]
    for kind, feed, message, line in failures:
        findings.append(_failure_finding(kind, feed, message, line, places, file))
    findings.sort(key=lambda f: (f.segment_index is None, f.segment_index or 0))
    if profile is not None:
        findings = [f.with_(severity=profile.severity(f.code, f.severity), profile=profile.name)
                    for f in findings if profile.rule_enabled(f.code)]
    result.findings = findings
    result.validated = not failures
    result.ack = "".join(_unique_interchanges(acks)).encode("latin-1", "replace")
    return result


def validate_file(path: str, *, ack_path: str | None = None, profile=None, file: str | None = None) -> Validation:
    """Validate the file at ``path``; write its 999 to ``ack_path`` (atomically,
    only when pyx12 wrote one).  Raises OSError when ``path`` cannot be read."""
    with open(path, "rb") as fh:
        v = validate(fh, file=path if file is None else file, profile=profile)
    if ack_path and v.ack:
        from ..files import atomic_write

        atomic_write(ack_path, lambda out: out.write(v.ack))
    return v


def ack_path_for(input_path: str, ack_dir: str, kind: str = "999") -> str:
    """Where the acknowledgment of ``input_path`` goes in ``ack_dir``:
    ``<ack_dir>/<input base name>.999`` (``.997`` for a 997)."""
    return os.path.join(ack_dir, f"{os.path.basename(input_path)}.{kind or '999'}")


# -- building findings ------------------------------------------------------------
def _finding(code: str, message: str, index: int | None, places: dict[int, Place], file: str,
             element: str = "", original: str = "") -> Finding:
    place = places.get(index) if index is not None else None
    return Finding(
        code=code, severity=CHECKS[code].severity, message=message, file=file,
        interchange=place.interchange if place else "", transaction=place.transaction if place else "",
        claim_id=place.claim_id if place else "", claim_index=place.claim_index if place else None,
        line_number=place.line_number if place else "",
        segment=safe_segment_id(place.segment.tag) if place else "", segment_index=index,
        element=safe_element_ref(element), original=original,
    )


def _error_finding(feed: Feed, e: RawError, places: dict[int, Place], file: str) -> Finding:
    index = feed.index_of(e.line)
    place = places.get(index) if index is not None else None
    seg = place.segment if place else None
    if e.level in ("isa", "gs", "st"):
        code = ENVELOPE
    elif e.level == "ele" or (e.level == "seg" and e.code == "8"):
        code = ELEMENT
    else:
        code = SEGMENT
    element = e.element
    if not element and e.level == "seg" and seg is not None:
        m = re.search(rf"\(({re.escape(seg.tag)}\d{{2}}(?:-\d+)?)\)", e.text)
        element = _our_ref(m.group(1)) if m else ""
    # values are quoted only from a segment that carries none of a patient's
    # (and pyx12 filed the error under such a segment), and only when they look
    # like codes; never the value of an element that should not be there
    codes = (seg is not None and seg.tag in QUOTABLE_SEGMENTS and (not e.seg_id or e.seg_id in QUOTABLE_SEGMENTS))
    # a short code that is not in its code list (SBR09 "QQ") names no one
    bad_code = (seg is not None and safe_segment_id(seg.tag) and seg.tag not in REDACTED_SEGMENTS
                and e.seg_id not in REDACTED_SEGMENTS and e.code == "7" and "is not a valid code for" in e.text
                and short_code(e.value))
    text = redact(e.text, e.value, seg, quote_codes=codes, keep_value=e.value if bad_code else None)
    # too many elements or components: the value is out of place, whatever it is
    extra = e.text.startswith("Too many") or (e.level != "seg" and e.code == "3")
    original = e.value if not extra and ((codes and quotable(e.value)) or bad_code) else ""
    return _finding(code, f"pyx12 {_LEVEL[e.level]} error {e.code}: {text}", index, places, file,
                    element, original)


def _our_ref(ref: str) -> str:
    """CTP05-01 -> CTP05-1."""
    head, _, sub = ref.partition("-")
    return f"{head}-{int(sub)}" if sub else head


def _failure_finding(kind: str, feed: Feed | None, message: str, line: int, places, file: str) -> Finding:
    if feed is None:  # our tokenizer gave up
        return _finding(ENVELOPE, f"not validated: {message}", line or None, places, file)
    index = feed.index_of(line)
    span = _span(feed)
    if kind == "no-map":
        m = _MAP_NOT_FOUND.search(message)
        if m:
            icvn, fic, vriic = m.groups()
            what = f"GS01 {fic} / GS08 {vriic} (ISA12 {icvn})"
        else:
            what = f"ISA12 version {feed.key[1] if feed.key else '?'!r} (pyx12 knows 00401 and 00501)"
        return _finding(NO_MAP, f"pyx12 has no implementation-guide map for {what}: {span} not validated, "
                                "no 999 for it", index, places, file)
    if kind == "unreadable":
        return _finding(ENVELOPE, f"pyx12 cannot read this interchange ({message}): {span} not validated",
                        index, places, file)
    # an exception's text may quote a value: quoted text is masked
    return _finding(VALIDATOR_FAILED, f"pyx12 failed ({scrub_free_text(message)}): {span} not validated", index,
                    places, file)


def _unique_interchanges(acks: list[str]) -> list[str]:
    """pyx12 numbers its 999 interchange from the clock (ISA13 = yMMDDhhmm), so
    two runs in one minute would give one ack file two equal ISA13s.  A later
    one is renumbered (ISA13 and IEA02) to the next free number."""
    seen: set[int] = set()
    out = []
    for ack in acks:
        number = ack[90:99]
        if len(ack) < 106 or not number.isdigit():
            out.append(ack)
            continue
        n = int(number)
        while n in seen:
            n = (n + 1) % 1_000_000_000
        seen.add(n)
        if n != int(number):
            sep, term = re.escape(ack[3]), re.escape(ack[105])
            new = f"{n:09d}"
            ack = ack[:90] + new + ack[99:]
            ack = re.sub(rf"(IEA{sep}[^{sep}{term}]*{sep}){number}(?={term}\s*\Z)", rf"\g<1>{new}", ack)
        out.append(ack)
    return out


def _span(feed: Feed) -> str:
    first, last = feed.index_of(1), feed.index_of(feed.count)
    if first is None:
        return "the file"
    return f"segments {first} to {last}" if last != first else f"segment {first}"


def _x12_message(exc: X12Error) -> str:
    where = f"byte {exc.offset}"
    if exc.segment_index:
        where += f" (segment {exc.segment_index})"
    return f"{where}: {exc.message}"


class _Source:
    """The input, readable twice."""

    def __init__(self, data: bytes | BinaryIO):
        if isinstance(data, (bytes, bytearray, memoryview)):
            self.data: bytes | None = bytes(data)
            self.stream = None
        elif _seekable(data):
            self.data, self.stream, self.start = None, data, data.tell()
        else:
            self.data, self.stream = data.read(), None

    def tokens(self) -> Iterator[Segment]:
        if self.data is not None:
            return tokenize(self.data)
        self.stream.seek(self.start)
        return tokenize(self.stream)


def _seekable(stream) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, ValueError):
        return False
