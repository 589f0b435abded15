"""Where the scrubbed segments go: one output, or clean claims and rejects split.

:class:`DirectOutput` writes every segment in input order (the usual case).

:class:`SplitOutput` sends every claim that still has an error to a second
interchange and the others to the first.  Each output is a valid interchange
of its own: the envelopes, the transaction header and the HL loops above a
claim are written to an output only when a claim goes there; HL numbers and
parent links are rebuilt per output; SE01, GE01 and IEA01 are recounted;
control numbers are kept.  No segment is dropped: an HL loop that closes
(at the next HL that is not its child, or at the end of its transaction)
with no claim written under it goes to the first output then, in place, with
the loops above it that this output lacks; so does a transaction header that
no claim took.  Segments are written as received, or rewritten by
:mod:`scrubber.fixes` (the one byte writer); memory holds the header and HL
loops of the open transaction, never its claims.
"""
from __future__ import annotations

from typing import Callable

from .fixes.apply import rewrite
from .fixes.edit import SetValue
from .record import Record
from .x12.envelope import Envelope
from .x12.tokenizer import Segment, join

Write = Callable[[bytes], object]

_ENVELOPE = frozenset({"ISA", "GS", "ST", "SE", "GE", "IEA"})


_CHUNK = 1 << 18  # bytes gathered before one write to the output


class DirectOutput:
    """Every segment in input order, handed to ``write`` in chunks of about
    256 KB (a write per segment costs more than the segment)."""

    def __init__(self, write: Write):
        self.write = write
        self.written = 0
        self._parts: list[bytes] = []
        self._pending = 0

    @property
    def bytes(self) -> int:
        return self.written + self._pending

    def segment(self, seg: Segment, kind: str | None) -> None:
        self.raw(seg.raw)

    def claim(self, segments: list[Segment], rejected: bool) -> None:
        self.raw(join(segments))

    def raw(self, data: bytes) -> None:
        """Bytes passed on as received (the bulk lane)."""
        self._parts.append(data)
        self._pending += len(data)
        if self._pending >= _CHUNK:
            self.flush()

    def flush(self) -> None:
        if self._parts:
            self.write(b"".join(self._parts))
            self.written += self._pending
            self._parts.clear()
            self._pending = 0


class _Loop(Record):
    """One HL loop of the open transaction: the HL and the segments before its
    first claim or child loop, and the outputs it has been written to."""

    __slots__ = ("hl_id", "parent", "segments", "sinks")

    def __init__(self, hl_id: str, parent: str, segments: list[Segment] | None = None,
                 sinks: list | None = None):
        self.hl_id = hl_id
        self.parent = parent
        self.segments = [] if segments is None else segments
        self.sinks = [] if sinks is None else sinks  # the _Sinks it has been written to


class _Sink:
    """One output interchange: what of the current envelopes it has written."""

    def __init__(self, write: Write):
        self.write = write
        self.env = Envelope()  # recounts this output's trailers
        self.bytes = 0
        self.isa = self.gs = self.st = False
        self.hl: dict[str, str] = {}  # received HL id -> this output's HL id
        self.hl_count = 0  # HL loops written in this output's open transaction

    def put(self, seg: Segment) -> None:
        edits = [e for p in self.env.feed(seg) for e in p.edits]
        if edits:
            seg = rewrite(seg, edits)
        raw = seg.raw
        self.write(raw)
        self.bytes += len(raw)


