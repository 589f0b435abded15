"""Envelope checks: ISA/IEA, GS/GE and ST/SE pairing, control numbers, counts.

The :class:`Envelope` is fed the segments in output order.  It checks that
every header has its trailer, that trailer control numbers match their
headers, and recounts SE01 (segments), GE01 (transactions) and IEA01 (groups).
A wrong count or control number in a trailer is fixed by rewriting the
trailer; everything else is reported.  It knows nothing about claims.

Findings are returned as :class:`Problem` tuples; the pipeline adds the file
and claim context.

No patient data in a problem: a segment is named by its id and its position,
never by its content.  A segment whose id is ill-formed (a wrong element
separator, a segment terminator inside a name) may hold a name or a member
id where its id should be, so its text is never quoted: the message says
what is wrong and where (byte offset), and the problem's segment stands in
with an empty id (:class:`Unnamed`).  Values of trailers (counts, control
numbers) are quoted only when they look like counts and control numbers.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from ..fixes.edit import SetValue
from ..record import Record
from .tokenizer import Segment, is_segment_tag


class Check(NamedTuple):
    code: str
    name: str
    severity: str
    fixable: bool
    summary: str


CHECKS = {
    c.code: c
    for c in (
        Check("ENV001", "interchange-unclosed", "error", False,
              "An ISA has no IEA before the next ISA or the end of the file."),
        Check("ENV002", "trailer-without-header", "error", False,
              "An IEA, GE or SE has no open ISA, GS or ST."),
        Check("ENV003", "group-unclosed", "error", False,
              "A GS has no GE before its IEA, or an ST no SE before its GE."),
        Check("ENV004", "control-number-mismatch", "error", True,
              "IEA02, GE02 or SE02 differs from ISA13, GS06 or ST02. Fixed: the trailer takes the header's number."),
        Check("ENV005", "count-mismatch", "error", True,
              "SE01, GE01 or IEA01 does not count what it encloses. Fixed by recounting."),
        Check("ENV006", "count-updated", "info", True,
              "SE01 was recounted after the scrubber inserted or removed segments."),
        Check("ENV007", "empty-segment", "error", False,
              "Two segment terminators in a row (an empty segment); kept as received."),
        Check("ENV008", "bad-segment-id", "error", False,
              "A segment id is not two or three upper-case letters and digits."),
        Check("ENV009", "outside-envelope", "error", False,
              "A segment stands outside any ISA/IEA or GS/GE or ST/SE envelope."),
        Check("ENV010", "isa-width", "warning", False,
              "The ISA is not 106 bytes long: its fixed-width fields have the wrong size."),
        Check("ENV011", "text-before-isa", "warning", False,
              "Bytes other than a byte order mark or white space stand before the first ISA."),
        Check("ENV012", "truncated", "error", False,
              "The file ends inside a segment, or inside an open envelope."),
    )
}


_ENVELOPE = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE", ""})
_NONE: list = []  # shared, never appended to
_TAG_OK: dict[str, bool] = {}


def _valid_tag(tag: str) -> bool:
    ok = _TAG_OK.get(tag)
    if ok is None:
        ok = is_segment_tag(tag)
        if len(tag) <= 3:  # only real ids are remembered: garbage must not grow the table
            _TAG_OK[tag] = ok
    return ok


# what may be quoted of an ill-formed id: a plausible id before a non-alphanumeric byte
# (compiled on first use, by re's cache: only a file with such an id needs it)
_LEADING_ID = r"[A-Z][A-Z0-9]{1,2}(?![A-Za-z0-9])"


def describe_id(tag: str, separator: str = "*") -> str:
    """What is wrong with an ill-formed segment id, quoting none of its text
    (it may be a piece of a name), except a plausible id (two or three
    upper-case letters and digits) followed by a non-alphanumeric byte, as
    in ``NM1|IL|...`` read with the separator ``*``."""
    if not tag:
        return "the segment id is empty"
    m = re.match(_LEADING_ID, tag)
    if m and len(tag) > m.end():
        c = tag[m.end()]
        if c.isascii() and c.isprintable():
            return f"it starts {m.group()!r} followed by {c!r}, not the element separator {separator!r}"
    return f"an ill-formed id of {len(tag)} characters, not shown"


def shown_count(value: str) -> str:
    """A trailer's count as it may be quoted: digits only."""
    return value if 0 < len(value) <= 10 and value.isascii() and value.isdigit() else ""


