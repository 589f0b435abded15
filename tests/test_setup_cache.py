"""The setup cache: a warm start loads the built setup; any change to what it
was built from (a profile, a folder of profiles, a file reached by
``extends``, a crosswalk, the package's code) builds it again; the cache
never makes a run fail, and the build's own errors are the same with it.

conftest.py turns the cache off for the session; every test here turns it
on with a fresh folder.  The files a test writes are dated a minute back
(:func:`backdate`): a file changed just before a build is not cached (its
next change could keep the same mtime), and these tests need the cache
written to show that it is then left.
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scrubber import deps, setup_cache
from scrubber.batch import Settings
from scrubber.pipeline import Scrubber
from scrubber.profiles import ProfileError
from scrubber.refdata import RefDataError

from .test_policy_rules import Claim, j9307, weekly, x12

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "edi_samples").glob("*.x12"))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """The cache on, in a folder of its own; the working folder is ``tmp_path/work``."""
    folder = tmp_path / "cache"
    monkeypatch.delenv("SCRUBBER_CACHE", raising=False)
    monkeypatch.setenv("SCRUBBER_CACHE_DIR", str(folder))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return folder


@pytest.fixture
def builds(monkeypatch):
    """How many times the setup was built (not loaded from the cache)."""
    calls = []
    real = Settings.setup

    def counted(self):
        calls.append(self)
        return real(self)

    monkeypatch.setattr(Settings, "setup", counted)
    return calls


def backdate(*paths: Path, seconds: int = 60) -> None:
    """Date files and folders (and what is inside the folders) ``seconds`` back."""
    when = time.time_ns() - seconds * 1_000_000_000
    for path in paths:
        for p in [path, *(path.rglob("*") if path.is_dir() else ())]:
            os.utime(p, ns=(when, when))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def profile(name: str, severity: str = "info", extends: str = "commercial", payer: str = "ACME1") -> str:
    return (f'<profile name="{name}" extends="{extends}">\n  <match payer-id="{payer}"/>\n'
            f'  <rules><rule code="NDC003" severity="{severity}"/></rules>\n</profile>\n')


CROSSWALK = ("_2026_CODE,Short Description,LABELER NAME,NDC2,Drug Name,HCPCS dosage,PKG SIZE,PKG QTY,"
             "BILLUNITS,BILLUNITSPKG\n"
             "J9307,Pralatrexate injection,NEW LABELER,99999-0001-01,PRALATREXATE,1 MG,1,1,{units},{units}\n")


def cache_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*")) if folder.is_dir() else []


def setup_state(setup) -> tuple:
    """Everything a built setup holds, as comparable values."""
    refdata, prof, selector = setup
    sel = None if selector is None else (selector.candidates, selector.default)
    return refdata.entries, dict(refdata.drugs), refdata._by_ndc, refdata._by_code, prof, sel


def scrub_all(scrubber: Scrubber, extra: list[bytes]) -> list[tuple]:
    out = []
    for data in [p.read_bytes() for p in SAMPLES] + extra:
        scrubber.state.clear()
        r = scrubber.scrub(data)
        out.append((r.corrected, r.findings))
    return out


# -----------------------------------------------------------------------------
# a warm start
# -----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["default", "forced", "folders"])
def test_a_warm_build_gives_the_same_setup_and_the_same_scrub(cache, builds, tmp_path, kind):
    d = tmp_path / "profiles"
    write(d / "acme.xml", profile("acme", extends="medicaid"))
    xw = write(tmp_path / "cms.csv", CROSSWALK.format(units=20))
    backdate(d, xw)
    settings = {"default": Settings(),
                "forced": Settings(crosswalks=(str(xw),), profile="commercial", ignore=("NDC004",)),
                "folders": Settings(crosswalks=(str(xw),), profile_dirs=(str(d),), select=("NDC", "POL"))}[kind]
    cold = settings.scrubber()
    assert len(builds) == 1 and len(cache_files(cache)) == 1
    warm = settings.scrubber()
    assert len(builds) == 1  # loaded, not built
    fresh = settings.setup()
    loaded = setup_cache.cached(settings, lambda: pytest.fail("built again"))
    assert setup_state(loaded) == setup_state(fresh)
    if kind == "folders":
        assert [p.name for p in loaded[2].candidates] == ["acme", "commercial", "medicaid", "medicare"]
    extra = [x12(Claim(j9307(), clm_id="A1", payer_id="ACME1"), Claim(j9307(), clm_id="B1", payer_id="SMPL01",
                                                                      filing="MB"), *weekly(6))]
    assert scrub_all(warm, extra) == scrub_all(cold, extra)
    assert any(f for _, findings in scrub_all(warm, extra) for f in findings)


def test_the_cached_records_pickle_faithfully(cache):
    """Every record of the setup comes back equal and of the same class."""
    setup = Settings(profile_dirs=()).setup()
    back = pickle.loads(pickle.dumps(setup, pickle.HIGHEST_PROTOCOL))
    assert setup_state(back) == setup_state(setup)
    for a, b in zip(setup[2].candidates, back[2].candidates):
        assert type(a) is type(b) and a.drugs == b.drugs and a.drugs_by_ndc == b.drugs_by_ndc
        assert a.policy_fields == b.policy_fields and repr(a) == repr(b)
    assert back[0].drug("J9307") == setup[0].drug("J9307")
    with pytest.raises(TypeError):
        back[0].drugs["X"] = None  # still read-only


def _run(code: str, env: dict) -> str:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_a_warm_start_imports_no_profile_reader(tmp_path):
    """With the setup from the cache, nothing that reads profiles or tables is
    imported: not lxml, not the profile loader and XML reader (nor pathlib
    through them), not csv."""
    env = {k: v for k, v in os.environ.items() if k != "SCRUBBER_CACHE"}
    env.update(SCRUBBER_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))
    readers = "('lxml', 'scrubber.profiles.loader', 'scrubber.profiles.xmlread', 'csv')"
    show = f"print(' '.join(m for m in {readers} if m in sys.modules))"
    assert _run("import sys, scrubber.cli; " + show, env) == ""
    code = "import sys, scrubber.cli\nfrom scrubber.batch import Settings\nSettings().scrubber()\n" + show
    assert _run(code, env) == "lxml scrubber.profiles.loader scrubber.profiles.xmlread csv"  # cold: all is read
    assert _run(code, env) == ""  # warm
    assert _run(code, {**env, "SCRUBBER_CACHE": "off"}) != ""
    # the loader's names are still there, on first use
    assert _run("import scrubber.profiles as p; print(p.SHIPPED_DIR.name, callable(p.load_file))", env) == "shipped True"


def test_a_second_build_in_one_process_records_what_the_first_read():
    """The bundled tables and the schema are read once per process; a later
    build still names them as its dependencies."""
    for _ in range(2):
        with deps.recording() as seen:
            Settings().setup()
        names = {os.path.basename(e[1]) for e in seen}
        assert {"hcpcs_drugs.csv", "asp_crosswalk_excerpt.csv", "ndc_formats.csv", "profile.xsd",
                "commercial.xml", "shipped"} <= names


# -----------------------------------------------------------------------------
# what builds it again
# -----------------------------------------------------------------------------

def test_editing_a_profile_in_a_folder(cache, builds, tmp_path):
    d = tmp_path / "profiles"
    p = write(d / "acme.xml", profile("acme", severity="info"))
    backdate(d)
    settings = Settings(profile_dirs=(str(d),))
    settings.scrubber()
    assert settings.scrubber().selector.candidates[0].severity("NDC003", "") == "info"
    assert len(builds) == 1
    p.write_text(profile("acme", severity="error"), encoding="utf-8")
    assert settings.scrubber().selector.candidates[0].severity("NDC003", "") == "error"
    assert len(builds) == 2


def test_a_same_size_rewrite_with_its_old_date_is_seen(cache, builds, tmp_path):
    """As ``cp -p`` or ``rsync -t`` leave a file: the same size, the old modification time."""
    d = tmp_path / "profiles"
    p = write(d / "acme.xml", profile("acme", payer="ACME1"))
    backdate(d)
    before, folder = p.stat(), d.stat()
    settings = Settings(profile_dirs=(str(d),))
    payer = lambda: settings.scrubber().selector.candidates[0].matches[0].payer_id  # noqa: E731
    assert payer() == payer() == "ACME1" and len(builds) == 1
    p.write_text(profile("acme", payer="ACME2"), encoding="utf-8")
    os.utime(p, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.utime(d, ns=(folder.st_atime_ns, folder.st_mtime_ns))
    assert (p.stat().st_size, p.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert payer() == "ACME2" and len(builds) == 2


def test_adding_and_removing_a_profile_in_a_folder(cache, builds, tmp_path):
    d = tmp_path / "profiles"
    write(d / "acme.xml", profile("acme"))
    backdate(d)
    settings = Settings(profile_dirs=(str(d),))
    names = lambda: [p.name for p in settings.scrubber().selector.candidates][:2]  # noqa: E731
    assert names() == names() == ["acme", "commercial"]
    assert len(builds) == 1
    added = write(d / "beta.xml", profile("beta", payer="BETA1"))
    assert names() == ["acme", "beta"]
    assert len(builds) == 2
    backdate(d)
    assert names() == ["acme", "beta"] and len(builds) == 3  # (the folder's date changed)
    assert names() == ["acme", "beta"] and len(builds) == 3
    added.unlink()
    assert names() == ["acme", "commercial"]
    assert len(builds) == 4


def test_a_profile_added_to_the_shipped_folder(cache, builds, tmp_path, monkeypatch):
    import shutil

    from scrubber.profiles import loader

    shipped = tmp_path / "shipped"
    shutil.copytree(loader.SHIPPED_DIR, shipped)
    backdate(shipped)
    monkeypatch.setattr(loader, "SHIPPED_DIR", shipped)
    names = lambda: [p.name for p in Settings().scrubber().selector.candidates]  # noqa: E731
    assert names() == names() == ["commercial", "medicaid", "medicare"]
    assert len(builds) == 1
    write(shipped / "extra.xml", profile("extra", payer="EXTRA1"))
    assert names() == ["commercial", "extra", "medicaid", "medicare"]
    assert len(builds) == 2


def test_editing_a_file_reached_only_by_extends(cache, builds, tmp_path):
    base = write(tmp_path / "elsewhere" / "base.xml", profile("base", severity="info", payer="BASE1"))
    d = tmp_path / "profiles"
    write(d / "acme.xml", '<profile name="acme" extends="../elsewhere/base.xml"><match payer-id="ACME1"/></profile>')
    backdate(d, base.parent)
    for settings in (Settings(profile_dirs=(str(d),)), Settings(profile=str(d / "acme.xml"))):
        base.write_text(profile("base", severity="info", payer="BASE1"), encoding="utf-8")
        backdate(base)
        first = settings.scrubber()
        acme = first.selector.candidates[0] if first.selector else first.profile
        assert acme.severity("NDC003", "") == "info"
        n = len(builds)
        settings.scrubber()
        assert len(builds) == n
        base.write_text(profile("base", severity="error", payer="BASE1"), encoding="utf-8")
        again = settings.scrubber()
        acme = again.selector.candidates[0] if again.selector else again.profile
        assert acme.severity("NDC003", "") == "error"
        assert len(builds) == n + 1


def test_editing_a_crosswalk(cache, builds, tmp_path):
    xw = write(tmp_path / "cms.csv", CROSSWALK.format(units=20))
    backdate(xw)
    settings = Settings(crosswalks=(str(xw),))
    units = lambda: settings.scrubber().refdata.ndc_entries("99999000101")[0].billunits  # noqa: E731
    assert units() == units() == 20
    assert len(builds) == 1
    xw.write_text(CROSSWALK.format(units=25), encoding="utf-8")
    assert units() == 25
    assert len(builds) == 2


def test_a_relative_path_depends_on_the_working_folder(cache, builds, tmp_path, monkeypatch):
    for where, severity in (("one", "info"), ("two", "error")):
        write(tmp_path / where / "p" / "acme.xml", profile("acme", severity=severity))
        backdate(tmp_path / where)
    settings = Settings(profile_dirs=("p",))
    for where, severity in (("one", "info"), ("two", "error"), ("one", "info"), ("two", "error")):
        monkeypatch.chdir(tmp_path / where)
        assert settings.scrubber().selector.candidates[0].severity("NDC003", "") == severity
    assert len(builds) == 2  # one cache file for each working folder


def test_the_key_is_compared_in_full(cache, builds, tmp_path, monkeypatch):
    """Two setups whose file names collide each get their own, never the other's."""
    monkeypatch.setattr(setup_cache, "cache_file", lambda folder, settings: os.path.join(folder, "one.pickle"))
    for where, severity in (("one", "info"), ("two", "error")):
        write(tmp_path / where / "p" / "acme.xml", profile("acme", severity=severity))
        backdate(tmp_path / where)
    relative = Settings(profile_dirs=("p",))
    for n, (settings, where, severity) in enumerate([(relative, "one", "info"), (relative, "two", "error"),
                                                      (Settings(profile="medicaid"), "two", "error")], start=1):
        monkeypatch.chdir(tmp_path / where)
        s = settings.scrubber()
        assert (s.selector.candidates[0] if s.selector else s.profile).severity("NDC003", "") == severity
        assert len(builds) == n
    assert len(cache_files(cache)) == 1


