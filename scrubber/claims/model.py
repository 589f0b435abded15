"""The claim model: a claim (loop 2300) and the one view of a service line
(loop 2400 with its 2410) that is the same for 837P and 837I.

Each value carries a :class:`Ref` to its own segment and element, so a rule
can say where a problem is and propose an edit there.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

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


@dataclass
class ServiceLine:
    """One service line (2400) and its drug loop (2410), for 837P or 837I."""

    kind: str  # "837P" or "837I"
    lx: Segment
    number: Value  # LX01 as received
    service: Segment | None  # SV1 or SV2
    composite: Value  # SV101 / SV202, whole
    qualifier: Value
    code: Value
    modifiers: list[Value]  # always four slots, empty text where absent
    description: Value  # SV101-7 / SV202-7
    charge: Value
    unit_basis: Value
    units: Value
    revenue_code: Value  # 837I SV201
    dx_pointers: list[str]
    dx_codes: list[str]
    service_date: date | None
    service_date_value: Value
    lin: Segment | None = None
    ndc_qualifier: Value = EMPTY
    ndc: Value = EMPTY
    ctp: Segment | None = None
    ndc_quantity: Value = EMPTY
    ndc_unit: Value = EMPTY
    line_refs: dict[str, Value] = field(default_factory=dict)  # 2400 REF by qualifier
    drug_refs: dict[str, Value] = field(default_factory=dict)  # 2410 REF by qualifier
    segments: list[Segment] = field(default_factory=list)  # LX .. before the next LX
    modifier_codes: list[str] = field(default_factory=list)  # the modifiers present, in order


    @property
    def last_segment(self) -> Segment:
        return self.segments[-1]

    @property
    def received_number(self) -> str:
        """LX01 as received (the LX may have been renumbered since)."""
        return self.lx.received.element(1)


@dataclass(slots=True)
class ClaimContext:
    """What the hierarchy above a claim says about it (2000A/B/C, 2010BA/BB).

    ``member_id`` and ``patient_key`` identify a person: they are for grouping
    a patient's claims, never for printing."""

    payer_id: str = ""
    payer_name: str = ""
    filing_indicator: str = ""  # SBR09, e.g. MB, MC, CI
    member_id: str = ""
    patient_key: str = ""
    billing_provider: str = ""

    def copy(self) -> "ClaimContext":
        return ClaimContext(self.payer_id, self.payer_name, self.filing_indicator, self.member_id,
                            self.patient_key, self.billing_provider)


@dataclass
class Claim:
    kind: str  # "837P" or "837I"
    clm: Segment
    claim_id: Value  # CLM01
    charge: Value  # CLM02
    facility: Value  # CLM05-1: place of service (837P) or facility type of the bill type (837I)
    context: ClaimContext
    ordinal: int  # 1-based position of the claim in the file
    interchange: str = ""
    transaction: str = ""
    diagnoses: list[str] = field(default_factory=list)  # HI codes in pointer order
    prior_auth: list[Value] = field(default_factory=list)  # REF*G1 at claim level
    attachments: list[Segment] = field(default_factory=list)  # PWK
    statement_date: date | None = None
    lines: list[ServiceLine] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)  # CLM .. before the next HL/CLM/SE
    cache: dict = field(default_factory=dict, repr=False, compare=False)  # derived data, per consumer
