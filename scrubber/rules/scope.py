"""Which claims the rules need to see.

The rules judge drug lines.  A claim with no drug line (no loop 2410, no
service code that the reference data or the profile knows as a drug, no
JW/JZ modifier) is passed through without building its model: most claims
in a day's file are office visits, and this keeps them at the speed of
tokenizing.
"""
from __future__ import annotations

from typing import Iterable

from ..x12.tokenizer import Segment

_WASTE_MODIFIERS = {"JW", "JZ"}


def drug_codes(refdata, profile) -> frozenset[str]:
    """Every HCPCS code the rules treat as a drug."""
    return frozenset(refdata.drugs) | {e.hcpcs for e in refdata.entries} | frozenset(profile.drugs)


def has_drug_line(segments: Iterable[Segment], codes: frozenset[str]) -> bool:
    for seg in segments:
        tag = seg.tag
        if tag == "LIN":
            return True
        if tag == "SV1" or tag == "SV2":
            comps = seg.components(1 if tag == "SV1" else 2)
            if len(comps) > 1 and comps[1] in codes:
                return True
            if _WASTE_MODIFIERS.intersection(comps[2:6]):
                return True
    return False
