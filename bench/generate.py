"""Generate synthetic 837P / 837I files of any size for benchmarks and memory tests.

    python bench/generate.py --kind 837P --claims 100000 --out /tmp/big.837 [--errors 0.01] [--drugs 0.1] [--seed 1]

The mix is meant to look like a day's traffic: most claims are office visits
without drugs; about one in ten (``--drugs``) has a pralatrexate (J9307) drug line with its
NDC and a chemotherapy administration line; with ``--errors`` a fraction of
the drug lines carry a fixable or unfixable problem.  The data is synthetic:
no real person, provider or payer.
"""
from __future__ import annotations

import argparse
import random
import sys

TRANSACTION_CLAIMS = 5000  # claims per ST/SE, as real submitters split them


def _isa(control: int) -> str:
    return ("ISA*00*          *00*          *ZZ*SUBMITTERID    *ZZ*RECEIVERID     *261101*1200*^*00501*"
            f"{control:09d}*0*P*:~\n")


def _claim_837p(rng: random.Random, n: int, errors: float, drugs: float = 0.1) -> list[str]:
    segs = [f"HL*{n + 1}*1*22*0", "SBR*P*18*GRP001******MB", f"NM1*IL*1*PATIENT{n}*TEST****MI*MEM{n:09d}",
            "N3*1 ELM ST", "N4*ANYTOWN*NY*12345", "DMG*D8*19600101*F", "NM1*PR*2*MEDICARE PART B*****PI*MCRB01"]
    lines: list[tuple[str, int]] = []
    drug = rng.random() < drugs
    if drug:
        units = rng.choice([40, 60, 80]) if rng.random() >= errors else 37
        ml = {40: "2", 60: "3", 80: "4", 37: "2"}[units]
        ndc = "72893000501"
        mods = ":JZ" if units != 37 else ""
        lines.append((f"SV1*HC:J9307{mods}*{units * 100}*UN*{units}***1", 0))
        lines.append(("", 1))  # marker: the 2410 loop of the line before
        lines[-1] = (f"LIN**N4*{ndc}~CTP****{ml}*ML", 1)
        lines.append(("SV1*HC:96409*150*UN*1***1", 0))
    else:
        for _ in range(rng.randint(1, 3)):
            lines.append((f"SV1*HC:{rng.choice(['99213', '99214', '85025', '80053'])}*{rng.randint(50, 200)}*UN*1***1", 0))
    total = sum(int(s.split("*")[2]) for s, drug_loop in lines if not drug_loop)
    segs.append(f"CLM*CLM{n:09d}*{total}***11:B:1*Y*A*Y*Y")
    segs.append("HI*ABK:C8440" if drug else "HI*ABK:I10")
    lx = 0
    for text, drug_loop in lines:
        if drug_loop:
            segs.extend(text.split("~"))
            continue
        lx += 1
        segs += [f"LX*{lx}", text, "DTP*472*D8*20261101"]
    return segs


def _claim_837i(rng: random.Random, n: int, errors: float, drugs: float = 0.1) -> list[str]:
    segs = [f"HL*{n + 1}*1*22*0", "SBR*P*18*GRP001******MB", f"NM1*IL*1*PATIENT{n}*TEST****MI*MEM{n:09d}",
            "N3*1 ELM ST", "N4*ANYTOWN*NY*12345", "DMG*D8*19600101*F", "NM1*PR*2*MEDICARE PART A*****PI*MCRA01"]
    drug = rng.random() < drugs
    lines = []
    if drug:
        units = rng.choice([40, 60]) if rng.random() >= errors else 37
        ml = {40: "2", 60: "3", 37: "2"}[units]
        mods = ":JZ" if units != 37 else ""
        lines.append((f"SV2*0636*HC:J9307{mods}*{units * 100}*UN*{units}", f"LIN**N4*72893000501~CTP****{ml}*ML"))
        lines.append(("SV2*0335*HC:96409*150*UN*1", ""))
    else:
        lines.append((f"SV2*0450*HC:99283*{rng.randint(100, 900)}*UN*1", ""))
    total = sum(int(sv.split("*")[3]) for sv, _ in lines)
    segs += [f"CLM*CLM{n:09d}*{total}***13:A:1**A*Y*Y", "DTP*434*RD8*20261101-20261101", "CL1*1*1*01",
             "HI*ABK:C8440" if drug else "HI*ABK:R079", "NM1*71*1*SMITH*ALICE****XX*1234567893"]
    for lx, (sv, drug_loop) in enumerate(lines, 1):
        segs += [f"LX*{lx}", sv, "DTP*472*D8*20261101"]
        if drug_loop:
            segs += drug_loop.split("~")
    return segs


def generate(out, kind: str = "837P", claims: int = 1000, errors: float = 0.0, seed: int = 1,
             drugs: float = 0.1) -> None:
    """``drugs``: the share of claims with a drug line; ``errors``: the share of drug lines with a problem."""
    rng = random.Random(seed)
    version = "005010X222A1" if kind == "837P" else "005010X223A2"
    make = _claim_837p if kind == "837P" else _claim_837i
    w = out.write
    w(_isa(1))
    w(f"GS*HC*SUBMITTERID*RECEIVERID*20261101*1200*1*X*{version}~\n")
    st_count = 0
    done = 0
    while done < claims:
        st_count += 1
        batch = min(TRANSACTION_CLAIMS, claims - done)
        segs = [f"ST*837*{st_count:04d}*{version}", f"BHT*0019*00*B{st_count}*20261101*1200*CH",
                "NM1*41*2*BILLING SERVICE*****46*SUBMIT01", "PER*IC*BILLING OFFICE*TE*5555551212",
                "NM1*40*2*ACME CLEARINGHOUSE*****46*RECV01", "HL*1**20*1",
                "NM1*85*2*ONCOLOGY CLINIC*****XX*1234567893", "N3*123 MAIN ST", "N4*ANYTOWN*NY*123451234",
                "REF*EI*123456789"]
        w("~\n".join(segs) + "~\n")
        count = len(segs)
        for i in range(batch):
            c = make(rng, i + 1, errors, drugs)
            count += len(c)
            w("~\n".join(c) + "~\n")
        w(f"SE*{count + 1}*{st_count:04d}~\n")
        done += batch
    w(f"GE*{st_count}*1~\nIEA*1*{1:09d}~\n")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", choices=["837P", "837I"], default="837P")
    ap.add_argument("--claims", type=int, default=1000)
    ap.add_argument("--errors", type=float, default=0.0, help="fraction of drug lines with a problem")
    ap.add_argument("--drugs", type=float, default=0.1, help="fraction of claims with a drug line")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="-")
    a = ap.parse_args(argv)
    if a.out == "-":
        generate(sys.stdout, a.kind, a.claims, a.errors, a.seed, a.drugs)
    else:
        with open(a.out, "w", encoding="ascii", newline="") as fh:
            generate(fh, a.kind, a.claims, a.errors, a.seed, a.drugs)


if __name__ == "__main__":
    main()
