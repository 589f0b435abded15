"""Lossless, streaming X12 tokenizer.

The input is cut into :class:`Segment` tokens.  Every byte of the input belongs
to exactly one token, so ``b"".join(seg.raw for seg in tokenize(f)) == data``
holds for any input (the *round-trip invariant*).  A token is::

    lead + content + terminator + trailer

``lead`` is only non-empty for bytes that precede the first ISA (a UTF-8 BOM,
blank lines, garbage); ``content`` is the segment text without its terminator;
``trailer`` is the white space (CR, LF, space, tab) that follows the
terminator, including the indentation of the next segment.

Delimiters are read anew from every ISA, so one file may hold interchanges
with different delimiters.  The stream is read in chunks; memory is bounded by
the chunk size plus the longest segment.
"""
from __future__ import annotations

import re
from typing import BinaryIO, Iterable, Iterator, NamedTuple

CHUNK_SIZE = 1 << 20
# How far into a file the first ISA may start (after a BOM, blank lines or junk).
MAX_LEAD = 1 << 16
# The longest segment accepted; a longer run without a terminator is not X12.
MAX_SEGMENT = 1 << 24
_WHITESPACE = b"\r\n \t"
# The first window split after a Block; it doubles while no Block comes.
_SMALL_WINDOW = 1 << 8
_ISA_ELEMENTS = 16
# A segment id: two or three upper-case letters or digits.
_TAG_RE = re.compile(rb"[A-Z][A-Z0-9]{1,2}\Z")


class X12Error(Exception):
    """The input cannot be read as X12 at all (no ISA, bad ISA)."""

    def __init__(self, message: str, offset: int = 0, segment_index: int | None = None):
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.segment_index = segment_index

    def __str__(self) -> str:  # pragma: no cover - formatting only
        where = f"byte {self.offset}"
        if self.segment_index is not None:
            where += f", segment {self.segment_index}"
        return f"{where}: {self.message}"


class Delimiters(NamedTuple):
    """The four X12 delimiters of one interchange, each one byte."""

    element: bytes
    component: bytes
    repetition: bytes | None
    segment: bytes

    @classmethod
    def default(cls) -> "Delimiters":
        return cls(b"*", b":", b"^", b"~")

    def describe(self) -> str:
        def show(b: bytes | None) -> str:
            return "none" if b is None else repr(b.decode("latin-1"))

        return (
            f"element {show(self.element)}, component {show(self.component)}, "
            f"repetition {show(self.repetition)}, segment {show(self.segment)}"
        )


def read_isa_delimiters(buf: bytes, pos: int = 0) -> tuple[Delimiters, int, bool]:
    """Read the delimiters of the ISA that starts at ``buf[pos]``.

    Returns the delimiters, the offset of the segment terminator, and whether
    the ISA had the fixed 106-byte width.  The ISA is located by counting its
    sixteen element separators rather than by fixed offsets, so an ISA whose
    fields have the wrong width is still read (and reported by the envelope).
    Raises :class:`X12Error` when the ISA cannot be read.
    """
    if len(buf) < pos + 4 or buf[pos : pos + 3] != b"ISA":
        raise X12Error("no ISA segment", pos)
    sep = buf[pos + 3 : pos + 4]
    if sep.isalnum() or sep in (b"", b" "):
        raise X12Error(f"ISA element separator {sep!r} is not a delimiter", pos + 3)
    i = pos + 3
    for n in range(_ISA_ELEMENTS):
        j = buf.find(sep, i + 1 if n else i, pos + 200)
        if j < 0:
            raise X12Error(f"ISA has fewer than {_ISA_ELEMENTS} elements", pos)
        i = j
    # i is the separator before ISA16; ISA16 is one byte; the terminator follows.
    if len(buf) < i + 3:
        raise X12Error("ISA is truncated before its segment terminator", pos)
    component = buf[i + 1 : i + 2]
    terminator = buf[i + 2 : i + 3]
    fields = buf[pos + 4 : i].split(sep)
    repetition = fields[10][:1] if len(fields) > 10 and len(fields[10]) == 1 else None
    if repetition is not None and (repetition.isalnum() or repetition == b" "):
        repetition = None  # 4010 files put 'U' in ISA11.
    if terminator.isalnum() or terminator in (sep, component):
        raise X12Error(f"ISA segment terminator {terminator!r} is not a delimiter", i + 2)
    fixed = (i + 2 - pos) == 105
    return Delimiters(sep, component, repetition, terminator), i + 2, fixed


