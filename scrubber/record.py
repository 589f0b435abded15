"""Plain record classes: what the package used ``@dataclass`` for, without its
cost at start-up.

``@dataclass`` writes each class's methods as source text and runs it with
``exec`` when the module is imported: about a millisecond per class, paid by
every start of the command line (a process per file).  A record here is
written out by hand instead: ``__slots__`` names its fields in order,
``__init__`` is explicit, and :class:`Record` gives what the generated code
gave besides:

* ``repr`` by field, ``Name(a=1, b='x')`` (fields named in ``_hidden`` left out);
* pickling and :func:`copy.copy` by the constructor, with the fields in order
  (so ``__init__`` takes every field, positionally, in ``__slots__`` order).

Opt in to more by deriving from :class:`ValueEq` (equality by the fields'
values, as a dataclass with ``eq=True``; not hashable), :class:`Frozen` (no
assignment after construction, as ``frozen=True``; its ``__init__`` sets
fields with :func:`set_field`; ``_replace`` makes a changed copy, as
:func:`dataclasses.replace`), or both.  Without :class:`ValueEq` a record
compares and hashes by identity.
"""
from __future__ import annotations

from reprlib import recursive_repr

set_field = object.__setattr__  # for the __init__ of a Frozen record


class FrozenError(AttributeError):
    """Assignment to a field of a :class:`Frozen` record."""


class Record:
    __slots__ = ()
    _hidden: tuple[str, ...] = ()  # fields that ``repr`` leaves out

    def _values(self) -> tuple:
        return tuple([getattr(self, name) for name in self.__slots__])

    @recursive_repr()
    def __repr__(self) -> str:
        hidden = self._hidden
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__ if name not in hidden)
        return f"{type(self).__qualname__}({fields})"

    def __reduce__(self):
        return type(self), self._values()


class ValueEq(Record):
    """Equal when of the same class and every field is equal."""

    __slots__ = ()

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return self._values() == other._values()
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable fields: not hashable (as the dataclass)


class Frozen(Record):
    """Fields are set once, by ``__init__`` (with :func:`set_field`)."""

    __slots__ = ()

    def __setattr__(self, name: str, value) -> None:
        raise FrozenError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenError(f"cannot delete field {name!r}")

    def _replace(self, **changes):
        """A copy with ``changes`` made (keyword per field)."""
        values = {name: getattr(self, name) for name in self.__slots__}
        unknown = changes.keys() - values.keys()
        if unknown:
            raise TypeError(f"{type(self).__qualname__} has no field {', '.join(sorted(unknown))}")
        values.update(changes)
        return type(self)(**values)
