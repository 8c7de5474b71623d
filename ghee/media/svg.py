"""Recognising an SVG document from the start of its bytes, in one pass.

An SVG file is text: an optional byte-order mark and XML declaration, then any number of
comments, processing instructions and whitespace, at most one ``<!DOCTYPE svg ...>`` (with
an optional internal subset in brackets), and then the root element ``<svg``. ``read_prolog``
walks exactly that grammar over a bounded prefix, each step moving forward with
``bytes.find`` or a scan that never looks back, so its cost is linear in the prefix whatever
the bytes (a regular expression for the same grammar backtracked catastrophically on nested
comments: issue 20). Anything it does not recognise is not an SVG.

It also reports whether the prolog declares entities (``<!ENTITY`` in the internal subset).
Entity expansion is how an XML file of a few kilobytes becomes gigabytes in whatever parses
it later ("billion laughs", and its quadratic variant needs no nesting at all), and external
entities read files or URLs; ghee refuses such SVGs (``ghee.media.inspection``). An SVG
needs no entities: editors inline them when saving as plain SVG.
"""

from dataclasses import dataclass

BOM = b"\xef\xbb\xbf"
_SPACE = b" \t\r\n"


@dataclass(frozen=True)
class SvgProlog:
    is_svg: bool
    declares_entities: bool = False


NOT_SVG = SvgProlog(False)


def read_prolog(head: bytes) -> SvgProlog:
    """What the prefix ``head`` says: an SVG document (its root element starts within the
    prefix), and whether its prolog declares entities."""
    text = head.lower()  # XML names are case-sensitive; the sniffing has always been lenient
    pos = len(BOM) if text.startswith(BOM) else 0
    seen_doctype = entities = False
    while True:
        pos = _skip_space(text, pos)
        if text.startswith(b"<!--", pos):
            pos = _after(text, b"-->", pos + 4)
        elif text.startswith(b"<?", pos):
            pos = _after(text, b"?>", pos + 2)
        elif text.startswith(b"<!doctype", pos) and not seen_doctype:
            seen_doctype = True
            pos, entities = _doctype(text, pos + len(b"<!doctype"))
        elif text.startswith(b"<svg", pos):
            following = text[pos + 4 : pos + 5]
            if following and following in b" \t\r\n>/":
                return SvgProlog(True, entities)
            return NOT_SVG
        else:
            return NOT_SVG
        if pos < 0:
            return NOT_SVG


def _skip_space(text: bytes, pos: int) -> int:
    while pos < len(text) and text[pos] in _SPACE:
        pos += 1
    return pos


def _after(text: bytes, end: bytes, pos: int) -> int:
    """The position just past the next ``end`` at or after ``pos``; -1 when there is none."""
    found = text.find(end, pos)
    return -1 if found < 0 else found + len(end)


def _doctype(text: bytes, pos: int) -> tuple[int, bool]:
    """Past ``<!doctype``: the position after its closing ``>`` (-1: not an SVG doctype),
    and whether its internal subset declares entities."""
    start = _skip_space(text, pos)
    if start == pos:
        return -1, False
    name_end = start
    while name_end < len(text) and text[name_end] not in b" \t\r\n[>":
        name_end += 1
    name = text[start:name_end]
    if name != b"svg" and not name.endswith(b":svg"):
        return -1, False
    pos, entities = name_end, False
    while pos < len(text):
        char = text[pos]
        if char in b"\"'":  # a public or system identifier
            pos = _after(text, bytes((char,)), pos + 1)
            if pos < 0:
                return -1, False
        elif char == ord("["):
            pos, entities = _internal_subset(text, pos + 1)
            if pos < 0:
                return -1, False
        elif char == ord(">"):
            return pos + 1, entities
        else:
            pos += 1
    return -1, False


def _internal_subset(text: bytes, pos: int) -> tuple[int, bool]:
    """Past ``[``: the position after the closing ``]``, and whether any ``<!ENTITY`` (or a
    parameter-entity reference, which can pull in declarations) occurs in between."""
    entities = False
    while pos < len(text):
        pos = _skip_space(text, pos)
        if text.startswith(b"]", pos):
            return pos + 1, entities
        if text.startswith(b"<!--", pos):
            pos = _after(text, b"-->", pos + 4)
        elif text.startswith(b"<?", pos):
            pos = _after(text, b"?>", pos + 2)
        elif text.startswith(b"<!", pos):
            entities |= text.startswith(b"<!entity", pos)
            pos = _declaration_end(text, pos + 2)
        elif text.startswith(b"%", pos):
            entities = True
            pos = _after(text, b";", pos + 1)
        else:
            return -1, entities
        if pos < 0:
            return -1, entities
    return -1, entities


def _declaration_end(text: bytes, pos: int) -> int:
    """The position after the ``>`` closing a markup declaration; quoted ``>`` do not count."""
    while pos < len(text):
        char = text[pos]
        if char in b"\"'":
            pos = _after(text, bytes((char,)), pos + 1)
            if pos < 0:
                return -1
        elif char == ord(">"):
            return pos + 1
        else:
            pos += 1
    return -1
