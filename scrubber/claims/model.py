"""The claim model: a claim (loop 2300) and the one view of a service line
(loop 2400 with its 2410) that is the same for 837P and 837I.

Each value carries a :class:`Ref` to its own segment and element, so a rule
can say where a problem is and propose an edit there.
"""
from __future__ import annotations

from datetime import date
from typing import NamedTuple

from ..record import Record
from ..x12.tokenizer import Segment


class Ref(NamedTuple):
    """A position in a segment: element (1-based) and optional component (1-based)."""

    segment: Segment
    element: int
    component: int | None = None

    @property
    def name(self) -> str:
        """The X12 reference, e.g. ``SV104`` or ``SV101-3``."""
        base = f"{self.segment.tag}{self.element:02d}"
        return base if self.component is None else f"{base}-{self.component}"


class Value(NamedTuple):
    """A value as received, and where it is: ``ref`` is None when the
    segment that would hold it is absent.  (A named tuple that builds its
    :class:`Ref` on demand: a claim holds dozens of values.)"""

    text: str
    segment: Segment | None = None
    element: int = 0
    component: int | None = None

    @property
    def ref(self) -> Ref | None:
        return None if self.segment is None else Ref(self.segment, self.element, self.component)

    def __bool__(self) -> bool:
        return bool(self.text)

    def __str__(self) -> str:
        return self.text

    @classmethod
    def at(cls, seg: Segment | None, element: int, component: int | None = None) -> "Value":
        if seg is None:
            return EMPTY
        text = seg.element(element) if component is None else seg.component(element, component)
        return cls(text, seg, element, component)


EMPTY = Value("")


class ServiceLine(Record):
    """One service line (2400) and its drug loop (2410), for 837P or 837I.

    What the rules read on every drug line is cut when the line is built.
    The rest (``number``, ``composite``, ``qualifier``, ``modifiers``,
    ``description``, ``charge``, ``revenue_code``, ``dx_pointers``,
    ``dx_codes``, ``service_date_value``) is cut from the line's segments
    when asked for: a claim model is built for every drug claim, and again
    after each fix, and most of those values are never read."""

    __slots__ = ("kind", "lx", "service", "components", "code", "unit_basis", "units", "service_date", "dtp",
                 "lin", "ndc_qualifier", "ndc", "ctp", "ndc_quantity", "ndc_unit", "line_refs", "drug_refs",
                 "segments", "modifier_codes", "diagnoses")

    def __init__(self, kind: str, lx: Segment, service: Segment | None, components: list[str], code: Value,
                 unit_basis: Value, units: Value, service_date: date | None, dtp: Segment | None,
                 lin: Segment | None = None, ndc_qualifier: Value = EMPTY, ndc: Value = EMPTY,
                 ctp: Segment | None = None, ndc_quantity: Value = EMPTY, ndc_unit: Value = EMPTY,
                 line_refs: dict[str, Value] | None = None, drug_refs: dict[str, Value] | None = None,
                 segments: list[Segment] | None = None, modifier_codes: list[str] | None = None,
                 diagnoses: list[str] | None = None):
        self.kind = kind  # "837P" or "837I"
        self.lx = lx
        self.service = service  # SV1 or SV2
        self.components = components  # SV101 / SV202 cut at its component separator: seven texts
        self.code = code
        self.unit_basis = unit_basis
        self.units = units
        self.service_date = service_date  # the line's DTP*472, else the claim's date
        self.dtp = dtp  # the line's DTP*472
        self.lin = lin
        self.ndc_qualifier = ndc_qualifier
        self.ndc = ndc
        self.ctp = ctp
        self.ndc_quantity = ndc_quantity
        self.ndc_unit = ndc_unit
        self.line_refs = {} if line_refs is None else line_refs  # 2400 REF by qualifier
        self.drug_refs = {} if drug_refs is None else drug_refs  # 2410 REF by qualifier
        self.segments = [] if segments is None else segments  # LX .. before the next LX
        self.modifier_codes = [] if modifier_codes is None else modifier_codes  # the modifiers present, in order
        self.diagnoses = [] if diagnoses is None else diagnoses  # the claim's HI codes, in pointer order

    # -- values cut when asked for ---------------------------------------------
    @property
    def number(self) -> Value:
        """LX01 (as it is now)."""
        return Value.at(self.lx, 1)

    @property
    def composite(self) -> Value:
        """SV101 / SV202, whole."""
        return self._element(1, 2)

    @property
    def qualifier(self) -> Value:
        return self._component(1)

    @property
    def modifiers(self) -> list[Value]:
        """Always four slots, empty text where absent."""
        return [self._component(3), self._component(4), self._component(5), self._component(6)]

    @property
    def description(self) -> Value:
        """SV101-7 / SV202-7."""
        return self._component(7)

    @property
    def charge(self) -> Value:
        """SV102 / SV203."""
        return self._element(2, 3)

    @property
    def revenue_code(self) -> Value:
        """SV201 (837I)."""
        sv = self.service
        return Value.at(sv, 1) if sv is not None and sv.tag == "SV2" else EMPTY

    @property
    def dx_pointers(self) -> list[str]:
        """SV107's diagnosis pointers (837P)."""
        sv = self.service
        if sv is None or sv.tag != "SV1":
            return []
        return [p for p in sv.components(7) if p]

    @property
    def dx_codes(self) -> list[str]:
        """The diagnoses the line points to (837P), else all of the claim's."""
        sv = self.service
        if sv is None or sv.tag != "SV1":
            return list(self.diagnoses)
        diagnoses = self.diagnoses
        return [diagnoses[int(p) - 1] for p in self.dx_pointers if p.isdigit() and 1 <= int(p) <= len(diagnoses)]

    @property
    def service_date_value(self) -> Value:
        """DTP03 of the line's DTP*472."""
        return Value.at(self.dtp, 3)

    def _element(self, sv1: int, sv2: int) -> Value:
        """Element ``sv1`` of an SV1, ``sv2`` of an SV2."""
        sv = self.service
        return EMPTY if sv is None else Value.at(sv, sv1 if sv.tag == "SV1" else sv2)

    def _component(self, k: int) -> Value:
        sv = self.service
        return EMPTY if sv is None else Value(self.components[k - 1], sv, 1 if sv.tag == "SV1" else 2, k)

    @property
    def last_segment(self) -> Segment:
        return self.segments[-1]

    @property
    def received_number(self) -> str:
        """LX01 as received (the LX may have been renumbered since)."""
        return self.lx.received.element(1)