def test_a_source_without_a_path_is_not_cached(cache):
    """A table read from a stream cannot be checked again: such a build is never cached."""
    import io

    from scrubber.refdata import load_refdata

    calls = []

    def build():
        calls.append(1)
        return load_refdata([io.StringIO(CROSSWALK.format(units=20))]), None, None

    for _ in range(2):
        assert setup_cache.cached(Settings(crosswalks=("stream",)), build)[0].knows_ndc("99999000101")
    assert len(calls) == 2 and cache_files(cache) == []


def test_a_change_of_the_code(cache, builds, monkeypatch):
    Settings().scrubber()
    Settings().scrubber()
    assert len(builds) == 1
    stamp = setup_cache.code_stamp()
    assert any(p.endswith(os.path.join("scrubber", "pipeline.py")) for p, _, _ in stamp)
    monkeypatch.setattr(setup_cache, "code_stamp", lambda: stamp[:-1] + ((stamp[-1][0], 1, stamp[-1][2]),))
    Settings().scrubber()
    assert len(builds) == 2
    assert len(cache_files(cache)) == 1  # the file is replaced, not added to


def test_a_file_changed_just_before_the_build_is_not_cached(cache, builds, tmp_path):
    d = tmp_path / "profiles"
    write(d / "acme.xml", profile("acme"))
    settings = Settings(profile_dirs=(str(d),))
    settings.scrubber()
    settings.scrubber()
    assert len(builds) == 2 and cache_files(cache) == []
    backdate(d)
    settings.scrubber()
    settings.scrubber()
    assert len(builds) == 3


