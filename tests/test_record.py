"""The hand-written record classes (scrubber.record) behave as the dataclasses they replace."""
from __future__ import annotations

import copy
import pickle

import pytest

from scrubber.fixes.edit import Delete, InsertAfter, SetValue
from scrubber.record import Frozen, FrozenError, Record, ValueEq, set_field
from scrubber.rules.base import Context, Issue


class Point(Record):
    __slots__ = ("x", "y", "notes")
    _hidden = ("notes",)

    def __init__(self, x: int, y: int = 0, notes: list | None = None):
        self.x = x
        self.y = y
        self.notes = [] if notes is None else notes


class Pair(Frozen, ValueEq):
    __slots__ = ("a", "b")

    def __init__(self, a, b=()):
        set_field(self, "a", a)
        set_field(self, "b", b)


def test_repr_names_the_fields_in_order_without_the_hidden_ones():
    assert repr(Point(1, 2, ["n"])) == "Point(x=1, y=2)"
    assert repr(Pair("a", (1,))) == "Pair(a='a', b=(1,))"


def test_identity_equality_unless_value_eq():
    p = Point(1)
    assert p == p and p != Point(1) and hash(p) == hash(p)
    assert Pair(1, 2) == Pair(1, 2) and Pair(1, 2) != Pair(1, 3) and Pair(1, 2) != (1, 2)
    with pytest.raises(TypeError):
        hash(Pair(1, 2))


def test_mutable_defaults_are_per_instance_and_slots_refuse_other_attributes():
    a, b = Point(1), Point(2)
    a.notes.append("x")
    assert b.notes == []
    with pytest.raises(AttributeError):
        a.z = 1


def test_frozen_refuses_assignment_and_replace_makes_a_copy():
    p = Pair(1, 2)
    with pytest.raises(AttributeError):
        p.a = 3
    with pytest.raises(FrozenError):
        del p.b
    q = p._replace(b=5)
    assert (p.a, p.b, q.a, q.b) == (1, 2, 1, 5)
    with pytest.raises(TypeError):
        p._replace(c=1)


@pytest.mark.parametrize("record", [Point(1, 2, ["n"]), Pair(1, (2,)), Issue("m", original="a", edits=(1,)),
                                    SetValue(None, 1, 2, "v"), InsertAfter(None, (("REF", "EA"),)), Delete(None)])
def test_pickle_and_copy_keep_every_field(record):
    for again in (pickle.loads(pickle.dumps(record)), copy.copy(record)):
        assert type(again) is type(record) and again is not record
        assert again._values() == record._values()


def test_issue_and_edits_are_frozen_and_compare_by_identity():
    issue = Issue("m")
    assert issue != Issue("m") and {issue: 1}[issue] == 1
    with pytest.raises(AttributeError):
        issue.message = "n"
    with pytest.raises(AttributeError):
        SetValue(None, 1, None, "v").value = "w"


def test_context_state_is_per_instance():
    one, two = Context(None, None), Context(None, None)
    one.state["k"] = 1
    assert two.state == {}
    shared: dict = {}
    assert Context(None, None, shared).state is shared


def test_claim_model_lists_are_per_instance_and_positional_order_holds():
    from scrubber.claims.model import EMPTY, Claim, ClaimContext, ServiceLine

    ctx = ClaimContext("P1", "PAYER", "MB")
    one = Claim("837P", None, EMPTY, EMPTY, EMPTY, ctx, 1, "ISA13", "ST02")
    two = Claim("837P", None, EMPTY, EMPTY, EMPTY, ctx, 2)
    one.diagnoses.append("I10")
    one.cache["k"] = 1
    assert (two.diagnoses, two.cache, two.lines, two.segments) == ([], {}, [], [])
    assert (one.ordinal, one.interchange, one.transaction, two.interchange) == (1, "ISA13", "ST02", "")
    assert "cache" not in repr(one) and "claim_id=" in repr(one)
    line = ServiceLine("837P", None, None, [""] * 7, EMPTY, EMPTY, EMPTY, None, None)
    assert (line.line_refs, line.drug_refs, line.segments, line.modifier_codes, line.ndc) == ({}, {}, [], [], EMPTY)
    assert (line.modifiers, line.charge, line.dx_codes, line.service_date_value) == ([EMPTY] * 4, EMPTY, [], EMPTY)
    copied = ctx.copy()
    assert copied is not ctx and copied._values() == ctx._values()


def test_profile_is_frozen_compared_by_value_and_replaced():
    from scrubber.profiles import DEFAULT

    with pytest.raises(AttributeError):
        DEFAULT.name = "other"
    strict = DEFAULT._replace(name="strict", ignore=("NDC",))
    assert (strict.name, strict.ignore, DEFAULT.name, DEFAULT.ignore) == ("strict", ("NDC",), "default", ())
    assert strict != DEFAULT and DEFAULT._replace() == DEFAULT and strict._replace(name="default", ignore=()) == DEFAULT
    assert DEFAULT.with_selection(["NDC"], ["NDC002"]).select == ("NDC",)
    assert pickle.loads(pickle.dumps(strict)) == strict  # Spark ships the profile to its executors
    assert "policy_fields" not in repr(DEFAULT)
    with pytest.raises(TypeError):
        hash(DEFAULT)


def test_stats_and_outcome_pickle_with_their_counts():
    from scrubber.files import Outcome
    from scrubber.pipeline import Stats

    stats = Stats(claims=3)
    stats.findings["NDC001"] += 2
    assert Stats().findings == {}  # a new Counter per instance
    back = pickle.loads(pickle.dumps(Outcome("a.837", "processed", stats, True)))  # a batch worker's result
    assert (back.path, back.changed, back.stats.claims, back.stats.findings) == ("a.837", True, 3, {"NDC001": 2})


def test_the_command_line_creates_no_dataclass_at_import():
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, scrubber.cli\n"
            "mods = [m for n, m in list(sys.modules.items()) if n == 'scrubber' or n.startswith('scrubber.')]\n"
            "print([m.__name__ for m in mods if any(hasattr(v, '__dataclass_fields__') for v in vars(m).values())"
            " or 'dataclasses' in vars(m) or 'dataclass' in vars(m)])\n")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
