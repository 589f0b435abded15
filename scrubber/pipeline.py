"""The library call: scrub one X12 stream into a corrected stream and findings.

Data flow, in one direction::

    bytes -> x12.tokenize -> claims.ClaimStream -> rules -> fixes -> x12.Envelope -> output

Segments outside claims are written as received.  Each claim is checked, its
fixable findings applied, and checked again until nothing more changes (a
bounded loop), then written.  Memory is bounded by the largest claim.
"""
from __future__ import annotations

import io
from collections import Counter
from decimal import Decimal
from typing import BinaryIO, Callable

from .claims.model import Claim
from .claims.bulk import BlockScanner
from .claims.walker import ClaimStream, PendingClaim, build_claim, describe_transaction
from .findings import ERROR, INFO, Finding
from .fixes.apply import apply_groups, rewrite
from .output import DirectOutput, SplitOutput
from .fixes.edit import InsertAfter
from .profiles import DEFAULT, Profile
from .record import Record
from .rules import RULES, Context, Issue
from .rules.scope import drug_codes, has_drug_line
from .x12.envelope import CHECKS, Envelope, Problem
from .x12.tokenizer import Block, Segment, Tokenizer, X12Error

MAX_PASSES = 6
_TRAILERS = frozenset({"SE", "GE", "IEA"})

NOTICES = {
    "TXN001": ("info", "A transaction that is not a 5010 837P or 837I is passed through unchecked (only a wrong "
                       "envelope count in it is fixed, and logged)."),
    "TXN002": ("error", "The file holds no 5010 837P or 837I transaction: nothing in it was checked (it is "
                        "passed through unchecked)."),
    "INT001": ("error", "A rule failed on this claim; the claim is passed through unchanged."),
}


class Stats(Record):
    """The counts of one scrub."""

    __slots__ = ("bytes_in", "bytes_out", "segments", "claims", "lines", "drug_lines", "lines_fixed",
                 "jw_units_added", "jw_charges_added", "findings", "errors_remaining", "fixes")

    def __init__(self, bytes_in: int = 0, bytes_out: int = 0, segments: int = 0, claims: int = 0, lines: int = 0,
                 drug_lines: int = 0, lines_fixed: int = 0, jw_units_added: int = 0,
                 jw_charges_added: Decimal = Decimal(0), findings: Counter | None = None, errors_remaining: int = 0,
                 fixes: int = 0):
        self.bytes_in = bytes_in
        self.bytes_out = bytes_out
        self.segments = segments
        self.claims = claims
        self.lines = lines
        self.drug_lines = drug_lines
        self.lines_fixed = lines_fixed
        self.jw_units_added = jw_units_added
        self.jw_charges_added = jw_charges_added  # the waste revenue recovered
        self.findings = Counter() if findings is None else findings
        self.errors_remaining = errors_remaining
        self.fixes = fixes


class Result(Record):
    """The corrected bytes of one scrubbed stream, its findings and counts."""

    __slots__ = ("corrected", "findings", "stats")

    def __init__(self, corrected: bytes, findings: list[Finding], stats: Stats):
        self.corrected = corrected
        self.findings = findings
        self.stats = stats

    @property
    def changed(self) -> bool:
        return self.stats.fixes > 0

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.remains]


