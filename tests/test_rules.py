"""One test set per rule: a bad case with the exact finding, a good case with
no finding of that code, and, for fixable rules, the exact corrected segments
and idempotence (scrubbing the output again changes nothing and fixes nothing).

Inputs are built here, in a valid 5010 envelope, by :func:`build`.  Every
expected number was worked out by hand from docs/domain.md:

* pralatrexate (J9307, 1 mg) is 20 mg/mL, so 1 mL = 20 units; NDC 72893000301
  is the 20 mg/1 mL vial (20 units), 72893000501 the 40 mg/2 mL vial (40 units);
* a partial unit is rounded up; waste from a single-dose vial goes on its own
  JW line with its own 2410 (domain.md section 5);
* a charge is scaled at the line's unit price.

Where the scrubber is known to be wrong, the test holds the *correct*
expectation and is marked ``xfail(strict=True)`` with the bug.
"""
from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scrubber import scrub  # noqa: E402
from scrubber.rules import RULES  # noqa: E402

# --------------------------------------------------------------------------
# building inputs
# --------------------------------------------------------------------------

SUB_LAST, SUB_FIRST, MEMBER_ID = "ZEBULONOVA", "QUILLIAM", "MBR7Q2X9ZK"
PHI = (SUB_LAST, SUB_FIRST, MEMBER_ID)
GS08 = {"P": "005010X222A1", "I": "005010X223A2"}
DOS = "20260302"
ADMIN_P = ["SV1*HC:96409*250*UN*1***1", f"DTP*472*D8*{DOS}"]  # chemo administration, IV push
ADMIN_I = ["SV2*0335*HC:96409*450*UN*1", f"DTP*472*D8*{DOS}"]

ALL_CODES = sorted([
    "NDC001", "NDC002", "NDC003", "NDC004", "NDC005", "NDC006",
    "UNT001", "UNT002", "UNT003", "UNT004",
    "JWZ001", "JWZ002", "JWZ003", "JWZ004",
    "MOD001", "MOD002", "DUP001", "NOC001", "COD001", "REV001",
    "POL001", "POL002", "POL003", "POL004", "POL005", "POL006", "POL007", "POL008",
])


def isa(ctrl: str = "000000901") -> str:
    s = ("ISA*00*" + " " * 10 + "*00*" + " " * 10 + "*ZZ*" + "SUBMITTERID".ljust(15) + "*ZZ*"
         + "RECEIVERID".ljust(15) + "*260310*0930*^*00501*" + ctrl + "*0*T*:~")
    assert len(s) == 106
    return s


def _charge(seg: str) -> str:
    el = seg.split("*")
    return el[2] if el[0] == "SV1" else el[3]


def _money(total_cents: int) -> str:
    whole, cents = divmod(total_cents, 100)
    return str(whole) if cents == 0 else f"{whole}.{cents:02d}".rstrip("0")


def claim(lines, kind="P", clm_id="TCLM0001", numbers=None, tob=None):
    """The 2300 loop: CLM (CLM02 = sum of the line charges), HI, then LX + each line's segments."""
    cents = sum(round(float(_charge(line[0])) * 100) for line in lines)
    charge = _money(cents)
    if kind == "P":
        segs = [f"CLM*{clm_id}*{charge}***11:B:1*Y*A*Y*Y", "HI*ABK:C8440"]
    else:
        segs = [f"CLM*{clm_id}*{charge}***{tob or '13:A:1'}**A*Y*Y", f"DTP*434*RD8*{DOS}-{DOS}",
                "CL1*1*1*01", "HI*ABK:C8440"]
    for i, line in enumerate(lines, 1):
        segs.append(f"LX*{numbers[i - 1] if numbers else i}")
        segs += line
    return segs


def build(*claims, kind="P") -> bytes:
    """A whole interchange: ISA/GS/ST, 2000A billing provider, one 2000B subscriber per claim."""
    body = ["BHT*0019*00*TESTBATCH*20260310*0930*CH",
            "NM1*41*2*TEST BILLING*****46*SUB01", "PER*IC*BILLING*TE*5555550100",
            "NM1*40*2*TEST CLEARINGHOUSE*****46*RCV01",
            "HL*1**20*1", "NM1*85*2*TEST ONCOLOGY GROUP*****XX*1234567893",
            "N3*100 MAIN ST", "N4*ANYTOWN*NY*123451234", "REF*EI*123456789"]
    for i, c in enumerate(claims):
        body += [f"HL*{2 + i}*1*22*0", "SBR*P*18*******MB",
                 f"NM1*IL*1*{SUB_LAST}*{SUB_FIRST}****MI*{MEMBER_ID}",
                 "N3*1 TEST LANE", "N4*ANYTOWN*NY*12345", "DMG*D8*19550101*F",
                 "NM1*PR*2*TEST MEDICARE CONTRACTOR*****PI*PAYER01"]
        body += c
    st = [f"ST*837*0001*{GS08[kind]}"] + body
    st.append(f"SE*{len(st) + 1}*0001")
    segs = [f"GS*HC*SUBMITTERID*RECEIVERID*20260310*0930*901*X*{GS08[kind]}", *st, "GE*1*901",
            "IEA*1*000000901"]
    return (isa() + "".join(s + "~" for s in segs)).encode()


def drug(code="J9307", charge="1700", units="17", ndc="72893000301", qty="1", unit="ML", mods=(),
         date=DOS, kind="P", rev="0636", desc=None, qual="N4", extra=()):
    """One drug service line (2400 + 2410), without its LX."""
    parts = ["HC", code, *mods]
    if desc is not None:
        parts += [""] * (6 - len(parts)) + [desc]
    comp = ":".join(parts)
    first = f"SV1*{comp}*{charge}*UN*{units}***1" if kind == "P" else f"SV2*{rev}*{comp}*{charge}*UN*{units}"
    segs = [first, f"DTP*472*D8*{date}"]
    if ndc is not None:
        segs.append(f"LIN**{qual}*{ndc}")
        if qty is not None:
            segs.append(f"CTP****{qty}*{unit}")
    return segs + list(extra)


# --------------------------------------------------------------------------
# reading results
# --------------------------------------------------------------------------

def run(data: bytes):
    """scrub(), plus the checks every result must pass: no patient data in any
    finding, and every claim finding located by CLM01."""
    r = scrub(data)
    for f in r.findings:
        for key, value in f.to_dict().items():
            if isinstance(value, str):
                for word in PHI:
                    assert word not in value, f"{f.code} {key} leaks {word!r}: {value!r}"
    return r


def segments(data: bytes) -> list[str]:
    text = data.decode("latin-1")
    return [s for s in text[106:].split("~") if s] if text.startswith("ISA") else []


def body(data: bytes) -> list[str]:
    """The segments from the first CLM to SE, inclusive."""
    segs = segments(data)
    start = next(i for i, s in enumerate(segs) if s.startswith("CLM*"))
    end = next(i for i, s in enumerate(segs) if s.startswith("SE*"))
    return segs[start:end + 1]


def index_of(data: bytes, segment: str, nth: int = 1) -> int:
    """Position of a segment in the file, ISA = 1 (computed from the input, not by the scrubber)."""
    seen = 0
    for i, s in enumerate(segments(data), start=2):
        if s == segment:
            seen += 1
            if seen == nth:
                return i
    raise AssertionError(f"{segment} not in input")


def se01(data: bytes) -> int:
    return int(next(s for s in segments(data) if s.startswith("SE*")).split("*")[1])


