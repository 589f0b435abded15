"""The payer-policy rules (POL001-POL008) and DUP001's same-date policy, under XML profiles.

Inputs are built here (:func:`x12`), each claim in its own subscriber HL
with its payer id, filing indicator and member id.  The drug lines are
consistent with their NDC quantity and carry JZ, so that no CMS rule fires
and each test sees only the policy it is about.  The facts come from the
shipped profiles (docs/domain.md section 6): under ``commercial``, J9307
(pralatrexate) needs prior authorization, a lymphoma diagnosis, at most 80
units a line and a day, at most 6 doses per 49 days, 7 days between doses
and an administration code (96409/96413) on the same date; belantamab
(J9999 with NDC 00173091301) also needs an attachment (PWK).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from click.testing import CliRunner

from scrubber.cli import main
from scrubber.pipeline import Scrubber
from scrubber.profiles import DEFAULT, build_selector, load_file, load_profile
from scrubber.rules import RULES

MEMBER = "MBRQ7Z4X2K"
LAST, FIRST = "XYLOPHONA", "QUENTIS"
POL = [f"POL00{n}" for n in range(1, 9)]


# -----------------------------------------------------------------------------
# building inputs
# -----------------------------------------------------------------------------

@dataclass
class Line:
    code: str = "J9307"
    units: str = "40"
    charge: str = "4000"
    mods: tuple = ("JZ",)
    ndc: str | None = "72893000501"  # Folotyn 40 mg / 2 mL
    qty: str = "2"
    unit: str = "ML"
    day: str = "20260302"
    pointers: str = "1"
    pa: str | None = None  # line-level REF*G1
    pwk: str | None = None  # line-level PWK
    description: str = ""

    def segments(self, kind: str) -> list[str]:
        comp = ":".join(["HC", self.code, *self.mods])
        if self.description:
            parts = ["HC", self.code, *self.mods] + [""] * (4 - len(self.mods)) + [self.description]
            comp = ":".join(parts)
        if kind == "P":
            segs = [f"SV1*{comp}*{self.charge}*UN*{self.units}***{self.pointers}"]
        else:
            rev = "0636" if self.code.startswith(("J", "C")) else "0335"
            segs = [f"SV2*{rev}*{comp}*{self.charge}*UN*{self.units}"]
        if self.pwk:
            segs.append(f"PWK*{self.pwk}")
        segs.append(f"DTP*472*D8*{self.day}")
        if self.pa:
            segs.append(f"REF*G1*{self.pa}")
        if self.ndc:
            segs += [f"LIN**N4*{self.ndc}", f"CTP****{self.qty}*{self.unit}"]
        return segs


def admin(day="20260302", code="96409") -> Line:
    return Line(code=code, units="1", charge="250", mods=(), ndc=None, day=day)


@dataclass
class Claim:
    lines: list
    clm_id: str = "PCLM0001"
    payer_id: str = "EXCOMM01"
    filing: str = "CI"
    member: str = MEMBER
    last: str = LAST
    dx: tuple = ("C8440",)
    pa: str | None = None  # claim-level REF*G1
    pwk: str | None = None  # claim-level PWK, e.g. "09*EL***AC*EYE0302"


def x12(*claims: Claim, kind: str = "P") -> bytes:
    gs08 = "005010X222A1" if kind == "P" else "005010X223A2"
    isa = ("ISA*00*" + " " * 10 + "*00*" + " " * 10 + "*ZZ*" + "SUBMITTERID".ljust(15) + "*ZZ*"
           + "RECEIVERID".ljust(15) + "*260310*0930*^*00501*000000777*0*T*:")
    body = [
        f"ST*837*0001*{gs08}", "BHT*0019*00*POLICY01*20260310*0930*CH",
        "NM1*41*2*SAMPLE BILLING*****46*SUBMIT01", "PER*IC*BILLING*TE*5555550100",
        "NM1*40*2*SAMPLE CLEARINGHOUSE*****46*RECV01",
        "HL*1**20*1", "NM1*85*2*SAMPLE ONCOLOGY*****XX*1234567893", "N3*1 SAMPLE WAY",
        "N4*ANYTOWN*NY*123451234", "REF*EI*123456789",
    ]
    for n, c in enumerate(claims, start=2):
        total = sum(float(ln.charge) for ln in c.lines)
        body += [
            f"HL*{n}*1*22*0", f"SBR*P*18*******{c.filing}", f"NM1*IL*1*{c.last}*{FIRST}****MI*{c.member}",
            "N3*1 TEST LANE", "N4*ANYTOWN*NY*12345", "DMG*D8*19550101*F",
            f"NM1*PR*2*SAMPLE PAYER*****PI*{c.payer_id}",
        ]
        if kind == "P":
            body.append(f"CLM*{c.clm_id}*{total:g}***11:B:1*Y*A*Y*Y")
        else:
            day = c.lines[0].day
            body += [f"CLM*{c.clm_id}*{total:g}***13:A:1**A*Y*Y", f"DTP*434*RD8*{day}-{day}", "CL1*1*1*01"]
        if c.pwk:
            body.append(f"PWK*{c.pwk}")
        if c.pa:
            body.append(f"REF*G1*{c.pa}")
        if c.dx:
            quals = ["ABK"] + ["ABF"] * (len(c.dx) - 1)
            body.append("HI*" + "*".join(f"{q}:{d}" for q, d in zip(quals, c.dx)))
        for i, ln in enumerate(c.lines, start=1):
            body.append(f"LX*{i}")
            body += ln.segments(kind)
    body.append(f"SE*{len(body) + 1}*0001")
    segs = [isa, "GS*HC*SUBMITTERID*RECEIVERID*20260310*0930*777*X*" + gs08, *body, "GE*1*777", "IEA*1*000000777"]
    return ("~\n".join(segs) + "~\n").encode()


def j9307(day="20260302", **kw) -> list:
    """A clean pralatrexate dose: 40 units from one 40 mg vial, JZ, and its IV push."""
    return [Line(day=day, **kw), admin(day)]


def scrub(data: bytes, profile="commercial"):
    prof = load_profile(profile) if isinstance(profile, str) else profile
    return Scrubber(prof).scrub(data)


def codes(result, only=None) -> list[str]:
    found = sorted(f.code for f in result.findings)
    return [c for c in found if only is None or c in only]


def of(result, code):
    return [f for f in result.findings if f.code == code]


def weekly(n: int, start=date(2026, 3, 2), step=7, member=MEMBER, payer="EXCOMM01") -> list[Claim]:
    return [Claim(j9307((start + timedelta(days=step * k)).strftime("%Y%m%d")), clm_id=f"WK{k + 1:04d}",
                  pa=f"PA{k + 1}", member=member, payer_id=payer) for k in range(n)]


# -----------------------------------------------------------------------------
# the table, and silence under the defaults
# -----------------------------------------------------------------------------

def test_policy_rules_are_registered_with_docs():
    for code in POL:
        rule = RULES.get(code)
        assert rule is not None and not rule.fixable
        doc = rule.doc()
        assert "Bad:" in doc and "Good:" in doc, code
    assert RULES.get("POL007").severity == RULES.get("POL008").severity == "warning"
    assert {RULES.get(c).severity for c in POL if c not in ("POL007", "POL008")} == {"error"}


def test_clean_commercial_claim_has_no_finding():
    data = x12(Claim(j9307(), pa="PA123"))
    r = scrub(data)
    assert r.findings == [] and r.corrected == data


def test_default_profile_runs_no_payer_policy():
    """Under the built-in defaults every policy rule is silent, whatever the claim lacks."""
    data = x12(*[Claim([Line(day=d.strftime("%Y%m%d"), units="100", charge="10000", qty="5")], clm_id=f"D{k}",
                         dx=("I10",)) for k, d in enumerate(date(2026, 3, 2) + timedelta(days=2 * i)
                                                            for i in range(8))])
    for profile in (DEFAULT, load_profile("default"), load_profile("medicare")):
        assert codes(Scrubber(profile).scrub(data), POL) == []


# -----------------------------------------------------------------------------
# POL002 prior authorization
# -----------------------------------------------------------------------------

def test_j9307_without_prior_authorization_is_an_error_and_with_it_none():
    without = scrub(x12(Claim(j9307())))
    f, = of(without, "POL002")
    assert f.severity == "error" and f.profile == "commercial" and f.element == "SV101-2"
    assert "REF*G1" in f.message and f.remains
    assert codes(scrub(x12(Claim(j9307(), pa="PA123"))), POL) == []
    assert codes(scrub(x12(Claim([Line(pa="PA123"), admin()]))), POL) == []  # line level


def test_prior_authorization_level_claim_refuses_a_line_ref(tmp_path):
    p = tmp_path / "p.xml"
    p.write_text('<profile name="pa-claim" extends="commercial"><drug hcpcs="J9307">'
                 '<prior-auth required="true" level="claim"/></drug></profile>')
    prof = load_file(p)
    assert codes(scrub(x12(Claim([Line(pa="PA123"), admin()])), prof), POL) == ["POL002"]
    assert codes(scrub(x12(Claim(j9307(), pa="PA1")), prof), POL) == []


# -----------------------------------------------------------------------------
# POL001 diagnosis
# -----------------------------------------------------------------------------

def test_hypertension_only_fails_medical_necessity():
    r = scrub(x12(Claim(j9307(), pa="PA1", dx=("I10",))))
    f, = of(r, "POL001")
    assert f.severity == "error" and f.element == "SV107" and "I10" in f.message and "C84.40-C84.49" in f.message


@pytest.mark.parametrize("dx", ["C8440", "C8449", "C8465", "C862", "Z8572", "C8410", "C9152", "C844A"])
def test_pralatrexate_diagnoses_are_accepted(dx):
    assert codes(scrub(x12(Claim(j9307(), pa="PA1", dx=(dx,)))), POL) == []


@pytest.mark.parametrize("dx", ["C8420", "C845", "C8450", "C9151", "C8899", "C90.00"])
def test_other_diagnoses_are_not(dx):
    assert codes(scrub(x12(Claim(j9307(), pa="PA1", dx=(dx,)))), POL) == ["POL001"]


def test_the_line_pointers_decide_not_the_claim(tmp_path):
    """837P: the C84.40 on the claim does not help a line that points only at I10."""
    data = x12(Claim([Line(pointers="2"), admin()], pa="PA1", dx=("C8440", "I10")))
    assert codes(scrub(data), POL) == ["POL001"]
    p = tmp_path / "scope.xml"
    p.write_text('<profile name="scope" extends="commercial"><rules><rule code="POL001">'
                 '<option name="scope" value="claim"/></rule></rules></profile>')
    assert codes(scrub(data, load_file(p)), POL) == []


def test_837i_uses_the_claims_diagnoses():
    ok = x12(Claim(j9307(), pa="PA1", dx=("Z5111", "C8440")), kind="I")
    bad = x12(Claim(j9307(), pa="PA1", dx=("Z5111", "I10")), kind="I")
    assert codes(scrub(ok), POL) == []
    f, = of(scrub(bad), "POL001")
    assert f.element == "SV202-2" and "Z51.11, I10" in f.message


# -----------------------------------------------------------------------------
# POL003 attachment (belantamab, NDC-specific policy under a NOC code)
# -----------------------------------------------------------------------------

def blenrep(day="20260302", **kw) -> list:
    return [Line(code="J9999", units="1", charge="16800", mods=(), ndc="00173091301", qty="2.8", day=day,
                 description="BELANTAMAB MAFODOTIN-BLMF 140MG IV", **kw), admin(day, "96413")]


def test_belantamab_needs_an_attachment():
    r = scrub(x12(Claim(blenrep(), pa="PA1", dx=("C9000",))))
    f, = of(r, "POL003")
    assert f.severity == "error" and "eye exam" in f.message and "PWK" in f.message
    assert codes(scrub(x12(Claim(blenrep(), pa="PA1", dx=("C9000",), pwk="09*EL***AC*EYE0302"))), POL) == []
    assert codes(scrub(x12(Claim(blenrep(pwk="09*EL***AC*EYE0302"), pa="PA1", dx=("C9000",)))), POL) == []


def test_belantamab_policy_is_keyed_by_its_ndc():
    """Another drug under the same NOC code gets no belantamab policy."""
    other = [Line(code="J9999", units="1", charge="500", mods=(), ndc="12345678901", qty="1",
                  description="SOME OTHER DRUG 10MG IV")]
    assert codes(scrub(x12(Claim(other, dx=("I10",)))), POL) == []
    assert codes(scrub(x12(Claim(blenrep(), dx=("C8440",)))), POL) == ["POL001", "POL002", "POL003"]


def test_attachment_types_and_transmission(tmp_path):
    p = tmp_path / "pwk.xml"
    p.write_text('<profile name="pwk" extends="commercial"><drug hcpcs="J9999" ndc="00173091301">'
                 '<attachment required="true" types="09" transmission="EL FX"/></drug></profile>')
    prof = load_file(p)
    base = dict(pa="PA1", dx=("C9000",))
    assert codes(scrub(x12(Claim(blenrep(), pwk="09*AA***AC*X1", **base)), prof), POL) == ["POL003"]
    assert codes(scrub(x12(Claim(blenrep(), pwk="OZ*EL***AC*X1", **base)), prof), POL) == ["POL003"]
    assert codes(scrub(x12(Claim(blenrep(), pwk="09*FX***AC*X1", **base)), prof), POL) == []


# -----------------------------------------------------------------------------
# POL004 / POL005 units per line and per day
# -----------------------------------------------------------------------------

def test_max_units_per_line_and_per_day():
    one = x12(Claim([Line(units="100", charge="10000", qty="5"), admin()], pa="PA1"))
    assert codes(scrub(one), POL) == ["POL004", "POL005"]
    f, = of(scrub(one), "POL004")
    assert f.element == "SV104" and f.original == "100" and "at most 80" in f.message


def test_max_units_per_day_sums_the_claims_lines():
    lines = [Line(units="40"), Line(units="60", charge="6000", ndc="72893000301", qty="3"), admin()]
    r = scrub(x12(Claim(lines, pa="PA1")))
    assert codes(r, POL) == ["POL005"]
    f, = of(r, "POL005")
    assert "100 units" in f.message and "lines 1, 2" in f.message and f.line_number == "2"
    two_days = [Line(units="60", charge="6000", qty="3"), admin(),
                Line(units="60", charge="6000", qty="3", day="20260309"), admin("20260309")]
    assert codes(scrub(x12(Claim(two_days, pa="PA1"))), ["POL005"]) == []


def test_waste_counts_toward_the_daily_cap_unless_the_option_says_not(tmp_path):
    # 57 mg from one 40 mg and one 20 mg vial (domain.md section 5) + 30 more units: 90 billed
    lines = [Line(units="40", mods=()), Line(units="17", charge="1700", mods=(), ndc="72893000301", qty=".85"),
             Line(units="3", charge="300", mods=("JW",), ndc="72893000301", qty=".15"),
             Line(units="30", charge="3000", ndc="72893000301", qty="1.5", mods=()), admin()]
    data = x12(Claim(lines, pa="PA1"))
    assert codes(scrub(data), ["POL005"]) == ["POL005"]  # 90 > 80
    p = tmp_path / "w.xml"
    p.write_text('<profile name="w" extends="commercial"><rules><rule code="POL005">'
                 '<option name="include-waste" value="false"/></rule>'
                 '</rules><drug hcpcs="J9307"><units max-per-day="87"/></drug></profile>')
    assert codes(scrub(data, load_file(p)), ["POL005"]) == []  # 87 administered


# -----------------------------------------------------------------------------
# POL006 / POL007 frequency across the claims of one patient
# -----------------------------------------------------------------------------

def test_six_weekly_doses_in_a_cycle_pass_and_a_seventh_is_flagged():
    six = scrub(x12(*weekly(6)))
    assert codes(six, POL) == []
    seven = scrub(x12(*weekly(7)))
    f, = of(seven, "POL006")
    assert f.claim_id == "WK0007" and f.claim_index == 7 and f.severity == "error"
    assert "7 doses" in f.message and "6 per 49 days" in f.message and "2026-04-13" in f.message
    assert f.element == "DTP03"
    assert codes(seven, POL) == ["POL006"]


def test_next_cycle_after_a_weeks_rest_is_not_flagged():
    cycle = weekly(6)
    nxt = weekly(6, start=date(2026, 3, 2) + timedelta(days=49))
    for k, c in enumerate(nxt):
        c.clm_id = f"NX{k:04d}"
    assert codes(scrub(x12(*cycle, *nxt)), POL) == []


def test_frequency_is_per_patient_and_payer():
    claims = weekly(4) + weekly(3, start=date(2026, 3, 3), member="OTHERMBR01")
    assert codes(scrub(x12(*claims)), POL) == []


def test_frequency_never_prints_the_patient():
    r = scrub(x12(*weekly(7)))
    text = json.dumps([f.to_dict() for f in r.findings])
    assert MEMBER not in text and LAST not in text and FIRST not in text


def test_a_claim_that_is_fixed_is_counted_once():
    """The first claims need JZ added (a fix and a re-check): each is still one dose."""
    claims = weekly(6)
    for c in claims:
        c.lines[0].mods = ()
    r = scrub(x12(*claims))
    assert codes(r, POL) == [] and len(of(r, "JWZ001")) == 6


def test_an_earlier_dose_read_late_is_flagged_on_its_own_claim():
    claims = weekly(7)
    late = claims.pop(0)
    r = scrub(x12(*claims, late))
    f, = of(r, "POL006")
    assert f.claim_id == late.clm_id and "2026-03-02" in f.message


def test_doses_too_close():
    claims = [Claim(j9307("20260302"), clm_id="C1", pa="P"), Claim(j9307("20260305"), clm_id="C2", pa="P")]
    r = scrub(x12(*claims))
    f, = of(r, "POL007")
    assert f.claim_id == "C2" and f.severity == "warning" and "3 day(s)" in f.message
    assert codes(scrub(x12(Claim(j9307("20260302"), pa="P"), Claim(j9307("20260309"), pa="P"))), POL) == []


def test_frequency_rules_can_be_switched_off_by_a_user_profile(tmp_path):
    p = tmp_path / "nofreq.xml"
    p.write_text('<profile name="nofreq" extends="commercial"><rules><rule code="POL006" enabled="false"/>'
                 '</rules></profile>')
    assert codes(scrub(x12(*weekly(7)), load_file(p)), POL) == []


# -----------------------------------------------------------------------------
# POL008 administration code
# -----------------------------------------------------------------------------

def test_administration_code_expected_on_the_same_date():
    r = scrub(x12(Claim([Line()], pa="PA1")))
    f, = of(r, "POL008")
    assert f.severity == "warning" and "96409 or 96413" in f.message
    other_day = scrub(x12(Claim([Line(), admin("20260303")], pa="PA1")))
    assert codes(other_day, POL) == ["POL008"]
    assert codes(scrub(x12(Claim([Line(), admin(code="96413")], pa="PA1"))), POL) == []


# -----------------------------------------------------------------------------
# NDC003 / NDC006 under medicaid; DUP001's same-date policy
# -----------------------------------------------------------------------------

def test_medicaid_drug_line_without_ndc_is_an_error():
    data = x12(Claim([Line(ndc=None), admin()], payer_id="SMPLMCD1", filing="MC"))
    f, = of(scrub(data, "medicaid"), "NDC003")
    assert f.severity == "error" and f.profile == "medicaid"
    assert of(scrub(data, "default"), "NDC003")[0].severity == "warning"


def test_medicaid_refuses_the_me_unit():
    data = x12(Claim([Line(qty="40", unit="ME"), admin()], filing="MC"))
    assert [f.original for f in of(scrub(data, "medicaid"), "NDC006")] == ["ME"]
    assert of(scrub(data, "default"), "NDC006") == []


def _dup(tmp_path, policy: str) -> object:
    p = tmp_path / f"dup-{policy}.xml"
    mod = ' modifier="XE"' if policy == "modifier" else ""
    p.write_text(f'<profile name="dup"><drug-defaults><same-date policy="{policy}"{mod}/></drug-defaults></profile>')
    return load_file(p)


def test_dup001_honours_the_same_date_policy(tmp_path):
    twice = x12(Claim([Line(), Line(), admin()]))
    with_xe = x12(Claim([Line(), Line(mods=("JZ", "XE")), admin()]))
    report = of(scrub(twice, DEFAULT), "DUP001")
    assert len(report) == 1 and report[0].message.endswith("(first on line 1)")
    assert of(scrub(twice, _dup(tmp_path, "allow")), "DUP001") == []
    f, = of(scrub(twice, _dup(tmp_path, "modifier")), "DUP001")
    assert "modifier XE" in f.message
    assert of(scrub(with_xe, _dup(tmp_path, "modifier")), "DUP001") == []
    f, = of(scrub(twice, _dup(tmp_path, "merge")), "DUP001")
    assert "one line with the summed units" in f.message


# -----------------------------------------------------------------------------
# through the command line: selection by payer id, and the log's profile
# -----------------------------------------------------------------------------

def test_cli_chooses_commercial_by_payer_id_and_logs_it(tmp_path):
    src = tmp_path / "in.837"
    src.write_bytes(x12(Claim(j9307(), clm_id="COMM1"), Claim(j9307(), clm_id="MCR1", payer_id="SMPL01", filing="MB"),
                        Claim([Line(ndc=None), admin()], clm_id="MCD1", payer_id="SMPLMCD1", filing="MC")))
    log = tmp_path / "log.jsonl"
    r = CliRunner().invoke(main, ["scrub", str(src), "--check", "--log", str(log)])
    assert r.exit_code == 1
    recs = [json.loads(x) for x in log.read_text().splitlines()]
    got = sorted((x["claim_id"], x["code"], x["severity"], x["profile"]) for x in recs)
    assert got == [("COMM1", "POL002", "error", "commercial"), ("MCD1", "NDC003", "error", "medicaid")]
    forced = tmp_path / "forced.jsonl"
    r = CliRunner().invoke(main, ["scrub", str(src), "--check", "--log", str(forced), "--profile", "default"])
    recs = [json.loads(x) for x in forced.read_text().splitlines()]
    assert [(x["claim_id"], x["code"], x["severity"], x["profile"]) for x in recs] == [
        ("MCD1", "NDC003", "warning", "default")]
    assert r.exit_code == 0


def test_select_and_ignore_apply_to_every_chosen_profile(tmp_path):
    default, selector = build_selector(select=("NDC",), ignore=("NDC004",))
    from scrubber.claims.model import ClaimContext

    chosen = selector(ClaimContext(payer_id="EXCOMM01", filing_indicator="CI"))
    assert chosen.name == "commercial" and not chosen.rule_enabled("POL002") and chosen.rule_enabled("NDC003")
    assert not chosen.rule_enabled("NDC004") and not default.rule_enabled("UNT001")