class Scrubber:
    """Scrub streams with one profile and one set of reference data."""

    def __init__(self, profile: Profile | None = None, refdata=None, file: str = "", selector=None):
        """``profile`` judges every claim; or ``selector(context) -> Profile``
        chooses one per claim from its payer id and filing indicator."""
        from .refdata import load_refdata

        self.profile = profile or DEFAULT
        self.selector = selector
        self.refdata = refdata if refdata is not None else load_refdata()
        self.file = file
        self.state: dict = {}  # cross-claim state of the rules, per scrubbed stream
        self._rules: dict[int, list] = {}
        self._codes: dict[int, frozenset] = {}

    def rules_for(self, profile: Profile) -> list:
        rules = self._rules.get(id(profile))
        if rules is None:
            rules = self._rules[id(profile)] = [r() for r in RULES
                                                if profile.rule_enabled(r.code) and r.applies_to(profile)]
        return rules

    def block_scanner(self) -> BlockScanner | None:
        """The bulk lane for subscriber loops without drug lines, with every
        code any profile of this run treats as a drug (None: every claim the
        ordinary way)."""
        profiles = [self.profile]
        if self.selector is not None:
            candidates = getattr(self.selector, "candidates", None)
            if candidates is None:
                return None  # an unknown selector: its profiles are not known
            profiles += [*candidates, getattr(self.selector, "default", self.profile)]
        codes = frozenset().union(*(self.drug_codes_for(p) for p in profiles))
        return BlockScanner(codes)

    def drug_codes_for(self, profile: Profile) -> frozenset:
        codes = self._codes.get(id(profile))
        if codes is None:
            codes = self._codes[id(profile)] = drug_codes(self.refdata, profile)
        return codes

    def profile_for(self, context) -> Profile:
        return self.selector(context) if self.selector is not None else self.profile

    # -- public ---------------------------------------------------------------
    def scrub(self, data: bytes | BinaryIO) -> Result:
        if isinstance(data, (bytes, bytearray)):
            inp = io.BytesIO(data)
        elif isinstance(data, memoryview):
            inp = io.BytesIO(data if data.contiguous else data.tobytes())
        elif isinstance(data, (str, io.TextIOBase)) or not callable(getattr(data, "read", None)):
            raise TypeError(f"scrub() takes the file's bytes or a binary stream, not {type(data).__name__}")
        else:
            inp = data
        out = io.BytesIO()
        findings: list[Finding] = []
        stats = self.scrub_stream(inp, out, findings.append)
        return Result(out.getvalue(), findings, stats)

    def scrub_stream(self, inp: BinaryIO, out: BinaryIO, sink: Callable[[Finding], None],
                     rejects: BinaryIO | None = None) -> Stats:
        """Scrub ``inp`` into ``out``, passing each finding to ``sink``.

        With ``rejects``, every claim that still has an error after fixing goes
        there instead, and both outputs are valid interchanges of their own.
        Raises :class:`X12Error` when the input cannot be read as X12; what
        was written to the outputs by then must be discarded by the caller.
        """
        stats = Stats()
        self.state = {}
        run = _Run(self, out, sink, stats, rejects)
        tok = Tokenizer(inp)
        stream = run.stream
        feed = stream.feed
        put = run.put
        notes = tok.notes
        bulk = self.block_scanner() if rejects is None else None
        n = 0
        for seg in tok:
            if seg.__class__ is Block:
                run.block(seg)
                n += seg.count
                continue
            n += 1
            if notes:
                run.tokenizer_notes(notes)
            done, passthrough = feed(seg)
            if done is not None:
                run.claim(done)
            if passthrough:  # only a segment outside a claim can open or close a transaction
                put(seg)
                tok.bulk = bulk if stream.kind is not None else None
        stats.segments = n
        if notes:
            run.tokenizer_notes(notes)
        last = run.stream.flush()
        if last is not None:
            run.claim(last)
        run.finish()
        stats.bytes_in = tok.bytes_read
        return stats

    # -- checking one claim --------------------------------------------------
    def check_claim(self, pending: PendingClaim, profile: Profile | None = None,
                    ) -> tuple[Claim, list[tuple[Issue, str, bool, Claim]]]:
        """Check and fix one claim.  Returns the corrected claim (its
        ``segments`` are the output) and its findings as (issue, code, fixed,
        claim-as-checked).  Fixes are applied and the claim checked again
        until nothing is left to fix; after MAX_PASSES what is left is
        reported unfixed.  ``profile``: the claim's profile, when the
        caller has chosen it already."""
        profile = profile or self.profile_for(pending.context)
        ctx = Context(self.refdata, profile, self.state)
        rules = self.rules_for(profile)
        segments = pending.segments
        reported: list[tuple[Issue, str, bool, Claim]] = []
        for attempt in range(MAX_PASSES + 1):
            claim = build_claim(pending, segments=segments)
            issues = self._run_rules(rules, claim, ctx)
            fixable = [(i, c) for i, c in issues if i.edits] if attempt < MAX_PASSES else []
            if not fixable:
                reported.extend((i, c, False, claim) for i, c in issues)
                return claim, reported
            fixable = _this_pass(fixable)
            segments, applied = apply_groups(segments, [i.edits for i, _ in fixable])
            for pos in applied:
                issue, code = fixable[pos]
                reported.append((issue, code, True, claim))
        raise AssertionError("unreachable")  # pragma: no cover

    def _run_rules(self, rules: list, claim: Claim, ctx: Context) -> list[tuple[Issue, str]]:
        found: list[tuple[Issue, str]] = []
        for rule in rules:
            try:
                for issue in rule.check(claim, ctx):
                    found.append((issue, rule.code))
            except Exception as exc:  # a rule bug must not stop the file
                # (the exception's type only: its text may quote a value of the claim)
                found.append((Issue(f"rule {rule.code} failed: {type(exc).__name__}", segment=claim.clm),
                              "INT001"))
        return found


