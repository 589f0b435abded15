"""Scrub many files on an existing Spark cluster, with the same library call.

::

    from scrubber.spark import scrub_with_spark
    run = scrub_with_spark(spark, "/Volumes/claims/inbox/*.837", "/Volumes/claims/outbox",
                           "/Volumes/claims/findings", profile="medicare")
    run.exit_code   # 0 clean, 1 errors remain, 2 a file could not be processed

How it runs: ``spark.read.format("binaryFile")`` lists and reads the files;
``mapInArrow`` hands each executor Arrow batches of (path, content); each
file is scrubbed there by :class:`scrubber.Scrubber` exactly as
:func:`scrubber.files.scrub_file` does on one machine; the corrected file is
written by the executor to ``output_dir`` under its input's base name, and the
findings come back as rows that Spark writes to ``findings_path`` (Parquet, or
JSON Lines) with exactly the log's columns (:data:`scrubber.findings.FIELD_NAMES`).
No RDD and no SparkContext is used, so it runs on Spark Connect and
Databricks serverless too.

* A file that cannot be processed gives its FILE001 finding and no output
  file, as on the command line.  So does an internal error on one file (on
  the command line that would stop the run; here it must not fail the job).
* ``output_dir`` must be a path every executor can write: a shared mount
  (``/Volumes/...``, ``/dbfs/...``, NFS) or a URI that ``pyarrow.fs``
  understands (``s3://``, ``gs://``, ``abfs://``, ``hdfs://``).  Local paths are
  written atomically (temporary file, fsync, rename); URIs through a temporary
  object that is then moved.  A retried or speculative task rewrites the same
  file with the same bytes, and Spark's commit protocol keeps its findings
  once.
* Many small files: Spark packs files into tasks counting each as at least
  ``spark.sql.files.openCostInBytes`` (default 4 MB), so 10,000 claim files of
  20 KB are planned like 40 GB.  ``open_cost_in_bytes`` (default 256 KB) lowers
  it for this job only, so tasks are sized by real bytes; pass ``None`` to keep
  the session's value (where the setting is not allowed, e.g. on some
  serverless compute, it is left alone).
* Each file is held in memory whole (binaryFile reads a file as one value, up
  to 2 GB): for multi-GB files use the streaming command line instead.
* pyspark is imported lazily: ``import scrubber`` never needs it.
"""
from __future__ import annotations

if __name__ == "__main__" and not __package__:
    # run as a file (spark-submit .../scrubber/spark.py): import the installed
    # package, not the modules of this folder as top-level modules
    import os as _os
    import sys as _sys

    _here = _os.path.dirname(_os.path.abspath(__file__))
    _sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != _here]
    from scrubber.spark import main as _main

    _sys.exit(_main())

import io
import os
import posixpath
import uuid
from dataclasses import dataclass
from typing import Iterable, Iterator
from urllib.parse import unquote

from .findings import ERROR, Finding

__all__ = ["SparkRun", "findings_ddl", "scrub_with_spark", "main"]

FORMATS = ("parquet", "json")
OPEN_COST_CONF = "spark.sql.files.openCostInBytes"
DEFAULT_OPEN_COST = 256 * 1024

_SPARK_TYPES = {"str": "STRING", "int": "BIGINT", "bool": "BOOLEAN"}


def _kind(annotation) -> str:
    # NamedTuple keeps string annotations as typing.ForwardRef
    annotation = getattr(annotation, "__forward_arg__", annotation)
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    base = text.replace(" ", "").replace("|None", "").replace("Optional[", "").rstrip("]")
    if base not in _SPARK_TYPES:
        raise TypeError(f"Finding field type {text!r} has no Spark column type")
    return base


def findings_ddl() -> str:
    """The Spark schema of the findings dataset, as DDL: the log's columns, in order."""
    return ", ".join(f"{name} {_SPARK_TYPES[_kind(Finding.__annotations__[name])]}" for name in Finding._fields)


def _arrow_schema():
    import pyarrow as pa

    types = {"str": pa.string(), "int": pa.int64(), "bool": pa.bool_()}
    return pa.schema([pa.field(name, types[_kind(Finding.__annotations__[name])]) for name in Finding._fields])


@dataclass
class SparkRun:
    """What a :func:`scrub_with_spark` job did, counted from its findings dataset."""

    files: int  # input files listed
    failed: int  # files that could not be processed (FILE001)
    findings: int
    errors_remaining: int  # errors not fixed, FILE001 included

    @property
    def exit_code(self) -> int:
        """As the command line: 2 a file failed, 1 errors remain, 0 clean."""
        return 2 if self.failed else 1 if self.errors_remaining else 0


