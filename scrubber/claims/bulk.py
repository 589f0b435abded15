"""The bulk lane: subscriber loops with no drug line pass as raw bytes.

Most claims in a day's file have no drug line; the rules have nothing to
say about them and their bytes go out as received.  :class:`BlockScanner`
is the tokenizer's ``bulk`` callback: at a subscriber HL (2000B, HL03 = 22)
it looks ahead, with regular expressions over the bytes, to the next
subscriber or billing-provider HL or envelope segment.  It vouches for the
run only when every segment in it is well formed (an id of two or three
letters and digits, no empty segment) and no service line in it is a drug
line in the sense of :func:`scrubber.rules.scope.has_drug_line` (no loop
2410, no drug code, no JW/JZ).  Anything else goes the ordinary way,
segment by segment, so the result is the same, byte for byte and finding
for finding.
"""
from __future__ import annotations

import re

from ..x12.tokenizer import Delimiters

_WS = b"\r\n \t"
_WASTE = {"JW", "JZ"}


class _Patterns:
    def __init__(self, d: Delimiters):
        t, e = re.escape(d.segment), re.escape(d.element)
        ws = re.escape(bytes(c for c in _WS if bytes([c]) != d.segment))
        ws = b"[" + ws + b"]*+" if ws else b""  # possessive: white space is never given back
        self.boundary = re.compile(t + ws + b"(?P<tag>HL|SE|GE|IEA|ISA|ST|GS)(?=" + e + b"|" + t + b")")
        self.anomaly = re.compile(t + ws + b"(?![A-Z][A-Z0-9]{1,2}(?:" + e + b"|" + t + b"))")
        self.lin = re.compile(t + ws + b"LIN(?=" + e + b"|" + t + b")")
        self.service = re.compile(t + ws + b"(SV[12])" + e + b"([^" + t + b"]*)")
        self.claim = re.compile(t + ws + b"CLM(?=" + e + b"|" + t + b")")
        self.sep, self.comp, self.term = d.element, d.component, d.segment


class BlockScanner:
    """``scanner(buf, start, delims) -> (end, segments, claims) | None``."""

    def __init__(self, drug_codes: frozenset[str]):
        self.codes = drug_codes
        self._patterns: dict[Delimiters, _Patterns] = {}

    def __call__(self, buf: bytes, start: int, delims: Delimiters):
        p = self._patterns.get(delims)
        if p is None:
            p = self._patterns[delims] = _Patterns(delims)
        end = None
        claims = 0
        at = start
        while True:  # one subscriber loop after another, while each is clean
            run = self._run(p, buf, at)
            if run is None:
                break
            end, last_term, n, more = run
            claims += n
            if not more:
                break
            at = end
        if end is None:
            return None
        count = buf.count(p.term, start, end)
        return end, count, claims

    def _run(self, p: _Patterns, buf: bytes, start: int):
        """The subscriber loop at ``start``: (end, its last terminator, claims,
        whether the next segment is another subscriber HL), or None when it
        is not clean or not all read."""
        term = p.term
        hl_end = buf.find(term, start)
        if hl_end < 0:
            return None
        hl = buf[start:hl_end].split(p.sep)
        if len(hl) < 4 or hl[0] != b"HL" or hl[3] != b"22":
            return None
        pos = hl_end
        while True:
            m = p.boundary.search(buf, pos)
            if m is None:
                return None  # the run goes past what is read: the ordinary way
            if m.group("tag") != b"HL":
                next_is_subscriber = False
                break
            t = m.end("tag")
            nxt = buf.find(term, t)
            if nxt < 0:
                return None
            level = buf[t:nxt].split(p.sep)
            if len(level) < 4 or level[3] != b"23":
                next_is_subscriber = len(level) >= 4 and level[3] == b"22"
                break
            pos = nxt
        last_term = m.start()
        if p.anomaly.search(buf, hl_end, last_term) or p.lin.search(buf, hl_end, last_term):
            return None
        for s in p.service.finditer(buf, hl_end, last_term):
            els = s.group(2).split(p.sep)
            composite = els[0] if s.group(1) == b"SV1" else (els[1] if len(els) > 1 else b"")
            comps = composite.decode("latin-1").split(p.comp.decode("latin-1"))
            if len(comps) > 1 and comps[1] in self.codes:
                return None
            if _WASTE.intersection(comps[2:6]):
                return None
        claims = sum(1 for _ in p.claim.finditer(buf, hl_end, last_term))
        return m.start("tag"), last_term, claims, next_is_subscriber
