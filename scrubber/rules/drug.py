"""What the rules know about one drug line: its code, NDC and unit arithmetic.

:func:`facts` reads a service line against the reference data once, so each
rule asks the same questions the same way.  Nothing here builds bytes.
"""
from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

from ..claims.model import Claim, ServiceLine
from ..record import Record
from ..refdata import RefData
from ..refdata.ndc import resolve_ndc
from ..refdata.units import ndc_quantity_to_hcpcs_units, round_up_units

CENT = Decimal("0.01")
QTY_PLACES = Decimal("0.001")


def parse_decimal(text: str) -> Decimal | None:
    """An X12 decimal (R type) as a Decimal, or None."""
    t = text.strip()
    if not t:
        return None
    try:
        d = Decimal(t)
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def x12_decimal(d: Decimal) -> str:
    """Format per X12 decimal rules: no plus sign, no leading or trailing
    zeros, and a decimal point only when there is a fraction."""
    d = d.normalize()
    if d == d.to_integral_value():
        return str(d.quantize(Decimal(1)))
    s = format(d, "f")
    if s.startswith("0."):
        s = s[1:]
    elif s.startswith("-0."):
        s = "-" + s[2:]
    return s


def money(d: Decimal) -> Decimal:
    return d.quantize(CENT, rounding=ROUND_HALF_UP)


class DrugFacts(Record):
    """What one line says, read against the reference data.  Every field is
    computed once per line by :func:`facts` (about twenty rules read them)."""

    __slots__ = ("line", "code", "drug", "ndc_status", "ndc11", "entries", "entry", "quantity", "ndc_units",
                 "conversion_problem", "billed", "is_drug", "single_dose", "is_jw", "units_consistent")

    def __init__(self, line: ServiceLine, code: str, drug: object | None, ndc_status: str, ndc11: str | None,
                 entries: tuple, entry: object | None, quantity: Decimal | None, ndc_units: Decimal | None,
                 conversion_problem: str, billed: Decimal | None, is_drug: bool = False, single_dose: bool = False,
                 is_jw: bool = False, units_consistent: bool | None = None):
        self.line = line
        self.code = code
        self.drug = drug  # refdata DrugCode
        self.ndc_status = ndc_status  # ok, normalized, ambiguous, unknown, invalid, absent
        self.ndc11 = ndc11
        self.entries = entries  # crosswalk entries for the NDC (any code)
        self.entry = entry  # the crosswalk entry for this NDC and this code
        self.quantity = quantity  # CTP04
        self.ndc_units = ndc_units  # HCPCS units the NDC quantity amounts to (exact)
        self.conversion_problem = conversion_problem
        self.billed = billed  # SV104 / SV205
        self.is_drug = is_drug  # a drug code, an NDC of the crosswalk, or a 2410 loop
        self.single_dose = single_dose  # the drug comes in single-dose containers
        self.is_jw = is_jw  # the line bills discarded drug (JW)
        self.units_consistent = units_consistent  # billed units equal the NDC quantity's units (None: unknown)

    @property
    def package_units(self) -> Decimal | None:
        """HCPCS units in one item (vial) of the NDC's package."""
        e = self.entry
        if e is None:
            return None
        return e.billunits or e.billunitspkg


_MEMO_LIMIT = 50_000
_memo: dict = {}
_memo_owner: list = [None]


