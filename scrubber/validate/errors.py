"""pyx12's error tree, flattened into :class:`RawError` records.

The tree is read from the ``err_handler`` (all errors, as
tests/pyx12_oracle.py does) or, as a fallback, from the JSON report pyx12
writes through its public ``fd_json`` argument (which lacks the element
errors of ISA/GS/ST segments).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_ENVELOPE_TRAILER = {"ISA": "IEA", "GS": "GE", "ST": "SE"}
_REFDES = re.compile(r"\((ISA|IEA|GS|GE|ST|SE)(\d{2})(?:-\d+)?\)")


@dataclass
class RawError:
    """One error of pyx12's error tree, before it becomes a finding."""

    level: str  # isa | gs | st (envelope), seg, ele
    line: int  # pyx12's segment ordinal within the run (1 = the run's first ISA)
    seg_id: str  # the segment pyx12 filed the error under ('' for envelope errors)
    element: str  # e.g. CTP05-1, or '' (segment and envelope errors)
    code: str  # pyx12's error code
    text: str
    value: str | None = None


def _element(seg_id: str, ele_pos, subele_pos) -> str:
    ref = f"{seg_id}{int(ele_pos):02d}"
    if subele_pos is not None:
        ref += f"-{int(subele_pos)}"
    return ref


def errors_from_tree(errh) -> list[RawError]:
    """Flatten pyx12's ``err_handler`` tree (see tests/pyx12_oracle.py)."""
    out: list[RawError] = []
    for isa in errh.children:
        _envelope(out, "isa", isa, isa.cur_line_isa, isa.cur_line_iea)
        for gs in isa.children:
            _envelope(out, "gs", gs, gs.cur_line_gs, gs.cur_line_ge)
            for st in gs.children:
                _envelope(out, "st", st, st.cur_line_st, st.cur_line_se)
                for seg in st.children:
                    line = seg.get_cur_line()
                    for code, msg, val in seg.errors:
                        out.append(RawError("seg", line, seg.seg_id, "", str(code), msg, val))
                    for ele in seg.elements:
                        ref = _element(seg.seg_id, ele.ele_pos, ele.subele_pos)
                        for code, msg, val in ele.errors:
                            out.append(RawError("ele", line, seg.seg_id, ref, str(code), msg, val))
    out.sort(key=lambda e: e.line)  # stable: tree order within a segment
    return out


def _envelope(out: list[RawError], level: str, node, header_line: int, trailer_line: int | None) -> None:
    for code, msg in node.errors:
        out.append(RawError(level, node.get_cur_line(), "", "", str(code), msg))
    # element errors of ISA/IEA (GS/GE, ST/SE) are kept on the loop node,
    # without saying which of the pair: the message names the element
    header = node.id if node.id in _ENVELOPE_TRAILER else level.upper()
    trailer = _ENVELOPE_TRAILER.get(header, "")
    for ele in getattr(node, "elements", ()):
        for code, msg, val in ele.errors:
            m = _REFDES.search(msg or "")
            seg_id = m.group(1) if m else header
            line = trailer_line if (seg_id == trailer and trailer_line) else header_line
            out.append(RawError(level, line, seg_id, _element(seg_id, ele.ele_pos, ele.subele_pos), str(code),
                                msg, val))


def errors_from_json(doc: dict) -> list[RawError]:
    """The same from pyx12's JSON error report (no ISA/GS/ST element errors)."""
    out: list[RawError] = []

    def env(level, node):
        for e in node.get("errors", ()):
            out.append(RawError(level, node["cur_line"], "", "", str(e["err_cde"]), e["err_str"]))

    for isa in doc.get("interchanges", ()):
        env("isa", isa)
        for gs in isa.get("groups", ()):
            env("gs", gs)
            for st in gs.get("transactions", ()):
                env("st", st)
                for seg in st.get("segments", ()):
                    line, seg_id = seg["cur_line"], seg["seg_id"]
                    for e in seg.get("errors", ()):
                        out.append(RawError("seg", line, seg_id, "", str(e["err_cde"]), e["err_str"],
                                            e.get("err_val")))
                    for ele in seg.get("elements", ()):
                        ref = _element(seg_id, ele["ele_pos"], ele.get("subele_pos"))
                        for e in ele.get("errors", ()):
                            out.append(RawError("ele", line, seg_id, ref, str(e["err_cde"]), e["err_str"],
                                                e.get("err_val")))
    out.sort(key=lambda e: e.line)
    return out
