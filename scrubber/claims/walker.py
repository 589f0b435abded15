"""Walk the loops of an 837: HL hierarchy, claims, service lines, drug loops.

:class:`ClaimStream` is fed segments one at a time (streaming) and hands back
*units* in input order: a segment outside any claim, or a whole claim (CLM up
to the next HL, CLM or SE).  Memory is bounded by the largest claim.

:func:`build_claim` turns a claim's segments into the :class:`Claim` model;
it is called again on corrected segments, so it is a pure function of them.
"""
from __future__ import annotations

from datetime import date

from ..record import Record
from ..x12.tokenizer import Segment, tag_of
from .model import EMPTY, Claim, ClaimContext, Ref, ServiceLine, Value

P837 = "837P"
I837 = "837I"
# HI qualifiers that carry diagnoses (pointer order: first, then the others)
_DX_QUALIFIERS = {"ABK", "ABF", "BK", "BF", "ABJ", "BJ", "APR", "PR"}
_CLAIM_END = frozenset({"HL", "CLM", "SE", "GE", "IEA", "ISA", "ST", "GS"})
_STRUCTURE = _CLAIM_END
_HIERARCHY = frozenset({"SBR", "NM1", "DMG"})
_ABSORBED = (None, False)
_PASS = (None, True)


def transaction_kind(gs: Segment | None, st: Segment) -> str | None:
    """837P or 837I for a 5010 837 transaction (by ST03, else GS08); else None."""
    if st.element(1) != "837":
        return None
    version = st.element(3) or (gs.element(8) if gs is not None else "")
    if not version and gs is not None:
        version = gs.element(8)
    if version.startswith("005010X222"):
        return P837
    if version.startswith("005010X223"):
        return I837
    return None


def describe_transaction(gs: Segment | None, st: Segment) -> str:
    version = st.element(3) or (gs.element(8) if gs is not None else "")
    return f"{st.element(1) or '?'} {version or '(no version)'}".strip()


class PendingClaim(Record):
    """A claim's segments as read, and where it stands, before its model is built."""

    __slots__ = ("kind", "segments", "context", "ordinal", "interchange", "transaction")

    def __init__(self, kind: str, segments: list[Segment], context: ClaimContext, ordinal: int, interchange: str = "",
                 transaction: str = ""):
        self.kind = kind
        self.segments = segments
        self.context = context
        self.ordinal = ordinal
        self.interchange = interchange  # ISA13 of the enclosing interchange
        self.transaction = transaction  # ST02 of the enclosing transaction


