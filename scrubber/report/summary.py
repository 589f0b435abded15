"""The short human summary printed to stderr after a run."""
from __future__ import annotations

from collections import Counter

from .writers import printable


def summary_lines(files: int, failed: int, stats_list) -> list[str]:
    claims = sum(s.claims for s in stats_list)
    drug_lines = sum(s.drug_lines for s in stats_list)
    fixed_lines = sum(s.lines_fixed for s in stats_list)
    jw = sum(s.jw_units_added for s in stats_list)
    jw_charges = sum((s.jw_charges_added for s in stats_list), start=0)
    errors = sum(s.errors_remaining for s in stats_list)
    fixes = sum(s.fixes for s in stats_list)
    by_code: Counter = Counter()
    for s in stats_list:
        by_code.update(s.findings)
    lines = [
        f"scrubber: {files} file(s), {failed} not processed; {claims} claim(s), {drug_lines} drug line(s); "
        f"{fixes} fix(es) on {fixed_lines} line(s); {jw} JW unit(s) added ({jw_charges:.2f} of waste charges "
        f"recovered); {errors} error(s) remain"
    ]
    if by_code:
        lines.append("findings by code: " + ", ".join(f"{c} {n}" for c, n in sorted(by_code.items())))
    return [printable(line) for line in lines]
