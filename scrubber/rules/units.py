"""Unit rules: billed units (SV104 / SV205) against the NDC quantity (CTP04)."""
from __future__ import annotations

from decimal import Decimal

from ..fixes.edit import InsertAfter, SetValue
from .base import Issue, Rule, register
from .drug import (
    QTY_PLACES, DrugFacts, claim_facts, money, pending_waste, waste_units, whole_units, x12_decimal,
)
from .edits import claim_total_edits, composite, renumber_after, scaled_charge, set_value, texts


def _units_el(line) -> int:
    return 5 if line.service.tag == "SV2" else 4


@register
class UnitsMatchNdc(Rule):
    """Billed units must equal the HCPCS units that the NDC quantity amounts to.

    N = CTP04 converted to HCPCS units (from the crosswalk package data,
    rounded up), B = the billed units.
    Bad:  ``SV1*HC:J9307*3700*UN*37`` with ``CTP****2*ML`` (2 mL = 40 mg = 40 units)
    Good: the 37-unit line with ``CTP****1.85*ML``, then a JW line
    ``SV1*HC:J9307:JW*300*UN*3`` with ``CTP****.15*ML``
    N > B by less than one vial of a single-dose drug is undocumented waste:
    the line keeps B and the administered share of the NDC quantity, and a JW
    line for the waste is inserted after it (charge at the line's unit price;
    CLM02 and LX renumbered).  N < B is overbilling: B is set to N and the
    charge scaled.  Any other difference is an error for a person.  With the
    profile's units source set to ``billed``, CTP04 is set from B instead.
    """

    code = "UNT001"
    name = "units-match-ndc"
    fixable = True

    def check(self, claim, ctx):
        all_facts = claim_facts(claim, ctx.refdata)
        for f in all_facts:
            if f.units_consistent is not False or f.line.service is None or f.billed is None or f.billed <= 0:
                continue
            n, b = whole_units(f, f.ndc_units), whole_units(f, f.billed)
            policy = ctx.profile.drug(f.code)
            if policy.units_source == "billed":
                yield self._ctp_from_billed(f, b)
            elif pending_waste(f, ctx.profile):
                yield self._split(claim, f, n, b)
            elif n < b and n > 0:
                yield self._overbilled(claim, f, n, b)
            else:
                yield Issue(_mismatch(f, n, b), ref=f.line.units.ref, line=f.line, original=f.line.units.text)

    def _ctp_from_billed(self, f: DrugFacts, b: Decimal) -> Issue:
        qty = (f.quantity * b / f.ndc_units).quantize(QTY_PLACES).normalize()
        new = x12_decimal(qty)
        return Issue(
            f"CTP04 {f.line.ndc_quantity.text} amounts to {x12_decimal(f.ndc_units)} units, not the "
            f"{x12_decimal(b)} billed; the profile takes billed units as the truth: CTP04 set to {new}",
            ref=f.line.ndc_quantity.ref, line=f.line, original=f.line.ndc_quantity.text, corrected=new,
            edits=(set_value(f.line.ndc_quantity, new),),
        )

    def _overbilled(self, claim, f: DrugFacts, n: Decimal, b: Decimal) -> Issue:
        line = f.line
        edits = [set_value(line.units, x12_decimal(n))]
        charge = scaled_charge(line, f.billed, n)
        if charge is not None:
            edits.append(set_value(line.charge, x12_decimal(charge)))
            edits += claim_total_edits(claim, {id(line): charge})
        return Issue(
            f"{x12_decimal(b)} units of {f.code} billed but the NDC quantity {line.ndc_quantity.text} "
            f"{line.ndc_unit.text} is only {x12_decimal(n)} units: overbilled; units set to {x12_decimal(n)}"
            + (f" and the charge scaled to {x12_decimal(charge)}" if charge is not None else ""),
            ref=line.units.ref, line=line, original=line.units.text, corrected=x12_decimal(n),
            edits=tuple(edits),
        )

    def _split(self, claim, f: DrugFacts, n: Decimal, b: Decimal) -> Issue:
        line = f.line
        waste = waste_units(f)
        admin_qty = (f.quantity * b / f.ndc_units).quantize(QTY_PLACES)
        waste_qty = f.quantity - admin_qty
        waste_charge = scaled_charge(line, f.billed, waste)
        el = _units_el(line)
        sv = texts(line.service)
        sv[el - 3 if line.service.tag == "SV1" else 2] = composite(line, _jw_modifiers(line))
        sv[_units_el(line)] = x12_decimal(waste)
        if waste_charge is not None:
            sv[el - 2] = x12_decimal(waste_charge)
        new_segments = [("LX", str(_line_position(claim, line) + 1)), tuple(sv)]
        for seg in line.segments[1:]:
            tag = seg.tag
            if tag == "DTP" and seg.element(1) == "472":
                new_segments.append(tuple(texts(seg)))
            elif seg is line.lin:
                new_segments.append(tuple(texts(seg)))
            elif seg is line.ctp:
                ctp = texts(seg)
                ctp[4] = x12_decimal(waste_qty)
                new_segments.append(tuple(ctp))
            elif tag == "REF" and _copied_ref(line, seg):
                new_segments.append(tuple(texts(seg)))
        edits = [
            set_value(line.ndc_quantity, x12_decimal(admin_qty)),
            InsertAfter(line.last_segment, tuple(new_segments)),
            *renumber_after(claim, line),
        ]
        if waste_charge is not None:
            edits += claim_total_edits(claim, {}, added=waste_charge)
        return Issue(
            f"NDC quantity {line.ndc_quantity.text} {line.ndc_unit.text} is {x12_decimal(n)} units of {f.code} "
            f"but {x12_decimal(b)} are billed: {x12_decimal(waste)} units of undocumented waste from a "
            f"single-dose vial; CTP04 set to the administered {x12_decimal(admin_qty)} and a JW line added for "
            f"{x12_decimal(waste)} units ({x12_decimal(waste_qty)} {line.ndc_unit.text}"
            + (f", charge {x12_decimal(money(waste_charge))}" if waste_charge is not None else "") + ")",
            ref=line.ndc_quantity.ref, line=line, original=line.ndc_quantity.text,
            corrected=x12_decimal(admin_qty), edits=tuple(edits),
        )


