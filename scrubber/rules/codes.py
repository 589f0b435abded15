"""Code rules: modifiers, NOC codes, code validity, duplicates, 837I revenue codes."""
from __future__ import annotations

import re

from ..findings import WARNING
from .base import Issue, Rule, register
from .drug import claim_facts
from .edits import modifier_ref, set_modifiers

_MODIFIER = re.compile(r"[A-Z0-9]{2}\Z")


def drug_lines(claim, ctx):
    return [f.line for f in claim_facts(claim, ctx.refdata) if f.is_drug]


@register
class TooManyModifiers(Rule):
    """A drug line has at most four modifiers (SV101-3..6 / SV202-3..6).

    Bad:  ``SV1*HC:J9307:JW:TB:59:XE:76`` (a fifth modifier in the description slot)
    Good: ``SV1*HC:J9307:JW:TB:59:XE``
    Not fixed: which modifier to drop is the biller's call.
    """

    code = "MOD001"
    name = "too-many-modifiers"

    def check(self, claim, ctx):
        for line in drug_lines(claim, ctx):
            mods = line.modifier_codes
            if len(mods) != 4:
                continue
            extra = line.description.text
            drug = ctx.refdata.drug(line.code.text)
            noc = drug is not None and drug.noc
            if _MODIFIER.match(extra) and not noc:
                yield Issue(f"five modifiers ({', '.join(mods + [extra])}); at most four are allowed",
                            ref=line.description.ref, line=line, original=extra)


@register
class DuplicateModifier(Rule):
    """A modifier appears once on a drug line.

    Bad:  ``SV1*HC:J9307:JZ:JZ``
    Good: ``SV1*HC:J9307:JZ``
    Fixed by removing the repeats.
    """

    code = "MOD002"
    name = "duplicate-modifier"
    fixable = True

    def check(self, claim, ctx):
        for line in drug_lines(claim, ctx):
            mods = line.modifier_codes
            if len(mods) < 2:
                continue
            unique = list(dict.fromkeys(mods))
            if len(unique) != len(mods) and line.service is not None:
                first_repeat = next(i for i, m in enumerate(mods) if m in mods[:i])
                yield Issue(f"modifier repeated ({', '.join(mods)}); repeats removed",
                            ref=modifier_ref(line, first_repeat), line=line,
                            original=":".join(mods), corrected=":".join(unique),
                            edits=(set_modifiers(line, unique),))


@register
class SameDrugSameDate(Rule):
    """The same drug, NDC and date billed on two administered lines of one claim.

    Bad:  two ``SV1*HC:J9307`` lines with ``LIN**N4*72893000501`` on 2026-11-01
    Good: one line with the summed units (or two lines for two different NDCs)
    A warning: whether to merge, add a modifier or report is payer policy,
    and the profile's ``same-date`` policy says which (``report``; ``merge``;
    ``modifier``, e.g. XE on the repeat line; ``allow``).
    Lines with different NDCs are expected (one NDC per line).
    """

    code = "DUP001"
    name = "same-drug-same-date"
    severity = WARNING

    def check(self, claim, ctx):
        seen: dict[tuple, object] = {}
        for f in claim_facts(claim, ctx.refdata):
            if not f.is_drug or f.is_jw or not f.code:
                continue
            key = (f.code, f.line.service_date, f.ndc11 or f.line.ndc.text)
            first = seen.get(key)
            if first is None:
                seen[key] = f.line
                continue
            policy = ctx.profile.drug(f.code, f.ndc11)
            if policy.same_date == "allow" or (
                    policy.same_date == "modifier" and policy.same_date_modifier in f.line.modifier_codes):
                continue
            advice = {"merge": ": the payer wants one line with the summed units",
                      "modifier": f": the payer wants modifier {policy.same_date_modifier} on the repeat line"}
            yield Issue(f"{f.code} with the same NDC is billed again on the same date (first on line "
                        f"{first.received_number}){advice.get(policy.same_date, '')}", ref=f.line.code.ref,
                        line=f.line)


@register
class NocNeedsDescription(Rule):
    """A not-otherwise-classified code needs a description and the NDC.

    Bad:  ``SV1*HC:J9999*...`` with no SV101-7 text or no LIN loop
    Good: ``SV1*HC:J9999:::::BELANTAMAB MAFODOTIN 70MG`` with ``LIN**N4*00173091301``
    NOC codes (J9999, J3590, J3490, C9399) are priced from the description
    and the NDC; without them the claim is rejected at the front end.
    """

    code = "NOC001"
    name = "noc-description"

    def check(self, claim, ctx):
        for f in claim_facts(claim, ctx.refdata):
            if f.drug is None or not f.drug.noc:
                continue
            missing = []
            if not f.line.description.text.strip():
                missing.append(f"a description ({'SV202-7' if f.line.kind == '837I' else 'SV101-7'})")
            if f.line.lin is None or not f.line.ndc.text:
                missing.append("the NDC (loop 2410)")
            if missing:
                yield Issue(f"NOC code {f.code} without {' and '.join(missing)}", ref=f.line.code.ref,
                            line=f.line)


@register
class CodeNotValidOnDate(Rule):
    """The HCPCS code is valid on the date of service.

    Bad:  ``SV1*HC:J9037`` on 2026-03-02 (J9037 was deleted in 2025)
    Good: the code in force on that date (belantamab today: a NOC code with a
    description and the NDC)
    Prevents CO-181.
    """

    code = "COD001"
    name = "code-not-valid-on-date"

    def check(self, claim, ctx):
        for f in claim_facts(claim, ctx.refdata):
            d = f.line.service_date
            if f.drug is None or d is None or f.drug.is_valid_on(d):
                continue
            span = []
            if f.drug.effective:
                span.append(f"from {f.drug.effective.isoformat()}")
            if f.drug.terminated:
                span.append(f"until {f.drug.terminated.isoformat()}")
            advice = f"; {f.drug.bill_instead}" if f.drug.bill_instead else ""
            yield Issue(f"{f.code} ({f.drug.descriptor}) is not valid on {d.isoformat()} (valid {' '.join(span)})"
                        f"{advice}", ref=f.line.code.ref, line=f.line, original=f.code)


@register
class DrugRevenueCode(Rule):
    """837I: a HCPCS-coded drug goes under revenue code 0636.

    Bad:  ``SV2*0250*HC:J9307*...``
    Good: ``SV2*0636*HC:J9307*...``
    CMS recommends 0636 ("drugs requiring detailed coding") for every coded
    drug; coded drugs under 0250 are lost for rate setting.  A warning, not
    fixed: the revenue code is the facility's choice.
    """

    code = "REV001"
    name = "drug-revenue-code"
    severity = WARNING

    def check(self, claim, ctx):
        if claim.kind != "837I":
            return
        for f in claim_facts(claim, ctx.refdata):
            if not f.is_drug or f.drug is None or f.line.qualifier.text != "HC":
                continue
            rev = f.line.revenue_code
            allowed = ctx.profile.drug(f.code).revenue_codes
            if rev.text not in allowed:
                yield Issue(f"drug {f.code} under revenue code {rev.text or '(none)'}, not {', '.join(allowed)}",
                            ref=rev.ref, line=f.line, original=rev.text)
