"""From an NDC quantity (CTP04 + CTP05-1) to HCPCS billing units (SV104 / SV205).

Decimal arithmetic throughout: 0.85 mL of pralatrexate 20 mg/mL is exactly
17 units of J9307, never 16.999999.
"""
from __future__ import annotations

from decimal import ROUND_CEILING, Context, Decimal, InvalidOperation, localcontext

from .crosswalk import CrosswalkEntry
from .hcpcs import DrugCode

# CTP05-1 unit of measure codes (X12 element 355) the 837 allows for drugs.
CTP_UNITS = {
    "F2": "international units",
    "GR": "grams",
    "ME": "milligrams",
    "ML": "milliliters",
    "UN": "units (items)",
}
_ONE = Decimal(1)  # the quantum of whole units
# Descriptor mass units, in milligrams (definitions, not reference facts).
_MASS_IN_MG = {"MG": Decimal(1), "MCG": Decimal("0.001"), "G": Decimal(1000), "GM": Decimal(1000)}
_INTERNATIONAL_UNITS = ("IU", "UNITS", "UNIT", "UN", "U")
_CONTEXT = Context(prec=34)


class UnitConversionError(ValueError):
    """An NDC quantity that cannot be turned into HCPCS units; `reason` says why."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def convert_ndc_quantity(quantity: Decimal, unit: str, entry: CrosswalkEntry, drug: DrugCode) -> Decimal:
    """HCPCS units of `drug` in `quantity` `unit` of the NDC in `entry`, unrounded.

    ML: quantity x BILLUNITS / PKG SIZE (PKG SIZE = mL in one item);
    UN: quantity (items) x BILLUNITS;  ME: mg / descriptor amount;
    GR: g x 1000 / descriptor amount;  F2: IU / descriptor amount.
    Raises UnitConversionError with the reason when it cannot be done.
    """
    qty = _quantity(quantity)
    code = (unit or "").strip().upper()
    if entry.hcpcs != drug.code:
        raise UnitConversionError(f"the crosswalk row maps NDC {entry.ndc_raw} to {entry.hcpcs}, not {drug.code}")
    if drug.noc or drug.unit_amount is None:
        raise UnitConversionError(f"{drug.code} is a NOC code with no billing unit")
    with localcontext(_CONTEXT):
        if code == "ML":
            if entry.billunits is None or not entry.pkg_size:
                raise UnitConversionError(
                    f"the crosswalk gives no BILLUNITS and PKG SIZE for NDC {entry.ndc_raw}, so mL cannot be converted")
            return _tidy(qty * entry.billunits / entry.pkg_size)
        if code == "UN":
            if entry.billunits is None:
                raise UnitConversionError(f"the crosswalk gives no BILLUNITS for NDC {entry.ndc_raw}")
            return _tidy(qty * entry.billunits)
        if code in ("ME", "GR"):
            per_unit = _MASS_IN_MG.get(drug.unit)
            if per_unit is None:
                raise UnitConversionError(f"{drug.code} is billed per {drug.billing_unit}, not by mass, "
                                          f"so {CTP_UNITS[code]} cannot be converted")
            milligrams = qty if code == "ME" else qty * 1000
            return _tidy(milligrams / (drug.unit_amount * per_unit))
        if code == "F2":
            if drug.unit not in _INTERNATIONAL_UNITS:
                raise UnitConversionError(f"{drug.code} is billed per {drug.billing_unit}, not in "
                                          f"international units")
            return _tidy(qty / drug.unit_amount)
    known = ", ".join(sorted(CTP_UNITS))
    raise UnitConversionError(f"CTP05 unit {code or '(blank)'!r} is not one of {known}")


def ndc_quantity_to_hcpcs_units(quantity: Decimal, unit: str, entry: CrosswalkEntry,
                                drug: DrugCode) -> Decimal | None:
    """Like convert_ndc_quantity, but None when not convertible
    (conversion_problem() gives the reason)."""
    try:
        return convert_ndc_quantity(quantity, unit, entry, drug)
    except UnitConversionError:
        return None


def conversion_problem(quantity: Decimal, unit: str, entry: CrosswalkEntry, drug: DrugCode) -> str | None:
    """Why the quantity cannot be converted, or None when it can."""
    try:
        convert_ndc_quantity(quantity, unit, entry, drug)
    except UnitConversionError as exc:
        return exc.reason
    return None


def round_up_units(x: Decimal) -> Decimal:
    """Whole billing units: CMS bills a partial unit as the next whole unit."""
    d = x if x.__class__ is Decimal else Decimal(x)
    return d.to_integral_value(rounding=ROUND_CEILING).quantize(_ONE)


def units_per_package(entry: CrosswalkEntry) -> Decimal | None:
    """HCPCS units in one whole package: BILLUNITSPKG, else BILLUNITS x PKG QTY."""
    if entry.billunitspkg is not None:
        return entry.billunitspkg
    if entry.billunits is not None and entry.pkg_qty is not None:
        return _tidy(entry.billunits * entry.pkg_qty)
    return None


def _quantity(value: Decimal | int | str) -> Decimal:
    if isinstance(value, float):
        value = str(value)
    try:
        qty = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise UnitConversionError(f"NDC quantity {value!r} is not a number") from None
    if not qty.is_finite() or qty < 0:
        raise UnitConversionError(f"NDC quantity {value!r} is not a non-negative number")
    return qty


def _tidy(value: Decimal) -> Decimal:
    """Drop trailing zeros without going to exponent form (17.00 -> 17, 2.50 -> 2.5)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()
