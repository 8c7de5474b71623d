"""Pathological files for the media checks (issue 20): each built in memory, in well under a
second, by name. ``tests/media/test_hostile_media.py`` uploads them; ``bench/
hostile_media_bench.py`` times them.

Each entry says what a correct answer is: ``"refused"`` (a 4xx), ``"accepted"`` (harmless:
stored as it is, never parsed), or ``"either"``.
"""

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image


@dataclass(frozen=True)
class Hostile:
    name: str
    filename: str
    build: Callable[[], bytes]
    expect: str  # "refused", "accepted" or "either"
    detail: str = ""  # a part of the 400's message, when refused


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def _png(width: int, height: int, idat: bytes, before_idat: bytes = b"") -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + before_idat
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def zlib_bomb_png(width: int = 6000, height: int = 6000) -> bytes:
    """A valid RGB PNG of ``width`` x ``height`` black pixels: 36 megapixels (108 MB of
    pixels) in about 100 KB. Its scanlines are compressed once and repeated inside one
    zlib stream, so building it costs milliseconds."""
    row = b"\0" * (1 + width * 3)
    compressor = zlib.compressobj(9)
    block = compressor.compress(row * 64) + compressor.flush(zlib.Z_FULL_FLUSH)
    rows, out = height, []
    while rows >= 64:
        out.append(block)
        rows -= 64
    out.append(compressor.compress(row * rows) + compressor.flush())
    return _png(width, height, b"".join(out))


def many_chunks_png(count: int = 2_000_000) -> bytes:
    """A 4 x 4 PNG preceded by ``count`` empty ancillary chunks (12 bytes each): Pillow
    walks them one by one in Python."""
    tiny = zlib.compress(b"\0" * (4 * (1 + 4 * 3)))
    return _png(4, 4, tiny, before_idat=_png_chunk(b"abCd", b"") * count)


def many_markers_jpeg(count: int = 5_000_000) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "JPEG")
    jpeg = out.getvalue()
    return jpeg[:2] + b"\xff\xfe\x00\x02" * count + jpeg[2:]  # empty COM segments


def many_blocks_gif(count: int = 4_000_000) -> bytes:
    out = io.BytesIO()
    Image.new("P", (4, 4)).save(out, "GIF")
    gif = out.getvalue()
    start = gif.index(b",")  # the image descriptor, after the header and colour table
    return gif[:start] + b"\x21\xfe\x01a\x00" * count + gif[start:]  # comment extensions


def nested_comments_svg(depth: int = 40) -> bytes:
    """Issue 20's reproduction: 40 took a backtracking regex forever."""
    return b"<!--" + b"<!---->" * depth + b"x"


def huge_attributes_svg(count: int = 500_000) -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg" ' + b'a="1" ' * count + b"/>"


def deep_nesting_svg(depth: int = 500_000) -> bytes:
    return (
        b'<svg xmlns="http://www.w3.org/2000/svg">' + b"<g>" * depth + b"</g>" * depth + b"</svg>"
    )


def billion_laughs_svg() -> bytes:
    entities = b'<!ENTITY l0 "ha">' + b"".join(
        b'<!ENTITY l%d "%s">' % (i, b"&l%d;" % (i - 1) * 10) for i in range(1, 10)
    )
    return b'<?xml version="1.0"?><!DOCTYPE svg [' + entities + b"]><svg>&l9;</svg>"


def quadratic_blowup_svg() -> bytes:
    return (
        b'<!DOCTYPE svg [<!ENTITY a "' + b"x" * 10_000 + b'">]><svg>' + b"&a;" * 100_000 + b"</svg>"
    )


def external_entity_svg() -> bytes:
    return b'<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>'


def long_prolog_svg() -> bytes:
    return b"<?xml " + b" " * 100_000 + b"?><svg/>"


def unclosed_quotes_svg() -> bytes:
    return b"<!DOCTYPE svg " + b'"a" ' * 50_000 + b"<svg/>"


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


