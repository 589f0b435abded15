"""The text stream pyx12 reads: our tokens, one run of interchanges at a time.

The text is built lazily from our lossless tokenizer, one segment at a time,
as ``content + terminator``:

* bytes before the first ISA (a UTF-8 BOM, blank lines) are not fed, so the
  ISA starts the stream as pyx12 requires;
* empty segments are not fed: pyx12's reader takes one for the end of the
  file and silently drops the rest (the envelope check ENV007 reports them);
* line breaks and indentation after a terminator are not fed.

pyx12 counts segments from 1 at the first one it reads; :class:`Feed` keeps
the few break points needed to turn that count back into our
``segment_index`` (ISA = 1, every token of the file counted).

pyx12 reads the delimiters once, from the first ISA, and chooses its control
map from the first ISA12.  So the file is cut into *runs*: consecutive
interchanges with the same delimiters and ISA12 form one run; an interchange
that changes them starts the next.
"""
from __future__ import annotations

import bisect
from typing import Iterator

from ..x12.tokenizer import Segment


class Tokens:
    """A token iterator with one token of look-ahead."""

    def __init__(self, it: Iterator[Segment]):
        self._it = it
        self._next: Segment | None = None
        self._done = False

    def peek(self) -> Segment | None:
        if self._next is None and not self._done:
            try:
                self._next = next(self._it)
            except StopIteration:
                self._done = True
        return self._next

    def take(self) -> Segment:
        seg = self.peek()
        self._next = None
        return seg


def run_key(isa: Segment) -> tuple:
    return (isa.delims, isa.element(12))


class Feed:
    """A read-only text stream of one run, for pyx12 (which needs only
    ``read(n)`` and ``closed``)."""

    closed = False

    def __init__(self, tokens: Tokens):
        self.tokens = tokens
        first = tokens.peek()
        self.key = run_key(first) if first is not None and first.tag == "ISA" else None
        self.count = 0  # segments handed to pyx12
        self.breaks: list[tuple[int, int]] = []  # (pyx12 ordinal, our index) where the numbering jumps
        self.first_isa = ""
        self._chunks: list[str] = []
        self._size = 0
        self._ended = False

    def _next_text(self) -> str | None:
        """The text of the next segment of this run, or None at its end."""
        while True:
            seg = self.tokens.peek()
            if seg is None:
                return None
            if seg.tag == "ISA" and self.count and run_key(seg) != self.key:
                return None  # another run starts here
            self.tokens.take()
            if not seg.index or seg.is_empty:
                continue
            self.count += 1
            if not self.breaks or self.breaks[-1][1] + (self.count - self.breaks[-1][0]) != seg.index:
                self.breaks.append((self.count, seg.index))
            text = (seg.content + seg.terminator).decode("latin-1")
            if self.count == 1:
                self.first_isa = text
            return text

    def read(self, n: int = -1) -> str:
        while not self._ended and (n < 0 or self._size < n):
            text = self._next_text()
            if text is None:
                self._ended = True
                break
            self._chunks.append(text)
            self._size += len(text)
        buf = "".join(self._chunks)
        if n < 0 or n >= len(buf):
            out, rest = buf, ""
        else:
            out, rest = buf[:n], buf[n:]
        self._chunks = [rest] if rest else []
        self._size = len(rest)
        return out

    def unread(self, text: str) -> None:
        self._chunks.insert(0, text)
        self._size += len(text)

    def drain(self) -> None:
        """Consume what pyx12 left unread of this run."""
        while not self._ended:
            if self._next_text() is None:
                self._ended = True

    def close(self) -> None:
        pass

    def index_of(self, line: int) -> int | None:
        """Our segment_index of pyx12's segment ordinal ``line`` in this run."""
        if not self.breaks:
            return None
        line = min(max(line, 1), max(self.count, 1))
        start, index = self.breaks[bisect.bisect_right(self.breaks, (line, float("inf"))) - 1]
        return index + (line - start)