def shown_control(value: str) -> str:
    """A control number as it may be quoted: one to nine letters and digits."""
    text = value.strip()
    return value if 0 < len(text) <= 9 and text.isascii() and text.isalnum() else ""


class Unnamed:
    """Stands for a segment with an ill-formed id in a :class:`Problem`: the
    finding built from it names the segment by ``tag`` (empty: the ill-formed
    id is never written) and places it by ``received.index``, as for any
    segment.  It keeps no byte of the segment's content."""

    __slots__ = ("index", "offset", "inserted", "terminator")
    tag = ""

    def __init__(self, seg: Segment):
        seg = seg.received
        self.index = seg.index
        self.offset = seg.offset
        self.inserted = seg.inserted
        self.terminator = seg.terminator

    @property
    def received(self) -> "Unnamed":
        return self

    @property
    def origin(self) -> None:
        return None

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Unnamed({self.index}, byte {self.offset})"


def named(seg: Segment | None):
    """``seg``, or an :class:`Unnamed` stand-in when its id is ill-formed."""
    if seg is None or seg.__class__ is Unnamed or _valid_tag(seg.tag):
        return seg
    return Unnamed(seg)


class Problem(NamedTuple):
    code: str
    message: str
    segment: Segment | Unnamed | None  # never one with an ill-formed id: see :func:`named`
    element: str = ""
    original: str = ""
    corrected: str = ""
    fixed: bool = False
    edits: tuple = ()

    @property
    def severity(self) -> str:
        return CHECKS[self.code].severity


class _Open(Record):
    """An envelope now open: its header, control number and what it encloses so far."""

    __slots__ = ("header", "control", "count", "received")

    def __init__(self, header: Segment, control: str, count: int = 0, received: int = 0):
        self.header = header
        self.control = control
        self.count = count  # segments (ST), transactions (GS) or groups (ISA) in the output
        self.received = received  # the same, as received (inserted segments not counted)


