"""Read one profile document safely and check it against the schema.

The parser expands no entity, loads no DTD and never touches the network.
A document that declares an entity (external or not) is refused before
anything else looks at it.  Every problem is one :class:`ProfileError`
naming the file, the line and the column.
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from ..deps import memo, note_file
from .errors import ProfileError  # noqa: F401 (raised here, and imported from here by callers)

# lxml is imported where a profile is parsed, not with this module: the
# command line imports this package, and lxml.etree costs about 13 ms to
# import, which a run whose profiles need no parsing should not pay.

SCHEMA_PATH = Path(__file__).with_name("profile.xsd")


def _parser():
    from lxml import etree

    return etree.XMLParser(
        resolve_entities=False, load_dtd=False, dtd_validation=False, no_network=True,
        huge_tree=False, remove_blank_text=False, remove_pis=True,
    )


@memo(maxsize=1)
def schema():
    from lxml import etree

    note_file(SCHEMA_PATH)
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH), _parser()))


MAX_PROFILE = 16 << 20  # a profile is a few kilobytes; this many bytes is no profile


def _read(path: Path, display: str) -> bytes:
    """The profile's bytes.  Only a regular file is read: a FIFO (say, named
    ``*.xml`` in a folder of profiles) would make the run wait for a writer
    forever, and a device could be endless."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise ProfileError(display, 1, 1, "not a regular file (a pipe, a device or a socket): refused")
            data = fh.read(MAX_PROFILE + 1)
    except OSError as exc:
        raise ProfileError(display, 1, 1, f"cannot read the profile: {exc.strerror or exc}") from None
    if len(data) > MAX_PROFILE:
        raise ProfileError(display, 1, 1, f"more than {MAX_PROFILE >> 20} MB: not a profile, refused")
    return data


class Document:
    """A parsed, schema-valid profile and its text (for error positions)."""

    def __init__(self, path: Path, display: str):
        from lxml import etree

        self.path = path
        self.display = display
        note_file(path)
        data = _read(path, display)
        self.lines = data.decode("utf-8", "replace").splitlines()
        self._refuse_declared_entities()
        try:
            self.tree = etree.fromstring(data, _parser()).getroottree()
        except etree.XMLSyntaxError as exc:
            line, col = exc.lineno, exc.offset
            raise ProfileError(display, line, col, f"not well-formed XML: {_clean(exc.msg)}") from None
        self._refuse_entities()
        self.root = self.tree.getroot()
        s = schema()
        if not s.validate(self.tree):
            err = s.error_log[0]
            raise ProfileError(display, err.line, err.column or self._column(err.line, err.message),
                               f"does not match the profile schema: {_clean(err.message)}")

    def _refuse_declared_entities(self) -> None:
        """Before the parser sees it: a DOCTYPE whose internal subset declares
        an entity (general or parameter) is refused."""
        text = "\n".join(self.lines)
        doctype = _DOCTYPE.search(text)
        if doctype is None:
            return
        external = re.match(r"<!DOCTYPE\s+\S+\s+(SYSTEM|PUBLIC)\b", doctype.group(0))
        if external:
            line = text.count("\n", 0, doctype.start()) + 1
            col = doctype.start() - (text.rfind("\n", 0, doctype.start()) + 1) + 1
            raise ProfileError(self.display, line, col, f"refers to an external DTD ({external.group(1)}); a profile "
                                                        "takes no DTD: refused, nothing was read from it")
        for m in _ENTITY.finditer(text, doctype.start(), doctype.end()):
            line = text.count("\n", 0, m.start()) + 1
            col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
            name = m.group(2)
            if m.group(3):
                raise ProfileError(self.display, line, col,
                                   f"declares an external entity {name!r} ({m.group(3)} {m.group(4)}); a profile "
                                   "may not declare entities: refused, nothing was read from it")
            raise ProfileError(self.display, line, col,
                               f"declares an entity {name!r}; a profile may not declare entities: refused")

    def _refuse_entities(self) -> None:
        """After the parser: what the text search before it missed (it reads
        the bytes as UTF-8, so a UTF-16 document passes it unseen)."""
        docinfo = self.tree.docinfo
        if docinfo.system_url or docinfo.public_id:
            line, col = self._find("<!DOCTYPE") or (1, 1)
            kind = "PUBLIC" if docinfo.public_id else "SYSTEM"
            raise ProfileError(self.display, line, col, f"refers to an external DTD ({kind}); a profile "
                                                        "takes no DTD: refused, nothing was read from it")
        dtd = docinfo.internalDTD
        if dtd is None:
            return
        for ent in dtd.iterentities():
            line, col = self._find(f"<!ENTITY {ent.name}") or self._find("<!ENTITY") or (1, 1)
            if ent.system_url:
                raise ProfileError(self.display, line, col,
                                   f"declares an external entity {ent.name!r} (SYSTEM {ent.system_url!r}); "
                                   "a profile may not declare entities: refused, nothing was read from it")
            raise ProfileError(self.display, line, col,
                               f"declares an entity {ent.name!r}; a profile may not declare entities: refused")

    # -- positions --------------------------------------------------------------
    def _find(self, needle: str) -> tuple[int, int] | None:
        for n, text in enumerate(self.lines, start=1):
            i = text.find(needle)
            if i >= 0:
                return n, i + 1
        return None

    def _column(self, line: int | None, message: str) -> int:
        """Where on ``line`` the attribute or element a message names is."""
        if not line or line > len(self.lines):
            return 1
        text = self.lines[line - 1]
        m = re.search(r"attribute '([^']+)'", message)
        if m and (i := text.find(m.group(1) + "=")) >= 0:
            return i + 1
        m = re.search(r"Element '([^']+)'", message)
        if m and (i := text.find("<" + m.group(1))) >= 0:
            return i + 1
        return len(text) - len(text.lstrip()) + 1

    def error(self, el, message: str, attribute: str | None = None) -> ProfileError:
        """A :class:`ProfileError` at an element (and one of its attributes)."""
        line = getattr(el, "sourceline", None) or 1
        col = 1
        # the start tag may span lines: look for the attribute on the next few
        for n in range(line, min(line + 6, len(self.lines) + 1)):
            text = self.lines[n - 1]
            if attribute and (i := text.find(attribute + "=")) >= 0:
                return ProfileError(self.display, n, i + 1, message)
            if n == line:
                from lxml import etree

                tag = etree.QName(el).localname if isinstance(el.tag, str) else ""
                i = text.find("<" + tag)
                col = i + 1 if i >= 0 else 1
            if not attribute:
                break
        return ProfileError(self.display, line, col, message)


_DOCTYPE = re.compile(r"<!DOCTYPE[^\[>]*(\[.*?\]\s*)?>", re.S)
_ENTITY = re.compile(r"<!ENTITY\s+(%\s+)?([^\s>]+)(?:\s+(SYSTEM|PUBLIC)\s+(\"[^\"]*\"|'[^']*'))?")


def _clean(msg: str) -> str:
    return re.sub(r"\s+", " ", msg or "").strip().rstrip(".")