class SplitOutput:
    def __init__(self, clean: Write, rejects: Write):
        self.sinks = (_Sink(clean), _Sink(rejects))
        self.isa: Segment | None = None
        self.gs: Segment | None = None
        self.header: list[Segment] = []  # ST up to the first HL
        self.loops: dict[str, _Loop] = {}
        self.current: list[Segment] | None = None  # where context segments go
        self.loop: _Loop | None = None
        self.open: list[_Loop] = []  # the loops not yet closed, in input order
        self.passthrough = False  # a transaction that is not a 5010 837: all to the clean output

    @property
    def bytes(self) -> int:
        return self.sinks[0].bytes

    def flush(self) -> None:
        """The end of the input: what a transaction left open holds goes out
        (claims are written as they come)."""
        self._end_transaction()

    def segment(self, seg: Segment, kind: str | None) -> None:
        tag = seg.tag
        clean = self.sinks[0]
        if tag in _ENVELOPE:
            self._end_transaction()  # (SE, or a transaction whose SE is missing)
        if tag == "ISA":
            self.isa, self.gs = seg, None
            for s in self.sinks:
                s.isa = s.gs = s.st = False
        elif tag == "GS":
            self.gs = seg
            for s in self.sinks:
                s.gs = s.st = False
        elif tag == "ST":
            self.header, self.loops, self.loop, self.open = [seg], {}, None, []
            self.current = self.header
            for s in self.sinks:
                s.st, s.hl, s.hl_count = False, {}, 0
            self.passthrough = kind is None
            if self.passthrough:
                self._open(clean)
        elif tag in ("SE", "GE", "IEA"):
            level = {"SE": "st", "GE": "gs", "IEA": "isa"}[tag]
            written = [s for s in self.sinks if getattr(s, level)]
            if not written and not any(s.isa for s in self.sinks):
                written = [clean]  # a trailer without headers: keep it somewhere
            for s in written:
                s.put(seg)
                setattr(s, level, False)
        elif self.passthrough or self.current is None:
            if self.current is None and not clean.isa and self.isa is not None:
                self._envelopes(clean)
            clean.put(seg)
        elif tag == "HL":
            loop = _Loop(seg.element(1), seg.element(2), [seg])
            self._close(self._ancestors(loop))
            self.loop = loop
            self.loops[loop.hl_id] = loop
            self.open.append(loop)
            self.current = loop.segments
        else:
            self.current.append(seg)

    def claim(self, segments: list[Segment], rejected: bool) -> None:
        sink = self.sinks[1 if rejected else 0]
        self._open(sink)
        self._chain(sink, self.loop)
        for seg in segments:
            sink.put(seg)

    def _chain(self, sink: _Sink, loop: _Loop | None) -> None:
        """Write ``loop`` and the loops above it that ``sink`` lacks, outermost
        first, with HL01/HL02 renumbered for ``sink``."""
        chain = []
        seen = set()
        while loop is not None and sink not in loop.sinks and loop.hl_id not in seen:
            seen.add(loop.hl_id)
            chain.append(loop)
            loop = self.loops.get(loop.parent)
        for loop in reversed(chain):
            sink.hl_count += 1
            new_id = str(sink.hl_count)
            parent = sink.hl.get(loop.parent, "")
            sink.hl[loop.hl_id] = new_id
            loop.sinks.append(sink)
            hl = loop.segments[0]
            if hl.element(1) != new_id or hl.element(2) != parent:
                hl = rewrite(hl, [SetValue(hl, 1, None, new_id), SetValue(hl, 2, None, parent)])
            sink.put(hl)
            for seg in loop.segments[1:]:
                sink.put(seg)

    def _ancestors(self, loop: _Loop) -> list[_Loop]:
        """The loops above ``loop`` (by its HL02, then theirs)."""
        found: list[_Loop] = []
        seen = {loop.hl_id}
        parent = self.loops.get(loop.parent)
        while parent is not None and parent.hl_id not in seen:
            seen.add(parent.hl_id)
            found.append(parent)
            parent = self.loops.get(parent.parent)
        return found

    def _close(self, keep: list[_Loop]) -> None:
        """Close the open loops not in ``keep``: one that no output has
        taken (no claim was written under it) goes to the clean output now,
        with the loops above it that output lacks."""
        kept = [lp for lp in self.open if lp in keep]  # (a _Loop compares by identity)
        closing = [lp for lp in self.open if lp not in keep]
        self.open = kept
        clean = self.sinks[0]
        for loop in closing:
            if not loop.sinks:
                self._open(clean)
                self._chain(clean, loop)

    def _end_transaction(self) -> None:
        """The open transaction ends (its SE, an envelope segment in place of
        its SE, or the end of the input): every loop closes, and a header no
        claim took goes to the clean output."""
        if self.current is not None and not self.passthrough:
            self._close([])
            if not any(s.st for s in self.sinks):
                self._open(self.sinks[0])
        self.current = self.loop = None
        self.open = []
        self.passthrough = False

    def _envelopes(self, sink: _Sink) -> None:
        if not sink.isa and self.isa is not None:
            sink.put(self.isa)
            sink.isa = True
        if not sink.gs and self.gs is not None:
            sink.put(self.gs)
            sink.gs = True

    def _open(self, sink: _Sink) -> None:
        """Write the envelopes and the transaction header to ``sink`` once."""
        self._envelopes(sink)
        if not sink.st:
            for seg in self.header:
                sink.put(seg)
            sink.st = True