def _mismatch(f: DrugFacts, n: Decimal, b: Decimal) -> str:
    """Why a difference between N and B is left for a person."""
    line = f.line
    head = (f"NDC quantity {line.ndc_quantity.text} {line.ndc_unit.text} is {x12_decimal(n)} units of {f.code} "
            f"but {x12_decimal(b)} are billed")
    over = f.ndc_units - b
    if f.is_jw:
        why = "on a JW line the discarded units must match the discarded NDC quantity"
    elif f.single_dose and 0 < over < 1:
        why = (f"the difference is a partial unit ({x12_decimal(over)}): bill {x12_decimal(n)} units "
               "(CMS rounds the administered dose up) or correct CTP04")
    elif not f.single_dose:
        why = "the drug is not single-dose, so the difference is not billable waste"
    elif f.package_units is not None and n - b >= f.package_units:
        why = (f"the difference of {x12_decimal(n - b)} units is a whole vial ({x12_decimal(f.package_units)} "
               "units) or more, so it is not waste from an opened vial")
    else:
        why = "the payer's policy does not split waste onto a JW line"
    return f"{head}: {why}; check the dose and the NDC quantity"


def _jw_modifiers(line) -> list[str]:
    mods = [m for m in line.modifier_codes if m not in ("JZ", "JW")]
    return ["JW", *mods][:4]


def _line_position(claim, line) -> int:
    return next(n for n, other in enumerate(claim.lines, start=1) if other is line)


