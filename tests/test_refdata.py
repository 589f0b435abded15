"""Behaviour of scrubber.refdata: NDC shapes, the CMS crosswalk format,
drug codes, unit conversion and layering of user crosswalks."""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal as D
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrubber.refdata import (
    CrosswalkEntry, RefDataError, UnitConversionError, conversion_problem, convert_ndc_quantity,
    load_crosswalk, load_drug_codes, load_refdata, ndc_quantity_to_hcpcs_units, normalize_ndc,
    resolve_ndc, round_up_units, units_per_package,
)

HEADER = "_2026_CODE,Short Description,LABELER NAME,NDC2,Drug Name,HCPCS dosage,PKG SIZE,PKG QTY,BILLUNITS,BILLUNITSPKG"


@pytest.fixture(scope="module")
def ref():
    return load_refdata()


def one(ref, ndc11, code):
    (entry,) = [e for e in ref.ndc_entries(ndc11) if e.hcpcs == code]
    return entry


# --- units: the worked J9307 example of domain.md section 5 -------------------

@pytest.mark.parametrize("ndc11, ml, units", [
    ("72893000501", "2", 40),     # SV1*HC:J9307*..*UN*40 with CTP****2*ML
    ("72893000301", "0.85", 17),  # SV1*HC:J9307*..*UN*17 with CTP****0.85*ML
    ("72893000301", "0.15", 3),   # SV1*HC:J9307:JW*..*UN*3 with CTP****0.15*ML
])
def test_worked_example_ml_to_j9307_units(ref, ndc11, ml, units):
    got = ndc_quantity_to_hcpcs_units(D(ml), "ML", one(ref, ndc11, "J9307"), ref.drug("J9307"))
    assert got == units
    assert str(got) == str(units)  # exact Decimal, no 16.999 or 17.00


def test_worked_example_dose_and_waste_add_up(ref):
    drug = ref.drug("J9307")
    lines = [(D("2"), "72893000501"), (D("0.85"), "72893000301"), (D("0.15"), "72893000301")]
    total = sum(convert_ndc_quantity(q, "ML", one(ref, n, "J9307"), drug) for q, n in lines)
    assert total == 60  # 57 mg given + 3 mg discarded, from one 40 mg and one 20 mg vial


def test_other_ctp_units(ref):
    drug, vial40 = ref.drug("J9307"), one(ref, "72893000501", "J9307")
    assert convert_ndc_quantity(D("1"), "UN", vial40, drug) == 40
    assert convert_ndc_quantity(D("57"), "ME", vial40, drug) == 57
    assert convert_ndc_quantity(D("0.057"), "GR", vial40, drug) == 57
    assert convert_ndc_quantity(D("2"), " ml ", vial40, drug) == 40
    blenrep = one(ref, "00173089601", "J9037")
    assert convert_ndc_quantity(D("100"), "ME", blenrep, ref.drug("J9037")) == 200  # 0.5 mg units
    assert convert_ndc_quantity(D("1"), "UN", blenrep, ref.drug("J9037")) == 200


def test_partial_units_are_not_rounded_by_conversion(ref):
    got = convert_ndc_quantity(D("0.81"), "ML", one(ref, "72893000301", "J9307"), ref.drug("J9307"))
    assert got == D("16.2")
    assert round_up_units(got) == 17


@pytest.mark.parametrize("value, whole", [("16.2", 17), ("17", 17), ("17.000", 17), ("0.01", 1), ("0", 0)])
def test_round_up_units(value, whole):
    got = round_up_units(D(value))
    assert got == whole and str(got) == str(whole)


def test_unconvertible_quantities_give_a_reason(ref):
    j9307, vial = ref.drug("J9307"), one(ref, "72893000501", "J9307")
    assert ndc_quantity_to_hcpcs_units(D("1"), "F2", vial, j9307) is None
    assert "international units" in conversion_problem(D("1"), "F2", vial, j9307)
    assert "not one of" in conversion_problem(D("1"), "XX", vial, j9307)
    assert conversion_problem(D("2"), "ML", vial, j9307) is None
    # the NDC of another code: never convert a belantamab NDC into J9307 units
    blenrep = one(ref, "00173089601", "J9037")
    assert "not J9307" in conversion_problem(D("2"), "ML", blenrep, j9307)
    # NOC codes have no billing unit
    blenrep_2025 = one(ref, "00173091301", "J9999")
    with pytest.raises(UnitConversionError) as info:
        convert_ndc_quantity(D("1.4"), "ML", blenrep_2025, ref.drug("J9999"))
    assert "NOC" in info.value.reason
    assert "not a non-negative number" in conversion_problem(D("-1"), "ML", vial, j9307)
    no_units = vial._replace(billunits=None)
    assert "BILLUNITS" in conversion_problem(D("2"), "ML", no_units, j9307)


