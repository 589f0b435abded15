"""Walk the loops of an 837: HL hierarchy, claims, service lines, drug loops.

:class:`ClaimStream` is fed segments one at a time (streaming) and hands back
*units* in input order: a segment outside any claim, or a whole claim (CLM up
to the next HL, CLM or SE).  Memory is bounded by the largest claim.

:func:`build_claim` turns a claim's segments into the :class:`Claim` model;
it is called again on corrected segments, so it is a pure function of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..x12.tokenizer import Segment
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


@dataclass
class PendingClaim:
    kind: str
    segments: list[Segment]
    context: ClaimContext
    ordinal: int
    interchange: str = ""  # ISA13 of the enclosing interchange
    transaction: str = ""  # ST02 of the enclosing transaction


class ClaimStream:
    """Group a segment stream into claims, tracking the HL hierarchy."""

    def __init__(self) -> None:
        self.gs: Segment | None = None
        self.kind: str | None = None
        self.claims_seen = 0
        self.interchange = ""  # ISA13 and ST02 now open, for the claims' location
        self.transaction = ""
        self._claim: PendingClaim | None = None
        self._hl: dict[str, ClaimContext] = {}
        self._context = ClaimContext()
        self._hl_level = ""
        self._in_payer = False

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
                self._track_hierarchy(seg, tag)
            return (done, True) if done is not None else _PASS
        if tag == "CLM":
            if self.kind is not None:
                self.claims_seen += 1
                self._claim = PendingClaim(self.kind, [seg], self._context, self.claims_seen,
                                           self.interchange, self.transaction)
                return done, False
        elif tag == "HL":
            if self.kind is not None:
                self._track_hierarchy(seg, tag)
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

    def _track_hierarchy(self, seg: Segment, tag: str) -> None:
        ctx = self._context
        if tag == "HL":
            hl_id, parent, level = seg.element(1), seg.element(2), seg.element(3)
            base = self._hl.get(parent)
            ctx = self._context = base.copy() if base is not None else ClaimContext()
            self._hl[hl_id] = ctx
            self._hl_level = level
            if level == "22":
                ctx.payer_id = ctx.payer_name = ctx.member_id = ctx.filing_indicator = ""
                ctx.patient_key = ""
        elif tag == "SBR" and self._hl_level == "22":
            ctx.filing_indicator = seg.element(9)
        elif tag == "NM1":
            entity = seg.element(1)
            if entity == "85" and self._hl_level == "20":
                ctx.billing_provider = seg.element(9)
            elif entity == "IL" and self._hl_level == "22":
                ctx.member_id = seg.element(9)
                ctx.patient_key = f"{seg.element(9)}|{seg.element(3)}|{seg.element(4)}"
            elif entity == "PR" and self._hl_level == "22":
                ctx.payer_id = seg.element(9)
                ctx.payer_name = seg.element(3)
            elif entity == "QC" and self._hl_level == "23":
                ctx.patient_key = f"{ctx.member_id}|{seg.element(3)}|{seg.element(4)}"
        elif tag == "DMG" and self._hl_level in ("22", "23"):
            ctx.patient_key = f"{ctx.patient_key}|{seg.element(2)}"


# -- building the claim model -------------------------------------------------

def parse_date(text: str) -> date | None:
    """CCYYMMDD, or the first date of a CCYYMMDD-CCYYMMDD range."""
    t = text[:8]
    if len(t) != 8 or not t.isdigit():
        return None
    try:
        return date(int(t[:4]), int(t[4:6]), int(t[6:8]))
    except ValueError:
        return None


def build_claim(pending: PendingClaim, interchange: str | None = None, transaction: str | None = None) -> Claim:
    segs = pending.segments
    clm = segs[0]
    claim = Claim(
        kind=pending.kind,
        clm=clm,
        claim_id=Value.at(clm, 1),
        charge=Value.at(clm, 2),
        facility=Value.at(clm, 5, 1),
        context=pending.context,
        ordinal=pending.ordinal,
        interchange=pending.interchange if interchange is None else interchange,
        transaction=pending.transaction if transaction is None else transaction,
        segments=list(segs),
    )
    line_segs: list[list[Segment]] = []
    for seg in segs[1:]:
        tag = seg.tag
        if tag == "LX":
            line_segs.append([seg])
        elif line_segs:
            line_segs[-1].append(seg)
        elif tag == "HI":
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
    claim.lines = [_build_line(pending.kind, ls, claim) for ls in line_segs]
    return claim


def _values(seg: Segment, positions: tuple[int, ...]) -> list[Value]:
    """The elements at ``positions`` of ``seg`` as values, read in one go."""
    els = seg.elements
    n = len(els)
    return [Value(els[i].decode("latin-1") if i < n else "", seg, i) for i in positions]


_SV1 = (1, 2, 3, 4)  # composite, charge, unit basis, units
_SV2 = (2, 3, 4, 5, 1)  # composite, charge, unit basis, units, revenue code


def _service_fields(kind: str, sv: Segment | None) -> dict:
    """Element positions of the service segment (SV1 for 837P, SV2 for 837I)."""
    if sv is None:
        return dict(composite=EMPTY, charge=EMPTY, unit_basis=EMPTY, units=EMPTY, revenue_code=EMPTY, comp_el=0)
    if sv.tag == "SV2":
        composite, charge, basis, units, revenue = _values(sv, _SV2)
        return dict(composite=composite, charge=charge, unit_basis=basis, units=units, revenue_code=revenue,
                    comp_el=2)
    composite, charge, basis, units = _values(sv, _SV1)
    return dict(composite=composite, charge=charge, unit_basis=basis, units=units, revenue_code=EMPTY, comp_el=1)


def _build_line(kind: str, segs: list[Segment], claim: Claim) -> ServiceLine:
    lx = segs[0]
    sv = next((s for s in segs[1:] if s.tag in ("SV1", "SV2")), None)
    f = _service_fields(kind, sv)
    el = f.pop("comp_el")
    if sv is not None:
        comps = sv.components(el)
        comps += [""] * (7 - len(comps))
        qualifier, code, m1, m2, m3, m4, description = (Value(comps[k - 1], sv, el, k) for k in range(1, 8))
        modifiers = [m1, m2, m3, m4]
    else:
        qualifier = code = description = EMPTY
        modifiers = [EMPTY] * 4
    pointers: list[str] = []
    dx_codes: list[str] = []
    if sv is not None and sv.tag == "SV1":
        pointers = [p for p in sv.components(7) if p]
        for p in pointers:
            if p.isdigit() and 1 <= int(p) <= len(claim.diagnoses):
                dx_codes.append(claim.diagnoses[int(p) - 1])
    else:
        dx_codes = list(claim.diagnoses)
    line = ServiceLine(
        kind=kind, lx=lx, number=Value.at(lx, 1), service=sv, qualifier=qualifier, code=code,
        modifiers=modifiers, description=description, dx_pointers=pointers, dx_codes=dx_codes,
        service_date=None, service_date_value=EMPTY, segments=list(segs), **f,
    )
    in_drug = False
    for seg in segs[1:]:
        tag = seg.tag
        if tag == "DTP" and seg.element(1) == "472" and line.service_date_value.ref is None:
            line.service_date_value = Value.at(seg, 3)
            line.service_date = parse_date(seg.element(3))
        elif tag == "LIN" and line.lin is None:
            in_drug = True
            line.lin = seg
            line.ndc_qualifier, line.ndc = _values(seg, (2, 3))
        elif tag == "CTP" and in_drug and line.ctp is None:
            line.ctp = seg
            line.ndc_quantity = Value.at(seg, 4)
            line.ndc_unit = Value.at(seg, 5, 1)
        elif tag == "REF":
            target = line.drug_refs if in_drug else line.line_refs
            target.setdefault(seg.element(1), Value.at(seg, 2))
        elif tag in ("NM1", "SVD", "PS1", "HCP", "LQ", "FRM", "K3", "NTE"):
            in_drug = False
    if line.service_date is None:
        line.service_date = claim.statement_date
    return line


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
