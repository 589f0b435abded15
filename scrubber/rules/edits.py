"""Edit builders shared by the rules: line charges, claim total, LX numbers,
service composites.  They return edit objects; they never build bytes."""
from __future__ import annotations

from decimal import Decimal

from ..claims.model import Claim, Ref, ServiceLine
from ..fixes.edit import SetValue
from .drug import money, parse_decimal, x12_decimal


def set_value(value, text: str) -> SetValue:
    """An edit that sets a model :class:`Value` (which must have a ref)."""
    ref = value.ref
    return SetValue(ref.segment, ref.element, ref.component, text)


def composite_el(line: ServiceLine) -> int:
    return 2 if line.service is not None and line.service.tag == "SV2" else 1


def composite(line: ServiceLine, modifiers: list[str]) -> tuple[str, ...]:
    """The procedure composite (SV101 / SV202) with new modifiers."""
    mods = list(modifiers)[:4]
    mods += [""] * (4 - len(mods))
    return (line.qualifier.text, line.code.text, *mods, line.description.text)


def modifier_ref(line: ServiceLine, position: int) -> Ref:
    """Where the modifier at ``position`` (0-based) is, or would go (SV101-3..6)."""
    return Ref(line.service, composite_el(line), 3 + min(position, 3))


def set_modifiers(line: ServiceLine, modifiers: list[str]) -> SetValue:
    """Set the whole procedure composite with new modifiers (the fixes
    component joins it with the segment's own component separator)."""
    return SetValue(line.service, composite_el(line), None, composite(line, modifiers))


def claim_total_edits(claim: Claim, new_charges: dict[int, Decimal], added: Decimal = Decimal(0)) -> list[SetValue]:
    """Set CLM02 to the sum of the line charges after the given changes.

    ``new_charges`` maps ``id(line)`` to its new charge; ``added`` is the
    charge of lines being inserted."""
    total = Decimal(0)
    for line in claim.lines:
        c = new_charges.get(id(line))
        if c is None:
            c = parse_decimal(line.charge.text) or Decimal(0)
        total += c
    total += added
    if claim.charge.ref is None:
        return []
    have = parse_decimal(claim.charge.text)
    if have is not None and have == total:
        return []
    return [set_value(claim.charge, x12_decimal(money(total)))]


def renumber_after(claim: Claim, line: ServiceLine, inserted: int = 1) -> list[SetValue]:
    """LX01 of every line after ``line`` moves up by ``inserted``."""
    edits = []
    after = False
    for n, other in enumerate(claim.lines, start=1):
        if after:
            want = str(n + inserted)
            if other.number.text != want:
                edits.append(SetValue(other.lx, 1, None, want))
        if other is line:
            after = True
    return edits


def scaled_charge(line: ServiceLine, old_units: Decimal, new_units: Decimal) -> Decimal | None:
    charge = parse_decimal(line.charge.text)
    if charge is None or not old_units:
        return None
    return money(charge * new_units / old_units)


def texts(seg) -> list[str]:
    """A segment's elements as strings (composites kept as raw text)."""
    return [e.decode("latin-1") for e in seg.elements]