def test_units_per_package(ref):
    assert units_per_package(one(ref, "50242006101", "J9035")) == 40
    box = one(ref, "72893000501", "J9307")._replace(billunitspkg=None, pkg_qty=D("3"))
    assert units_per_package(box) == 120
    assert units_per_package(box._replace(billunits=None)) is None


# --- NDC shapes ----------------------------------------------------------------

@pytest.mark.parametrize("raw, layout, ndc11", [
    ("0310-4500-12", "4-4-2", "00310450012"),   # leading 0 on the labeler
    ("72893-005-01", "5-3-2", "72893000501"),   # leading 0 on the product
    ("12345-6789-1", "5-4-1", "12345678901"),   # leading 0 on the package
    ("72893-0005-01", "5-4-2", "72893000501"),  # already 11 digits, hyphenated
    (" 72893 0005 01 ", "5-4-2", "72893000501"),  # spaces as separators
    ("0310 4500 12", "4-4-2", "00310450012"),
    ("72893000501", None, "72893000501"),
])
def test_normalize_ndc_single_form(raw, layout, ndc11):
    form = normalize_ndc(raw)
    assert form.valid and not form.ambiguous
    assert form.layout == layout
    assert form.candidates == (ndc11,)


def test_unhyphenated_ten_digits_are_ambiguous():
    form = normalize_ndc("7289300501")
    assert form.ambiguous
    assert set(form.candidates) == {"07289300501", "72893000501", "72893005001"}


@pytest.mark.parametrize("raw", ["", None, "abc", "72893-0005-0A", "728930005", "72893-00005-01",
                                 "7289-30005-01", "123456-7890-12", "123456789012", "72893--", "-72893-0005-01",
                                 "７２８９３０００５０１"])
def test_normalize_ndc_invalid(raw):
    form = normalize_ndc(raw)
    assert not form.valid and form.candidates == () and form.reason


def test_twelve_digit_ndc_names_the_2033_rule():
    assert "2033-03-07" in normalize_ndc("123456-7890-12").reason


def test_resolve_ndc_statuses():
    known = {"72893000501", "00310450012", "12345678900", "01234567890"}.__contains__
    assert resolve_ndc("72893000501", known).status == "ok"
    hyphenated = resolve_ndc("72893-005-01", known)
    assert (hyphenated.status, hyphenated.ndc11, hyphenated.changed) == ("normalized", "72893000501", True)
    bare = resolve_ndc("7289300501", known)  # 3 readings, one known
    assert (bare.status, bare.ndc11) == ("normalized", "72893000501")
    two = resolve_ndc("1234567890", known)  # 01234567890 and 12345678900 both known
    assert (two.status, two.ndc11, set(two.candidates)) == ("ambiguous", None, {"01234567890", "12345678900"})
    none = resolve_ndc("5555555555", known)
    assert none.status == "ambiguous" and len(none.candidates) == 3
    unknown = resolve_ndc("55555-5555-55", known)
    assert (unknown.status, unknown.ndc11) == ("unknown", "55555555555")
    assert resolve_ndc("12-34", known).status == "invalid"
    # without a lookup every well-formed NDC counts as known
    assert resolve_ndc("0310-4500-12").status == "normalized"
    assert resolve_ndc("1234567890").status == "ambiguous"


def test_refdata_resolves_against_its_crosswalk(ref):
    assert ref.resolve_ndc("0310-4500-12").ndc11 == "00310450012"
    assert ref.resolve_ndc("7289300501").ndc11 == "72893000501"
    assert ref.resolve_ndc("72893000501").status == "ok"
    assert ref.resolve_ndc("99999-9999-99").status == "unknown"