class ClaimStream:
    """Group a segment stream into claims, tracking the HL hierarchy."""

    def __init__(self) -> None:
        self.gs: Segment | None = None
        self.kind: str | None = None
        self.claims_seen = 0
        self.interchange = ""  # ISA13 and ST02 now open, for the claims' location
        self.transaction = ""
        self._claim: PendingClaim | None = None
        self._hl: dict[bytes, ClaimContext] = {}  # by HL01
        self._context = ClaimContext()
        self._hl_level = b""  # HL03 of the HL now open

    def feed(self, seg: Segment) -> tuple[PendingClaim | None, bool]:
        """Take one segment.  Returns ``(claim, passthrough)``: the claim that
        this segment closed (or None), and whether the segment itself stands
        outside any claim (else it was taken into the claim now open)."""
        tag = seg.tag
        done = None
        if self._claim is not None:
            if tag not in _CLAIM_END:
                self._claim.segments.append(seg)
                return _ABSORBED
            done, self._claim = self._claim, None
        if tag not in _STRUCTURE:
            if tag in _HIERARCHY and self.kind is not None:
                self._track(tag, seg.elements)
            return (done, True) if done is not None else _PASS
        if tag == "CLM":
            if self.kind is not None:
                self.claims_seen += 1
                self._claim = PendingClaim(self.kind, [seg], self._context, self.claims_seen,
                                           self.interchange, self.transaction)
                return done, False
        elif tag == "HL":
            if self.kind is not None:
                self._track(tag, seg.elements)
        elif tag == "GS":
            self.gs, self.kind = seg, None
        elif tag == "ST":
            self.kind = transaction_kind(self.gs, seg)
            self.transaction = seg.element(2)
            self._hl = {}
            self._context = ClaimContext()
        elif tag == "SE":
            self.kind = None
        else:  # GE, IEA, ISA
            self.kind = None
            if tag != "GE":
                self.gs = None
            if tag == "ISA":
                self.interchange = seg.element(13).strip()
        return (done, True) if done is not None else _PASS

    def flush(self) -> PendingClaim | None:
        claim, self._claim = self._claim, None
        return claim

    def hierarchy(self, contents: list[bytes], sep: bytes) -> None:
        """Take the header of a subscriber loop handed on in one piece (its
        HL up to its first claim): its segments' contents, split by ``sep``.
        What it says about the claims is taken as from single segments."""
        if self.kind is None:
            return
        for content in contents:
            tag = tag_of(content, sep)
            if tag == "HL" or tag in _HIERARCHY:
                self._track(tag, content.split(sep))

    def _track(self, tag: str, els: list[bytes]) -> None:
        """One segment of the hierarchy (HL, SBR, NM1, DMG), by its elements
        (compared as bytes; only what is kept is decoded)."""
        n = len(els)
        if tag == "HL":
            level = els[3] if n > 3 else b""
            base = self._hl.get(els[2] if n > 2 else b"")
            ctx = self._context = base.copy() if base is not None else ClaimContext()
            self._hl[els[1] if n > 1 else b""] = ctx
            self._hl_level = level
            if level == b"22":
                ctx.payer_id = ctx.payer_name = ctx.member_id = ctx.filing_indicator = ""
                ctx.patient_key = ""
            return
        level = self._hl_level
        ctx = self._context
        if tag == "NM1":
            entity = els[1] if n > 1 else b""
            if entity == b"IL":
                if level == b"22":
                    ctx.member_id = member = _text_at(els, 9)
                    ctx.patient_key = f"{member}|{_text_at(els, 3)}|{_text_at(els, 4)}"
            elif entity == b"PR":
                if level == b"22":
                    ctx.payer_id = _text_at(els, 9)
                    ctx.payer_name = _text_at(els, 3)
            elif entity == b"85":
                if level == b"20":
                    ctx.billing_provider = _text_at(els, 9)
            elif entity == b"QC" and level == b"23":
                ctx.patient_key = f"{ctx.member_id}|{_text_at(els, 3)}|{_text_at(els, 4)}"
        elif tag == "SBR":
            if level == b"22":
                ctx.filing_indicator = _text_at(els, 9)
        elif tag == "DMG" and (level == b"22" or level == b"23"):
            ctx.patient_key = f"{ctx.patient_key}|{_text_at(els, 2)}"


# -- building the claim model -------------------------------------------------

def parse_date(text: str) -> date | None:
    """CCYYMMDD, or the first date of a CCYYMMDD-CCYYMMDD range."""
    t = text[:8]
    found = _dates.get(t, _UNSEEN)
    if found is _UNSEEN:
        found = None
        if len(t) == 8 and t.isdigit():
            try:
                found = date(int(t[:4]), int(t[4:6]), int(t[6:8]))
            except ValueError:
                pass
        if len(_dates) >= 4096:  # a file has a few hundred dates of service; bound it all the same
            _dates.clear()
        _dates[t] = found
    return found


_UNSEEN = object()
_dates: dict[str, date | None] = {}


def build_claim(pending: PendingClaim, interchange: str | None = None, transaction: str | None = None,
                segments: list[Segment] | None = None) -> Claim:
    """The claim model of ``pending`` (or of ``segments``, its corrected
    segments).  A hot path: a file has a claim model per drug claim, built
    again after each fix, so values are made directly, not by lookups."""
    segs = pending.segments if segments is None else segments
    clm = segs[0]
    els = clm.elements
    claim = Claim(
        pending.kind, clm, _value(els, clm, 1), _value(els, clm, 2), Value.at(clm, 5, 1),
        pending.context, pending.ordinal,
        pending.interchange if interchange is None else interchange,
        pending.transaction if transaction is None else transaction,
        segments=list(segs),
    )
    starts = [i for i, seg in enumerate(segs) if seg.tag == "LX"]
    for seg in segs[1:starts[0] if starts else len(segs)]:
        tag = seg.tag
        if tag == "HI":
            for n in range(1, len(seg.elements)):
                comps = seg.components(n)
                if len(comps) >= 2 and comps[0] in _DX_QUALIFIERS and comps[1]:
                    claim.diagnoses.append(comps[1])
        elif tag == "REF" and seg.element(1) == "G1":
            claim.prior_auth.append(Value.at(seg, 2))
        elif tag == "PWK":
            claim.attachments.append(seg)
        elif tag == "DTP" and seg.element(1) in ("434", "472") and claim.statement_date is None:
            claim.statement_date = parse_date(seg.element(3))
    if starts:
        starts.append(len(segs))
        kind = pending.kind
        claim.lines = [_build_line(kind, segs[a:b], claim) for a, b in zip(starts, starts[1:])]
    return claim