class Segment:
    """One token of the input: a segment with its exact bytes and position."""

    __slots__ = ("lead", "content", "terminator", "trailer", "offset", "index", "delims", "_elements", "origin", "inserted", "tag")

    def __init__(
        self,
        content: bytes,
        terminator: bytes,
        trailer: bytes,
        offset: int,
        index: int,
        delims: Delimiters,
        lead: bytes = b"",
        tag: str | None = None,
    ):
        self.lead = lead
        self.content = content
        self.terminator = terminator
        self.trailer = trailer
        self.offset = offset  # absolute offset of ``content`` in the input
        self.index = index  # 1-based position in the file (ISA = 1); 0 for a lead-only token
        self.delims = delims
        self._elements: list[bytes] | None = None
        self.tag = tag if tag is not None else tag_of(content, delims.element)  # the segment id
        self.origin: Segment | None = None  # the received segment this one was rewritten from
        self.inserted = False  # added by the scrubber, not received

    # -- bytes ---------------------------------------------------------------
    @property
    def raw(self) -> bytes:
        return self.lead + self.content + self.terminator + self.trailer

    @property
    def start(self) -> int:
        return self.offset - len(self.lead)

    @property
    def end(self) -> int:
        return self.offset + len(self.content) + len(self.terminator) + len(self.trailer)

    # -- elements -----------------------------------------------------------
    @property
    def elements(self) -> list[bytes]:
        """``elements[0]`` is the tag, ``elements[n]`` the n-th element."""
        els = self._elements
        if els is None:
            els = self._elements = self.content.split(self.delims.element)
        return els

    def element(self, n: int) -> str:
        els = self.elements
        return els[n].decode("latin-1") if n < len(els) else ""

    def components(self, n: int) -> list[str]:
        els = self.elements
        if n >= len(els):
            return []
        return els[n].decode("latin-1").split(self.delims.component.decode("latin-1"))

    def component(self, n: int, k: int) -> str:
        comps = self.components(n)
        return comps[k - 1] if k - 1 < len(comps) else ""

    @property
    def is_empty(self) -> bool:
        return not self.content.strip(_WHITESPACE)

    @property
    def received(self) -> "Segment":
        """The segment as received: itself, or the one it was rewritten from."""
        return self.origin or self

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Segment({self.index}, {self.content[:40]!r})"


class Block:
    """A run of well-formed segments handed on as raw bytes, not one by one.

    The tokenizer yields one when its ``bulk`` scanner (set by the caller)
    vouches for the run; ``count`` segments, positions ``index`` to
    ``index + count - 1``; ``raw`` includes the white space after the last
    terminator; ``info`` is what the scanner said about it."""

    __slots__ = ("raw", "count", "offset", "index", "info", "delims")

    def __init__(self, raw: bytes, count: int, offset: int, index: int, info, delims: Delimiters):
        self.raw = raw
        self.count = count
        self.offset = offset
        self.index = index
        self.info = info
        self.delims = delims

    def contents(self) -> list[bytes]:
        """Each segment's ``content``, as the tokenizer would cut it (without
        its terminator and the white space before it)."""
        strip = white_space_after(self.delims.segment)[0]
        pieces = self.raw.split(self.delims.segment)
        pieces.pop()  # the white space after the last terminator
        return [p.lstrip(strip) for p in pieces]


def white_space_after(term: bytes) -> tuple[bytes, frozenset]:
    """The white space that may follow a terminator ``term`` (all but the
    terminator itself), as bytes and as a set of byte values; part of the
    token before it (its trailer)."""
    found = _ws.get(term)
    if found is None:
        strip = bytes(c for c in _WHITESPACE if bytes([c]) != term)
        found = _ws[term] = (strip, frozenset(strip))
    return found


_ws: dict[bytes, tuple[bytes, frozenset]] = {}


def tag_of(content: bytes, sep: bytes) -> str:
    """The segment id: the text before the first element separator."""
    i = content.find(sep)
    return (content if i < 0 else content[:i]).decode("latin-1")


def _is_isa_at(buf: bytes, pos: int) -> bool:
    return buf.startswith(b"ISA", pos) and len(buf) > pos + 3 and not buf[pos + 3 : pos + 4].isalnum()