def of(r, code):
    return [f for f in r.findings if f.code == code]


def one(r, code):
    found = of(r, code)
    assert len(found) == 1, (code, [(f.code, f.message) for f in r.findings])
    return found[0]


def rule_codes(r):
    return sorted(f.code for f in r.findings if f.code in ALL_CODES)


def assert_finding(f, *, code, severity, element, original, corrected, fixed, segment=None, line="1",
                   claim_id="TCLM0001"):
    got = dict(code=f.code, severity=f.severity, element=f.element, original=f.original,
               corrected=f.corrected, fixed=f.fixed, line_number=f.line_number, claim_id=f.claim_id)
    want = dict(code=code, severity=severity, element=element, original=original, corrected=corrected,
                fixed=fixed, line_number=line, claim_id=claim_id)
    assert got == want, f.message
    if segment is not None:
        assert f.segment == segment


def assert_idempotent(r):
    again = run(r.corrected)
    assert again.corrected == r.corrected
    assert [f.code for f in again.findings if f.fixed] == []
    return again


def assert_unchanged(data, r):
    assert r.corrected == data
    assert not any(f.fixed for f in r.findings)


# --------------------------------------------------------------------------
# the rule table and the envelope helper itself
# --------------------------------------------------------------------------

def test_rule_table_has_every_documented_code():
    assert RULES.codes() == ALL_CODES


def test_helper_builds_a_clean_envelope():
    data = build(claim([drug(charge="4000", units="40", ndc="72893000501", qty="2", mods=("JZ",)), ADMIN_P]))
    segs = segments(data)
    st = next(i for i, s in enumerate(segs) if s.startswith("ST*"))
    assert se01(data) == len(segs) - st - 2  # ST..SE inclusive, GE and IEA excluded
    assert "CLM*TCLM0001*4250***" in data.decode()
    r = run(data)
    assert r.findings == []
    assert r.corrected == data


# --------------------------------------------------------------------------
# the worked example of domain.md section 5: clean as it stands
# --------------------------------------------------------------------------

WORKED = [
    drug(charge="16000", units="40", ndc="72893000501", qty="2"),  # one 40 mg/2 mL vial
    drug(charge="6800", units="17", ndc="72893000301", qty="0.85"),  # 17 mg of a 20 mg/1 mL vial
    drug(charge="1200", units="3", ndc="72893000301", qty="0.15", mods=("JW",)),  # 3 mg discarded
    ADMIN_P,
]


def test_worked_example_has_no_findings():
    data = build(claim(WORKED))
    r = run(data)
    assert r.findings == []  # in particular no JZ: the drug has a JW line on the claim
    assert r.corrected == data


def test_worked_example_837i_has_no_findings():
    lines = [
        drug(charge="16000", units="40", ndc="72893000501", qty="2", kind="I"),
        drug(charge="6800", units="17", ndc="72893000301", qty=".85", kind="I"),
        drug(charge="1200", units="3", ndc="72893000301", qty=".15", mods=("JW",), kind="I"),
        ADMIN_I,
    ]
    data = build(claim(lines, kind="I"), kind="I")
    r = run(data)
    assert r.findings == []
    assert r.corrected == data


# --------------------------------------------------------------------------
# UNT001 units vs NDC quantity
# --------------------------------------------------------------------------

def test_unt001_undocumented_waste_is_split_onto_a_jw_line_837p():
    # 17 units billed at 1700 (100/unit); CTP 1 mL of the 20 mg vial = 20 units.
    # 3 units discarded (< one 20-unit vial): administered share 17/20 mL = .85,
    # JW line 3 units, .15 mL, charge 3 x 100 = 300; CLM02 1950 -> 2250; SE01 + 5.
    data = build(claim([drug(), ADMIN_P]))
    assert "CLM*TCLM0001*1950***" in data.decode()
    r = run(data)
    assert rule_codes(r) == ["UNT001"]
    f = one(r, "UNT001")
    assert_finding(f, code="UNT001", severity="error", element="CTP04", original="1", corrected=".85", fixed=True,
                   segment="CTP")
    assert f.segment_index == index_of(data, "CTP****1*ML") == 26
    assert body(r.corrected) == [
        "CLM*TCLM0001*2250***11:B:1*Y*A*Y*Y",
        "HI*ABK:C8440",
        "LX*1",
        "SV1*HC:J9307*1700*UN*17***1",
        "DTP*472*D8*20260302",
        "LIN**N4*72893000301",
        "CTP****.85*ML",
        "LX*2",
        "SV1*HC:J9307:JW*300*UN*3***1",
        "DTP*472*D8*20260302",
        "LIN**N4*72893000301",
        "CTP****.15*ML",
        "LX*3",
        "SV1*HC:96409*250*UN*1***1",
        "DTP*472*D8*20260302",
        f"SE*{se01(data) + 5}*0001",
    ]
    env = one(r, "ENV006")
    assert (env.original, env.corrected, env.fixed) == (str(se01(data)), str(se01(data) + 5), True)
    assert_idempotent(r)


def test_unt001_undocumented_waste_is_split_onto_a_jw_line_837i():
    # Same arithmetic on the institutional claim: SV203 charge, SV205 units, revenue code kept.
    data = build(claim([drug(kind="I"), ADMIN_I], kind="I"), kind="I")
    r = run(data)
    assert rule_codes(r) == ["UNT001"]
    assert_finding(one(r, "UNT001"), code="UNT001", severity="error", element="CTP04", original="1",
                   corrected=".85", fixed=True, segment="CTP")
    assert body(r.corrected) == [
        "CLM*TCLM0001*2450***13:A:1**A*Y*Y",
        "DTP*434*RD8*20260302-20260302",
        "CL1*1*1*01",
        "HI*ABK:C8440",
        "LX*1",
        "SV2*0636*HC:J9307*1700*UN*17",
        "DTP*472*D8*20260302",
        "LIN**N4*72893000301",
        "CTP****.85*ML",
        "LX*2",
        "SV2*0636*HC:J9307:JW*300*UN*3",
        "DTP*472*D8*20260302",
        "LIN**N4*72893000301",
        "CTP****.15*ML",
        "LX*3",
        "SV2*0335*HC:96409*450*UN*1",
        "DTP*472*D8*20260302",
        f"SE*{se01(data) + 5}*0001",
    ]
    assert_idempotent(r)


def test_unt001_split_renumbers_every_later_line_and_copies_only_the_right_refs():
    # The drug is line 2 of 4.  Lines 3 and 4 become 4 and 5.  The JW line takes the
    # line's prior authorization (REF*G1) and the prescription number (2410 REF*XZ),
    # never the line item control number (REF*6R).
    line = ["SV1*HC:J9307*1700*UN*17***1", "DTP*472*D8*20260302", "REF*G1*PA12345", "REF*6R*CTRL02",
            "LIN**N4*72893000301", "CTP****1*ML", "REF*XZ*RX999"]
    data = build(claim([ADMIN_P, line, ADMIN_P, ADMIN_P]))
    r = run(data)
    assert rule_codes(r) == ["UNT001"]
    f = one(r, "UNT001")
    assert f.line_number == "2"
    # CLM02: 250 + 1700 + 250 + 250 = 2450, + 300 waste = 2750; SE01 + 7 (LX SV1 DTP REF LIN CTP REF)
    assert body(r.corrected) == [
        "CLM*TCLM0001*2750***11:B:1*Y*A*Y*Y", "HI*ABK:C8440",
        "LX*1", *ADMIN_P,
        "LX*2", "SV1*HC:J9307*1700*UN*17***1", "DTP*472*D8*20260302", "REF*G1*PA12345", "REF*6R*CTRL02",
        "LIN**N4*72893000301", "CTP****.85*ML", "REF*XZ*RX999",
        "LX*3", "SV1*HC:J9307:JW*300*UN*3***1", "DTP*472*D8*20260302", "REF*G1*PA12345",
        "LIN**N4*72893000301", "CTP****.15*ML", "REF*XZ*RX999",
        "LX*4", *ADMIN_P,
        "LX*5", *ADMIN_P,
        f"SE*{se01(data) + 7}*0001",
    ]
    assert_idempotent(r)