_tuple = tuple.__new__
_ENDS_DRUG_LOOP = frozenset({"NM1", "SVD", "PS1", "HCP", "LQ", "FRM", "K3", "NTE"})


def _build_line(kind: str, segs: list[Segment], claim: Claim) -> ServiceLine:
    """One service line from its segments (LX up to the next LX), in one pass.
    (A hot path: values are cut from the elements directly.)"""
    lx = segs[0]
    sv = lin = ctp = dtp = None
    ndc_qualifier = ndc = quantity = unit = EMPTY
    line_refs: dict[str, Value] = {}
    drug_refs: dict[str, Value] = {}
    in_drug = False
    for seg in segs[1:]:
        tag = seg.tag
        if tag == "SV1" or tag == "SV2":
            if sv is None:
                sv = seg
        elif tag == "DTP":
            if dtp is None:
                els = seg.elements
                if len(els) > 1 and els[1] == b"472":
                    dtp = seg
        elif tag == "LIN":
            if lin is None:
                in_drug = True
                lin = seg
                els = seg.elements
                ndc_qualifier = _value(els, seg, 2)
                ndc = _value(els, seg, 3)
        elif tag == "CTP":
            if in_drug and ctp is None:
                ctp = seg
                quantity = _value(seg.elements, seg, 4)
                unit = Value.at(seg, 5, 1)
        elif tag == "REF":
            els = seg.elements
            (drug_refs if in_drug else line_refs).setdefault(_text_at(els, 1), _value(els, seg, 2))
        elif tag in _ENDS_DRUG_LOOP:
            in_drug = False
    if sv is None:
        comps = list(_BLANKS)
        code = basis = units = EMPTY
        modifier_codes = []
    else:
        els = sv.elements
        el = 1 if sv.tag == "SV1" else 2
        comps = els[el].decode("latin-1").split(_text(sv.delims.component)) if el < len(els) and els[el] else []
        n = len(comps)
        if n < 7:
            comps += _BLANKS[n:]
        code = _tuple(Value, (comps[1], sv, el, 2))
        basis = _value(els, sv, el + 2)
        units = _value(els, sv, el + 3)
        modifier_codes = [m for m in comps[2:6] if m]
    service_date = parse_date(dtp.element(3)) if dtp is not None else None
    return ServiceLine(
        kind, lx, sv, comps, code, basis, units,
        service_date if service_date is not None else claim.statement_date, dtp,
        lin, ndc_qualifier, ndc, ctp, quantity, unit, line_refs, drug_refs, segs, modifier_codes, claim.diagnoses,
    )


_BLANKS = [""] * 7


def _text_at(els: list[bytes], i: int) -> str:
    return els[i].decode("latin-1") if i < len(els) else ""


def _value(els: list[bytes], seg: Segment, i: int) -> Value:
    """Element ``i`` of ``seg`` (its ``els``) as a Value ("" when absent)."""
    return _tuple(Value, (els[i].decode("latin-1") if i < len(els) else "", seg, i, None))


_texts: dict[bytes, str] = {}


def _text(delimiter: bytes) -> str:
    """A delimiter as text (decoded once)."""
    t = _texts.get(delimiter)
    if t is None:
        t = _texts[delimiter] = delimiter.decode("latin-1")
    return t


__all__ = [
    "ClaimStream", "PendingClaim", "build_claim", "transaction_kind",
    "describe_transaction", "parse_date", "P837", "I837", "Ref", "Value",
]


def iter_claims(segments):
    """Every claim of a segment stream, as :class:`Claim` models (read-only use)."""
    stream = ClaimStream()
    for seg in segments:
        done, _ = stream.feed(seg)
        if done is not None:
            yield build_claim(done)
    last = stream.flush()
    if last is not None:
        yield build_claim(last)