# -----------------------------------------------------------------------------
# a cache that cannot be used is passed over
# -----------------------------------------------------------------------------

class Gone:
    """A class of the package when the cache was written, gone since."""


def _stale_class_file(path: Path, monkeypatch) -> None:
    """The right key and dependencies, then a value naming a class that is gone."""
    import io

    import scrubber.pipeline

    head = pickle.load(io.BytesIO(path.read_bytes()))
    with monkeypatch.context() as m:
        m.setattr(Gone, "__module__", "scrubber.pipeline")
        m.setattr(scrubber.pipeline, "Gone", Gone, raising=False)
        value = pickle.dumps(Gone())
    assert not hasattr(scrubber.pipeline, "Gone")
    path.write_bytes(pickle.dumps(head) + value)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "stale class", "group-writable", "a folder"])
def test_a_damaged_cache_file_is_passed_over(cache, builds, monkeypatch, damage):
    Settings().scrubber()
    expected = setup_state(Settings().setup())
    del builds[:]
    (path,) = cache_files(cache)
    if damage == "garbage":
        path.write_bytes(b"not a pickle at all" * 10)
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "stale class":
        _stale_class_file(path, monkeypatch)
    elif damage == "group-writable":
        path.chmod(0o664)
    elif damage == "a folder":
        path.unlink()
        path.mkdir()
    s = Settings().scrubber()
    assert len(builds) == 1
    assert setup_state((s.refdata, s.profile, s.selector)) == expected
    if damage != "a folder":
        Settings().scrubber()
        assert len(builds) == 1  # written again, and used
        assert path.stat().st_mode & 0o777 == 0o600