def test_unt001_split_charge_keeps_cents():
    # 17 units at 6676.22 (17 x the OPPS 392.719 rate, rounded): waste charge
    # 6676.22 x 3 / 17 = 1178.1565 -> 1178.16; CLM02 6676.22 + 1178.16 = 7854.38.
    data = build(claim([drug(charge="6676.22")]))
    r = run(data)
    assert body(r.corrected)[:2] == ["CLM*TCLM0001*7854.38***11:B:1*Y*A*Y*Y", "HI*ABK:C8440"]
    assert "SV1*HC:J9307:JW*1178.16*UN*3***1" in body(r.corrected)
    assert_idempotent(r)


def test_unt001_split_moves_jz_off_the_administered_line():
    # An administered line that said JZ but whose NDC quantity shows waste: the JW line
    # is added, and JZ cannot stay on a drug with a JW line (JWZ003).
    data = build(claim([drug(mods=("JZ",))]))
    r = run(data)
    assert rule_codes(r) == ["JWZ003", "UNT001"]
    b = body(r.corrected)
    assert "SV1*HC:J9307*1700*UN*17***1" in b
    assert "SV1*HC:J9307:JW*300*UN*3***1" in b
    assert not any(":JZ" in s for s in b)
    assert_idempotent(r)


def test_unt001_overbilling_837p():
    # 50 units at 5000 (100/unit) but CTP 2 mL of the 40 mg/2 mL vial = 40 units:
    # SV104 40, SV102 4000; CLM02 5250 -> 4250 (reduced by 1000).
    data = build(claim([drug(charge="5000", units="50", ndc="72893000501", qty="2", mods=("JZ",)), ADMIN_P]))
    assert "CLM*TCLM0001*5250***" in data.decode()
    r = run(data)
    assert rule_codes(r) == ["UNT001"]
    f = one(r, "UNT001")
    assert_finding(f, code="UNT001", severity="error", element="SV104", original="50", corrected="40", fixed=True,
                   segment="SV1")
    assert f.segment_index == index_of(data, "SV1*HC:J9307:JZ*5000*UN*50***1") == 23
    assert body(r.corrected) == [
        "CLM*TCLM0001*4250***11:B:1*Y*A*Y*Y", "HI*ABK:C8440",
        "LX*1", "SV1*HC:J9307:JZ*4000*UN*40***1", "DTP*472*D8*20260302", "LIN**N4*72893000501", "CTP****2*ML",
        "LX*2", *ADMIN_P,
        f"SE*{se01(data)}*0001",
    ]
    assert_idempotent(r)


def test_unt001_overbilling_837i():
    data = build(claim([drug(charge="5000", units="50", ndc="72893000501", qty="2", mods=("JZ",), kind="I")],
                       kind="I"), kind="I")
    r = run(data)
    assert rule_codes(r) == ["UNT001"]
    assert_finding(one(r, "UNT001"), code="UNT001", severity="error", element="SV205", original="50",
                   corrected="40", fixed=True, segment="SV2")
    b = body(r.corrected)
    assert b[0] == "CLM*TCLM0001*4000***13:A:1**A*Y*Y"
    assert "SV2*0636*HC:J9307:JZ*4000*UN*40" in b
    assert_idempotent(r)


def test_unt001_overbilling_adds_jz_once_units_match():
    # Without JZ: after the unit fix nothing is discarded (2 mL = 40 units billed), so JZ is right.
    data = build(claim([drug(charge="5000", units="50", ndc="72893000501", qty="2")]))
    r = run(data)
    assert rule_codes(r) == ["JWZ001", "UNT001"]
    assert "SV1*HC:J9307:JZ*4000*UN*40***1" in body(r.corrected)
    assert body(r.corrected)[0] == "CLM*TCLM0001*4000***11:B:1*Y*A*Y*Y"
    assert_idempotent(r)


def test_unt001_difference_of_more_than_a_vial_is_an_error_not_fixed():
    # CTP 2 mL of the 20 mg/1 mL NDC = 40 units, 17 billed: 23 units apart, more than
    # one 20-unit vial.  Nothing is changed.
    data = build(claim([drug(mods=("JZ",), qty="2")]))
    r = run(data)
    assert rule_codes(r) == ["UNT001"]
    f = one(r, "UNT001")
    assert_finding(f, code="UNT001", severity="error", element="SV104", original="17", corrected="", fixed=False,
                   segment="SV1")
    assert "vial" in f.message
    assert_unchanged(data, r)


def test_unt001_more_than_a_vial_does_not_get_jz():
    # JZ says nothing was discarded; the NDC quantity says 23 units more than billed.
    data = build(claim([drug(qty="2")]))
    r = run(data)
    assert rule_codes(r) == ["UNT001"]
    assert_unchanged(data, r)


def test_unt001_good_units_match():
    data = build(claim([drug(charge="4000", units="40", ndc="72893000501", qty="2", mods=("JZ",)),
                        drug(charge="2000", units="20", ndc="72893000301", qty="1", mods=("JZ",))]))
    r = run(data)
    assert of(r, "UNT001") == []
    assert_unchanged(data, r)


def test_unt001_good_partial_ml_rounds_up():
    # .83 mL = 16.6 mg -> 17 units billed: matches after rounding up.
    data = build(claim([drug(qty=".83", mods=("JZ",))]))
    r = run(data)
    assert of(r, "UNT001") == []


def test_unt001_zero_ndc_quantity_does_not_zero_the_line():
    data = build(claim([drug(charge="4000", units="40", ndc="72893000501", qty="0", mods=("JZ",))]))
    r = run(data)
    assert rule_codes(r) == ["NDC006"]
    assert_unchanged(data, r)


def test_unt001_jw_line_with_more_ndc_than_units_is_an_error():
    # JW line bills 3 units but CTP .2 mL = 4 units: not fixed.
    data = build(claim([drug(charge="6800", units="17", qty=".85"),
                        drug(charge="1200", units="3", qty=".2", mods=("JW",))]))
    r = run(data)
    assert rule_codes(r) == ["UNT001"]
    f = one(r, "UNT001")
    assert_finding(f, code="UNT001", severity="error", element="SV104", original="3", corrected="", fixed=False,
                   line="2")
    assert_unchanged(data, r)


def test_unt001_jw_line_message_does_not_claim_more_than_a_vial():
    data = build(claim([drug(charge="6800", units="17", qty=".85"),
                        drug(charge="1200", units="3", qty=".2", mods=("JW",))]))
    f = one(run(data), "UNT001")
    assert "more than a vial" not in f.message


