"""Bad settings: bad profiles, the setup cache and the library call.

Each refused setting is one ProfileError (file:line:column), never an
internal exception; a value the schema accepts is read as the schema reads
it; a cache entry that is not a file never makes a run wait.
"""
from __future__ import annotations

import io
import subprocess
import sys
import os
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

import scrubber
from scrubber import Scrubber, setup_cache
from scrubber.cli import main
from scrubber.profiles import ProfileError, load_file, load_profile, profile_set

ROOT = Path(__file__).resolve().parents[1]

LONG = "a" * 300  # longer than a file name may be (NAME_MAX 255)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


# -- profiles ---------------------------------------------------------------------

def test_booleans_with_spaces_are_read_as_the_schema_reads_them(tmp_path):
    # xs:boolean collapses whitespace: the schema takes " true ", so the loader must
    p = write(tmp_path, "p.xml", '<profile name="p"><rules><rule code="NDC004" enabled=" false "/>'
                                 '<rule code="POL008" enabled=" true "/></rules>'
                                 '<drug hcpcs="J9307"><ndc required=" 1 "/><prior-auth required=" true "/>'
                                 '<attachment required="\ttrue\n"/></drug></profile>')
    profile = load_file(p)
    drug = profile.drugs["J9307"]
    assert drug.prior_auth == "any"
    assert drug.ndc_required is True
    assert drug.attachment_required is True
    assert profile.enabled["POL008"] is True
    assert profile.enabled["NDC004"] is False


@pytest.mark.parametrize("attrs", [
    'max-doses="%s" window-days="7"' % ("9" * 5000),  # more digits than int() converts
    'max-doses="2" window-days="99999999999999999999"',  # past the calendar: POL006 overflowed
    'max-doses="2" window-days="1000000"',
    'min-days-between="%s"' % ("0" * 4400 + "7" * 10),
])
def test_frequency_counts_out_of_range_are_refused(tmp_path, attrs):
    p = write(tmp_path, "p.xml", f'<profile name="p"><drug hcpcs="J9307"><frequency {attrs}/></drug></profile>')
    with pytest.raises(ProfileError) as exc:
        load_file(p)
    assert exc.value.file == "p.xml" or exc.value.file.endswith("p.xml")
    assert "largest allowed" in exc.value.message


def test_frequency_counts_in_range_are_kept(tmp_path):
    p = write(tmp_path, "p.xml", '<profile name="p"><drug hcpcs="J9307">'
                                 '<frequency max-doses="+006" window-days=" 49 " min-days-between="7"/></drug></profile>')
    drug = load_file(p).drugs["J9307"]
    assert (drug.max_doses, drug.window_days, drug.min_days_between) == (6, 49, 7)


@pytest.mark.parametrize("ref", [LONG, LONG + ".xml", f"{LONG}/p.xml"])
def test_a_profile_name_too_long_is_a_profile_error(ref):
    with pytest.raises(ProfileError):
        load_profile(ref)


def test_extends_a_name_too_long_is_a_profile_error(tmp_path):
    p = write(tmp_path, "p.xml", f'<profile name="p" extends="{LONG}.xml"/>')
    with pytest.raises(ProfileError):
        load_file(p)


def test_a_profile_folder_name_too_long_is_a_profile_error():
    with pytest.raises(ProfileError):
        profile_set([LONG])


def test_a_folder_given_as_a_profile_is_named_a_folder(tmp_path):
    (tmp_path / "p.xml").mkdir()
    with pytest.raises(ProfileError) as exc:
        load_profile(str(tmp_path / "p.xml"))
    assert "folder" in exc.value.message


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may read any folder")
def test_an_unreadable_profile_folder_is_refused(tmp_path):
    d = tmp_path / "profiles"
    d.mkdir()
    write(d, "x.xml", '<profile name="x"><match payer-id="AAA"/></profile>')
    d.chmod(0o300)
    try:
        with pytest.raises(ProfileError):
            profile_set([str(d)])
    finally:
        d.chmod(0o700)


def test_an_external_dtd_in_utf16_is_refused(tmp_path):
    # the text search before the parser reads the bytes as UTF-8 and misses it
    p = write(tmp_path, "p.xml", '<?xml version="1.0" encoding="UTF-16"?>'
                                 '<!DOCTYPE profile SYSTEM "file:///etc/hostname"><profile name="p"/>', "utf-16")
    with pytest.raises(ProfileError) as exc:
        load_file(p)
    assert "external DTD" in exc.value.message


# -- the setup cache ---------------------------------------------------------------