_DOCX_PARTS = {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"}


@dataclass(frozen=True)
class _Entry:
    name: str
    data: bytes  # as stored (deflated when ``method`` is 8)
    crc: int
    size: int  # what the entry declares it unpacks to
    method: int = zipfile.ZIP_DEFLATED


def _stored(name: str, data: bytes) -> _Entry:
    return _Entry(name, data, zlib.crc32(data), len(data), zipfile.ZIP_STORED)


def _raw_zip(entries: list[_Entry]) -> bytes:
    """A ZIP laid out by hand (``zipfile`` takes seconds for 200,000 entries, and cannot
    write an entry that lies about its size); ZIP64 end records past 65,535 entries."""
    local, central, offset = [], [], 0
    for entry in entries:
        raw = entry.name.encode()
        sizes = (entry.crc, len(entry.data), entry.size, len(raw))
        header = struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, entry.method, 0, 0, *sizes, 0)
        local.append(header + raw + entry.data)
        central.append(
            struct.pack(
                "<4s6H3I5H2I",
                b"PK\x01\x02",
                20,
                20,
                0,
                entry.method,
                0,
                0,
                *sizes,
                0,
                0,
                0,
                0,
                0,
                offset,
            )
        )
        central.append(raw)
        offset += len(header) + len(raw) + len(entry.data)
    directory = b"".join(central)
    count, zip64 = len(entries), b""
    if count > 0xFFFF:  # the counts live in a ZIP64 end record, as zipfile writes them
        zip64 = struct.pack(
            "<4sQ2H2I4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(directory), offset
        ) + struct.pack("<4sIQI", b"PK\x06\x07", 0, offset + len(directory), 1)
        count = 0xFFFF
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, count, count, len(directory), offset, 0)
    return b"".join(local) + directory + zip64 + end


def _zeros_deflated(mib: int, prefix: bytes = b"") -> tuple[bytes, int]:
    """A raw deflate stream of ``prefix`` and ``mib`` MiB of zeros, and its CRC: one
    compressed MiB repeated, so building 300 MiB costs milliseconds."""
    stream = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = b"\0" * (1024 * 1024)
    head = stream.compress(prefix) + stream.flush(zlib.Z_FULL_FLUSH)
    one = stream.compress(block) + stream.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(prefix)
    for _ in range(mib):
        crc = zlib.crc32(block, crc)
    return head + one * mib + stream.flush(), crc


def many_entries_docx(count: int = 200_000) -> bytes:
    """A DOCX with ``count`` entries, all but two of them empty."""
    parts = [_stored(name, data) for name, data in _DOCX_PARTS.items()]
    return _raw_zip(parts + [_stored(f"e{i}", b"") for i in range(count - len(parts))])


def understated_entries_docx(count: int = 20_000) -> bytes:
    """``count`` entries whose end record says there are 2: only walking the directory
    finds the rest."""
    archive = many_entries_docx(count)
    end_at = archive.rindex(b"PK\x05\x06")
    return archive[: end_at + 8] + struct.pack("<HH", 2, 2) + archive[end_at + 12 :]


def declared_bomb_docx(mib: int = 300) -> bytes:
    """A DOCX whose document honestly unpacks to ``mib`` MiB of zeros (~300 KB)."""
    data, crc = _zeros_deflated(mib)
    document = _Entry("word/document.xml", data, crc, mib * 1024 * 1024)
    return _raw_zip([_stored("[Content_Types].xml", b"<Types/>"), document])


def lying_bomb_docx(mib: int = 100) -> bytes:
    """A DOCX whose document declares 13 bytes (with the CRC of those 13) but inflates to
    ``mib`` MiB more: ``zipfile`` stops at the declared size and sees nothing wrong."""
    text = b"<w:document/>"
    data, _crc = _zeros_deflated(mib, prefix=text)
    document = _Entry("word/document.xml", data, zlib.crc32(text), len(text))
    return _raw_zip([_stored("[Content_Types].xml", b"<Types/>"), document])


