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
for finding.  Of a subscriber loop with a drug line, the header (HL up to
its first claim: the subscriber, the payer, a patient) may pass the same
way; the pipeline then reads its hierarchy from the block's segments.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from ..x12.tokenizer import Delimiters, white_space_after

_WASTE = {"JW", "JZ"}


class _Patterns:
    """The regular expression of one set of delimiters and drug codes.

    ``scan`` finds, in one pass, every segment that matters to a run: a claim
    (CLM), a subscriber or billing-provider HL, an envelope segment, a drug
    line, and an ill-formed segment.  Ordinary segments never match, so the
    regular-expression engine passes over them without coming back to Python.
    """

    def __init__(self, d: Delimiters, codes: frozenset[str]):
        t, e, c = re.escape(d.segment), re.escape(d.element), re.escape(d.component)
        ws = re.escape(white_space_after(d.segment)[0])
        ws = b"[" + ws + b"]*+" if ws else b""  # possessive: white space is never given back
        end = b"(?=[" + e + t + b"])"
        c_end = b"(?=[" + c + e + t + b"])"
        not_ce = b"[^" + c + e + t + b"]*+"
        not_e = b"[^" + e + t + b"]*+"
        alt = b"|".join(re.escape(x.encode("latin-1")) for x in sorted(codes)) or b"(?!)"
        waste = b"(?:JW|JZ)" + c_end
        # a procedure composite that names a drug: its code (component 2) is one of
        # the codes, or one of its modifiers (components 3 to 6) is JW or JZ
        drug = (not_ce + c + b"(?:(?:" + alt + b")" + c_end
                + b"|" + not_ce + b"(?:" + c + b"(?!" + waste + b")" + not_ce + b"){0,3}+" + c + waste + b")")
        # a segment id that is not two or three letters and digits (the first a
        # letter) followed by a delimiter, spelt with character classes only
        # (after a quick look ahead that passes over the well-formed ids)
        et = e + t
        ill = (b"(?![A-Z][A-Z0-9][A-Z0-9]?+[" + et + b"])"
               b"(?:[^A-Z]|[A-Z](?:[^A-Z0-9]|[A-Z0-9](?:[^A-Z0-9" + et + b"]|[A-Z0-9][^" + et + b"])))")
        # Each alternative starts with a literal or a character class, so the
        # engine rules most of them out at a segment's first byte; the kind is
        # told by the empty group that ends it (``lastgroup``), and the segment
        # starts where ``at`` ends.  Quantifiers are possessive: nothing is
        # tried twice.
        self.scan = re.compile(
            b"(?P<at>" + t + ws + b")(?:"
            + b"CLM" + end + b"(?P<clm>)"
            + b"|HL" + e + not_e + e + not_e + e + b"(?:22" + end + b"(?P<sub>)|20" + end + b"(?P<top>))"
            + b"|(?:SE|GE|IEA|ISA|ST|GS)" + end + b"(?P<env>)"
            + b"|(?:LIN" + end + b"|SV1" + e + drug + b"|SV2" + e + not_e + e + drug + b")(?P<drug>)"
            + b"|(?:" + ill + b")(?P<ill>))")
        self.term = d.segment
        self.sep = d.element


class Run(NamedTuple):
    """What a block is: whole subscriber loops with ``claims`` claims, or
    (``header``) the header of a subscriber loop with a drug line, from its
    HL up to its first claim, whose hierarchy the claims need."""

    claims: int
    header: bool = False


HEADER = Run(0, True)


class BlockScanner:
    """``scanner(buf, start, delims) -> (end, segments, Run) | None``.

    From a subscriber HL at ``start`` the run reaches to the next billing
    provider HL or envelope segment; it is cut before the subscriber loop of
    the first segment that is not clean (ill-formed, a drug line), or of the
    segment that the bytes read so far end in.  When the loop at ``start``
    itself has a drug line (and every segment before it is well formed), its
    header is handed on: the claims go the ordinary way."""

    def __init__(self, drug_codes: frozenset[str]):
        self.codes = drug_codes
        self._patterns: dict[Delimiters, _Patterns] = {}
        # a subscriber loop already seen to be not clean: (buf, start, what to answer there)
        self._not_clean: tuple[bytes, int, tuple | None] | None = None

    def __call__(self, buf: bytes, start: int, delims: Delimiters):
        seen = self._not_clean
        if seen is not None and seen[1] == start and seen[0] is buf:
            return seen[2]  # the run before it was cut here: it is not clean
        p = self._patterns.get(delims)
        if p is None:
            p = self._patterns[delims] = _Patterns(delims, self.codes)
        term = p.term
        hl_end = buf.find(term, start)
        hl = buf[start:hl_end].split(p.sep) if hl_end > 0 else ()
        if len(hl) < 4 or hl[3] != b"22":
            return None  # runs start at a subscriber HL
        claims = 0
        cut = None  # the last subscriber HL so far, and the claims before it
        loop_claim = -1  # where the first claim of the last subscriber loop starts
        for m in p.scan.finditer(buf, hl_end):
            kind = m.lastgroup
            if kind == "clm":
                if loop_claim < 0:
                    loop_claim = m.end("at")
                claims += 1
            elif kind == "sub":
                cut = m.end("at"), claims
                loop_claim = -1
            elif kind == "top" or kind == "env":
                end = m.end("at")
                break
            else:  # not clean (a drug line, an ill-formed segment): cut before its subscriber loop
                # That loop goes the ordinary way, all but its header when the
                # reason is a drug line after a claim.
                header = None
                if kind == "drug" and loop_claim >= 0:
                    loop = start if cut is None else cut[0]
                    header = loop_claim, buf.count(term, loop, loop_claim), HEADER
                if cut is None:
                    return header
                end, claims = cut
                self._not_clean = (buf, end, header)
                break
        else:  # the bytes read so far end first: cut before the last subscriber loop
            if cut is None:
                return None
            end, claims = cut
        return end, buf.count(term, start, end), Run(claims)
