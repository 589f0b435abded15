"""Scrubbing on Spark (scrubber.spark) gives what the single-machine library gives."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scrubber import Scrubber, scrub
from scrubber.batch import Settings
from scrubber.files import FAILED, PROCESSED, scrub_file
from scrubber.findings import FIELD_NAMES
from scrubber.spark import findings_ddl, local_name, scrub_content

from .conftest import SAMPLES

GARBAGE = b"\x00\x01PK\x03\x04 not an interchange \xff\xfe" * 40


def _java_missing() -> str:
    if os.environ.get("JAVA_HOME") and Path(os.environ["JAVA_HOME"], "bin", "java").exists():
        return ""
    return "" if shutil.which("java") else "java is not installed (pyspark needs a JVM)"


@pytest.fixture(scope="session")
def spark():
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        pytest.skip("pyspark is not installed (pip install 'scrubber[spark]')")
    reason = _java_missing()
    if reason:
        pytest.skip(reason)
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    started = time.monotonic()
    session = (SparkSession.builder.master("local[2]").appName("scrubber-tests")
               .config("spark.pyspark.python", sys.executable)
               .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")  # test setup only: the product code never uses the context
    print(f"\nSpark {session.version} session started in {time.monotonic() - started:.1f}s")
    yield session
    session.stop()


def _key(d: dict) -> str:
    return json.dumps(d, sort_keys=True)


def _expected(inputs: list[Path], out_dir: Path, scrubber: Scrubber):
    """Single machine: scrub_file per input -> (findings, {name: corrected bytes})."""
    findings: list[dict] = []
    outputs: dict[str, bytes] = {}
    out_dir.mkdir()
    for path in inputs:
        target = out_dir / path.name
        outcome = scrub_file(scrubber, str(path), str(target), lambda f: findings.append(f.to_dict()))
        if outcome.status == PROCESSED:
            outputs[path.name] = target.read_bytes()
        else:
            assert outcome.status == FAILED and not target.exists()
    return sorted(findings, key=_key), outputs


def _read_findings(spark, path: Path, fmt: str) -> tuple[list[str], list[dict]]:
    df = spark.read.format(fmt).schema(findings_ddl()).load(str(path)) if fmt == "json" \
        else spark.read.parquet(str(path))
    return df.columns, sorted((r.asDict() for r in df.collect()), key=_key)


def test_spark_matches_the_single_machine_run(spark, tmp_path):
    inbox = tmp_path / "in box"  # a space: Spark gives paths percent-encoded
    inbox.mkdir()
    for src in sorted(SAMPLES.glob("*.x12")):
        shutil.copy(src, inbox / src.name)
    (inbox / "scanned claim.pdf.x12").write_bytes(GARBAGE)
    shutil.copy(SAMPLES / "837p-clean.x12", inbox / "odd %41 #1.x12")  # not URL-decoded, not a fragment
    inputs = sorted(inbox.iterdir())
    expected, expected_out = _expected(inputs, tmp_path / "expected", Settings().scrubber())

    from scrubber.spark import scrub_with_spark

    from scrubber.spark import OPEN_COST_CONF

    session_value = spark.conf.get(OPEN_COST_CONF, None)
    started = time.monotonic()
    run = scrub_with_spark(spark, str(inbox / "*.x12"), str(tmp_path / "out"), str(tmp_path / "findings"))
    print(f"scrub_with_spark on {len(inputs)} files: {time.monotonic() - started:.1f}s")
    assert spark.conf.get(OPEN_COST_CONF, None) == session_value  # set for the job only

    columns, got = _read_findings(spark, tmp_path / "findings", "parquet")
    assert tuple(columns) == FIELD_NAMES
    assert got == expected
    assert any(f["code"] == "FILE001" and f["file"] == str(inbox / "scanned claim.pdf.x12") for f in got)

    written = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    assert written == expected_out  # same bytes, no output for the binary file, no temporary files
    for path in inputs:
        if path.name in written:
            assert written[path.name] == scrub(path.read_bytes(), file=str(path)).corrected

    assert (run.files, run.failed, run.findings) == (len(inputs), 1, len(expected))
    assert run.errors_remaining == sum(1 for f in expected if f["severity"] == "error" and not f["fixed"])
    assert run.exit_code == 2


def test_json_findings_with_a_profile_and_a_crosswalk(spark, tmp_path):
    from scrubber.profiles import load_profile
    from scrubber.refdata import load_refdata
    from scrubber.spark import scrub_with_spark

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    clean = (SAMPLES / "837p-clean.x12").read_bytes()
    (inbox / "new-ndc.x12").write_bytes(clean.replace(b"72893000501", b"99999000101"))
    shutil.copy(SAMPLES / "837p-j9307-overbilled.x12", inbox / "overbilled.x12")
    xw = tmp_path / "cms.csv"
    xw.write_bytes("ASP NDC-HCPCS Crosswalk\n,,,\n"
                   "_2026_CODE,Short Description,LABELER NAME,NDC2,Drug Name,HCPCS dosage,PKG SIZE,PKG QTY,"
                   "BILLUNITS,BILLUNITSPKG\n"
                   "J9307,Pralatrexate injection,NEW LABELER \u00c9,99999-0001-01,PRALATREXATE,1 MG,1,1,20,20\n"
                   .encode("latin-1"))
    inputs = sorted(inbox.iterdir())
    scrubber = Scrubber(load_profile("medicare"), load_refdata([str(xw)]))
    expected, expected_out = _expected(inputs, tmp_path / "expected", scrubber)
    without = _expected(inputs, tmp_path / "plain", Scrubber(load_profile("medicare")))[0]
    assert expected != without  # the crosswalk matters for these inputs

    run = scrub_with_spark(spark, [str(p) for p in inputs], str(tmp_path / "out"), str(tmp_path / "findings"),
                           fmt="json", profile="medicare", crosswalks=[str(xw)], open_cost_in_bytes=None)
    columns, got = _read_findings(spark, tmp_path / "findings", "json")
    assert got == expected and all(f["profile"] == "medicare" for f in got)
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == expected_out
    assert run.failed == 0 and run.files == 2


def test_same_base_name_twice_is_refused_before_any_work(spark, tmp_path):
    from scrubber.spark import scrub_with_spark

    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        shutil.copy(SAMPLES / "837p-clean.x12", tmp_path / sub / "claims.x12")
    with pytest.raises(ValueError, match="base name 'claims.x12'"):
        scrub_with_spark(spark, [str(tmp_path / "a"), str(tmp_path / "b")], str(tmp_path / "out"),
                         str(tmp_path / "findings"))
    assert not (tmp_path / "findings").exists() and not (tmp_path / "out").exists()


def test_bad_format_is_refused(spark, tmp_path):
    from scrubber.spark import scrub_with_spark

    with pytest.raises(ValueError, match="fmt"):
        scrub_with_spark(spark, str(tmp_path), None, str(tmp_path / "f"), fmt="csv")


# -- without Spark --------------------------------------------------------------------------
def test_findings_schema_is_the_log_columns():
    assert tuple(part.split()[0] for part in findings_ddl().split(", ")) == FIELD_NAMES
    assert "claim_index BIGINT" in findings_ddl() and "fixed BOOLEAN" in findings_ddl()


def test_scrub_content_fails_a_file_as_scrub_file_does(tmp_path):
    path = tmp_path / "junk.x12"
    path.write_bytes(GARBAGE)
    single: list = []
    scrub_file(Scrubber(), str(path), str(tmp_path / "o.x12"), single.append)
    out = tmp_path / "out"
    out.mkdir()
    found = scrub_content(Scrubber(), str(path), GARBAGE, (None, str(out)))
    assert [f.to_dict() for f in found] == [f.to_dict() for f in single] and found[0].code == "FILE001"
    assert list(out.iterdir()) == []


def test_local_name():
    assert local_name("file:/tmp/in box/a%41 #1.x12") == "/tmp/in box/a%41 #1.x12"
    assert local_name("file:///tmp/a.x12") == "/tmp/a.x12"
    assert local_name("s3a://bucket/in/a.x12") == "s3a://bucket/in/a.x12"


def test_import_scrubber_does_not_need_pyspark():
    code = ("import sys, scrubber, scrubber.spark, scrubber.validate; "
            "assert 'pyspark' not in sys.modules and 'pyarrow' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