class Envelope:
    """Tracks the open envelopes while segments go by, in output order."""

    def __init__(self) -> None:
        self.isa: _Open | None = None
        self.gs: _Open | None = None
        self.st: _Open | None = None
        self.last: Segment | None = None

    # the control numbers of the envelopes now open (for locating findings);
    # "" when one does not look like a control number
    @property
    def interchange(self) -> str:
        return shown_control(self.isa.control) if self.isa else ""

    @property
    def transaction(self) -> str:
        return shown_control(self.st.control) if self.st else ""

    @property
    def transaction_header(self) -> Segment | None:
        return self.st.header if self.st else None

    @property
    def group_header(self) -> Segment | None:
        return self.gs.header if self.gs else None

    def feed(self, seg: Segment) -> list[Problem]:
        """Check one segment; returns the problems found (trailer problems
        carry the edits that fix them)."""
        tag = seg.tag
        st = self.st
        if st is not None and tag not in _ENVELOPE and _valid_tag(tag):
            self.last = seg
            st.count += 1
            if not seg.inserted:
                st.received += 1
            return _NONE
        problems: list[Problem] = []
        if seg.index == 0:  # white space after the last segment
            return problems
        self.last = seg
        if seg.is_empty:
            # not a segment: not counted in SE01, kept as received
            problems.append(Problem("ENV007", "empty segment (two terminators in a row)", named(seg)))
            return problems
        if not _valid_tag(tag):
            # its text may be a piece of a name or an id: described, never quoted
            unnamed = Unnamed(seg)
            where = "" if seg.inserted else f" (byte {unnamed.offset})"
            problems.append(Problem("ENV008", "segment id not valid X12: "
                                              f"{describe_id(tag, seg.delims.element.decode('latin-1'))}{where}",
                                    unnamed))
            if self.isa is None:
                problems.append(Problem("ENV009", "a segment with an ill-formed id outside an ISA/IEA interchange",
                                        unnamed))
            elif self.st is None:
                problems.append(Problem("ENV009", "a segment with an ill-formed id outside an ST/SE transaction",
                                        unnamed))
            else:
                self._count(seg)
            return problems
        if tag == "ISA":
            self._close_all(seg, problems, "a new ISA")
            self.isa = _Open(seg, seg.element(13).strip())
            return problems
        if tag == "IEA":
            return self._close_isa(seg, problems)
        if self.isa is None:
            problems.append(Problem("ENV009", f"{tag} outside an ISA/IEA interchange", seg))
            return problems
        if tag == "GS":
            if self.gs:
                self._unclosed_gs(seg, problems)
            self.gs = _Open(seg, seg.element(6))
            return problems
        if tag == "GE":
            return self._close_gs(seg, problems)
        if tag == "ST":
            if self.st:
                problems.append(Problem("ENV003", f"ST {_ctl(self.st.control)} has no SE before the next ST", seg))
            if self.gs is None:
                problems.append(Problem("ENV009", "ST outside a GS/GE group", seg))
            self.st = _Open(seg, seg.element(2), 1, 1)
            return problems
        if tag == "SE":
            return self._close_st(seg, problems)
        if self.st is None:
            problems.append(Problem("ENV009", f"{tag} outside an ST/SE transaction", seg))
        else:
            self._count(seg)
        return problems

    def _count(self, seg: Segment) -> None:
        self.st.count += 1
        if not seg.inserted:
            self.st.received += 1

    def removed(self, n: int) -> None:
        """The scrubber removed ``n`` received segments from the open transaction."""
        if self.st:
            self.st.received += n

    def feed_body(self, segments: list[Segment]) -> list[Problem]:
        """Feed a run of segments that holds no envelope segment (ISA, GS, ST
        or their trailers): the common case, counted in one go."""
        st = self.st
        if st is None or not segments:
            return [p for seg in segments for p in self.feed(seg)]
        problems: list[Problem] = []
        known = _TAG_OK
        count = received = 0
        for seg in segments:
            tag = seg.tag
            if tag in _ENVELOPE or not (known.get(tag) or _valid_tag(tag)):
                st.count += count
                st.received += received
                count = received = 0
                problems.extend(self.feed(seg))
            else:
                count += 1
                if not seg.inserted:
                    received += 1
        st.count += count
        st.received += received
        self.last = segments[-1]
        return problems

    def count_body(self, count: int) -> None:
        """``count`` well-formed segments (no envelope segment among them)
        went by as a block: count them in the open transaction."""
        if self.st is not None:
            self.st.count += count
            self.st.received += count

    def finish(self) -> list[Problem]:
        """The end of the file: every open envelope is unclosed."""
        problems: list[Problem] = []
        self._close_all(named(self.last), problems, "the end of the file", code="ENV012")
        return problems

    # -- closing -----------------------------------------------------------
    def _close_all(self, seg, problems, where, code="ENV001") -> None:
        if self.st:
            problems.append(Problem(code if code == "ENV012" else "ENV003",
                                    f"ST {_ctl(self.st.control)} has no SE before {where}", seg))
            self.st = None
        if self.gs:
            problems.append(Problem(code if code == "ENV012" else "ENV003",
                                    f"GS {_ctl(self.gs.control)} has no GE before {where}", seg))
            self.gs = None
        if self.isa:
            problems.append(Problem(code, f"ISA {_ctl(self.isa.control)} has no IEA before {where}", seg))
            self.isa = None

    def _unclosed_gs(self, seg, problems) -> None:
        if self.st:
            problems.append(Problem("ENV003", f"ST {_ctl(self.st.control)} has no SE", seg))
            self.st = None
        problems.append(Problem("ENV003", f"GS {_ctl(self.gs.control)} has no GE", seg))
        if self.isa:
            self.isa.count += 1
            self.isa.received += 1
        self.gs = None

    def _close_st(self, seg, problems):
        if self.st is None:
            problems.append(Problem("ENV002", "SE without an open ST", seg))
            return problems
        st, self.st = self.st, None
        st.count += 1
        st.received += 1
        if self.gs:
            self.gs.count += 1
            self.gs.received += 1
        return _fix_trailer(seg, "SE", st, problems)

    def _close_gs(self, seg, problems):
        if self.gs is None:
            problems.append(Problem("ENV002", "GE without an open GS", seg))
            return problems
        if self.st:
            problems.append(Problem("ENV003", f"ST {_ctl(self.st.control)} has no SE before GE", seg))
            self.st = None
        gs, self.gs = self.gs, None
        if self.isa:
            self.isa.count += 1
            self.isa.received += 1
        return _fix_trailer(seg, "GE", gs, problems)

    def _close_isa(self, seg, problems):
        if self.isa is None:
            problems.append(Problem("ENV002", "IEA without an open ISA", seg))
            return problems
        if self.gs:
            self._unclosed_gs(seg, problems)
        isa, self.isa = self.isa, None
        return _fix_trailer(seg, "IEA", isa, problems)


