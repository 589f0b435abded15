"""The command line: it wires options to the library and nothing more."""
from __future__ import annotations

import glob
import json
import os
import sys

import click

from . import __version__
from .files import FAILED, STDIO, scrub_file
from .findings import FIELD_NAMES
from .pipeline import NOTICES, Scrubber
from .report import FORMATS, open_writer, summary_lines
from .rules import RULES
from .x12.envelope import CHECKS

EXIT_CLEAN, EXIT_ERRORS, EXIT_FAILED = 0, 1, 2


class _Group(click.Group):
    """Usage errors exit 2 with one line (click's default), other errors too."""


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
@click.option("--log", "log_path", help="Error log file ('-' for stdout). Without it, findings are listed on stderr.")
@click.option("--log-format", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
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
def scrub(inputs, output, output_dir, log_path, log_format, crosswalk, check, diff, select, ignore, profile_ref,
          profile_dir):
    """Scrub INPUTS (files, folders or globs; '-' for stdin).

    Exit 0 when no error remains, 1 when errors remain (or --check finds
    changes), 2 when an input could not be processed or the usage is wrong.
    """
    from .profiles import ProfileError, build_selector, load_profile
    from .refdata import RefDataError, load_refdata

    paths = _expand(inputs)
    if output and len(paths) != 1:
        raise click.UsageError("-o/--output takes a single input; use --output-dir for several")
    if output and output_dir:
        raise click.UsageError("use either -o/--output or --output-dir")
    if not (output or output_dir or check or diff):
        raise click.UsageError("say where the corrected file goes (-o FILE or --output-dir DIR), or use --check/--diff")
    if profile_ref and profile_dir:
        raise click.UsageError("use either --profile (one profile for every claim) or --profile-dir")
    try:
        refdata = load_refdata(tuple(crosswalk))
    except RefDataError as exc:
        click.echo(f"scrubber: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    try:
        if profile_ref:
            profile, selector = load_profile(profile_ref).with_selection(select, ignore), None
        else:
            profile, selector = build_selector(profile_dir, select, ignore)
    except ProfileError as exc:
        click.echo(f"scrubber: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    scrubber = Scrubber(profile, refdata, selector=selector)
    if output_dir:
        os.makedirs(output_dir, exist_ok=True)

    log_stream = _open_log(log_path)
    log = open_writer(log_format, log_stream) if log_stream else open_writer("text", sys.stderr)
    outcomes = []
    try:
        for path in paths:
            target = output or (os.path.join(output_dir, os.path.basename(path)) if output_dir else None)
            if target and path != STDIO and target != STDIO and _same_file(path, target):
                raise click.UsageError(f"{path}: the output would overwrite the input")
            outcome = scrub_file(scrubber, path, target, log.write, check=check,
                                 diff_to=sys.stdout if diff else None)
            if outcome.status == FAILED and log_stream is not None:
                click.echo(f"scrubber: {outcome.path}: {outcome.error}", err=True)
            outcomes.append(outcome)
    finally:
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


def _open_log(path):
    if path is None:
        return None
    if path == STDIO:
        return sys.stdout
    try:
        return open(path, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise click.UsageError(f"cannot write the log {path}: {exc.strerror}")


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.exists(b) and os.path.samefile(a, b)
    except OSError:
        return False


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules(fmt):
    """List every rule and check, with its code, severity and whether it is fixed."""
    rows = [r.describe() for r in RULES]
    rows += [dict(code=c.code, name=c.name, severity=c.severity, fixable=c.fixable, summary=c.summary, doc=c.summary)
             for c in CHECKS.values()]
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
        click.echo(f"scrubber: {exc}", err=True)
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
        click.echo(f"scrubber: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    if fmt == "json":
        click.echo(json.dumps(profile_dict(profile), indent=2))
    else:
        for line in profile_text(profile):
            click.echo(line)


__all__ = ["main", "FIELD_NAMES", "FORMATS"]