def test_a_fifo_in_the_cache_files_place_does_not_hang(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    monkeypatch.delenv("SCRUBBER_CACHE", raising=False)
    monkeypatch.setenv("SCRUBBER_CACHE_DIR", str(folder))
    settings = ("review7",)
    path = setup_cache.cache_file(str(folder), settings)
    os.mkfifo(path, 0o600)
    got = []
    worker = threading.Thread(target=lambda: got.append(setup_cache.cached(settings, lambda: "built")), daemon=True)
    worker.start()
    worker.join(15)
    hung = worker.is_alive()
    if hung:  # unblock the reader before failing
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(5)
    assert not hung, "the cache waited for a writer on a FIFO"
    assert got == ["built"]


# -- the library call ----------------------------------------------------------------

def test_the_library_exports_its_exception():
    assert scrubber.X12Error is scrubber.pipeline.X12Error
    with pytest.raises(scrubber.X12Error):
        Scrubber().scrub(b"")
    with pytest.raises(scrubber.X12Error):
        Scrubber().scrub(b"\0" * 100)


@pytest.mark.parametrize("data", ["ISA*00*", io.StringIO("ISA*00*"), None, 42])
def test_the_library_refuses_what_is_not_bytes_by_name(data):
    with pytest.raises(TypeError, match=f"bytes or a binary stream, not {type(data).__name__}"):
        Scrubber().scrub(data)


def test_the_library_takes_a_memoryview():
    data = (ROOT / "edi_samples" / "837p-clean.x12").read_bytes()
    assert Scrubber().scrub(memoryview(data)).corrected == data


# -- --select and --ignore ------------------------------------------------------------

@pytest.mark.parametrize("option, value, says", [
    ("--select", "XYZ", "starts no rule's code"),
    ("--select", "ndc", "starts no rule's code"),  # codes are upper case
    ("--ignore", "", "starts no rule's code"),
    ("--ignore", "unt", "starts no rule's code"),
    ("--ignore", "ENV009", "checks of the envelope, which are always on"),
])
def test_a_selection_that_names_nothing_is_refused(option, value, says):
    """A typo in --select would select no rule, and the run would pass a
    file full of errors with exit 0; in --ignore it would turn nothing off."""
    r = CliRunner().invoke(main, ["scrub", str(ROOT / "edi_samples" / "837p-j9307-overbilled.x12"), "--check",
                                  option, value])
    assert r.exit_code == 2 and says in r.output, r.output


@pytest.mark.parametrize("option, value", [("--select", "NDC"), ("--select", "IG0"), ("--ignore", "UNT001")])
def test_a_selection_of_rules_or_ig_codes_is_taken(option, value):
    r = CliRunner().invoke(main, ["scrub", str(ROOT / "edi_samples" / "837p-clean.x12"), "--check", option, value])
    assert r.exit_code == 0, r.output


def test_an_empty_input_name_is_a_usage_error():
    r = CliRunner().invoke(main, ["scrub", "", "--check"])
    assert r.exit_code == 2 and "an empty file name" in r.output, r.output


# -- what a folder of profiles may hold -----------------------------------------------

def _scrub_with_profile_dir(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scrubber", "scrub", str(ROOT / "edi_samples" / "837p-clean.x12"),
                           "--check", "--profile-dir", str(folder)], capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_named_like_a_profile_is_refused_not_waited_on(tmp_path):
    os.mkfifo(tmp_path / "waiting.xml")
    r = _scrub_with_profile_dir(tmp_path)
    assert r.returncode == 2 and "waiting.xml:1:1: not a regular file" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_a_loop_of_symbolic_links_named_like_a_profile_is_one_line(tmp_path):
    (tmp_path / "loop.xml").symlink_to("loop.xml")
    r = _scrub_with_profile_dir(tmp_path)
    assert r.returncode == 2 and "loop.xml:1:1: cannot read the profile" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_the_library_refuses_a_text_stream_it_cannot_tell_by_its_type():
    import tempfile

    with tempfile.SpooledTemporaryFile(mode="w+") as text:  # not an io.TextIOBase
        text.write((ROOT / "edi_samples" / "837p-clean.x12").read_text())
        text.seek(0)
        with pytest.raises(TypeError, match=r"binary mode \('rb'\)"):
            Scrubber().scrub(text)


def test_the_library_takes_a_memoryview_with_gaps():
    data = (ROOT / "edi_samples" / "837p-clean.x12").read_bytes()
    spread = bytes(b for pair in zip(data, data) for b in pair)  # each byte twice
    assert Scrubber().scrub(memoryview(spread)[::2]).corrected == data