def _fix_trailer(seg: Segment, tag: str, opened: "_Open", problems: list[Problem]):
    """Check a trailer's count (element 1) and control number (element 2).

    A wrong value is fixed by an edit that sets the right one; the caller
    applies the edits.  When the received count was right and only the
    scrubber's own edits changed it, the update is reported as ENV006.
    """
    edits = []
    if not seg.terminator:  # truncated at the end of the file (ENV012): leave it as received
        return problems
    have_count = seg.element(1)
    want_count = str(opened.count)
    if have_count != want_count:
        # a count is quoted only when it is one: the element may hold anything
        shown = shown_count(have_count)
        if have_count == str(opened.received):
            code, msg = "ENV006", f"{tag}01 recounted from {have_count} to {want_count} after the scrubber's edits"
        else:
            code = "ENV005"
            what = shown or ("empty" if not have_count else "not a number")
            msg = f"{tag}01 is {what} but the {_counted(tag)} count is {opened.received}"
            if opened.received != opened.count:
                msg += f" ({want_count} after the scrubber's edits)"
            msg += "; recounted"
        edit = SetValue(seg, 1, None, want_count)
        edits.append(edit)
        problems.append(Problem(code, msg, seg, f"{tag}01", shown, want_count, True, (edit,)))
    have_ctl = seg.element(2)
    control = opened.control
    if (have_ctl.strip() if tag == "IEA" else have_ctl) != control:
        edit = SetValue(seg, 2, None, control)
        edits.append(edit)
        shown, want = shown_control(have_ctl), shown_control(control)
        problems.append(Problem("ENV004", f"{tag}02 {_ctl(have_ctl, True)} does not match the header's "
                                          f"{_ctl(control, True)}",
                                seg, f"{tag}02", shown, want, True, (edit,)))
    return problems


def _ctl(value: str, quoted: bool = False) -> str:
    """A control number in a message: quoted only when it looks like one."""
    if shown_control(value):
        return repr(value) if quoted else value
    return "(empty)" if not value.strip() else "(not a control number, not shown)"


def _counted(tag: str) -> str:
    return {"SE": "segment", "GE": "transaction set", "IEA": "functional group"}[tag]