def test_unt001_jw_line_overbilled_is_reduced():
    # JW line bills 3 units at 1200 (400/unit), CTP .1 mL = 2 units: SV104 2, SV102 800;
    # CLM02 6800 + 1200 = 8000 -> 7600.
    data = build(claim([drug(charge="6800", units="17", qty=".85"),
                        drug(charge="1200", units="3", qty=".1", mods=("JW",))]))
    r = run(data)
    assert rule_codes(r) == ["UNT001"]
    assert_finding(one(r, "UNT001"), code="UNT001", severity="error", element="SV104", original="3",
                   corrected="2", fixed=True, line="2")
    b = body(r.corrected)
    assert b[0] == "CLM*TCLM0001*7600***11:B:1*Y*A*Y*Y"
    assert "SV1*HC:J9307:JW*800*UN*2***1" in b
    assert_idempotent(r)


def test_unt001_two_overbilled_lines_in_one_claim():
    # 50 -> 40 units (5000 -> 4000) and 25 -> 20 units (2500 -> 2000): CLM02 7500 -> 6000.
    data = build(claim([drug(charge="5000", units="50", ndc="72893000501", qty="2", mods=("JZ",)),
                        drug(charge="2500", units="25", qty="1", mods=("JZ",), date="20260309")]))
    r = run(data)
    assert rule_codes(r) == ["UNT001", "UNT001"]
    assert [(f.line_number, f.original, f.corrected, f.fixed) for f in of(r, "UNT001")] == \
        [("1", "50", "40", True), ("2", "25", "20", True)]
    b = body(r.corrected)
    assert b[0] == "CLM*TCLM0001*6000***11:B:1*Y*A*Y*Y"
    assert b[3] == "SV1*HC:J9307:JZ*4000*UN*40***1"
    assert b[8] == "SV1*HC:J9307:JZ*2000*UN*20***1"
    assert_idempotent(r)


def test_unt001_two_splits_in_one_claim():
    # two dates, each 17 units from a 20 mg vial: two JW lines, LX 1..5,
    # CLM02 1700 + 1700 + 250 = 3650 + 2 x 300 = 4250, SE01 + 10.
    admin9 = ["SV1*HC:96409*250*UN*1***1", "DTP*472*D8*20260309"]
    data = build(claim([drug(), drug(date="20260309"), admin9]))
    r = run(data)
    assert rule_codes(r) == ["UNT001", "UNT001"]
    assert [f.line_number for f in of(r, "UNT001")] == ["1", "2"]

    def split(date):
        return ["SV1*HC:J9307*1700*UN*17***1", f"DTP*472*D8*{date}", "LIN**N4*72893000301", "CTP****.85*ML"]

    def jw(date):
        return ["SV1*HC:J9307:JW*300*UN*3***1", f"DTP*472*D8*{date}", "LIN**N4*72893000301", "CTP****.15*ML"]

    assert body(r.corrected) == [
        "CLM*TCLM0001*4250***11:B:1*Y*A*Y*Y", "HI*ABK:C8440",
        "LX*1", *split("20260302"), "LX*2", *jw("20260302"),
        "LX*3", *split("20260309"), "LX*4", *jw("20260309"),
        "LX*5", *admin9,
        f"SE*{se01(data) + 10}*0001",
    ]
    assert_idempotent(r)


def test_unt001_split_and_overbill_in_one_claim():
    # 1700 + 300 (JW) + 4000 (50 -> 40 units) = 6000
    data = build(claim([drug(), drug(charge="5000", units="50", ndc="72893000501", qty="2", mods=("JZ",),
                                     date="20260309")]))
    r = run(data)
    assert rule_codes(r) == ["UNT001", "UNT001"]
    b = body(r.corrected)
    assert b[0] == "CLM*TCLM0001*6000***11:B:1*Y*A*Y*Y"
    assert [s for s in b if s.startswith("LX*")] == ["LX*1", "LX*2", "LX*3"]
    assert "SV1*HC:J9307:JZ*4000*UN*40***1" in b
    assert_idempotent(r)


def test_unt002_jw_line_discarded_units_round_down():
    # JW 4.5 units at 1800 (400/unit): discarded units round down -> 4, 1600; CLM02 8600 -> 8400.
    data = build(claim([drug(charge="6800", units="17", qty=".85"),
                        drug(charge="1800", units="4.5", qty=".225", mods=("JW",))]))
    r = run(data)
    assert rule_codes(r) == ["UNT002"]
    assert_finding(one(r, "UNT002"), code="UNT002", severity="error", element="SV104", original="4.5",
                   corrected="4", fixed=True, line="2")
    b = body(r.corrected)
    assert b[0] == "CLM*TCLM0001*8400***11:B:1*Y*A*Y*Y"
    assert "SV1*HC:J9307:JW*1600*UN*4***1" in b
    assert_idempotent(r)


def test_unt001_split_with_fractional_waste_output():
    # CTP .333 mL = 6.66 mg, 5 billed: administered .333 x 5 / 6.66 = .25 mL; discarded
    # .083 mL = 1.66 mg, rounded down to 1 JW unit (charge 1 x 100); CLM02 500 + 100 = 600.
    data = build(claim([drug(charge="500", units="5", qty=".333")]))
    r = run(data)
    b = body(r.corrected)
    assert b == [
        "CLM*TCLM0001*600***11:B:1*Y*A*Y*Y", "HI*ABK:C8440",
        "LX*1", "SV1*HC:J9307*500*UN*5***1", "DTP*472*D8*20260302", "LIN**N4*72893000301", "CTP****.25*ML",
        "LX*2", "SV1*HC:J9307:JW*100*UN*1***1", "DTP*472*D8*20260302", "LIN**N4*72893000301", "CTP****.083*ML",
        f"SE*{se01(data) + 5}*0001",
    ]
    assert_idempotent(r)


def test_unt001_split_with_fractional_waste_is_one_finding():
    data = build(claim([drug(charge="500", units="5", qty=".333")]))
    r = run(data)
    assert rule_codes(r) == ["UNT001"]
    f = one(r, "UNT001")
    assert (f.line_number, f.original, f.corrected, f.fixed) == ("1", ".333", ".25", True)


def test_unt001_no_jw_line_for_less_than_one_unit_of_waste():
    data = build(claim([drug(qty=".86")]))
    r = run(data)
    out = body(r.corrected)
    for i, seg in enumerate(out):
        if seg.startswith("SV1*HC:J9307:JW*"):
            ctp = next(s for s in out[i:] if s.startswith("CTP*"))
            discarded_mg = Decimal(ctp.split("*")[4]) * 20
            assert int(seg.split("*")[4]) == int(discarded_mg) >= 1, (seg, ctp)
    assert [f for f in r.findings if f.code == "UNT001" and not f.fixed and f.line_number != "1"] == []


# --------------------------------------------------------------------------
# UNT002 fractional units, UNT003 unit basis
# --------------------------------------------------------------------------

def test_unt002_fractional_units_rounded_up():
    # 36.5 units at 1825 (50/unit): 37 units, 1850; CTP 1.825 mL = 36.5 mg -> 37 units.
    data = build(claim([drug(charge="1825", units="36.5", ndc="72893000501", qty="1.825", mods=("JZ",))]))
    r = run(data)
    assert rule_codes(r) == ["UNT002"]
    assert_finding(one(r, "UNT002"), code="UNT002", severity="error", element="SV104", original="36.5",
                   corrected="37", fixed=True, segment="SV1")
    assert body(r.corrected) == [
        "CLM*TCLM0001*1850***11:B:1*Y*A*Y*Y", "HI*ABK:C8440",
        "LX*1", "SV1*HC:J9307:JZ*1850*UN*37***1", "DTP*472*D8*20260302", "LIN**N4*72893000501",
        "CTP****1.825*ML",
        f"SE*{se01(data)}*0001",
    ]
    assert_idempotent(r)


