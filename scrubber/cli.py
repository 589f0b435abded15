"""The command line: it wires options to the library and nothing more."""
from __future__ import annotations

import glob
import json
import os
import signal
import sys

import click

from . import __version__
from .files import FAILED, STDIO
from .findings import FIELD_NAMES
from .pipeline import NOTICES
from .report import FORMATS, open_writer, summary_lines
from .report.writers import printable
from .rules import RULES
from .x12.envelope import CHECKS

EXIT_CLEAN, EXIT_ERRORS, EXIT_FAILED = 0, 1, 2


class _Group(click.Group):
    """Usage errors: one line on stderr (``scrubber: ...``) and exit 2, no usage dump."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        # Ctrl-C and SIGTERM end a run the same way: cleaned up, exit 2
        previous = {signum: _set_signal(signum, _interrupt) for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            where = f" (see 'scrubber {exc.ctx.info_name} --help')" if exc.ctx and exc.ctx.parent else ""
            _say(f"{exc.format_message()}{where}")
            sys.exit(EXIT_FAILED)
        except click.ClickException as exc:
            _say(exc.format_message())
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            previous = {}  # the run is over: a further signal stays without effect (see _interrupt)
            _say("aborted")
            sys.exit(EXIT_FAILED)
        finally:
            for signum, handler in previous.items():
                if handler is not None:
                    _set_signal(signum, handler)
        sys.exit(EXIT_CLEAN)


def _say(text: str) -> None:
    """One line on stderr, ``scrubber: ...``, control characters escaped."""
    click.echo(printable(f"scrubber: {text}"), err=True)


def _interrupt(signum, frame) -> None:
    """Ctrl-C or SIGTERM: the run ends (as a KeyboardInterrupt, which click
    reports as aborted).  A second one, while the workers end or the
    interpreter exits, must not print a traceback: from here on they change
    nothing."""
    for other in (signal.SIGINT, signal.SIGTERM):
        _set_signal(other, _ignore)
    raise KeyboardInterrupt


def _ignore(signum, frame) -> None:
    """The run is ending: a signal changes nothing.  (A handler that does
    nothing, not SIG_IGN: a signal already on its way would then raise an
    error of its own.)"""


def _set_signal(signum, handler):
    """Set a signal's handler where this thread may; returns the one before
    (None where it may not)."""
    try:
        return signal.signal(signum, handler)
    except (ValueError, OSError):  # not the main thread
        return None


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="scrubber")
def main() -> None:
    """Clean X12 837P/837I claim files: check drug lines against their NDC
    quantity and the payer's policy, write a corrected file and an error log."""


def _expand(inputs: tuple[str, ...]) -> list[str]:
    paths: list[str] = []
    for item in inputs:
        if item == STDIO:
            paths.append(item)
        elif os.path.isdir(item):
            paths.extend(sorted(p for p in glob.glob(os.path.join(item, "*")) if os.path.isfile(p)))
        elif any(c in item for c in "*?[") and not os.path.exists(item):
            found = sorted(glob.glob(item))
            paths.extend(found or [item])
        else:
            paths.append(item)
    return paths


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", help="Corrected file for a single input ('-' for stdout).")
@click.option("--output-dir", type=click.Path(file_okay=False), help="Write one corrected file per input here.")
@click.option("--in-place", "in_place", metavar="SUFFIX",
              help="Rewrite each input, keeping the original as INPUT+SUFFIX (e.g. .orig).")