def test_the_cache_file_is_only_the_owners(cache, builds):
    Settings().scrubber()
    assert cache.stat().st_mode & 0o777 == 0o700
    (path,) = cache_files(cache)
    assert path.stat().st_mode & 0o777 == 0o600


def test_an_unusable_cache_location_is_passed_over(cache, builds, tmp_path, monkeypatch):
    blocker = write(tmp_path / "a-file", "x")
    monkeypatch.setenv("SCRUBBER_CACHE_DIR", str(blocker / "cache"))  # a folder under a file
    expected = setup_state(Settings().setup())
    for n in (2, 3):  # (the first build was for `expected`)
        s = Settings().scrubber()
        assert setup_state((s.refdata, s.profile, s.selector)) == expected
        assert len(builds) == n


def test_off_writes_nothing(cache, builds, monkeypatch):
    monkeypatch.setenv("SCRUBBER_CACHE", "off")
    Settings().scrubber()
    Settings().scrubber()
    assert len(builds) == 2
    assert not cache.exists()


def test_where_the_cache_lives(monkeypatch, tmp_path):
    monkeypatch.delenv("SCRUBBER_CACHE", raising=False)
    monkeypatch.setenv("SCRUBBER_CACHE_DIR", str(tmp_path / "c"))
    assert setup_cache.cache_dir() == str(tmp_path / "c")
    monkeypatch.delenv("SCRUBBER_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert setup_cache.cache_dir() == str(tmp_path / "x" / "scrubber")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")  # not absolute: ignored (XDG)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert setup_cache.cache_dir() == str(tmp_path / "home" / ".cache" / "scrubber")
    monkeypatch.setenv("SCRUBBER_CACHE", "off")
    assert setup_cache.cache_dir() is None