def test_unt002_good_whole_units():
    data = build(claim([drug(charge="1850", units="37", ndc="72893000501", qty="1.85", mods=("JZ",))]))
    r = run(data)
    assert of(r, "UNT002") == []
    assert_unchanged(data, r)


def test_unt003_minutes_basis_set_to_units():
    data = build(claim([["SV1*HC:J9307:JZ*4000*MJ*40***1", "DTP*472*D8*20260302", "LIN**N4*72893000501",
                         "CTP****2*ML"]]))
    r = run(data)
    assert rule_codes(r) == ["UNT003"]
    assert_finding(one(r, "UNT003"), code="UNT003", severity="error", element="SV103", original="MJ",
                   corrected="UN", fixed=True, segment="SV1")
    assert body(r.corrected)[3] == "SV1*HC:J9307:JZ*4000*UN*40***1"
    assert body(r.corrected)[0] == "CLM*TCLM0001*4000***11:B:1*Y*A*Y*Y"
    assert_idempotent(r)


def test_unt003_good_and_not_for_non_drug_lines():
    data = build(claim([drug(charge="4000", units="40", ndc="72893000501", qty="2", mods=("JZ",)),
                        ["SV1*HC:96413*600*MJ*60***1", "DTP*472*D8*20260302"]]))
    r = run(data)
    assert of(r, "UNT003") == []
    assert_unchanged(data, r)


@pytest.mark.parametrize("units, what", [("4O", "not a number"), ("0", "zero or negative"),
                                         ("-40", "zero or negative"), ("", "missing")])
def test_unt004_units_that_are_not_a_positive_number(units, what):
    data = build(claim([drug(charge="4000", units=units, ndc="72893000501", qty="2", mods=("JZ",))]))
    r = run(data)
    assert "UNT004" in rule_codes(r)
    assert_finding(one(r, "UNT004"), code="UNT004", severity="error", element="SV104", original=units,
                   corrected="", fixed=False, segment="SV1")
    assert what in one(r, "UNT004").message


def test_unt004_good_units_and_not_for_non_drug_lines():
    data = build(claim([drug(charge="4000", units="40", ndc="72893000501", qty="2", mods=("JZ",)),
                        ["SV1*HC:96413*600*UN*X***1", "DTP*472*D8*20260302"]]))
    r = run(data)
    assert of(r, "UNT004") == []
    assert_unchanged(data, r)


# --------------------------------------------------------------------------
# NDC001..NDC006
# --------------------------------------------------------------------------

@pytest.mark.parametrize("raw, ndc11", [
    ("72893-005-01", "72893000501"),   # 5-3-2: leading 0 on the product
    ("72893-0005-01", "72893000501"),  # 5-4-2 with hyphens
    ("72893-0005-1", "72893000501"),   # 5-4-1: leading 0 on the package
    ("72893 0005 01", "72893000501"),  # spaces are stripped
    ("7289300501", "72893000501"),     # unhyphenated 10-digit; only the 5-3-2 reading is in the crosswalk
])
def test_ndc001_normalised(raw, ndc11):
    data = build(claim([drug(charge="4000", units="40", ndc=raw, qty="2", mods=("JZ",))]))
    r = run(data)
    assert rule_codes(r) == ["NDC001"]
    f = one(r, "NDC001")
    assert_finding(f, code="NDC001", severity="error", element="LIN03", original=raw, corrected=ndc11, fixed=True,
                   segment="LIN")
    assert f.segment_index == index_of(data, f"LIN**N4*{raw}") == 25
    b = body(r.corrected)
    assert b[5:7] == [f"LIN**N4*{ndc11}", "CTP****2*ML"]
    assert_idempotent(r)


def test_ndc001_4_4_2_pads_the_labeler():
    # 0310-4500-12 (Imfinzi, 4-4-2) -> 00310450012, which the crosswalk maps to J9173 (12 units).
    data = build(claim([drug(code="J9173", charge="1200", units="12", ndc="0310-4500-12", qty="2.4",
                             mods=("JZ",))]))
    r = run(data)
    assert rule_codes(r) == ["NDC001"]
    assert_finding(one(r, "NDC001"), code="NDC001", severity="error", element="LIN03", original="0310-4500-12",
                   corrected="00310450012", fixed=True)
    assert "LIN**N4*00310450012" in body(r.corrected)
    assert_idempotent(r)


def test_ndc001_ambiguous_unhyphenated_10_digit():
    # 9999999999 reads as 4-4-2 09999999999, 5-3-2 99999099999 or 5-4-1 99999999909.
    data = build(claim([drug(charge="4000", units="40", ndc="9999999999", qty="2", mods=("JZ",))]))
    r = run(data)
    assert rule_codes(r) == ["NDC001"]
    f = one(r, "NDC001")
    assert_finding(f, code="NDC001", severity="error", element="LIN03", original="9999999999", corrected="",
                   fixed=False)
    assert "ambiguous" in f.message
    for candidate in ("09999999999", "99999099999", "99999999909"):
        assert candidate in f.message
    assert_unchanged(data, r)


@pytest.mark.parametrize("raw", ["ABC123", "728930005011", "72893-00050-1X"])
def test_ndc001_garbage(raw):
    data = build(claim([drug(charge="4000", units="40", ndc=raw, qty="2", mods=("JZ",))]))
    r = run(data)
    f = one(r, "NDC001")
    assert_finding(f, code="NDC001", severity="error", element="LIN03", original=raw, corrected="", fixed=False)
    assert of(r, "UNT001") == []
    assert_unchanged(data, r)


def test_ndc001_good():
    data = build(claim([drug(charge="4000", units="40", ndc="72893000501", qty="2", mods=("JZ",))]))
    r = run(data)
    assert of(r, "NDC001") == []
    assert_unchanged(data, r)


def test_ndc002_qualifier_fixed_to_n4():
    data = build(claim([drug(charge="4000", units="40", ndc="72893000501", qty="2", mods=("JZ",), qual="ND")]))
    r = run(data)
    assert rule_codes(r) == ["NDC002"]
    assert_finding(one(r, "NDC002"), code="NDC002", severity="error", element="LIN02", original="ND",
                   corrected="N4", fixed=True, segment="LIN")
    assert body(r.corrected)[5] == "LIN**N4*72893000501"
    assert_idempotent(r)


def test_ndc002_not_an_ndc_is_not_fixed():
    data = build(claim([drug(charge="4000", units="40", ndc="012345678905", qty="2", mods=("JZ",), qual="UP")]))
    r = run(data)
    assert_finding(one(r, "NDC002"), code="NDC002", severity="error", element="LIN02", original="UP",
                   corrected="", fixed=False)
    assert_unchanged(data, r)


def test_ndc002_good():
    r = run(build(claim([drug(charge="4000", units="40", ndc="72893000501", qty="2", mods=("JZ",))])))
    assert of(r, "NDC002") == []