@click.option("--log", "log_path", help="Error log file ('-' for stdout). Without it, findings are listed on stderr.")
@click.option("--log-format", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--reject-file", help="Move every claim that still has an error into this 837 (single input).")
@click.option("--reject-dir", type=click.Path(file_okay=False), help="One reject 837 per input, in this folder.")
@click.option("--crosswalk", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A CMS ASP NDC-HCPCS crosswalk CSV loaded on top of the bundled data (repeatable).")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the file would change or errors remain.")
@click.option("--diff", is_flag=True, help="Show the changes as a diff on stdout instead of writing them.")
@click.option("--select", multiple=True, help="Only rules whose code starts with this (repeatable).")
@click.option("--ignore", multiple=True, help="Skip rules whose code starts with this (repeatable).")
@click.option("--profile", "profile_ref", metavar="NAME|PATH",
              help="Judge every claim by this payer profile (a shipped name or an XML file). Without it, each "
                   "claim gets the profile that matches its payer id and filing indicator, else 'default'.")
@click.option("--profile-dir", multiple=True, type=click.Path(file_okay=False),
              help="A folder of XML profiles that take part in the per-claim choice (repeatable).")
@click.option("--validate", is_flag=True, help="Also run pyx12's 005010X222A1/X223A2 validation on each input.")
@click.option("--ack-dir", type=click.Path(file_okay=False), help="Write pyx12's 999 acknowledgment for each input here.")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Files scrubbed in parallel (processes). The results are the same as with one.")
def scrub(inputs, output, output_dir, in_place, log_path, log_format, reject_file, reject_dir, crosswalk, check,
          diff, select, ignore, profile_ref, profile_dir, validate, ack_dir, jobs):
    """Scrub INPUTS (files, folders or globs; '-' for stdin).

    Exit 0 when no error remains, 1 when errors remain (or --check finds
    changes), 2 when an input could not be processed or the usage is wrong.
    """
    from .batch import PlanError, Settings, plan_jobs, run_batch, settle_memory
    from .profiles import ProfileError
    from .refdata import RefDataError

    if profile_ref and profile_dir:
        raise click.UsageError("use either --profile (one profile for every claim) or --profile-dir")
    try:
        planned = plan_jobs(_expand(inputs), output=output, output_dir=output_dir, reject_file=reject_file,
                            reject_dir=reject_dir, ack_dir=ack_dir, in_place=in_place, check=check, diff=diff,
                            validate=validate, log=log_path)
    except PlanError as exc:
        raise click.UsageError(str(exc))
    settings = Settings(tuple(crosswalk), profile_ref, tuple(profile_dir), tuple(select), tuple(ignore))
    problems = settings.selection_problems()
    if problems:
        raise click.UsageError(problems[0])
    try:
        scrubber = settings.scrubber()  # bad reference data or profiles stop the run here, once
        settle_memory()
    except (RefDataError, ProfileError) as exc:
        _say(str(exc))
        sys.exit(EXIT_FAILED)
    for folder in (output_dir, reject_dir, ack_dir):
        if folder:
            try:
                os.makedirs(folder, exist_ok=True)
            except OSError as exc:
                raise click.UsageError(f"cannot make the folder {folder}: {exc.strerror or exc}")

    log_stream = _open_log(log_path)
    log = open_writer(log_format, log_stream) if log_stream else open_writer("text", sys.stderr)
    outcomes = []
    bar = _progress(len(planned))
    try:
        for outcome, findings in run_batch(planned, settings, jobs, scrubber):
            for f in findings:
                log.write(f)
            findings.close()
            if outcome.status == FAILED and log_stream is not None:
                _say(f"{outcome.path}: {outcome.error}")
            outcomes.append(outcome)
            bar.update(outcomes)
    finally:
        bar.close()
        log.close()
        if log_stream not in (None, sys.stdout):
            log_stream.close()

    failed = sum(1 for o in outcomes if o.status == FAILED)
    for line in summary_lines(len(outcomes), failed, [o.stats for o in outcomes]):
        click.echo(line, err=True)
    if failed:
        sys.exit(EXIT_FAILED)
    if any(o.errors_remaining for o in outcomes) or (check and any(o.changed for o in outcomes)):
        sys.exit(EXIT_ERRORS)
    sys.exit(EXIT_CLEAN)


class _progress:
    """A progress line on stderr when it is a terminal; nothing otherwise."""

    def __init__(self, total: int):
        self.total = total
        self.on = total > 0 and sys.stderr.isatty()

    def update(self, outcomes) -> None:
        if not self.on:
            return
        claims = sum(o.stats.claims for o in outcomes)
        findings = sum(sum(o.stats.findings.values()) for o in outcomes)
        done = len(outcomes)
        width = 30
        filled = width * done // self.total
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} files, "
                         f"{claims} claims, {findings} findings")
        sys.stderr.flush()

    def close(self) -> None:
        if self.on:
            sys.stderr.write("\n")


def _open_log(path):
    if path is None:
        return None
    # A file name that is not valid UTF-8 (kept by Python as surrogates) is
    # written escaped, never as a failure.
    if path == STDIO:
        if hasattr(sys.stdout, "reconfigure"):
            sys.stdout.reconfigure(errors="backslashreplace")
        return sys.stdout
    try:
        return open(path, "w", encoding="utf-8", errors="backslashreplace", newline="")
    except OSError as exc:
        raise click.UsageError(f"cannot write the log {path}: {exc.strerror}")


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules(fmt):
    """List every rule and check, with its code, severity and whether it is fixed."""
    rows = [r.describe() for r in RULES]
    from .validate.codes import CHECKS as IG_CHECKS

    rows += [dict(code=c.code, name=c.name, severity=c.severity, fixable=c.fixable, summary=c.summary, doc=c.summary)
             for c in (*CHECKS.values(), *IG_CHECKS.values())]
    from .files import NOTICES as FILE_NOTICES

    for code, (sev, text) in {**NOTICES, **FILE_NOTICES}.items():
        rows.append(dict(code=code, name=code.lower(), severity=sev, fixable=False, summary=text, doc=text))
    rows.sort(key=lambda r: r["code"])
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        fix = "fix" if r["fixable"] else "   "
        click.echo(f"{r['code']:<7} {r['severity']:<7} {fix} {r['name']:<26} {r['summary']}")


@main.group(invoke_without_command=True)
@click.option("--profile-dir", multiple=True, type=click.Path(file_okay=False),
              help="Also list the XML profiles in this folder (repeatable).")
@click.pass_context
def profiles(ctx, profile_dir):
    """List the payer profiles: name, what each extends and which claims it matches.

    `scrubber profiles check FILE` validates one and shows it fully layered.
    """
    if ctx.invoked_subcommand is not None:
        return
    from .profiles import ProfileError, profile_set
    from .profiles.render import listing

    try:
        found = profile_set(profile_dir)
    except ProfileError as exc:
        _say(str(exc))
        sys.exit(EXIT_FAILED)
    for line in listing(found):
        click.echo(line)


@profiles.command("check")
@click.argument("profile_ref", metavar="FILE|NAME")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def profiles_check(profile_ref, fmt):
    """Validate a profile (against the schema, with its extends chain) and show the layered result.

    Exit 0 when it is valid, 2 with one message (file:line:column) when not.
    """
    from .profiles import ProfileError, load_profile
    from .profiles.render import profile_dict, profile_text

    try:
        profile = load_profile(profile_ref)
    except ProfileError as exc:
        _say(str(exc))
        sys.exit(EXIT_FAILED)
    if fmt == "json":
        click.echo(json.dumps(profile_dict(profile), indent=2))
    else:
        for line in profile_text(profile):
            click.echo(line)


__all__ = ["main", "FIELD_NAMES", "FORMATS"]