def overlapping_docx(copies: int = 50) -> bytes:
    """Directory records that all point at the same compressed document: each declares an
    honest 1 MiB, the 51 MiB all come from one 1 KB stream (the overlap trick, where every
    entry reuses one stream; within every other cap, so the overlap check is what refuses)."""
    honest = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"\0" * 1024**2})
    end_at = honest.rindex(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack("<II", honest[end_at + 12 : end_at + 20])
    directory = honest[cd_offset : cd_offset + cd_size]
    name = b"word/document.xml"
    record_at = directory.index(name) - 46
    record = directory[record_at : record_at + 46]
    copies_of = b"".join(record + b"word/c%011d" % i for i in range(copies))  # same length
    directory += copies_of
    entries = 2 + copies
    end = struct.pack(
        "<4s4H2IH", b"PK\x05\x06", 0, 0, entries, entries, len(directory), cd_offset, 0
    )
    return honest[:cd_offset] + directory + end


def nested_zip_docx() -> bytes:
    """A DOCX carrying a zip bomb as a member: the member is bytes, never opened."""
    inner = _zip({f"{i}.bin": b"\0" * (1024 * 1024) for i in range(16)})
    return _zip({**_DOCX_PARTS, "word/media/bomb.zip": inner * 4})


CORPUS: list[Hostile] = [
    Hostile("svg: 40 nested comments (issue 20)", "r.svg", nested_comments_svg, "refused",
            "not an allowed file type"),
    Hostile("svg: 4,000 nested comments", "r.svg", lambda: nested_comments_svg(4000),
            "refused", "not an allowed file type"),
    Hostile("svg: 500,000 attributes", "a.svg", huge_attributes_svg, "accepted"),
    Hostile("svg: 500,000 nested groups", "d.svg", deep_nesting_svg, "accepted"),
    Hostile("svg: billion laughs", "l.svg", billion_laughs_svg, "refused", "entities"),
    Hostile("svg: quadratic blowup", "q.svg", quadratic_blowup_svg, "refused", "entities"),
    Hostile("svg: external entity", "x.svg", external_entity_svg, "refused", "entities"),
    Hostile("svg: 100 KB XML declaration", "p.svg", long_prolog_svg, "refused",
            "not an allowed file type"),
    Hostile("svg: 50,000 quoted doctype ids", "u.svg", unclosed_quotes_svg, "refused",
            "not an allowed file type"),
    Hostile("png: 36-megapixel zlib bomb", "bomb.png", zlib_bomb_png, "refused",
            "decompression bomb"),
    Hostile("png: header claims 50,000 x 50,000", "claim.png",
            lambda: _png(50_000, 50_000, zlib.compress(b"\0" * 64)), "refused", "too large"),
    Hostile("png: 2,000,000 empty chunks", "chunks.png", many_chunks_png, "refused",
            "too many parts"),
    Hostile("jpeg: 5,000,000 markers", "markers.jpg", many_markers_jpeg, "refused",
            "too many parts"),
    Hostile("gif: 4,000,000 comment blocks", "blocks.gif", many_blocks_gif, "refused",
            "too many parts"),
    Hostile("docx: 200,000 entries", "many.docx", many_entries_docx, "refused",
            "entries"),
    Hostile("docx: 20,000 entries, the end record says 2", "under.docx",
            understated_entries_docx, "refused", "has more than 10000 entries"),
    Hostile("docx: 300 MiB of zeros, declared", "zeros.docx", declared_bomb_docx, "refused",
            "too large"),
    Hostile("docx: 100 MiB inflating from a 13-byte entry", "lie.docx", lying_bomb_docx,
            "refused", "more than it declares"),
    Hostile("docx: 50 entries sharing one stream", "overlap.docx", overlapping_docx,
            "refused", "too large"),
    Hostile("docx: a zip bomb inside as a member", "nested.docx", nested_zip_docx,
            "accepted"),
]  # fmt: skip