@given(st.sampled_from([(4, 4, 2, 0), (5, 3, 2, 1), (5, 4, 1, 2)]), st.data())
def test_hyphenated_ten_digits_pad_the_short_segment(shape, data):
    *sizes, padded = shape
    parts = [data.draw(st.text("0123456789", min_size=n, max_size=n)) for n in sizes]
    form = normalize_ndc("-".join(parts))
    (ndc11,) = form.candidates
    expected = list(parts)
    expected[padded] = "0" + expected[padded]
    assert ndc11 == "".join(expected) and len(ndc11) == 11
    # the bare 10 digits can mean that NDC among others
    assert ndc11 in normalize_ndc("".join(parts)).candidates


# --- the CMS crosswalk format --------------------------------------------------

def cms_file(tmp_path, body: bytes, name="crosswalk.csv"):
    path = tmp_path / name
    path.write_bytes(body)
    return path


REAL_LIKE = (
    b'"January 2025 ASP NDC-HCPCS Crosswalk",,,,,,,,,\r\n'
    b'"Section 508 version; see the ASP pricing files page",,,,,,,,,\r\n'
    b',,,,,,,,,\r\n'
    b' _2025_CODE ,short description,Labeler Name, ndc ,Drug Name,HCPCS  Dosage,Pkg Size,PKG QTY,BILLUNITS,BILLUNITSPKG\r\n'
    b'J9307,Pralatrexate injection,ACROTECH BIOPHARMA,72893-0005-01,FOLOTYN,1 MG,2,1,40,40\r\n'
    b'J9999,Chemotherapy drug,SOCI\xc9T\xc9 \xc3\xa9 PHARMA,72893-0005-01,FOLOTYN,,2,1,,\r\n'
    b'J1234,Big package drug,LABO,12345-6789-01,BIGDRUG,1 UNITS,"1,000",10,"1,000","10,000"\r\n'
    b'J7331,Alternate id drug,LABO,123456789012,ALTDRUG,1 MG,1,1,1,1\r\n'
    b',,,,,,,,,\r\n'
    b'\r\n'
)


def test_load_cms_format_file(tmp_path):
    path = cms_file(tmp_path, REAL_LIKE)
    entries = load_crosswalk(path)
    assert [e.hcpcs for e in entries] == ["J9307", "J9999", "J1234", "J7331"]
    folotyn, noc, big, alt = entries
    assert (folotyn.ndc11, folotyn.ndc_raw, folotyn.billunits, folotyn.pkg_size) == (
        "72893000501", "72893-0005-01", D(40), D(2))
    assert folotyn.hcpcs_dosage == "1 MG" and folotyn.labeler == "ACROTECH BIOPHARMA"
    assert folotyn.confirmed and str(path) in folotyn.source
    # latin-1 as published: \xc9 is É, and the bytes of a UTF-8 'é' stay 'Ã©'
    assert noc.labeler == "SOCIÉTÉ Ã© PHARMA"
    assert noc.billunits is None and noc.hcpcs_dosage == ""
    assert (big.pkg_size, big.pkg_qty, big.billunits, big.billunitspkg) == (D(1000), D(10), D(1000), D(10000))
    assert alt.ndc11 is None and alt.alternate_id and alt.ndc_raw == "123456789012"
    assert "alternate ID" in alt.note


def test_one_ndc_maps_to_two_codes(tmp_path):
    ref = load_refdata([cms_file(tmp_path, REAL_LIKE)])
    assert {e.hcpcs for e in ref.ndc_entries("72893000501")} == {"J9307", "J9999"}
    assert [e.ndc_raw for e in ref.entries_for_code("J7331")] == ["123456789012"]
    assert not ref.knows_ndc("123456789012")


def test_crosswalk_from_file_objects():
    entries = load_crosswalk(io.BytesIO(REAL_LIKE))
    assert len(entries) == 4 and entries[0].source.startswith("<stream>")
    utf8 = b"\xef\xbb\xbf" + "title\r\n".encode() + (HEADER + "\r\nJ9307,x,CAFÉ,72893-0005-01,d,1 MG,2,1,40,40\r\n").encode()
    assert load_crosswalk(io.BytesIO(utf8))[0].labeler == "CAFÉ"  # a re-saved UTF-8 file with BOM
    assert load_crosswalk(io.StringIO(HEADER + "\nJ9307,x,y,72893-0005-01,d,1 MG,2,1,40,40\n"))[0].billunits == 40