# -----------------------------------------------------------------------------
# the build's own errors
# -----------------------------------------------------------------------------

def _error(settings: Settings, kind) -> str:
    with pytest.raises(kind) as exc:
        settings.scrubber()
    return str(exc.value)


def test_a_profile_error_propagates_and_writes_nothing(cache, builds, tmp_path, monkeypatch):
    d = tmp_path / "profiles"
    write(d / "bad.xml", '<profile name="bad">\n  <rules><rule code="NOPE999"/></rules>\n</profile>\n')
    backdate(d)
    settings = Settings(profile_dirs=(str(d),))
    message = _error(settings, ProfileError)
    assert "NOPE999" in message and "bad.xml:2:" in message
    assert cache_files(cache) == []
    assert _error(settings, ProfileError) == message
    monkeypatch.setenv("SCRUBBER_CACHE", "off")
    assert _error(settings, ProfileError) == message


def test_a_refdata_error_propagates_and_writes_nothing(cache, tmp_path, monkeypatch):
    xw = write(tmp_path / "bad.csv", "just,some\ncolumns,here\n")
    backdate(xw)
    settings = Settings(crosswalks=(str(xw),))
    message = _error(settings, RefDataError)
    assert cache_files(cache) == []
    monkeypatch.setenv("SCRUBBER_CACHE", "off")
    assert _error(settings, RefDataError) == message


def _aged(path: Path, seconds_ago: float, data: bytes = b"x") -> Path:
    path.write_bytes(data)
    t = time.time() - seconds_ago
    os.utime(path, (t, t))
    return path


def test_prune_keeps_the_newest_files_and_drops_stale_temporaries(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    olds = [_aged(folder / f"setup-{i:016x}.pickle", 100 + i) for i in range(6)]  # olds[0] is the newest
    keep = _aged(folder / f"setup-{'f' * 16}.pickle", 1000)  # the one just written: kept whatever its date
    stale = _aged(folder / f"setup-{'a' * 16}.pickle.12-0123abcd.tmp", 2 * 3600)
    fresh = _aged(folder / f"setup-{'b' * 16}.pickle.12-4567abcd.tmp", 60)  # another process may be writing it
    # not names the cache makes: never touched, however old
    others = [_aged(folder / n, 10 ** 6) for n in ("notes.txt", "setup-wizard-state.pickle", "setup-notes.tmp",
                                                   f"setup-{'c' * 16}.pickle.bak")]
    setup_cache.prune(str(folder), keep=str(keep), max_files=4)
    assert not stale.exists()
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [keep.name, fresh.name] + [p.name for p in others] + [p.name for p in olds[:3]])


def test_a_save_bounds_the_folder(cache, builds, monkeypatch):
    """Writing a new file removes the oldest beyond MAX_FILES; the run is unaffected."""
    monkeypatch.setattr(setup_cache, "MAX_FILES", 3)
    cache.mkdir()
    olds = [_aged(cache / f"setup-{i:016x}.pickle", 600 + i) for i in range(5)]
    Settings().scrubber()
    names = sorted(p.name for p in cache.iterdir())
    written = Path(setup_cache.cache_file(str(cache), Settings()))
    assert written.name in names and len(names) == 3
    assert set(names) - {written.name} == {olds[0].name, olds[1].name}
    Settings().scrubber()
    assert len(builds) == 1  # the file just written is the one loaded


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="needs root to give a file to another user")
def test_prune_leaves_other_users_files(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    theirs = _aged(folder / f"setup-{'1' * 16}.pickle", 10 ** 5)
    os.chown(theirs, 12345, 12345)
    mine = [_aged(folder / f"setup-{i:016x}.pickle", 100 + i) for i in range(3)]
    setup_cache.prune(str(folder), max_files=1)
    assert sorted(p.name for p in folder.iterdir()) == sorted([theirs.name, mine[0].name])


def test_the_profile_package_lists_and_pickles_what_it_did_before():
    import scrubber.profiles as profiles

    assert {"SHIPPED_DIR", "load_file", "load_profile", "resolve", "shipped_names"} <= set(dir(profiles))
    err = pickle.loads(pickle.dumps(ProfileError("p.xml", 3, 7, "bad")))
    assert (type(err), err.file, err.line, err.column, err.message) == (ProfileError, "p.xml", 3, 7, "bad")
    assert str(err) == "p.xml:3:7: bad"