class Tokenizer:
    """Cut a byte stream into :class:`Segment` tokens, losslessly, in chunks.

    Problems that do not stop tokenizing (text before the first ISA, a
    segment truncated at the end of the file, an ISA of the wrong width) are
    collected in :attr:`notes` as ``(code, segment_index, offset, message)``
    with the check codes of :mod:`scrubber.x12.envelope`.
    """

    def __init__(self, stream: BinaryIO, chunk_size: int = CHUNK_SIZE):
        self.stream = stream
        self.chunk_size = chunk_size
        self.notes: list[tuple[int, int, str]] = []
        self.bytes_read = 0
        # bulk(buf, start, delims) -> (end, count, info) | None: may pass a run of
        # segments starting at buf[start] (a segment with id HL) as one Block
        self.bulk = None

    def __iter__(self) -> Iterator[Segment]:
        read = self.stream.read
        chunk_size = self.chunk_size
        buf = read(chunk_size) or b""
        if not isinstance(buf, (bytes, bytearray)):
            raise TypeError(f"the stream gave {type(buf).__name__}, not bytes: open the file in binary mode ('rb')")
        base = 0  # absolute offset of buf[0]
        eof = not buf

        def more() -> bool:
            """Append the next chunk; offsets into ``buf`` stay valid."""
            nonlocal buf, eof
            if eof:
                return False
            data = read(chunk_size)
            if not data:
                eof = True
                return False
            buf += data
            return True

        # -- lead: everything before the first ISA ----------------------------
        pos = 0
        while True:
            k = buf.find(b"ISA")
            while k >= 0 and not _is_isa_at(buf, k):
                if len(buf) <= k + 3:
                    break
                k = buf.find(b"ISA", k + 1)
            if k >= 0 and len(buf) > k + 3:
                break
            if len(buf) > MAX_LEAD or not more():
                k = -1
                break
        if k < 0 or k > MAX_LEAD:
            raise X12Error(_not_x12(buf[:MAX_LEAD]), 0)
        lead = buf[:k]
        if lead.strip(_WHITESPACE) not in (b"", b"\xef\xbb\xbf"):
            self.notes.append(("ENV011", 1, k, f"{len(lead)} bytes of text before the first ISA"))
        pos = k

        delims: Delimiters | None = None
        index = 0
        tags: dict[bytes, str] = {}
        pending: Segment | None = None  # the last segment, waiting for its trailer
        isa_read_at = -1
        window = _SMALL_WINDOW
        while True:
            # ``pos`` is the start of a segment's content.
            if pos != isa_read_at and (delims is None or _is_isa_at(buf, pos)):
                while len(buf) - pos < 300 and more():
                    pass
                isa_read_at = pos
                try:
                    found, _, fixed = read_isa_delimiters(buf, pos)
                except X12Error as exc:
                    if delims is None:
                        raise X12Error(exc.message, base + exc.offset, index + 1) from None
                    self.notes.append(("ENV010", index + 1, base + pos, f"unreadable ISA: {exc.message}"))
                else:
                    delims = found
                    if not fixed:
                        self.notes.append(("ENV010", index + 1, base + pos, "ISA is not 106 bytes long"))
            term = delims.segment
            sep = delims.element
            strip, ws_first = white_space_after(term)
            tlen = len(term)
            # Split a window of what is read, not all of it: after a Block the
            # bytes it covers need no splitting.  The window grows while no
            # Block comes.
            window_end = min(len(buf), pos + window)
            pieces = buf[pos:window_end].split(term)
            at_end = eof and window_end == len(buf)  # the last piece is the file's last
            if len(pieces) == 1 and not at_end:
                if window_end < len(buf):
                    window = max(window * 2, window_end - pos + 1)
                    continue  # a segment longer than the window: widen it
                # no terminator in what is read: read on (bounded)
                if len(buf) - pos > MAX_SEGMENT:
                    raise X12Error(f"no segment terminator {term!r} within {MAX_SEGMENT} bytes", base + pos,
                                   index + 1)
                more()
                continue
            off = pos
            tail = pieces.pop()  # what follows the last terminator in the window
            restart = False
            for piece in pieces:  # each ends at a terminator
                if piece and piece[0] in ws_first:
                    content = piece.lstrip(strip)
                    ws = len(piece) - len(content)
                    if pending is not None:
                        pending.trailer = piece[:ws]
                else:
                    content = piece
                    ws = 0
                if pending is not None:
                    yield pending
                    pending = None
                start = off + ws
                if content[:3] == b"ISA" and start != isa_read_at and _is_isa_at(buf, start):
                    pos = start  # a new interchange: its own delimiters
                    restart = True
                    break
                index += 1
                i = content.find(sep, 0, 4)
                t = tags.get(content[:i]) if i > 0 else None
                if t is None:
                    t = tag_of(content, sep)
                    if 0 < i:  # ids of up to three bytes: a handful per file, read once
                        tags[content[:i]] = t
                if t == "HL" and self.bulk is not None and not lead:
                    found = self.bulk(buf, start, delims)
                    if found is not None:
                        end, count, info = found
                        # the run is ``count`` whole segments and the white space after them
                        after = buf.rfind(term, start, end) + tlen
                        if count > 0 and start < after <= end < len(buf) and not buf[after:end].strip(strip):
                            yield Block(buf[start:end], count, base + start, index, info, delims)
                            index += count - 1
                            pos = end
                            window = _SMALL_WINDOW
                            restart = True
                            break
                pending = Segment(content, term, b"", base + start, index, delims, lead, t)
                lead = b""
                off += len(piece) + tlen
            if restart:
                continue
            if at_end:  # the last piece is what follows the file's last terminator
                piece = tail
                content = piece.lstrip(strip)
                ws = len(piece) - len(content)
                if pending is not None:
                    if ws:
                        pending.trailer = piece[:ws]
                    yield pending
                    pending = None
                start = off + ws
                if content[:3] == b"ISA" and start != isa_read_at and _is_isa_at(buf, start):
                    pos = start  # a new interchange, cut short: read as one
                    continue
                if content:  # eof inside a segment
                    index += 1
                    self.notes.append(("ENV012", index, base + start,
                                       "file ends inside a segment (no segment terminator)"))
                    yield Segment(content, b"", b"", base + start, index, delims, lead)
                self.bytes_read = base + len(buf)
                return
            if window_end < len(buf):  # the window ended, not what is read
                pos = off
                window = min(window * 2, self.chunk_size + _SMALL_WINDOW)
                continue
            # keep the incomplete last piece; drop what is behind it
            buf = buf[off:]
            base += off
            pos = 0
            isa_read_at -= off
            if not more():
                continue  # eof now known: the loop above finishes the last piece
            # a pending segment keeps waiting: the next piece starts with its trailer


