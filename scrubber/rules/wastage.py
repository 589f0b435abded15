"""JW/JZ rules: discarded drug from single-dose containers (CMS policy).

JW marks the discarded amount, on its own line; JZ says nothing was
discarded.  CMS requires one or the other on separately payable Part B drugs
from single-dose containers since 2023-07-01.  The profile's ``jw_jz``
policy turns these rules off for payers that do not use the modifiers.
"""
from __future__ import annotations

from .base import Issue, Rule, register
from .drug import claim_facts, has_jw_line, pending_waste
from .edits import modifier_ref, set_modifiers


def _applies(f, ctx, claim) -> bool:
    """JW/JZ apply: a single-dose drug, a payer that uses them, and (837I) a
    bill type they apply to; not a line whose NDC is another drug's."""
    if not f.single_dose or f.line.service is None or f.line.code.ref is None:
        return False
    policy = ctx.profile.drug(f.code)
    if policy.jw_jz != "cms":
        return False
    if claim.kind == "837I" and claim.facility.text in policy.jw_jz_exempt_facilities:
        return False
    return not (f.entries and f.entry is None)


@register
class JzMissing(Rule):
    """A single-dose drug line with no JW line for it carries JZ.

    Bad:  ``SV1*HC:J9307*4000*UN*40`` (nothing says whether drug was discarded)
    Good: ``SV1*HC:J9307:JZ*4000*UN*40``
    Added when the NDC quantity shows no waste.  Prevents the claim being
    returned as unprocessable (CO-4, or CO-16 + N822/N823).
    """

    code = "JWZ001"
    name = "jz-missing"
    fixable = True

    def check(self, claim, ctx):
        all_facts = claim_facts(claim, ctx.refdata)
        for f in all_facts:
            mods = f.line.modifier_codes
            if "JW" in mods or "JZ" in mods or not _applies(f, ctx, claim):
                continue
            if has_jw_line(all_facts, f, ctx.profile) or pending_waste(f, ctx.profile):
                continue
            if f.units_consistent is False:
                continue  # UNT001 reports the units; whether drug was discarded is open
            if len(mods) >= 4:
                yield Issue(f"{f.code} needs JZ (no drug discarded) but the line already has four modifiers "
                            f"({', '.join(mods)})", ref=f.line.code.ref, line=f.line)
                continue
            new = [*mods, "JZ"]
            yield Issue(f"single-dose drug {f.code} has no JW line and no JZ: JZ added",
                        ref=modifier_ref(f.line, len(mods)),
                        line=f.line, original=":".join(mods), corrected=":".join(new),
                        edits=(set_modifiers(f.line, new),))


@register
class JwAndJz(Rule):
    """JW and JZ never go on the same line.

    Bad:  ``SV1*HC:J9307:JW:JZ*300*UN*3``
    Good: ``SV1*HC:J9307:JW*300*UN*3`` (the waste line) or ``...:JZ`` (no waste)
    Not fixed: which one is true is a fact only the provider knows.
    """

    code = "JWZ002"
    name = "jw-and-jz"

    def check(self, claim, ctx):
        for line in claim.lines:
            mods = line.modifier_codes
            if "JW" in mods and "JZ" in mods:
                yield Issue("JW (drug discarded) and JZ (nothing discarded) on the same line",
                            ref=line.code.ref, line=line, original=":".join(mods))


@register
class JzWithJwLine(Rule):
    """A drug that has a JW line on the claim takes no JZ on its other lines.

    Bad:  ``SV1*HC:J9307:JZ*3700*UN*37`` and ``SV1*HC:J9307:JW*300*UN*3`` on one date
    Good: ``SV1*HC:J9307*3700*UN*37`` and the JW line
    Fixed by removing JZ from the administered line.
    """

    code = "JWZ003"
    name = "jz-with-jw-line"
    fixable = True

    def check(self, claim, ctx):
        all_facts = claim_facts(claim, ctx.refdata)
        if not any(f.is_jw for f in all_facts):
            return  # no JW line on the claim
        for f in all_facts:
            mods = f.line.modifier_codes
            if "JZ" not in mods or "JW" in mods or f.line.service is None:
                continue
            if not has_jw_line(all_facts, f):
                continue
            new = [m for m in mods if m != "JZ"]
            yield Issue(f"{f.code} has a JW line for the same date, so JZ is removed from this line",
                        ref=modifier_ref(f.line, mods.index("JZ")), line=f.line, original=":".join(mods), corrected=":".join(new),
                        edits=(set_modifiers(f.line, new),))


@register
class JwWithoutAdministered(Rule):
    """A JW (waste) line needs an administered line for the same drug and date.

    Bad:  a claim whose only J9307 line is ``SV1*HC:J9307:JW*300*UN*3``
    Good: ``SV1*HC:J9307*3700*UN*37`` and the JW line, same date of service
    A claim whose only line for the drug is the JW line is rejected.
    """

    code = "JWZ004"
    name = "jw-without-administered"

    def check(self, claim, ctx):
        all_facts = claim_facts(claim, ctx.refdata)
        for f in all_facts:
            if not f.is_jw or not f.code:
                continue
            if any(not o.is_jw and o.code == f.code and o.line.service_date == f.line.service_date
                   for o in all_facts):
                continue
            when = f.line.service_date.isoformat() if f.line.service_date else "the same date"
            yield Issue(f"JW line for {f.code} has no administered {f.code} line on {when}",
                        ref=f.line.code.ref, line=f.line)
