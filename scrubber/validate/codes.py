"""The IG codes: what pyx12's implementation-guide validation reports.

pyx12's own error codes (the X12 999 codes: IK304 for segments, IK403 for
elements, IK502/AK905 for transactions and groups, TA1 codes for the
interchange) are kept in each finding's message, e.g.
``pyx12 element error 7: (XX) is not a valid code for Code Qualifier (CTP05-01)``.
The IG code only says which family the error belongs to, so ``--select IG003``
and profile severities work on a stable, small set.
"""
from __future__ import annotations

from ..findings import ERROR, WARNING
from ..x12.envelope import Check

ENVELOPE = "IG001"
SEGMENT = "IG002"
ELEMENT = "IG003"
NO_MAP = "IG004"
VALIDATOR_FAILED = "IG005"

CHECKS = {
    c.code: c
    for c in (
        Check(ENVELOPE, "ig-envelope", ERROR, False,
              "pyx12: an ISA/IEA, GS/GE or ST/SE error (trailer missing or not matching its header, wrong count, "
              "repeated control number, bad envelope element, or an ISA pyx12 cannot read)."),
        Check(SEGMENT, "ig-segment", ERROR, False,
              "pyx12: a segment the implementation guide does not allow here: missing, unexpected, out of order, "
              "repeated or in a loop repeated too often (also pyx12's HL and LX numbering checks)."),
        Check(ELEMENT, "ig-element", ERROR, False,
              "pyx12: an element or component that breaks the guide: missing, too short or long, a bad code, "
              "character, date or time, used where not used, or a syntax rule between elements."),
        Check(NO_MAP, "ig-no-map", WARNING, False,
              "pyx12 has no implementation-guide map for a transaction (GS01/GS08, e.g. 005010X222A2 or a 270) or "
              "version (ISA12): that part of the file is not validated."),
        Check(VALIDATOR_FAILED, "ig-validator-failed", WARNING, False,
              "pyx12 failed on this input (an internal error): that part of the file is not validated."),
    )
}
"""Every IG code, as :class:`scrubber.x12.envelope.Check` records (code, name,
severity, fixable, summary), the same shape as the envelope checks, so
``scrubber rules`` can list them together."""