class _Run:
    """The state of one scrub of one stream."""

    def __init__(self, scrubber: Scrubber, out: BinaryIO, sink, stats: Stats, rejects: BinaryIO | None = None):
        self.s = scrubber
        self.sink = sink
        self.stats = stats
        self.stream = ClaimStream()
        self.env = Envelope()  # checks the input's envelopes; reports and fixes
        self.output = DirectOutput(out.write) if rejects is None else SplitOutput(out.write, rejects.write)
        self.claim_transactions = 0  # 5010 837P/837I transactions seen
        self.other_transaction: Segment | None = None  # the first ST of any other kind

    # -- emitting ------------------------------------------------------------
    def emit(self, f: Finding) -> None:
        self.stats.findings[f.code] += 1
        if f.remains:
            self.stats.errors_remaining += 1
        if f.fixed:
            self.stats.fixes += 1
        self.sink(f)

    def finding(self, code: str, severity: str, message: str, seg: Segment | None, where=None, **kw) -> Finding:
        interchange, transaction = where or (self.env.interchange, self.env.transaction)
        return Finding(
            code=code, severity=severity, message=message, file=self.s.file,
            interchange=interchange, transaction=transaction,
            segment=seg.tag if seg is not None else "",
            segment_index=(seg.received.index if seg is not None else None),
            profile=self.s.profile.name, **kw,
        )

    def problem(self, p: Problem, where=None) -> None:
        sev = self.s.profile.severity(p.code, CHECKS[p.code].severity)
        self.emit(self.finding(p.code, sev, p.message, p.segment, where, element=p.element, original=p.original,
                               corrected=p.corrected, fixed=p.fixed))

    def tokenizer_notes(self, notes: list) -> None:
        for code, index, offset, message in notes:
            self.emit(Finding(code=code, severity=CHECKS[code].severity, message=f"{message} (byte {offset})",
                              file=self.s.file, segment_index=index, profile=self.s.profile.name))
        notes.clear()

    def block(self, block: Block) -> None:
        """Segments vouched for by the bulk lane, counted and written as
        received: subscriber loops without a drug line, or the header of one
        with a drug line (whose hierarchy its claims take)."""
        stream = self.stream
        done = stream.flush()
        if done is not None:
            self.claim(done)
        run = block.info
        if run.header:
            stream.hierarchy(block.contents(), block.delims.element)
        else:
            stream.claims_seen += run.claims
            self.stats.claims += run.claims
        self.env.count_body(block.count)
        self.output.raw(block.raw)

    def claim(self, pending: PendingClaim) -> None:
        st = self.stats
        st.claims += 1
        scrubber = self.s
        profile = scrubber.profile_for(pending.context)
        codes = scrubber.drug_codes_for(profile)
        if not has_drug_line(pending.segments, codes):
            self.put_claim(pending.segments)
            return
        final, reported = scrubber.check_claim(pending, profile)
        segments = final.segments
        rejected = any_fixed = False
        fixed_lines = set()
        for issue, code, fixed, claim in reported:
            f = self.issue_finding(issue, code, fixed, claim, profile)
            rejected = rejected or f.remains
            if fixed:
                any_fixed = True
                if issue.line is not None:
                    fixed_lines.add(id(issue.line))
            self.emit(f)
        st.lines += len(final.lines)
        st.drug_lines += sum(1 for ln in final.lines if ln.lin is not None or ln.code.text in codes)
        removed = 0
        if any_fixed:  # only a fix inserts or removes segments
            st.lines_fixed += len(fixed_lines)
            units, charges = _jw_added(segments)
            st.jw_units_added += units
            st.jw_charges_added += charges
            removed = sum(1 for s in pending.segments if s.index) - sum(1 for s in segments if not s.inserted)
        self.put_claim(segments, rejected)
        if removed:
            self.env.removed(removed)

    def issue_finding(self, issue: Issue, code: str, fixed: bool, claim: Claim, profile: Profile) -> Finding:
        rule = RULES.get(code)
        default = rule.severity if rule else NOTICES.get(code, (ERROR,))[0]
        severity = issue.severity or profile.severity(code, default)
        seg = issue.where
        line = issue.line
        message = issue.message
        inserted = (seg is not None and seg.inserted) or (line is not None and line.lx.inserted)
        if inserted:  # not in the input: no input position to name
            message += " (on a line the scrubber inserted)"
        return Finding(
            code=code, severity=severity, message=message, file=self.s.file,
            interchange=claim.interchange, transaction=claim.transaction,
            claim_id=claim.clm.received.element(1), claim_index=claim.ordinal,
            line_number=line.received_number if line is not None and not inserted else "",
            segment=seg.tag if seg is not None else "",
            segment_index=seg.received.index if seg is not None and not inserted else None,
            element=issue.ref.name if issue.ref is not None else "",
            original=issue.original, corrected=issue.corrected, fixed=fixed,
            profile=profile.name,
        )

    def put(self, seg: Segment) -> None:
        """Check one output segment's envelope, fix its trailer if needed, write it."""
        env = self.env
        tag = seg.tag
        if tag in _TRAILERS:
            where = (env.interchange, env.transaction)  # before the trailer closes them
        problems = env.feed(seg)
        if problems:
            edits = [e for p in problems for e in p.edits]
            if edits:
                seg = rewrite(seg, edits)
            for p in problems:
                self.problem(p, where if tag in _TRAILERS else None)
        if tag == "ST":
            if self.stream.kind is not None:
                self.claim_transactions += 1
            else:
                self.other_transaction = self.other_transaction or seg
                self.emit(self.finding("TXN001", INFO, f"transaction set {describe_transaction(self.stream.gs, seg)} "
                                       "is not a 5010 837P/837I: passed through unchecked", seg))
        self.output.segment(seg, self.stream.kind)

    def put_claim(self, segments: list[Segment], rejected: bool = False) -> None:
        """Write a claim's segments (no envelope segment can be among them)."""
        odd = self.env.feed_body(segments)
        if odd:  # an empty or ill-named segment: the envelope reports it
            for p in odd:
                self.problem(p)
        self.output.claim(segments, rejected)

    def finish(self) -> None:
        for p in self.env.finish():
            self.problem(p)
        st = self.other_transaction
        if st is not None and not self.claim_transactions:  # not a claim file: a person must look
            self.emit(self.finding("TXN002", self.s.profile.severity("TXN002", ERROR), "no 5010 837P or 837I transaction in the file: nothing was "
                                   "checked, and it is passed through", st))
        self.output.flush()
        self.stats.bytes_out = self.output.bytes


