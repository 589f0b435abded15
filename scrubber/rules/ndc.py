"""NDC rules: the drug identification in loop 2410 (LIN/CTP)."""
from __future__ import annotations

from ..findings import WARNING
from .base import Issue, Rule, register
from .drug import claim_facts
from .edits import set_value


@register
class NdcFormat(Rule):
    """LIN03 must be an 11-digit NDC (5-4-2, no hyphens).

    Bad:  ``LIN**N4*72893-005-01`` (10-digit 5-3-2 with hyphens)
    Good: ``LIN**N4*72893000501``
    A hyphenated 10-digit NDC is normalised by padding the short part with a
    leading zero.  An unhyphenated 10-digit NDC is normalised only when
    exactly one of its 11-digit readings is in the crosswalk; otherwise it is
    ambiguous and a person must fix it.  Prevents CO-16 + M119.
    """

    code = "NDC001"
    name = "ndc-format"
    fixable = True

    def check(self, claim, ctx):
        for f in claim_facts(claim, ctx.refdata):
            raw = f.line.ndc.text
            if not raw or f.ndc_status in ("ok", "unknown") and raw.isdigit() and len(raw) == 11:
                continue
            if f.ndc_status in ("ok", "normalized", "unknown") and f.ndc11 and f.ndc11 != raw:
                yield Issue(f"NDC {raw!r} normalised to 11 digits {f.ndc11}", ref=f.line.ndc.ref, line=f.line,
                            original=raw, corrected=f.ndc11, edits=(set_value(f.line.ndc, f.ndc11),))
            elif f.ndc_status == "ambiguous":
                yield Issue(f"NDC {raw!r} is ambiguous without hyphens; it could be any of "
                            f"{', '.join(_candidates(raw, ctx))}: send the 11-digit 5-4-2 form",
                            ref=f.line.ndc.ref, line=f.line, original=raw)
            elif f.ndc_status == "invalid":
                yield Issue(f"LIN03 {raw!r} is not an NDC (11 digits, 5-4-2)", ref=f.line.ndc.ref, line=f.line,
                            original=raw)


def _candidates(raw: str, ctx) -> list[str]:
    from ..refdata.ndc import resolve_ndc

    return list(resolve_ndc(raw, ctx.refdata.knows_ndc).candidates) or ["(none)"]


@register
class NdcQualifier(Rule):
    """LIN02 must be N4 (NDC in 5-4-2 format) on a drug line.

    Bad:  ``LIN**ND*72893000501``
    Good: ``LIN**N4*72893000501``
    Fixed when LIN03 holds an 11-digit NDC (the 837I allows only N4; payers
    price drugs by N4).
    """

    code = "NDC002"
    name = "ndc-qualifier"
    fixable = True

    def check(self, claim, ctx):
        for f in claim_facts(claim, ctx.refdata):
            q = f.line.ndc_qualifier
            if f.line.lin is None or q.text == "N4":
                continue
            if f.ndc11 and f.ndc_status in ("ok", "normalized") and q.ref is not None:
                yield Issue(f"LIN02 is {q.text or 'empty'}; an NDC is qualified N4", ref=q.ref, line=f.line,
                            original=q.text, corrected="N4", edits=(set_value(q, "N4"),))
            else:
                yield Issue(f"LIN02 is {q.text or 'empty'}, not N4: the payer cannot read the drug id",
                            ref=q.ref, line=f.line, original=q.text)


@register
class NdcMissing(Rule):
    """A drug line has no NDC (no 2410 LIN loop).

    Bad:  ``SV1*HC:J9307*1000*UN*40`` with no ``LIN**N4*...`` after it
    Good: ``LIN**N4*72893000501`` and ``CTP****2*ML`` in loop 2410
    A warning by default; an error where the payer's profile requires an NDC
    for the drug (most Medicaid plans).  Prevents CO-16 + M119.
    """

    code = "NDC003"
    name = "ndc-missing"
    severity = WARNING

    def check(self, claim, ctx):
        for f in claim_facts(claim, ctx.refdata):
            if f.line.lin is not None or f.drug is None and not ctx.refdata.entries_for_code(f.code):
                continue
            if f.drug is not None and f.drug.noc:
                continue  # NOC001 reports the NOC case
            required = ctx.profile.drug(f.code).ndc_required
            yield Issue(f"drug line {f.code} has no NDC (loop 2410 LIN/CTP)", ref=f.line.code.ref, line=f.line,
                        severity="error" if required else None)