def test_ndc003_missing_ndc_is_a_warning():
    data = build(claim([["SV1*HC:J9307:JZ*4000*UN*40***1", "DTP*472*D8*20260302"]]))
    r = run(data)
    assert rule_codes(r) == ["NDC003"]
    f = one(r, "NDC003")
    assert_finding(f, code="NDC003", severity="warning", element="SV101-2", original="", corrected="", fixed=False,
                   segment="SV1")
    assert f.segment_index == 23
    assert_unchanged(data, r)


def test_ndc003_good():
    r = run(build(claim([drug(charge="4000", units="40", ndc="72893000501", qty="2", mods=("JZ",)), ADMIN_P])))
    assert of(r, "NDC003") == []  # and not on the administration line either


def test_ndc004_unknown_ndc_is_a_warning():
    data = build(claim([drug(charge="4000", units="40", ndc="12345678901", qty="2", mods=("JZ",))]))
    r = run(data)
    assert rule_codes(r) == ["NDC004"]
    assert_finding(one(r, "NDC004"), code="NDC004", severity="warning", element="LIN03", original="12345678901",
                   corrected="", fixed=False, segment="LIN")
    assert_unchanged(data, r)


def test_ndc004_good():
    r = run(build(claim([drug(charge="2000", units="20", ndc="65219055001", qty="1", mods=("JZ",))])))
    assert r.findings == []


def test_ndc005_belantamab_ndc_under_j9307():
    # Blenrep 100 mg vial (00173-0896-01, J9037) billed as pralatrexate: an error that
    # names belantamab and what to bill instead; no unit fix on that line.
    data = build(claim([drug(charge="2000", units="100", ndc="00173089601", qty="2", mods=("JZ",))]))
    r = run(data)
    assert rule_codes(r) == ["NDC005"]
    f = one(r, "NDC005")
    assert_finding(f, code="NDC005", severity="error", element="LIN03", original="00173089601", corrected="",
                   fixed=False, segment="LIN")
    msg = f.message.lower()
    assert "belantamab" in msg
    assert "j9037" in msg
    assert "noc" in msg and "j9999" in msg
    assert of(r, "UNT001") == [] and of(r, "UNT002") == []
    assert_unchanged(data, r)


def test_ndc005_no_unit_fix_even_without_jz():
    data = build(claim([drug(charge="2000", units="200", ndc="00173089601", qty="2")]))
    r = run(data)
    assert one(r, "NDC005").fixed is False
    assert [f.code for f in r.findings if f.code.startswith("UNT")] == []
    b = body(r.corrected)
    assert b[3].split("*")[2:5] == ["2000", "UN", "200"]
    assert b[6] == "CTP****2*ML"


def test_ndc005_good():
    r = run(build(claim([drug(charge="4000", units="40", ndc="72893000501", qty="2", mods=("JZ",))])))
    assert of(r, "NDC005") == []


def test_ndc006_missing_ctp():
    data = build(claim([drug(charge="4000", units="40", ndc="72893000501", qty=None, mods=("JZ",))]))
    r = run(data)
    assert rule_codes(r) == ["NDC006"]
    f = one(r, "NDC006")
    assert_finding(f, code="NDC006", severity="error", element="", original="", corrected="", fixed=False,
                   segment="LIN")
    assert f.segment_index == index_of(data, "LIN**N4*72893000501")
    assert_unchanged(data, r)


def test_ndc006_unknown_unit():
    data = build(claim([drug(charge="4000", units="40", ndc="72893000501", qty="2", unit="XX", mods=("JZ",))]))
    r = run(data)
    assert rule_codes(r) == ["NDC006"]
    assert_finding(one(r, "NDC006"), code="NDC006", severity="error", element="CTP05-1", original="XX",
                   corrected="", fixed=False, segment="CTP")
    assert_unchanged(data, r)


@pytest.mark.parametrize("qty, unit", [("2", "ML"), ("40", "ME"), ("1", "UN")])
def test_ndc006_good(qty, unit):
    data = build(claim([drug(charge="4000", units="40", ndc="72893000501", qty=qty, unit=unit, mods=("JZ",))]))
    r = run(data)
    assert r.findings == []


# --------------------------------------------------------------------------
# JWZ001..JWZ004
# --------------------------------------------------------------------------

FULL = dict(charge="4000", units="40", ndc="72893000501", qty="2")


@pytest.mark.parametrize("mods, new", [((), "HC:J9307:JZ"), (("TB",), "HC:J9307:TB:JZ")])
def test_jwz001_jz_added(mods, new):
    data = build(claim([drug(**FULL, mods=mods)]))
    r = run(data)
    assert rule_codes(r) == ["JWZ001"]
    f = one(r, "JWZ001")
    assert (f.severity, f.original, f.corrected, f.fixed, f.segment, f.line_number) == \
        ("error", ":".join(mods), ":".join([*mods, "JZ"]), True, "SV1", "1")
    assert body(r.corrected)[3] == f"SV1*{new}*4000*UN*40***1"
    assert_idempotent(r)


def test_jwz001_837i():
    data = build(claim([drug(**FULL, kind="I")], kind="I"), kind="I")
    r = run(data)
    assert rule_codes(r) == ["JWZ001"]
    assert one(r, "JWZ001").fixed is True
    assert "SV2*0636*HC:J9307:JZ*4000*UN*40" in body(r.corrected)
    assert_idempotent(r)


def test_jwz001_four_modifiers_is_an_error_not_fixed():
    data = build(claim([drug(**FULL, mods=("TB", "59", "XE", "76"))]))
    r = run(data)
    assert rule_codes(r) == ["JWZ001"]
    f = one(r, "JWZ001")
    assert (f.severity, f.fixed, f.corrected) == ("error", False, "")
    assert_unchanged(data, r)


def test_jwz001_good():
    data = build(claim([drug(**FULL, mods=("JZ",))]))
    assert run(data).findings == []
    # a drug with a JW line takes no JZ: the worked example has none and gets none
    assert of(run(build(claim(WORKED))), "JWZ001") == []


@pytest.mark.parametrize("tob", ["11:A:1", "71:A:1", "77:A:1"])
def test_jwz001_not_on_inpatient_rhc_fqhc(tob):
    data = build(claim([drug(**FULL, kind="I")], kind="I", tob=tob), kind="I")
    r = run(data)
    assert of(r, "JWZ001") == []
    assert_unchanged(data, r)


def test_jwz002_jw_and_jz_on_one_line():
    data = build(claim([drug(charge="6800", units="17", qty=".85"),
                        drug(charge="1200", units="3", qty=".15", mods=("JW", "JZ"))]))
    r = run(data)
    f = one(r, "JWZ002")
    assert (f.severity, f.original, f.corrected, f.fixed, f.line_number, f.segment) == \
        ("error", "JW:JZ", "", False, "2", "SV1")
    assert "SV1*HC:J9307:JW:JZ*1200*UN*3***1" in body(r.corrected)


def test_jwz002_good():
    assert of(run(build(claim(WORKED))), "JWZ002") == []


def test_jwz003_jz_removed_when_the_drug_has_a_jw_line():
    data = build(claim([drug(charge="6800", units="17", qty=".85", mods=("JZ",)),
                        drug(charge="1200", units="3", qty=".15", mods=("JW",))]))
    r = run(data)
    assert rule_codes(r) == ["JWZ003"]
    f = one(r, "JWZ003")
    assert (f.severity, f.original, f.corrected, f.fixed, f.line_number) == ("error", "JZ", "", True, "1")
    b = body(r.corrected)
    assert b[3] == "SV1*HC:J9307*6800*UN*17***1"
    assert b[8] == "SV1*HC:J9307:JW*1200*UN*3***1"
    assert b[0] == "CLM*TCLM0001*8000***11:B:1*Y*A*Y*Y"
    assert_idempotent(r)