@pytest.mark.parametrize("body, line, words", [
    ((HEADER + "\r\nJ9307,x,y,72893-0005-01,d,1 MG,2,1,40,40\r\nJ9307,x,y,72893-0003-01,d,1 MG,1,1,abc,20\r\n").encode(),
     3, "BILLUNITS: 'abc' is not a number"),
    (b"title,,\r\n" + (HEADER + "\r\nJ93,x,y,72893-0005-01,d,1 MG,2,1,40,40\r\n").encode(), 3, "HCPCS code 'J93'"),
    ((HEADER + '\r\nJ9307,"unterminated,y,72893-0005-01\r\n').encode(), 2, "malformed CSV"),
    ((HEADER + '\r\nJ9307,"x"y,z,72893-0005-01,d,1 MG,2,1,40,40\r\n').encode(), 2, "malformed CSV"),
    (b"HCPCS Code,Payment Limit\r\nJ9307,392.71\r\n", None, "no header row"),
    (b"", None, "empty"),
])
def test_bad_crosswalk_raises_refdata_error(tmp_path, body, line, words):
    path = cms_file(tmp_path, body, "bad.csv")
    with pytest.raises(RefDataError) as info:
        load_crosswalk(path)
    err = info.value
    assert err.path == str(path) and err.line == line
    assert words in str(err) and str(path) in str(err)


def test_missing_crosswalk_file(tmp_path):
    with pytest.raises(RefDataError, match="cannot read"):
        load_refdata([tmp_path / "nope.csv"])


# --- layering -------------------------------------------------------------------

def test_user_crosswalk_replaces_same_ndc_and_code(tmp_path, ref):
    body = (
        "April 2026 ASP NDC-HCPCS Crosswalk\r\n" + HEADER + "\r\n"
        "J9307,Pralatrexate injection,ACROTECH,72893-0005-01,FOLOTYN,1 MG,2,1,40,40\r\n"
        "J9307,Pralatrexate injection,NEWCO,11111-2222-33,PRALATREXATE,1 MG,1,1,20,20\r\n"
        "J9035,Bevacizumab injection,GENENTECH,50242-0061-01,AVASTIN,10 MG,16,1,40,40\r\n"
    ).encode("latin-1")
    path = cms_file(tmp_path, body, "user.csv")
    layered = load_refdata([path])
    (folotyn,) = layered.ndc_entries("72893000501")
    assert folotyn.labeler == "ACROTECH" and folotyn.confirmed and "user.csv" in folotyn.source
    assert layered.knows_ndc("11111222233")
    assert layered.knows_ndc("72893000301")  # bundled rows the user file lacks stay
    assert len(layered.ndc_entries("50242006101")) == 1  # replaced, not doubled
    assert len(layered.entries) == len(ref.entries) + 1
    # the bundled data is untouched and still cached
    assert load_refdata() is ref
    assert not ref.knows_ndc("11111222233")
    assert one(ref, "72893000501", "J9307").labeler == "ACROTECH BIOPHARMA INC"


def test_later_user_crosswalk_wins(tmp_path):
    first = cms_file(tmp_path, (HEADER + "\nJ9307,a,FIRST,11111-2222-33,d,1 MG,1,1,20,20\n").encode(), "a.csv")
    second = cms_file(tmp_path, (HEADER + "\nJ9307,a,SECOND,11111-2222-33,d,1 MG,1,1,20,20\n").encode(), "b.csv")
    (entry,) = load_refdata([first, second]).ndc_entries("11111222233")
    assert entry.labeler == "SECOND"