def _this_pass(fixable: list[tuple[Issue, str]]) -> list[tuple[Issue, str]]:
    """The fixes to apply in this pass.  A fix that inserts segments (a JW
    line copies its line) waits until the other fixes of its line are in, so
    the copy is made from corrected values."""
    def inserts(issue: Issue) -> bool:
        return any(isinstance(e, InsertAfter) for e in issue.edits)

    plain = [(i, c) for i, c in fixable if not inserts(i)]
    busy = {id(i.line) for i, _ in plain if i.line is not None}
    return plain + [(i, c) for i, c in fixable if inserts(i) and id(i.line) not in busy]


def _jw_added(after: list[Segment]) -> tuple[int, Decimal]:
    """Units and charges on the JW lines the scrubber inserted."""
    units, charges = 0, Decimal(0)
    for seg in after:
        if seg.inserted and seg.tag in ("SV1", "SV2"):
            el = 1 if seg.tag == "SV1" else 2
            if "JW" in seg.components(el)[2:6]:
                try:
                    units += int(Decimal(seg.element(el + 3)))
                    charges += Decimal(seg.element(el + 1) or 0)
                except (ArithmeticError, ValueError):
                    pass
    return units, charges


def scrub(data: bytes | BinaryIO, profile: Profile | None = None, refdata=None, file: str = "") -> Result:
    """Scrub one X12 file held in memory (or a binary stream): the library call."""
    return Scrubber(profile, refdata, file).scrub(data)


__all__ = ["scrub", "Scrubber", "Result", "Stats", "X12Error", "NOTICES"]