def test_jwz003_good_jz_without_jw_line():
    data = build(claim([drug(**FULL, mods=("JZ",)), drug(charge="2000", units="20", qty="1", mods=("JZ",))]))
    r = run(data)
    assert of(r, "JWZ003") == []
    assert_unchanged(data, r)


def test_jwz004_jw_line_alone():
    data = build(claim([drug(charge="300", units="3", qty=".15", mods=("JW",)), ADMIN_P]))
    r = run(data)
    assert rule_codes(r) == ["JWZ004"]
    f = one(r, "JWZ004")
    assert (f.severity, f.fixed, f.line_number, f.segment) == ("error", False, "1", "SV1")
    assert_unchanged(data, r)


def test_jwz004_administered_line_on_another_date():
    data = build(claim([drug(charge="1700", units="17", qty=".85", mods=("JZ",), date="20260301"),
                        drug(charge="300", units="3", qty=".15", mods=("JW",))]))
    r = run(data)
    assert rule_codes(r) == ["JWZ004"]
    f = one(r, "JWZ004")
    assert (f.line_number, f.fixed) == ("2", False)
    assert "2026-03-02" in f.message


def test_jwz004_good():
    assert of(run(build(claim(WORKED))), "JWZ004") == []


# --------------------------------------------------------------------------
# MOD001, MOD002
# --------------------------------------------------------------------------

def test_mod001_five_modifiers():
    data = build(claim([drug(**FULL, mods=("JZ", "TB", "59", "XE", "76"))]))
    r = run(data)
    assert rule_codes(r) == ["MOD001"]
    assert_finding(one(r, "MOD001"), code="MOD001", severity="error", element="SV101-7", original="76",
                   corrected="", fixed=False, segment="SV1")
    assert_unchanged(data, r)


def test_mod001_good_four_modifiers():
    data = build(claim([drug(**FULL, mods=("JZ", "TB", "59", "XE"))]))
    r = run(data)
    assert of(r, "MOD001") == []
    assert_unchanged(data, r)


def test_mod001_noc_description_is_not_a_modifier():
    data = build(claim([drug(code="J9999", charge="20000", units="1", ndc="00173091301", qty="1.4",
                             mods=("JZ", "TB", "59", "XE"), desc="BL")]))
    assert of(run(data), "MOD001") == []


@pytest.mark.parametrize("mods, new", [(("JZ", "JZ"), ("JZ",)), (("TB", "JZ", "TB"), ("TB", "JZ"))])
def test_mod002_repeats_removed(mods, new):
    data = build(claim([drug(**FULL, mods=mods)]))
    r = run(data)
    assert rule_codes(r) == ["MOD002"]
    f = one(r, "MOD002")
    assert (f.severity, f.original, f.corrected, f.fixed, f.segment) == \
        ("error", ":".join(mods), ":".join(new), True, "SV1")
    assert body(r.corrected)[3] == f"SV1*HC:J9307:{':'.join(new)}*4000*UN*40***1"
    assert_idempotent(r)


def test_mod002_good():
    assert of(run(build(claim([drug(**FULL, mods=("TB", "JZ"))]))), "MOD002") == []


@pytest.mark.parametrize("lines, code, element", [
    ([drug(**FULL)], "JWZ001", "SV101-3"),  # JZ goes in the first modifier slot
    ([drug(**FULL, mods=("TB",))], "JWZ001", "SV101-4"),
    ([drug(**FULL, kind="I")], "JWZ001", "SV202-3"),
    ([drug(charge="6800", units="17", qty=".85", mods=("TB", "JZ")),
      drug(charge="1200", units="3", qty=".15", mods=("JW",))], "JWZ003", "SV101-4"),  # where JZ was
    ([drug(**FULL, mods=("JZ", "JZ"))], "MOD002", "SV101-4"),  # the first repeat
    ([drug(**FULL, mods=("TB", "JZ", "TB"))], "MOD002", "SV101-5"),
])
def test_modifier_findings_name_the_modifier_position(lines, code, element):
    # not SV101-2: that is the HCPCS code, which these findings do not change
    kind = "I" if lines[0][0].startswith("SV2") else "P"
    f = one(run(build(claim(lines, kind=kind), kind=kind)), code)
    assert f.element == element


# --------------------------------------------------------------------------
# DUP001
# --------------------------------------------------------------------------

def test_dup001_same_ndc_same_date_is_a_warning():
    data = build(claim([drug(**FULL, mods=("JZ",)), drug(**FULL, mods=("JZ",))]))
    r = run(data)
    assert rule_codes(r) == ["DUP001"]
    f = one(r, "DUP001")
    assert (f.severity, f.fixed, f.line_number, f.element, f.segment) == ("warning", False, "2", "SV101-2", "SV1")
    assert f.segment_index == index_of(data, "SV1*HC:J9307:JZ*4000*UN*40***1", nth=2) == 28
    assert "line 1" in f.message
    assert_unchanged(data, r)


def test_dup001_same_ndc_hyphenated_on_one_line_is_still_a_duplicate():
    data = build(claim([drug(**FULL, mods=("JZ",)),
                        drug(charge="4000", units="40", ndc="72893-0005-01", qty="2", mods=("JZ",))]))
    r = run(data)
    assert rule_codes(r) == ["DUP001", "NDC001"]


def test_dup001_good_different_ndcs_same_date():
    data = build(claim([drug(**FULL, mods=("JZ",)), drug(charge="2000", units="20", qty="1", mods=("JZ",))]))
    r = run(data)
    assert of(r, "DUP001") == []
    assert r.findings == []


def test_dup001_good_same_ndc_different_dates():
    data = build(claim([drug(**FULL, mods=("JZ",)), drug(**FULL, mods=("JZ",), date="20260309")]))
    assert of(run(data), "DUP001") == []


# --------------------------------------------------------------------------
# NOC001, COD001, REV001
# --------------------------------------------------------------------------

def test_noc001_without_description():
    data = build(claim([drug(code="J9999", charge="20000", units="1", ndc="00173091301", qty="1.4")]))
    r = run(data)
    assert rule_codes(r) == ["NOC001"]
    f = one(r, "NOC001")
    assert (f.severity, f.fixed, f.element, f.segment, f.line_number) == ("error", False, "SV101-2", "SV1", "1")
    assert "SV101-7" in f.message and "J9999" in f.message
    assert_unchanged(data, r)


def test_noc001_without_ndc():
    data = build(claim([["SV1*HC:J9999:::::BELANTAMAB MAFODOTIN 70MG*20000*UN*1***1", "DTP*472*D8*20260302"]]))
    r = run(data)
    assert rule_codes(r) == ["NOC001"]  # and no NDC003 besides
    f = one(r, "NOC001")
    assert (f.severity, f.fixed) == ("error", False)
    assert "NDC" in f.message and "SV101-7" not in f.message
    assert_unchanged(data, r)


def test_noc001_837i_without_description_names_sv202_7():
    data = build(claim([drug(code="J9999", charge="20000", units="1", ndc="00173091301", qty="1.4", kind="I")],
                       kind="I"), kind="I")
    f = one(run(data), "NOC001")
    assert "SV202-7" in f.message