def _core(code: str, raw: str, qty_text: str, unit_text: str, billed_text: str, is_jw: bool,
          refdata: RefData) -> tuple:
    """What the reference data says about a code, an NDC, a quantity and
    the billed units.

    Remembered per reference data (claims repeat the same few drugs and
    doses), in a table of bounded size."""
    if _memo_owner[0] is not refdata:
        _memo.clear()
        _memo_owner[0] = refdata
    key = (code, raw, qty_text, unit_text, billed_text, is_jw)
    found = _memo.get(key)
    if found is not None:
        return found
    drug = refdata.drug(code) if code else None
    ndc11 = None
    entries: tuple = ()
    status = "absent"
    if raw:
        res = resolve_ndc(raw, refdata.knows_ndc)
        status, ndc11 = res.status, res.ndc11
        if ndc11:
            entries = tuple(refdata.ndc_entries(ndc11))
    entry = next((e for e in entries if e.hcpcs == code), None)
    quantity = parse_decimal(qty_text)
    ndc_units = None
    problem = ""
    if entry is not None and quantity is not None and drug is not None:
        unit = unit_text.strip().upper()
        try:
            ndc_units = ndc_quantity_to_hcpcs_units(quantity, unit, entry, drug)
        except Exception as exc:  # the converter says why it cannot
            problem = str(exc)
        if ndc_units is None and not problem:
            problem = f"no conversion from {unit or 'an empty unit'} for NDC {ndc11}"
    billed = parse_decimal(billed_text)
    consistent = None
    if ndc_units is not None and billed is not None and quantity is not None and quantity > 0:
        consistent = _whole(ndc_units, is_jw) == _whole(billed, is_jw)
    single_dose = bool(drug is not None and getattr(drug, "single_dose", None))
    found = (drug, status, ndc11, entries, entry, quantity, ndc_units, problem, billed, single_dose, consistent)
    if len(_memo) >= _MEMO_LIMIT:
        _memo.clear()
    _memo[key] = found
    return found


def facts(line: ServiceLine, refdata: RefData) -> DrugFacts:
    code = line.code.text.strip().upper()
    is_jw = "JW" in line.modifier_codes
    drug, status, ndc11, entries, entry, quantity, ndc_units, problem, billed, single_dose, consistent = _core(
        code, line.ndc.text.strip(), line.ndc_quantity.text, line.ndc_unit.text, line.units.text, is_jw, refdata)
    return DrugFacts(line, code, drug, status, ndc11, entries, entry, quantity, ndc_units, problem, billed,
                     drug is not None or bool(entries) or line.lin is not None, single_dose, is_jw, consistent)


def claim_facts(claim: Claim, refdata: RefData) -> list[DrugFacts]:
    """The facts of every line of the claim, read once per claim and shared by the rules."""
    cached = claim.cache.get("facts")
    if cached is None or cached[0] is not refdata:
        cached = claim.cache["facts"] = (refdata, [facts(line, refdata) for line in claim.lines])
    return cached[1]


def rounded(d: Decimal) -> Decimal:
    return round_up_units(d)


def whole_units(f: "DrugFacts", d: Decimal) -> Decimal:
    """Whole HCPCS units: administered amounts round up (CMS), discarded
    amounts on a JW line round down, so that the lines of one vial never add
    up to more than the vial."""
    return _whole(d, f.is_jw)


def _whole(d: Decimal, is_jw: bool) -> Decimal:
    if is_jw:
        return d.to_integral_value(rounding=ROUND_FLOOR)
    return round_up_units(d)


def same_drug_date(a: DrugFacts, b: DrugFacts) -> bool:
    return a.code == b.code and a.line.service_date == b.line.service_date


def has_jw_line(all_facts: list[DrugFacts], f: DrugFacts, profile=None) -> bool:
    """The claim has (or, with ``profile``, is about to get) a JW line for this drug and date."""
    return any(
        same_drug_date(o, f) and (o.is_jw or (profile is not None and pending_waste(o, profile)))
        for o in all_facts if o is not f
    )


def waste_units(f: DrugFacts) -> Decimal | None:
    """Whole units of undocumented waste: the NDC quantity's exact units less
    the billed units, rounded down (discarded units round down), or None
    when there is no waste to split: not single-dose, a JW line already,
    nothing over the billed units, or a whole vial or more over them."""
    if f.ndc_units is None or f.billed is None or f.is_jw or not f.single_dose or f.billed <= 0:
        return None
    if f.units_consistent is not False:
        return None
    over = f.ndc_units - whole_units(f, f.billed)
    pkg = f.package_units
    if over <= 0 or pkg is None or over >= pkg:
        return None
    return over.to_integral_value(rounding=ROUND_FLOOR)


def pending_waste(f: DrugFacts, profile) -> bool:
    """The NDC quantity shows undocumented waste that the units rule will split off."""
    policy = profile.drug(f.code)
    if policy.units_source != "ndc" or not policy.waste_billable:
        return False
    w = waste_units(f)
    return w is not None and w >= 1