class ClaimContext(Record):
    """What the hierarchy above a claim says about it (2000A/B/C, 2010BA/BB).

    ``member_id`` and ``patient_key`` identify a person: they are for grouping
    a patient's claims, never for printing."""

    __slots__ = ("payer_id", "payer_name", "filing_indicator", "member_id", "patient_key", "billing_provider")

    def __init__(self, payer_id: str = "", payer_name: str = "", filing_indicator: str = "", member_id: str = "",
                 patient_key: str = "", billing_provider: str = ""):
        self.payer_id = payer_id
        self.payer_name = payer_name
        self.filing_indicator = filing_indicator  # SBR09, e.g. MB, MC, CI
        self.member_id = member_id
        self.patient_key = patient_key
        self.billing_provider = billing_provider

    def copy(self) -> "ClaimContext":
        return ClaimContext(self.payer_id, self.payer_name, self.filing_indicator, self.member_id,
                            self.patient_key, self.billing_provider)


class Claim(Record):
    """One claim (loop 2300) with its service lines."""

    __slots__ = ("kind", "clm", "claim_id", "charge", "facility", "context", "ordinal", "interchange", "transaction",
                 "diagnoses", "prior_auth", "attachments", "statement_date", "lines", "segments", "cache")
    _hidden = ("cache",)

    def __init__(self, kind: str, clm: Segment, claim_id: Value, charge: Value, facility: Value,
                 context: ClaimContext, ordinal: int, interchange: str = "", transaction: str = "",
                 diagnoses: list[str] | None = None, prior_auth: list[Value] | None = None,
                 attachments: list[Segment] | None = None, statement_date: date | None = None,
                 lines: list[ServiceLine] | None = None, segments: list[Segment] | None = None,
                 cache: dict | None = None):
        self.kind = kind  # "837P" or "837I"
        self.clm = clm
        self.claim_id = claim_id  # CLM01
        self.charge = charge  # CLM02
        self.facility = facility  # CLM05-1: place of service (837P) or facility type of the bill type (837I)
        self.context = context
        self.ordinal = ordinal  # 1-based position of the claim in the file
        self.interchange = interchange
        self.transaction = transaction
        self.diagnoses = [] if diagnoses is None else diagnoses  # HI codes in pointer order
        self.prior_auth = [] if prior_auth is None else prior_auth  # REF*G1 at claim level
        self.attachments = [] if attachments is None else attachments  # PWK
        self.statement_date = statement_date
        self.lines = [] if lines is None else lines
        self.segments = [] if segments is None else segments  # CLM .. before the next HL/CLM/SE
        self.cache = {} if cache is None else cache  # derived data, per consumer
