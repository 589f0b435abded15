"""The claims layer: the HL hierarchy and the one view of a service line."""
from __future__ import annotations

from datetime import date

from scrubber.claims import iter_claims
from scrubber.x12.tokenizer import tokenize

from .test_tokenizer import isa

P_BODY = """GS*HC*S*R*20261101*1200*1*X*005010X222A1~ST*837*0001*005010X222A1~BHT*0019*00*B*20261101*1200*CH~
HL*1**20*1~NM1*85*2*CLINIC*****XX*1234567893~HL*2*1*22*1~SBR*P*18*G******MC~NM1*IL*1*DOE*JANE****MI*MEMBER1~
NM1*PR*2*STATE MEDICAID*****PI*MCD01~HL*3*2*23*0~PAT*19~NM1*QC*1*DOE*KID~
CLM*CLAIM9*5000***11:B:1*Y*A*Y*Y~REF*G1*AUTH77~PWK*09*AA*EL*AC*ATT1~HI*ABK:C8440*ABF:I10*ABF:Z5111~
LX*1~SV1*HC:J9307:JW:TB:::PRALATREXATE*5000*UN*40.5***3:1~DTP*472*RD8*20261102-20261103~REF*G1*LINEAUTH~
LIN**N4*72893000501~CTP****2*ML~REF*XZ*RX1~NM1*DK*1*WELBY*M****XX*1112223338~
SE*20*0001~GE*1*1~IEA*1*000000001~
"""

I_BODY = """GS*HC*S*R*20261101*1200*1*X*005010X223A2~ST*837*0002*005010X223A2~BHT*0019*00*B*20261101*1200*CH~
HL*1**20*1~NM1*85*2*HOSPITAL*****XX*1234567893~HL*2*1*22*0~SBR*P*18*G******MA~NM1*IL*1*ROE*RICHARD****MI*M2~
NM1*PR*2*MEDICARE A*****PI*MCRA~CLM*OPD1*900***13:A:1**A*Y*Y~DTP*434*RD8*20261105-20261105~HI*ABK:C8440~
LX*1~SV2*0636*HC:J9307:JZ*900*UN*20~LIN**N4*65219055001~CTP****1*ML~
SE*15*0002~GE*1*1~IEA*1*000000001~
"""


def claims(body: str):
    data = isa() + body.replace("\n", "").encode()
    return list(iter_claims(tokenize(data)))


def test_837p_line_view_and_context():
    (c,) = claims(P_BODY)
    assert c.kind == "837P" and c.claim_id.text == "CLAIM9" and c.charge.text == "5000"
    assert c.context.payer_id == "MCD01" and c.context.filing_indicator == "MC"
    assert c.context.member_id == "MEMBER1" and "KID" in c.context.patient_key
    assert c.diagnoses == ["C8440", "I10", "Z5111"]
    assert [v.text for v in c.prior_auth] == ["AUTH77"] and len(c.attachments) == 1
    (line,) = c.lines
    assert (line.qualifier.text, line.code.text, line.modifier_codes) == ("HC", "J9307", ["JW", "TB"])
    assert line.description.text == "PRALATREXATE"
    assert (line.charge.text, line.unit_basis.text, line.units.text) == ("5000", "UN", "40.5")
    assert line.dx_pointers == ["3", "1"] and line.dx_codes == ["Z5111", "C8440"]
    assert line.service_date == date(2026, 11, 2)
    assert (line.ndc_qualifier.text, line.ndc.text, line.ndc_quantity.text, line.ndc_unit.text) == (
        "N4", "72893000501", "2", "ML")
    assert line.line_refs["G1"].text == "LINEAUTH" and line.drug_refs["XZ"].text == "RX1"
    assert [v.ref.name for v in (line.units, line.charge, line.ndc, line.ndc_quantity, line.modifiers[0])] == [
        "SV104", "SV102", "LIN03", "CTP04", "SV101-3"]
    assert line.units.ref.segment.index == 19  # ISA = 1, LX = 18
    # the values cut only when asked for
    assert (line.number.ref.name, line.number.text, line.composite.text) == (
        "LX01", "1", "HC:J9307:JW:TB:::PRALATREXATE")
    assert [(m.text, m.ref.name) for m in line.modifiers] == [
        ("JW", "SV101-3"), ("TB", "SV101-4"), ("", "SV101-5"), ("", "SV101-6")]
    assert (line.description.ref.name, line.qualifier.ref.name, line.revenue_code.text) == ("SV101-7", "SV101-1", "")
    assert (line.service_date_value.text, line.service_date_value.ref.name) == ("20261102-20261103", "DTP03")


def test_837i_line_view_uses_sv2_and_claim_dates():
    (c,) = claims(I_BODY)
    assert c.kind == "837I" and c.context.filing_indicator == "MA"
    (line,) = c.lines
    assert line.revenue_code.text == "0636" and line.code.text == "J9307" and line.modifier_codes == ["JZ"]
    assert (line.charge.ref.name, line.units.ref.name, line.unit_basis.ref.name) == ("SV203", "SV205", "SV204")
    assert line.dx_codes == ["C8440"]
    assert line.service_date == date(2026, 11, 5)  # no line DTP*472: the statement date
    assert line.ndc.text == "65219055001"
    assert (line.composite.ref.name, line.qualifier.ref.name, line.revenue_code.ref.name) == ("SV202", "SV202-1", "SV201")
    assert line.dx_pointers == [] and line.service_date_value.text == "" and line.service_date_value.ref is None
