"""Payer profiles: the XML format and its schema, safe parsing, layering, selection, the CLI.

Each refused profile gives one message ``file:line:column: ...`` and exit 2.
Layering, lowest first: built-in defaults < shipped profile < user profile <
the command line's --select/--ignore.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from scrubber.claims.model import ClaimContext
from scrubber.cli import main
from scrubber.pipeline import Scrubber
from scrubber.profiles import (DEFAULT, SHIPPED_DIR, ProfileError, build_selector, load_file, load_profile,
                               profile_set, shipped_names)
from scrubber.profiles.model import DxPattern
from scrubber.rules import RULES

from .test_policy_rules import POL, Claim, Line, admin, j9307, weekly, x12

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ["commercial", "default", "medicaid", "medicare"]


def cli(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def write(tmp_path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def refused(path: Path) -> ProfileError:
    with pytest.raises(ProfileError) as exc:
        load_file(path)
    return exc.value


# -----------------------------------------------------------------------------
# the shipped profiles
# -----------------------------------------------------------------------------

def test_shipped_profiles_load_and_cite_their_sources():
    assert shipped_names() == SHIPPED
    for name in SHIPPED:
        p = load_profile(name)
        assert p.name == name and p.source
        head = (SHIPPED_DIR / f"{name}.xml").read_text().split("-->", 1)[0]
        assert "<!--" in head and "Sources" in head, name


def test_top_level_payer_profiles_are_the_shipped_files():
    top = ROOT / "payer_profiles"
    for p in list(SHIPPED_DIR.glob("*.xml")) + [SHIPPED_DIR.parent / "profile.xsd"]:
        assert (top / p.name).read_bytes() == p.read_bytes(), f"payer_profiles/{p.name} differs from {p}"
    assert sorted(q.name for q in top.glob("*.xml")) == sorted(q.name for q in SHIPPED_DIR.glob("*.xml"))


def test_package_data_ships_the_profiles_and_the_schema():
    cfg = (ROOT / "setup.cfg").read_text()
    assert "scrubber.profiles" in cfg and "shipped/*.xml" in cfg and "*.xsd" in cfg


def test_shipped_default_is_the_built_in_defaults():
    """So that `scrubber scrub` without --profile judges as the library call does."""
    p = load_profile("default")
    assert p.default_drug._replace(sources=()) == DEFAULT.default_drug
    assert p.drugs == {} and p.enabled == {} and p.severities == {} and p.options == {}
    assert load_profile("medicare").default_drug == p.default_drug


def test_commercial_facts():
    p = load_profile("commercial")
    j = p.drug("J9307")
    assert (j.max_units_line, j.max_units_day, j.max_doses, j.window_days, j.min_days_between) == (80, 80, 6, 49, 7)
    assert j.prior_auth == "any" and set(j.admin_codes) == {"96409", "96413"}
    assert j.supports(["C8440"]) and not j.supports(["I10"])
    b = p.drug("J9999", "00173091301")
    assert b.attachment_required and b.supports(["C9002"]) and not b.supports(["C8440"])
    assert p.drug("J9999") == p.default_drug  # other NOC drugs: no belantamab policy
    assert any("unconfirmed" in text for _, text in j.sources)


def test_medicaid_facts():
    p = load_profile("medicaid")
    assert p.default_drug.ndc_required and "ME" not in p.default_drug.accepted_units
    assert p.severity("NDC003", "warning") == "error"


@pytest.mark.parametrize("pattern,yes,no", [
    ("C84.40-C84.49", ["C8440", "C8449", "C84.45"], ["C8450", "C844", "C844A", "C8439"]),
    ("C84.4x", ["C8440", "C844A"], ["C844", "C8450"]),
    ("C86.2", ["C862"], ["C8620", "C86"]),
])
def test_diagnosis_patterns(pattern, yes, no):
    p = DxPattern(pattern)
    assert DxPattern.valid(pattern)
    assert all(p.matches(c) for c in yes) and not any(p.matches(c) for c in no)


# -----------------------------------------------------------------------------
# refused profiles: schema, well-formedness, entities, semantics
# -----------------------------------------------------------------------------

def test_schema_error_names_file_line_and_column(tmp_path):
    p = write(tmp_path, "bad.xml", '<?xml version="1.0"?>\n<profile name="bad">\n'
                                   '  <drug hcpcs="J9307">\n    <units max-per-line="-5"/>\n  </drug>\n</profile>\n')
    e = refused(p)
    assert (e.file, e.line, e.column) == (str(p), 4, 12)
    assert "max-per-line" in e.message and "schema" in e.message
    assert str(e).startswith(f"{p}:4:12: ")


@pytest.mark.parametrize("body,line,words", [
    ('<profile name="x"><unknown/></profile>', 1, ["unknown", "schema"]),
    ('<profile name="Bad Name"/>', 1, ["name"]),
    ('<profile name="x">\n<rules>\n<rule code="NDC003" severity="fatal"/>\n</rules></profile>', 3, ["fatal"]),
    ('<profile name="x">\n<rules><rule code="NDC003"/>\n<rule code="NDC003"/></rules></profile>', 3, ["NDC003"]),
    ('<profile name="x">\n<drug hcpcs="J9307"><prior-auth/></drug></profile>', 2, ["required"]),
    ('<profile name="x">\n<drug hcpcs="J9307"><diagnoses><dx>hypertension</dx></diagnoses></drug></profile>',
     2, ["dx"]),
])
def test_schema_errors(tmp_path, body, line, words):
    e = refused(write(tmp_path, "p.xml", body))
    assert e.line == line and e.column >= 1
    assert all(w in str(e) for w in words), str(e)


@pytest.mark.parametrize("body,line,words", [
    ('<profile name="x">\n  <rules>\n    <rule code="ZZZ999"/>\n  </rules>\n</profile>', 3, ["ZZZ999", "no such rule"]),
    ('<profile name="x"><rules>\n<rule code="POL001"><option name="scop" value="line"/></rule></rules></profile>',
     2, ["POL001", "'scop'", "scope"]),
    ('<profile name="x"><rules>\n<rule code="POL001"><option name="scope" value="all"/></rule></rules></profile>',
     2, ["POL001", "'scope'", "'all'", "line, claim"]),
    ('<profile name="x"><rules>\n<rule code="NDC003"><option name="a" value="b"/></rule></rules></profile>',
     2, ["NDC003", "no option"]),
    ('<profile name="x">\n<drug hcpcs="J9307"/>\n<drug hcpcs="J9307"/></profile>', 3, ["J9307", "twice", "line 2"]),
    ('<profile name="x">\n<drug hcpcs="J9307"><ndc required="true"/>\n<ndc units="ML"/></drug></profile>',
     3, ["<ndc>", "twice"]),
    ('<profile name="x">\n<drug hcpcs="J9307"><frequency max-doses="6"/></drug></profile>', 2, ["window-days"]),
    ('<profile name="x">\n<drug hcpcs="J9307"><same-date policy="modifier"/></drug></profile>', 2, ["modifier"]),
    ('<profile name="x">\n<drug-defaults><revenue-codes codes="636"/></drug-defaults></profile>', 2, ["636"]),
    ('<profile name="x">\n<drug hcpcs="J9307"><diagnoses><dx>C84.49-C84.40</dx></diagnoses></drug></profile>',
     2, ["C84.49-C84.40"]),
    ('<profile name="x">\n<match/></profile>', 2, ["payer-id", "filing-indicator"]),
    ('<profile name="x"><rules>\n<rule code="ENV005" enabled="false"/></rules></profile>', 2, ["ENV005", "severity"]),
    ('<profile name="x"\n  extends="nosuch"/>', 2, ["nosuch", "shipped"]),
])
def test_semantic_errors(tmp_path, body, line, words):
    e = refused(write(tmp_path, "p.xml", body))
    assert e.line == line and e.column >= 1, str(e)
    assert all(w in str(e) for w in words), str(e)


def test_malformed_xml(tmp_path):
    p = write(tmp_path, "broken.xml", '<?xml version="1.0"?>\n<profile name="x">\n  <rules>\n</profile>\n')
    e = refused(p)
    assert e.line == 4 and "well-formed" in e.message


def test_external_entity_is_refused_and_never_expanded(tmp_path):
    secret = write(tmp_path, "secret.txt", "TOPSECRET-7f3a")
    p = write(tmp_path, "xxe.xml", f'<?xml version="1.0"?>\n<!DOCTYPE profile [\n'
                                   f'  <!ENTITY xxe SYSTEM "file://{secret}">\n]>\n'
                                   f'<profile name="x"><description>&xxe;</description></profile>\n')
    e = refused(p)
    assert (e.line, e.column) == (3, 3) and "external entity" in e.message and "'xxe'" in e.message
    r = cli("profiles", "check", str(p))
    assert r.exit_code == 2 and f"{p}:3:3:" in r.output and "TOPSECRET" not in r.output
    src = write(tmp_path, "in.837", x12(Claim(j9307())).decode())
    r = cli("scrub", str(src), "--check", "--profile", str(p))
    assert r.exit_code == 2 and "external entity" in r.output and "TOPSECRET" not in r.output


def test_internal_entities_are_refused_too(tmp_path):
    lol = "".join(f'  <!ENTITY l{i} "{"&l%d;" % (i - 1) * 10}">\n' for i in range(1, 8))
    p = write(tmp_path, "laughs.xml", '<?xml version="1.0"?>\n<!DOCTYPE profile [\n  <!ENTITY l0 "lol">\n'
                                      f'{lol}]>\n<profile name="x"><description>&l7;</description></profile>\n')
    e = refused(p)
    assert e.line == 3 and "entity" in e.message


def test_external_dtd_is_refused(tmp_path):
    p = write(tmp_path, "dtd.xml", '<?xml version="1.0"?>\n<!DOCTYPE profile SYSTEM "http://example.invalid/p.dtd">\n'
                                   '<profile name="x"/>\n')
    e = refused(p)
    assert (e.line, e.column) == (2, 1) and "external DTD" in e.message


def test_extends_cycle_is_refused(tmp_path):
    write(tmp_path, "a.xml", '<profile name="a" extends="b.xml"/>')
    write(tmp_path, "b.xml", '<profile name="b" extends="a.xml"/>')
    e = refused(tmp_path / "a.xml")
    assert "comes back" in e.message


def test_cli_check_a_bad_profile_exit_2_one_line(tmp_path):
    p = write(tmp_path, "bad.xml", '<profile name="x">\n<rules><rule code="NOP001"/></rules></profile>')
    r = cli("profiles", "check", str(p))
    assert r.exit_code == 2
    assert r.output.strip().splitlines() == [f"scrubber: {p}:2:14: rule NOP001: no such rule (see `scrubber rules`)"]
    src = write(tmp_path, "in.837", x12(Claim(j9307())).decode())
    r = cli("scrub", str(src), "--check", "--profile", str(p))
    assert r.exit_code == 2 and f"{p}:2:14" in r.output and "Traceback" not in r.output
    r = cli("scrub", str(src), "--check", "--profile", "nosuchprofile")
    assert r.exit_code == 2 and "no shipped profile named 'nosuchprofile'" in r.output


# -----------------------------------------------------------------------------
# layering
# -----------------------------------------------------------------------------

def findings(data: bytes, profile) -> list[tuple]:
    return sorted((f.claim_id, f.code, f.severity) for f in Scrubber(profile).scrub(data).findings)


def test_user_profile_turning_one_rule_off_has_exactly_that_effect(tmp_path):
    p = write(tmp_path, "mine.xml", '<profile name="mine" extends="commercial">\n  <rules>\n'
                                    '    <rule code="POL002" enabled="false"/>\n  </rules>\n</profile>\n')
    data = x12(Claim([Line(units="100", charge="10000", qty="5")], dx=("I10",)), *weekly(7))
    base = findings(data, load_profile("commercial"))
    mine = findings(data, load_file(p))
    assert {c for _, c, _ in base} >= {"POL001", "POL002", "POL004", "POL005", "POL006", "POL008"}
    assert mine == [f for f in base if f[1] != "POL002"]
    assert load_file(p).drugs == load_profile("commercial").drugs


def test_layering_order(tmp_path):
    """built-in defaults < shipped < user file < command line."""
    shipped = load_profile("medicaid")  # shipped: NDC003 error, ME refused
    assert DEFAULT.severity("NDC003", "warning") == "warning"
    assert shipped.severity("NDC003", "warning") == "error"
    user = load_file(write(tmp_path, "u.xml", '<profile name="u" extends="medicaid"><rules>'
                                              '<rule code="NDC003" severity="info"/></rules>'
                                              '<drug-defaults><ndc units="ME ML"/></drug-defaults></profile>'))
    assert user.severity("NDC003", "warning") == "info"
    assert user.default_drug.accepted_units == ("ME", "ML") and user.default_drug.ndc_required  # rest inherited
    assert [x.split(" ")[0] for x in user.layers] == ["built-in", "default", "medicaid", "u"]
    top = user.with_selection(select=(), ignore=("NDC",))
    assert not top.rule_enabled("NDC003") and top.rule_enabled("UNT001")
    off = load_file(write(tmp_path, "off.xml", '<profile name="off" extends="commercial"><rules>'
                                               '<rule code="POL002" enabled="false"/></rules></profile>'))
    assert not off.rule_enabled("POL002")
    assert off.with_selection(select=("POL002",)).rule_enabled("POL002")  # named on the command line
    assert not off.with_selection(select=("POL",)).rule_enabled("POL002")  # a prefix does not re-enable


def test_drug_override_keeps_the_other_fields(tmp_path):
    p = write(tmp_path, "cap.xml", '<profile name="cap" extends="commercial">'
                                   '<drug hcpcs="J9307"><units max-per-day="100"/></drug></profile>')
    base, mine = load_profile("commercial").drug("J9307"), load_file(p).drug("J9307")
    assert mine.max_units_day == 100 and mine.max_units_line == 80
    assert mine._replace(max_units_day=80, sources=()) == base._replace(sources=())


def test_drug_fields_beat_drug_defaults_from_any_layer(tmp_path):
    p = write(tmp_path, "nd.xml", '<profile name="nd" extends="commercial"><drug-defaults>'
                                  '<ndc required="true"/><prior-auth required="false"/></drug-defaults></profile>')
    prof = load_file(p)
    assert prof.default_drug.ndc_required and prof.drug("J9307").ndc_required  # J9307 never set it
    assert prof.drug("J9307").prior_auth == "any"  # J9307 set it explicitly in commercial


def test_extends_a_path_relative_to_the_file(tmp_path):
    (tmp_path / "sub").mkdir()
    write(tmp_path, "base.xml", '<profile name="base" extends="commercial"><rules>'
                                '<rule code="POL008" severity="error"/></rules></profile>')
    p = write(tmp_path / "sub", "leaf.xml", '<profile name="leaf" extends="../base.xml"/>')
    prof = load_file(p)
    assert prof.severity("POL008", "warning") == "error" and prof.drug("J9307").max_doses == 6
    assert prof.matches == ()  # matches are not inherited


# -----------------------------------------------------------------------------
# selection
# -----------------------------------------------------------------------------

def ctx(payer="", fi=""):
    return ClaimContext(payer_id=payer, filing_indicator=fi)


def test_selection_by_payer_id_and_filing_indicator(tmp_path):
    d = tmp_path / "profiles"
    d.mkdir()
    write(d, "acme.xml", '<profile name="acme" extends="commercial"><match payer-id="ACME1"/></profile>')
    write(d, "acme-mc.xml", '<profile name="acme-mc" extends="medicaid">'
                            '<match payer-id="ACME1" filing-indicator="MC"/></profile>')
    write(d, "mcr.xml", '<profile name="mcr" extends="medicare"><match filing-indicator="MB"/></profile>')
    default, sel = build_selector([d])
    assert default.name == "default"
    assert sel(ctx("ACME1", "CI")).name == "acme"  # payer id
    assert sel(ctx("ACME1", "MC")).name == "acme-mc"  # payer id and filing indicator beat payer id
    assert sel(ctx("OTHER", "MC")).name == "medicaid"  # the shipped one, by filing indicator
    assert sel(ctx("OTHER", "MB")).name == "mcr"
    assert sel(ctx("EXCOMM01", "MB")).name == "commercial"  # payer id beats filing indicator
    assert sel(ctx("OTHER", "CI")).name == "default"  # nothing matches
    assert sel(ctx("OTHER", "CI")) is default
    assert sel(ctx("ACME1", "CI")) is sel(ctx("ACME1", "CI"))  # one object per answer


def test_no_profile_dir_uses_the_shipped_matches():
    default, sel = build_selector()
    assert sel(ctx("EXCOMM01", "CI")).name == "commercial"
    assert sel(ctx("SMPL01", "MB")).name == "medicare"  # SBR09 MB = Medicare Part B
    assert sel(ctx("X", "MC")).name == "medicaid"


def test_user_profile_wins_a_tie_and_can_replace_default(tmp_path):
    d = tmp_path / "p"
    d.mkdir()
    write(d, "state.xml", '<profile name="state-mcd" extends="medicaid"><match filing-indicator="MC"/></profile>')
    write(d, "default.xml", '<profile name="default" extends="default"><rules>'
                            '<rule code="NDC004" enabled="false"/></rules></profile>')
    default, sel = build_selector([d])
    assert sel(ctx("X", "MC")).name == "state-mcd"
    assert not default.rule_enabled("NDC004") and default.path.endswith("default.xml")
    assert [p.name for p in profile_set([d])][:2] == ["default", "state-mcd"]


@pytest.mark.parametrize("gap", [0, 1])  # the same match on the same line of each file, or on different lines
def test_ambiguous_matches_are_refused(tmp_path, gap):
    d = tmp_path / "p"
    d.mkdir()
    write(d, "a.xml", '<profile name="a">\n<match payer-id="P1"/></profile>')
    write(d, "b.xml", '<profile name="b">\n' + "\n" * gap + '<match payer-id="P1"/></profile>')
    with pytest.raises(ProfileError) as exc:
        build_selector([d])
    assert exc.value.line == 2 + gap and "ambiguous" in str(exc.value) and "b.xml" in str(exc.value)
    src = write(tmp_path, "in.837", x12(Claim(j9307())).decode())
    r = cli("scrub", str(src), "--check", "--profile-dir", str(d))
    assert r.exit_code == 2 and "ambiguous" in r.output


def test_cli_profile_dir_selects_per_claim(tmp_path):
    d = tmp_path / "p"
    d.mkdir()
    write(d, "acme.xml", '<profile name="acme" extends="commercial"><match payer-id="ACME1"/></profile>')
    src = write(tmp_path, "in.837", x12(Claim(j9307(), clm_id="A1", payer_id="ACME1"),
                                        Claim(j9307(), clm_id="B1", payer_id="SMPL01", filing="MB")).decode())
    log = tmp_path / "log.jsonl"
    r = cli("scrub", str(src), "--check", "--log", str(log), "--profile-dir", str(d))
    recs = [json.loads(x) for x in log.read_text().splitlines()]
    assert [(x["claim_id"], x["code"], x["profile"]) for x in recs] == [("A1", "POL002", "acme")]
    assert r.exit_code == 1
    r = cli("scrub", str(src), "--check", "--profile", "commercial", "--profile-dir", str(d))
    assert r.exit_code == 2  # one or the other


# -----------------------------------------------------------------------------
# `scrubber profiles`
# -----------------------------------------------------------------------------

def test_profiles_lists_the_shipped_ones():
    r = cli("profiles")
    assert r.exit_code == 0
    names = [line.split()[0] for line in r.output.splitlines()]
    assert names == SHIPPED
    assert "payer-id=EXCOMM01" in r.output and "filing-indicator=MC" in r.output


def test_profiles_check_shows_the_layered_result(tmp_path):
    p = write(tmp_path, "mine.xml", '<profile name="mine" extends="commercial"><rules>'
                                    '<rule code="POL002" enabled="false"/></rules>'
                                    '<drug hcpcs="J9307"><units max-per-day="100"/></drug></profile>')
    r = cli("profiles", "check", str(p))
    assert r.exit_code == 0, r.output
    out = r.output
    assert "built-in defaults (CMS Part B policy) < default (" in out and "< mine (" in out
    assert "POL002  off error" in out
    assert "max units per day: 100" in out and "max units per line: 80" in out
    j = json.loads(cli("profiles", "check", str(p), "--format", "json").output)
    rules = {r["code"]: r for r in j["rules"]}
    assert rules["POL002"]["enabled"] is False and rules["POL001"]["enabled"] is True
    assert set(rules) >= set(RULES.codes()) | {"ENV001"}
    assert j["drugs"]["J9307"]["max_units_day"] == "100" and j["drugs"]["J9307"]["max_doses"] == 6
    assert "J9999 NDC 00173091301" in j["drugs"] and j["drug_defaults"]["jw_jz"] == "cms"
    assert [x.split(" ")[0] for x in j["layers"]] == ["built-in", "default", "commercial", "mine"]


@pytest.mark.parametrize("name", SHIPPED)
def test_profiles_check_every_shipped_one(name):
    r = cli("profiles", "check", name)
    assert r.exit_code == 0 and r.output.startswith(f"profile {name}")


def test_sample_payers_get_medicare_and_default():
    """SMPL01 (SBR09 MB) is judged by medicare; the commercial sample payer SMPL02 matches nothing: default."""
    _, sel = build_selector()
    assert sel(ctx("SMPL01", "MB")).name == "medicare"
    assert sel(ctx("SMPL02", "CI")).name == "default"


def test_policy_rules_listed_by_scrubber_rules():
    rows = json.loads(cli("rules", "--format", "json").output)
    assert set(POL) <= {r["code"] for r in rows}


def test_forced_profile_judges_every_claim(tmp_path):
    src = write(tmp_path, "in.837", x12(Claim([Line(), admin()], clm_id="M1", payer_id="SMPL01", filing="MB"),
                                        Claim([Line(), admin()], clm_id="C1")).decode())
    log = tmp_path / "l.jsonl"
    r = cli("scrub", str(src), "--check", "--log", str(log), "--profile", "commercial", "--ignore", "POL008")
    recs = [json.loads(x) for x in log.read_text().splitlines()]
    assert sorted((x["claim_id"], x["code"], x["profile"]) for x in recs) == [
        ("C1", "POL002", "commercial"), ("M1", "POL002", "commercial")]
    assert r.exit_code == 1