def _not_x12(head: bytes) -> str:
    """Say what a file without an ISA looks like instead."""
    if not head:
        return "the file is empty"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"I\x00S\x00A\x00" in head or b"\x00I\x00S\x00A" in head:
        return "the file is UTF-16 text; X12 must be in an 8-bit encoding (ASCII, Latin-1 or UTF-8)"
    if b"\x00" in head:
        return "the file is binary data (it has NUL bytes), not an X12 interchange"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"ISA") and len(text) > 3:
        sep = text[3:4].decode("latin-1")
        return f"the ISA element separator (its 4th byte) is {sep!r}, a letter, digit or space: the delimiters cannot be read"
    if text[:2] in (b"GS", b"ST") and text[2:3] and not text[2:3].isalnum():
        return f"the file starts with {text[:2].decode()} but has no ISA interchange header"
    return "no ISA segment: this is not an X12 interchange"


def tokenize(stream: BinaryIO | bytes, chunk_size: int = CHUNK_SIZE) -> Iterator[Segment]:
    """Tokenize a binary stream (or bytes) into segments; see :class:`Tokenizer`."""
    if isinstance(stream, (bytes, bytearray, memoryview)):
        import io

        stream = io.BytesIO(bytes(stream))
    return iter(Tokenizer(stream, chunk_size))


def join(segments: Iterable[Segment]) -> bytes:
    """Write segments back: the inverse of :func:`tokenize`.  (Each
    segment's ``raw``, spelt out: this writes every claim.)"""
    return b"".join([seg.lead + seg.content + seg.terminator + seg.trailer for seg in segments])


def is_segment_tag(tag: str) -> bool:
    return bool(_TAG_RE.match(tag.encode("latin-1", "replace")))