def scrub_with_spark(spark, input_glob: str | Iterable[str], output_dir: str | None, findings_path: str, *,
                     fmt: str = "parquet", profile=None, crosswalks: Iterable[str] = (),
                     mode: str = "errorifexists", open_cost_in_bytes: int | None = DEFAULT_OPEN_COST) -> SparkRun:
    """Scrub every file matched by ``input_glob`` (a folder, a glob, or a list
    of them) on ``spark``.

    Corrected files go to ``output_dir`` (same base name; None: write none).
    Findings go to ``findings_path`` as a ``fmt`` dataset ("parquet" or
    "json"), written with Spark's save ``mode`` (default: fail if it exists).
    ``profile``: a :class:`scrubber.profiles.Profile`, a shipped profile name or
    an XML path (read on the driver), or None for the per-claim choice among
    the shipped profiles, as ``scrubber scrub`` without ``--profile``.  ``crosswalks``: CMS crosswalk CSVs, read on the
    driver and shipped to the executors.

    Raises ValueError for a bad ``fmt`` or two inputs with the same base name
    (their outputs would overwrite each other), and the loaders' errors
    (ProfileError, RefDataError) for a bad profile or crosswalk, before any
    file is touched.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, not {fmt!r}")
    job = _FileScrubber(output_dir, *_resolve_profile(profile), *_refdata_state(tuple(crosswalks)))
    paths = [input_glob] if isinstance(input_glob, str) else list(input_glob)
    files = spark.read.format("binaryFile").load(paths)
    listed = files.inputFiles()
    if output_dir is not None:
        _check_names(listed)
        _make_dir(output_dir)

    rows = files.select("path", "content").mapInArrow(job, findings_ddl())
    with _conf(spark, OPEN_COST_CONF, open_cost_in_bytes):
        rows.write.mode(mode).format(fmt).save(findings_path)
    return _summary(spark, findings_path, fmt, len(listed))


# -- driver side -----------------------------------------------------------------------
def _resolve_profile(profile) -> tuple:
    """(profile, selector): one profile for every claim, or (None given) the
    per-claim choice by payer id and filing indicator, as the command line."""
    if isinstance(profile, str):
        from .profiles import load_profile

        return load_profile(profile), None
    if profile is None:
        from .profiles import build_selector

        return build_selector()
    return profile, None


def _refdata_state(crosswalks: tuple) -> tuple:
    """What the executors need to rebuild the reference data: nothing for the
    bundled data, else its rows (RefData itself does not pickle)."""
    if not crosswalks:
        return (None,)
    from .refdata import load_refdata

    refdata = load_refdata(crosswalks)
    return ((uuid.uuid4().hex, refdata.entries, dict(refdata.drugs)),)


def _check_names(listed: list[str]) -> None:
    """``inputFiles()`` gives URIs (percent-encoded, unlike the path column)."""
    seen: dict[str, str] = {}
    for uri in listed:
        name = posixpath.basename(unquote(uri.split("://", 1)[-1] if "://" in uri else uri))
        other = seen.setdefault(name, uri)
        if other != uri:
            raise ValueError(f"two inputs have the base name {name!r} ({other}, {uri}): "
                             "their corrected files would overwrite each other in the output folder")


def _make_dir(output_dir: str) -> None:
    fs, base = _filesystem(output_dir)
    if fs is None:
        os.makedirs(base, exist_ok=True)
    else:
        fs.create_dir(base, recursive=True)


class _conf:
    """Set a session conf for one job, then put the old value back."""

    def __init__(self, spark, key: str, value):
        self.spark, self.key, self.value = spark, key, value
        self.old = self.set = None

    def __enter__(self):
        if self.value is None:
            return self
        try:
            self.old = self.spark.conf.get(self.key, None)
            self.spark.conf.set(self.key, str(self.value))
            self.set = True
        except Exception:  # not settable here (e.g. restricted serverless configuration)
            self.set = False
        return self

    def __exit__(self, *exc):
        if self.set:
            try:
                if self.old is None:
                    self.spark.conf.unset(self.key)
                else:
                    self.spark.conf.set(self.key, self.old)
            except Exception:  # pragma: no cover - best effort
                pass
        return False


def _summary(spark, findings_path: str, fmt: str, files: int) -> SparkRun:
    from pyspark.sql import functions as F

    back = spark.read.schema(findings_ddl()).format(fmt).load(findings_path)
    row = back.agg(
        F.count(F.lit(1)).alias("n"),
        F.sum(F.when(F.col("code") == "FILE001", 1).otherwise(0)).alias("failed"),
        F.sum(F.when((F.col("severity") == ERROR) & ~F.col("fixed"), 1).otherwise(0)).alias("errors"),
    ).first()
    return SparkRun(files, int(row["failed"] or 0), int(row["n"] or 0), int(row["errors"] or 0))


# -- executor side ---------------------------------------------------------------------
def local_name(path: str) -> str:
    """The name a file is logged under: a plain path for a ``file:`` path as
    Spark's ``path`` column gives it (Hadoop's Path text: not percent-encoded),
    else the path as given (``s3a://...``, ``dbfs:/...``)."""
    if path.startswith("file:"):
        rest = path[5:]
        if rest.startswith("//"):  # file:///tmp/x or file://host/tmp/x
            slash = rest.find("/", 2)
            rest = rest[slash:] if slash >= 0 else "/"
        return rest
    return path


def _filesystem(output_dir: str):
    """(None, local path) or (pyarrow filesystem, path in it)."""
    if output_dir.startswith("file:"):
        return None, local_name(output_dir)
    if "://" in output_dir:
        from pyarrow import fs as pafs

        return pafs.FileSystem.from_uri(output_dir)
    return None, os.path.abspath(output_dir)


_REFDATA_CACHE: dict = {}


class _FileScrubber:
    """The function ``mapInArrow`` runs on the executors (pickled with its
    settings; the reference data is rebuilt once per Python worker)."""

    def __init__(self, output_dir: str | None, profile, selector, refdata_state):
        self.output_dir = output_dir
        self.profile = profile
        self.selector = selector
        self.refdata_state = refdata_state

    def _refdata(self):
        from .refdata import RefData, load_refdata

        if self.refdata_state is None:
            return load_refdata()
        token, entries, drugs = self.refdata_state
        refdata = _REFDATA_CACHE.get(token)
        if refdata is None:
            _REFDATA_CACHE.clear()
            refdata = _REFDATA_CACHE[token] = RefData(entries, drugs)
        return refdata

    def __call__(self, batches: Iterator) -> Iterator:
        import pyarrow as pa

        from .pipeline import Scrubber

        schema = _arrow_schema()
        scrubber = Scrubber(self.profile, self._refdata(), selector=self.selector)
        target = _filesystem(self.output_dir) if self.output_dir is not None else None
        for batch in batches:
            paths = batch.column("path").to_pylist()
            contents = batch.column("content")
            rows: list[dict] = []
            for i, uri in enumerate(paths):
                found = scrub_content(scrubber, local_name(uri), contents[i].as_py() or b"", target)
                rows.extend(f.to_dict() for f in found)
            yield pa.RecordBatch.from_pylist(rows, schema=schema)


def scrub_content(scrubber, name: str, content: bytes, target=None) -> list[Finding]:
    """Scrub one file's bytes as :func:`scrubber.files.scrub_file` does: its
    findings when the whole file was read, and the corrected bytes written to
    ``target`` (see :func:`_filesystem`) under the base name of ``name``; else
    one FILE001 finding and no output."""
    from .files import failed_outcome, where_text  # the one place that words FILE001
    from .x12.tokenizer import X12Error

    scrubber.file = name
    found: list[Finding] = []
    out = io.BytesIO()
    try:
        scrubber.scrub_stream(io.BytesIO(content), out, found.append)
    except X12Error as exc:
        found = []
        failed_outcome(scrubber, name, found.append, where_text(exc), exc.segment_index)
        return found
    except MemoryError:
        found = []
        failed_outcome(scrubber, name, found.append, "out of memory while reading", None)
        return found
    except Exception as exc:  # a bug on one file must not fail the whole job
        found = []
        failed_outcome(scrubber, name, found.append, f"internal error: {type(exc).__name__}: {exc}", None)
        return found
    if target is not None:
        _write(target, posixpath.basename(name), out.getvalue())
    return found


def _write(target, base_name: str, data: bytes) -> None:
    fs, folder = target
    if fs is None:
        from .files import atomic_write

        atomic_write(os.path.join(folder, base_name), lambda fh: fh.write(data))
        return
    final = f"{folder.rstrip('/')}/{base_name}"
    tmp = f"{folder.rstrip('/')}/.{base_name}.{uuid.uuid4().hex}.tmp"
    with fs.open_output_stream(tmp) as fh:
        fh.write(data)
    fs.move(tmp, final)


# -- command line ------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """``python -m scrubber.spark`` / ``spark-submit .../scrubber/spark.py``:
    INPUT... OUTPUT_DIR FINDINGS_PATH, on the session Spark gives
    (``SparkSession.builder.getOrCreate()``)."""
    import argparse

    p = argparse.ArgumentParser(prog="scrubber.spark", description="Scrub X12 837 files on a Spark cluster.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders or globs (any Hadoop/Spark path)")
    p.add_argument("output_dir", help="folder for the corrected files (shared by every executor)")
    p.add_argument("findings_path", help="where the findings dataset is written")
    p.add_argument("--format", dest="fmt", choices=FORMATS, default="parquet")
    p.add_argument("--profile", metavar="NAME|PATH")
    p.add_argument("--crosswalk", action="append", default=[], metavar="CSV")
    p.add_argument("--mode", default="errorifexists", help="Spark save mode for the findings (e.g. overwrite)")
    p.add_argument("--open-cost-bytes", type=int, default=DEFAULT_OPEN_COST,
                   help=f"{OPEN_COST_CONF} for this job; 0 keeps the session's value")
    args = p.parse_args(argv)

    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("scrubber").getOrCreate()
    run = scrub_with_spark(spark, args.inputs, args.output_dir, args.findings_path, fmt=args.fmt,
                           profile=args.profile, crosswalks=args.crosswalk, mode=args.mode,
                           open_cost_in_bytes=args.open_cost_bytes or None)
    print(f"scrubber: {run.files} files, {run.failed} not processed, {run.findings} findings, "
          f"{run.errors_remaining} errors remain")
    return run.exit_code


if __name__ == "__main__":
    import sys

    sys.exit(main())