@register
class NdcUnknown(Rule):
    """The NDC is not in the NDC-HCPCS crosswalk.

    Bad:  ``LIN**N4*12345678901`` (no such product in the crosswalk)
    Good: an NDC the crosswalk maps to the line's HCPCS code
    Load the current CMS quarterly file with ``--crosswalk`` if the product is
    new.  The units cannot be checked without the package data.
    """

    code = "NDC004"
    name = "ndc-unknown"
    severity = WARNING

    def check(self, claim, ctx):
        for f in claim_facts(claim, ctx.refdata):
            if f.ndc11 and not f.entries and f.ndc_status in ("ok", "normalized", "unknown"):
                yield Issue(f"NDC {f.ndc11} is not in the NDC-HCPCS crosswalk; units not checked",
                            ref=f.line.ndc.ref, line=f.line, original=f.line.ndc.text)


@register
class NdcWrongDrug(Rule):
    """The NDC belongs to another HCPCS code than the one billed.

    Bad:  ``SV1*HC:J9307...`` with ``LIN**N4*00173089601`` (a belantamab NDC
    on the pralatrexate code)
    Good: the NDC of the drug given, under that drug's code
    Not fixed: a person must decide which of the two is wrong.  The message
    names the drug the NDC belongs to and what to bill instead.  Prevents
    CO-16 + M119.
    """

    code = "NDC005"
    name = "ndc-wrong-drug"
    fixable = False

    def check(self, claim, ctx):
        for f in claim_facts(claim, ctx.refdata):
            if not f.entries or f.entry is not None or not f.code:
                continue
            others = sorted({e.hcpcs for e in f.entries})
            e = f.entries[0]
            billed = ctx.refdata.drug(f.code)
            billed_as = f"{f.code} ({billed.descriptor})" if billed else f.code
            advice = []
            for code in others:
                d = ctx.refdata.drug(code)
                if d is None:
                    advice.append(code)
                    continue
                text = f"{code} ({d.descriptor})"
                if f.line.service_date and not d.is_valid_on(f.line.service_date):
                    text += f", which is not valid on {f.line.service_date.isoformat()}"
                if d.bill_instead:
                    text += f"; {d.bill_instead}"
                advice.append(text)
            yield Issue(
                f"NDC {f.ndc11} is {e.drug_name or 'another drug'} from {e.labeler or 'an unknown labeler'}, "
                f"not {billed_as}: it bills under {' or '.join(advice)}",
                ref=f.line.ndc.ref, line=f.line, original=f.line.ndc.text,
            )


@register
class NdcQuantity(Rule):
    """Loop 2410 needs a CTP with a quantity (CTP04) and a unit the payer accepts (CTP05).

    Bad:  ``LIN**N4*72893000501`` with no CTP, or ``CTP****2*XX``
    Good: ``CTP****2*ML`` (F2, GR, ME, ML or UN)
    Some Medicaid plans refuse ME; the profile says which units it accepts.
    """

    code = "NDC006"
    name = "ndc-quantity"

    def check(self, claim, ctx):
        for f in claim_facts(claim, ctx.refdata):
            line = f.line
            if line.lin is None:
                continue
            if line.ctp is None:
                yield Issue("loop 2410 has an NDC but no CTP quantity segment", segment=line.lin, line=line)
                continue
            if f.quantity is None or f.quantity <= 0:
                yield Issue(f"CTP04 {line.ndc_quantity.text!r} is not a positive NDC quantity",
                            ref=line.ndc_quantity.ref, line=line, original=line.ndc_quantity.text)
            unit = line.ndc_unit.text
            accepted = ctx.profile.drug(f.code).accepted_units
            if unit not in accepted:
                yield Issue(f"CTP05 unit {unit or '(empty)'!r} is not one of {', '.join(accepted)}",
                            ref=line.ndc_unit.ref or line.ndc_quantity.ref, line=line, original=unit)