def test_user_drug_codes_override(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("# mine\ncode,descriptor,unit_amount,unit,noc,terminated,confirmed\n"
                    "J9307,\"Injection, pralatrexate, 1 mg\",1,MG,N,2026-06-30,Y\n", encoding="utf-8")
    ref = load_refdata(extra_drug_codes=[path])
    assert not ref.drug("J9307").is_valid_on(date(2026, 7, 1))
    assert ref.drug("J9037") is not None


# --- drug codes -------------------------------------------------------------------

def test_code_validity_on_date_of_service(ref):
    j9037, j9307 = ref.drug("J9037"), ref.drug("J9307")
    assert not j9037.is_valid_on(date(2026, 11, 1))
    assert j9037.is_valid_on(date(2024, 6, 1))
    assert j9037.is_valid_on(date(2025, 3, 31)) and not j9037.is_valid_on(date(2025, 4, 1))
    assert not j9037.is_valid_on(date(2021, 3, 31))
    assert j9307.is_valid_on(date(2026, 11, 1))


def test_drug_code_facts(ref):
    j9307 = ref.drug("j9307")
    assert (j9307.descriptor, j9307.unit_amount, j9307.unit, j9307.single_dose) == (
        "Injection, pralatrexate, 1 mg", D(1), "MG", True)
    assert j9307.confirmed and "belantamab" not in j9307.descriptor
    j9037 = ref.drug("J9037")
    assert j9037.unit_amount == D("0.5") and j9037.billing_unit == "0.5 MG"
    assert not j9037.confirmed and "unconfirmed" in j9037.note
    assert all(code in j9037.bill_instead for code in ("J9999", "C9399", "J3590", "SV101-7", "SV202-7"))
    for code in ("J9999", "J3590", "J3490", "C9399"):
        noc = ref.drug(code)
        assert noc.noc and noc.unit_amount is None and noc.unit == ""
    assert ref.drug("J0000") is None


def test_bad_drug_table(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("code,descriptor,unit_amount,unit,noc\nJ9307,a,1,MG,N\nJ9307,b,1,MG,N\n", encoding="utf-8")
    with pytest.raises(RefDataError) as info:
        load_drug_codes(path)
    assert info.value.line == 3 and "twice" in str(info.value)
    path.write_text("code,descriptor,unit_amount,unit,noc,effective\nJ9307,a,1,MG,N,2026/01/01\n", encoding="utf-8")
    with pytest.raises(RefDataError, match="YYYY-MM-DD"):
        load_drug_codes(path)


# --- the bundled data -------------------------------------------------------------

@pytest.mark.parametrize("ndc, code, per_package", [
    ("72893-0003-01", "J9307", 20), ("72893-0005-01", "J9307", 40),
    ("48818-0001-01", "J9307", 20), ("48818-0001-02", "J9307", 40),
    ("65219-0550-01", "J9307", 20), ("43598-0342-11", "J9307", 20),
    ("0173-0896-01", "J9037", 200), ("50242-0061-01", "J9035", 40), ("0310-4500-12", "J9173", 12),
])
def test_bundled_crosswalk_rows(ref, ndc, code, per_package):
    ndc11 = ref.resolve_ndc(ndc).ndc11
    assert units_per_package(one(ref, ndc11, code)) == per_package


def test_avastin_sanity_row(ref):
    (avastin,) = ref.ndc_entries("50242006101")
    assert (avastin.hcpcs, avastin.billunitspkg, avastin.drug_name) == ("J9035", D(40), "AVASTIN")


def test_blenrep_2025_is_a_noc_mapping(ref):
    (entry,) = ref.ndc_entries("00173091301")
    assert entry.hcpcs == "J9999" and ref.drug("J9999").noc
    assert entry.billunits is None and not entry.confirmed and "140" in entry.note


def test_bundled_provenance(ref):
    for entry in ref.entries:
        assert isinstance(entry, CrosswalkEntry) and entry.source
        assert ref.drug(entry.hcpcs) is not None, entry.hcpcs
    assert not one(ref, "72893000301", "J9307").confirmed  # package -01 unconfirmed
    assert one(ref, "72893000501", "J9307").confirmed
    for drug in ref.drugs.values():
        assert drug.source and (drug.confirmed or "unconfirmed" in drug.note), drug.code
    assert {e.hcpcs for e in ref.entries_for_code("J9307")} == {"J9307"}
    assert len(ref.entries_for_code("J9307")) == 6


def test_bundled_files_are_package_resources():
    data = resources.files("scrubber.refdata").joinpath("data")
    names = {p.name for p in data.iterdir()}
    assert {"hcpcs_drugs.csv", "asp_crosswalk_excerpt.csv", "asp_crosswalk_excerpt.notes.csv",
            "ndc_formats.csv"} <= names
    raw = data.joinpath("asp_crosswalk_excerpt.csv").read_bytes()
    assert b"\xa7" in raw  # latin-1, like the CMS files
    lines = raw.decode("latin-1").splitlines()
    assert "EXCERPT" in lines[0] and lines[3].startswith("_2026_CODE,Short Description,LABELER NAME,NDC2,")