def _copied_ref(line, seg) -> bool:
    """The JW line takes the line's prior authorization (2400 REF*G1) and the
    drug loop's prescription or link number (2410 REF*XZ / VY), nothing else
    (a line item control number REF*6R must stay unique)."""
    segs = line.segments
    in_drug = line.lin is not None and segs.index(seg) > segs.index(line.lin)
    return seg.element(1) in (("XZ", "VY") if in_drug else ("G1",))


@register
class FractionalUnits(Rule):
    """Billed units of a drug are whole units: a partial unit is rounded up (CMS).

    Bad:  ``SV1*HC:J9307*1825*UN*36.5``
    Good: ``SV1*HC:J9307*1850*UN*37`` (charge scaled per unit)
    Administered units round up; discarded units on a JW line round down, so
    the lines of one vial never bill more than the vial.
    Source: CMS RAC topic 0074; IOM 100-04 ch. 17.
    """

    code = "UNT002"
    name = "fractional-units"
    fixable = True

    def check(self, claim, ctx):
        for f in claim_facts(claim, ctx.refdata):
            if not f.is_drug or f.billed is None or f.billed == f.billed.to_integral_value():
                continue
            line = f.line
            whole = whole_units(f, f.billed)
            if whole <= 0:
                yield Issue(f"{line.units.text} units on a JW line is less than one whole unit",
                            ref=line.units.ref, line=line, original=line.units.text)
                continue
            edits = [set_value(line.units, x12_decimal(whole))]
            charge = scaled_charge(line, f.billed, whole)
            if charge is not None:
                edits.append(set_value(line.charge, x12_decimal(charge)))
                edits += claim_total_edits(claim, {id(line): charge})
            how = "down (discarded units, JW)" if f.is_jw else "up"
            yield Issue(f"{line.units.text} units is a partial unit; rounded {how} to {x12_decimal(whole)}",
                        ref=line.units.ref, line=line, original=line.units.text, corrected=x12_decimal(whole),
                        edits=tuple(edits))


@register
class UnitBasis(Rule):
    """A drug line's unit basis (SV103 / SV204) is UN (units).

    Bad:  ``SV1*HC:J9307*1000*MJ*40``
    Good: ``SV1*HC:J9307*1000*UN*40``
    MJ (minutes) and DA (days) are for time-based services, not drugs.
    """

    code = "UNT003"
    name = "unit-basis"
    fixable = True

    def check(self, claim, ctx):
        for f in claim_facts(claim, ctx.refdata):
            basis = f.line.unit_basis
            if f.line.service is None or not f.is_drug or basis.text == "UN" or basis.ref is None:
                continue
            yield Issue(f"unit basis {basis.text or '(empty)'} on a drug line; set to UN", ref=basis.ref,
                        line=f.line, original=basis.text, corrected="UN", edits=(set_value(basis, "UN"),))


@register
class UnitsAreANumber(Rule):
    """A drug line's units (SV104 / SV205) are a positive number.

    Bad:  ``SV1*HC:J9307*4000*UN*4O`` (a letter O), ``SV1*HC:J9307*4000*UN*0``, or no units
    Good: ``SV1*HC:J9307*4000*UN*40``
    No other units rule can judge such a line, and a payer rejects it.  Not
    fixed: the right number is the biller's to say.
    """

    code = "UNT004"
    name = "units-not-a-number"

    def check(self, claim, ctx):
        for f in claim_facts(claim, ctx.refdata):
            if f.billed is not None and f.billed > 0 or f.line.service is None or not f.is_drug:
                continue
            units = f.line.units
            text = units.text
            what = "missing" if not text.strip() else "zero or negative" if f.billed is not None else "not a number"
            # the value is quoted only when it is short and printable (a shifted element could hold anything)
            shown = text if len(text) <= 15 and text.isprintable() else ""
            yield Issue(f"the units of drug {f.code} are {what}: a positive number is needed", ref=units.ref,
                        line=f.line, original=shown)


__all__ = ["UnitsMatchNdc", "FractionalUnits", "UnitBasis", "UnitsAreANumber", "SetValue"]
