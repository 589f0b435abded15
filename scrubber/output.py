"""Where the scrubbed segments go: one output, or clean claims and rejects split.

:class:`DirectOutput` writes every segment in input order (the usual case).

:class:`SplitOutput` sends every claim that still has an error to a second
interchange and the others to the first.  Each output is a valid interchange
of its own: the envelopes, the transaction header and the HL loops above a
claim are written to an output only when a claim goes there; HL numbers and
parent links are rebuilt per output; SE01, GE01 and IEA01 are recounted;
control numbers are kept.  Segments are written as received, or rewritten by
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
    first claim or child loop."""

    __slots__ = ("hl_id", "parent", "segments")

    def __init__(self, hl_id: str, parent: str, segments: list[Segment] | None = None):
        self.hl_id = hl_id
        self.parent = parent
        self.segments = [] if segments is None else segments


class _Sink:
    """One output interchange: what of the current envelopes it has written."""

    def __init__(self, write: Write):
        self.write = write
        self.env = Envelope()  # recounts this output's trailers
        self.bytes = 0
        self.isa = self.gs = self.st = False
        self.hl: dict[str, str] = {}  # received HL id -> this output's HL id

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
        self.passthrough = False  # a transaction that is not a 5010 837: all to the clean output

    @property
    def bytes(self) -> int:
        return self.sinks[0].bytes

    def flush(self) -> None:
        """Nothing is held back: each segment is written as it comes."""

    def segment(self, seg: Segment, kind: str | None) -> None:
        tag = seg.tag
        clean = self.sinks[0]
        if tag == "ISA":
            self.isa, self.gs = seg, None
            for s in self.sinks:
                s.isa = s.gs = s.st = False
        elif tag == "GS":
            self.gs = seg
            for s in self.sinks:
                s.gs = s.st = False
        elif tag == "ST":
            self.header, self.loops, self.loop = [seg], {}, None
            self.current = self.header
            for s in self.sinks:
                s.st, s.hl = False, {}
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
            if tag == "SE":
                self.current, self.passthrough = None, False
        elif self.passthrough or self.current is None:
            if self.current is None and not clean.isa and self.isa is not None:
                self._envelopes(clean)
            clean.put(seg)
        elif tag == "HL":
            loop = self.loop = _Loop(seg.element(1), seg.element(2), [seg])
            self.loops[loop.hl_id] = loop
            self.current = loop.segments
        else:
            self.current.append(seg)

    def claim(self, segments: list[Segment], rejected: bool) -> None:
        sink = self.sinks[1 if rejected else 0]
        self._open(sink)
        chain = []
        loop = self.loop
        seen = set()
        while loop is not None and loop.hl_id not in sink.hl and loop.hl_id not in seen:
            seen.add(loop.hl_id)
            chain.append(loop)
            loop = self.loops.get(loop.parent)
        for loop in reversed(chain):
            new_id = str(len(sink.hl) + 1)
            parent = sink.hl.get(loop.parent, "")
            sink.hl[loop.hl_id] = new_id
            hl = loop.segments[0]
            if hl.element(1) != new_id or hl.element(2) != parent:
                hl = rewrite(hl, [SetValue(hl, 1, None, new_id), SetValue(hl, 2, None, parent)])
            sink.put(hl)
            for seg in loop.segments[1:]:
                sink.put(seg)
        for seg in segments:
            sink.put(seg)

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