def test_noc001_good():
    data = build(claim([["SV1*HC:J9999:::::BELANTAMAB MAFODOTIN 70MG*20000*UN*1***1", "DTP*472*D8*20260302",
                         "LIN**N4*00173091301", "CTP****1.4*ML"]]))
    r = run(data)
    assert r.findings == []
    assert r.corrected == data


def test_cod001_j9037_after_2025():
    data = build(claim([drug(code="J9037", charge="20000", units="200", ndc="00173089601", qty="2", mods=("JZ",))]))
    r = run(data)
    assert rule_codes(r) == ["COD001"]
    f = one(r, "COD001")
    assert_finding(f, code="COD001", severity="error", element="SV101-2", original="J9037", corrected="",
                   fixed=False, segment="SV1")
    assert "2026-03-02" in f.message
    assert "J9999" in f.message and "NOC" in f.message
    assert_unchanged(data, r)


def test_cod001_good_j9037_while_valid():
    data = build(claim([drug(code="J9037", charge="20000", units="200", ndc="00173089601", qty="2", mods=("JZ",),
                             date="20240603")]))
    r = run(data)
    assert of(r, "COD001") == []
    assert r.findings == []


def test_rev001_837i_drug_under_0250():
    data = build(claim([drug(**FULL, mods=("JZ",), kind="I", rev="0250")], kind="I"), kind="I")
    r = run(data)
    assert rule_codes(r) == ["REV001"]
    f = one(r, "REV001")
    assert_finding(f, code="REV001", severity="warning", element="SV201", original="0250", corrected="",
                   fixed=False, segment="SV2")
    assert f.segment_index == index_of(data, "SV2*0250*HC:J9307:JZ*4000*UN*40") == 25
    assert_unchanged(data, r)


def test_rev001_good():
    data = build(claim([drug(**FULL, mods=("JZ",), kind="I"), ADMIN_I], kind="I"), kind="I")
    r = run(data)
    assert r.findings == []


# --------------------------------------------------------------------------
# locations: claim id, LX as received, segment index, no patient data
# --------------------------------------------------------------------------

def test_locations_across_claims_refer_to_the_input():
    # Claim A grows by 5 segments (JW split); claim B's findings still name B's CLM01,
    # its LX01 as received, and the position of the segment in the input file.
    a = claim([drug(), ADMIN_P], clm_id="CLMA")
    b = claim([drug(charge="5000", units="50", ndc="72893000501", qty="2", mods=("JZ",)),
               drug(charge="4000", units="40", ndc="1234567890A", qty="1", mods=("JZ",))],
              clm_id="CLMB", numbers=["7", "9"])
    data = build(a, b)
    r = run(data)
    assert rule_codes(r) == ["NDC001", "UNT001", "UNT001"]
    split, over = of(r, "UNT001")
    assert (split.claim_id, split.claim_index, split.line_number) == ("CLMA", 1, "1")
    assert split.segment_index == index_of(data, "CTP****1*ML")
    assert (over.claim_id, over.claim_index, over.line_number) == ("CLMB", 2, "7")
    assert over.segment_index == index_of(data, "SV1*HC:J9307:JZ*5000*UN*50***1") == 40
    bad = one(r, "NDC001")
    assert (bad.claim_id, bad.line_number, bad.segment, bad.segment_index) == \
        ("CLMB", "9", "LIN", index_of(data, "LIN**N4*1234567890A"))
    out = r.corrected.decode()
    assert "CLM*CLMA*2250***" in out and "CLM*CLMB*8000***" in out  # 1950 + 300; 9000 - 1000
    assert f"SE*{se01(data) + 5}*0001" in out
    # LX of claim B as received (7, 9) are left alone: the scrubber renumbers only after an insert
    assert "LX*7~SV1*HC:J9307:JZ*4000*UN*40***1" in out
    assert_idempotent(r)


def test_findings_never_carry_patient_data():
    # every bad case in one file; run() checks every string field of every finding
    lines = [drug(), drug(charge="5000", units="50", ndc="72893000501", qty="2"),
             drug(ndc="72893-005-01", charge="4000", units="40", qty="2"),
             drug(code="J9037", charge="200", units="2", ndc="00173089601", qty=".02"),
             ["SV1*HC:J9999*100*UN*1***1", "DTP*472*D8*20260302"]]
    r = run(build(claim(lines)))
    assert len(r.findings) >= 5
    for f in r.findings:
        assert all(w not in f.message for w in PHI)


def _assert_located_in_input(data: bytes, r):
    """Every claim finding points at a segment of the input with the tag it names,
    and at an LX01 that the input has."""
    segs = segments(data)
    lx = {s.split("*")[1] for s in segs if s.startswith("LX*")}
    for f in r.findings:
        if not f.claim_id:
            continue
        if f.segment_index is not None:
            assert segs[f.segment_index - 2].split("*")[0] == f.segment, f
        if f.line_number:
            assert f.line_number in lx, f


def test_split_with_hyphenated_ndc_reports_the_input_ndc_once():
    data = build(claim([drug(ndc="72893-003-01"), ADMIN_P]))
    r = run(data)
    assert rule_codes(r) == ["NDC001", "UNT001"]
    _assert_located_in_input(data, r)


def test_split_with_hyphenated_ndc_output():
    # whatever the log says, the output is right: both LIN03 normalised, JW line added
    data = build(claim([drug(ndc="72893-003-01"), ADMIN_P]))
    r = run(data)
    b = body(r.corrected)
    assert b[0] == "CLM*TCLM0001*2250***11:B:1*Y*A*Y*Y"
    assert b[5:12] == ["LIN**N4*72893000301", "CTP****.85*ML", "LX*2", "SV1*HC:J9307:JW*300*UN*3***1",
                       "DTP*472*D8*20260302", "LIN**N4*72893000301", "CTP****.15*ML"]
    assert_idempotent(r)


def test_findings_on_an_inserted_line_point_into_the_input():
    data = build(claim([drug(kind="I", rev="0250")], kind="I"), kind="I")
    r = run(data)
    _assert_located_in_input(data, r)


@pytest.mark.parametrize("line, code", [
    (["SV1*HC:J9307*1700*MJ*17***1", "DTP*472*D8*20260302", "LIN**N4*72893000301", "CTP****1*ML"], "UNT003"),
    (["SV1*HC:J9307*1700*UN*17***1", "DTP*472*D8*20260302", "LIN**ND*72893000301", "CTP****1*ML"], "NDC002"),
])
def test_split_reports_a_fixable_input_problem_once(line, code):
    data = build(claim([line]))
    r = run(data)
    assert sorted(rule_codes(r)) == sorted([code, "UNT001"])
    _assert_located_in_input(data, r)


def test_locations_point_into_the_input_for_every_bad_case():
    lines = [drug(ndc="72893-0005-01", charge="5000", units="50", qty="2", mods=("JZ",)),
             drug(code="J9037", charge="200", units="2", ndc="00173089601", qty=".02", mods=("JZ",)),
             ["SV1*HC:J9999*100*UN*1***1", "DTP*472*D8*20260302"],
             drug(**FULL, mods=("JZ", "JZ")), drug(**FULL, mods=("JZ",), unit="XX", date="20260303")]
    data = build(claim(lines, numbers=["10", "20", "30", "40", "50"]))
    r = run(data)
    assert {f.code for f in r.findings} >= {"NDC001", "UNT001", "COD001", "NOC001", "MOD002", "NDC006"}
    _assert_located_in_input(data, r)
