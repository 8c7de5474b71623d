"""What a file is, read from its bytes: the media library's closed list of file types.

The server's Content-Type header and the URL's extension are chosen by whoever serves the
file, so ghee ignores both and looks at the bytes. Anything that matches none of these
signatures is refused; a match is only the first check (images are then opened by Pillow,
archives' entries and SVGs' entities checked: see ``ghee.media.inspection``).

Every test here reads a bounded prefix (``HEAD_BYTES``) and is linear in it: no regular
expression, no parser that can loop on crafted bytes. A ZIP's directory is bounded
(``archives.check_entries``) before ``zipfile`` parses it.
"""

import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from PIL import features

from ghee.media import archives, svg

HEAD_BYTES = 16 * 1024


@dataclass(frozen=True)
class FileType:
    content_type: str
    extension: str
    # The Pillow format that must open the file (None: not an image Pillow checks).
    pillow_format: str | None = None

    @property
    def is_svg(self) -> bool:
        return self.content_type == "image/svg+xml"


JPEG = FileType("image/jpeg", "jpg", "JPEG")
PNG = FileType("image/png", "png", "PNG")
GIF = FileType("image/gif", "gif", "GIF")
WEBP = FileType("image/webp", "webp", "WEBP")
AVIF = FileType("image/avif", "avif", "AVIF")
SVG = FileType("image/svg+xml", "svg")
PDF = FileType("application/pdf", "pdf")
MP4 = FileType("video/mp4", "mp4")
WEBM = FileType("video/webm", "webm")
MP3 = FileType("audio/mpeg", "mp3")
DOCX = FileType("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx")
XLSX = FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
PPTX = FileType("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx")
ODT = FileType("application/vnd.oasis.opendocument.text", "odt")
ODS = FileType("application/vnd.oasis.opendocument.spreadsheet", "ods")
ODP = FileType("application/vnd.oasis.opendocument.presentation", "odp")

ARCHIVE_TYPES = (DOCX, XLSX, PPTX, ODT, ODS, ODP)
ALL_TYPES = (JPEG, PNG, GIF, WEBP, AVIF, SVG, PDF, MP4, WEBM, MP3, DOCX, XLSX, PPTX, ODT, ODS, ODP)
BY_EXTENSION = {file_type.extension: file_type for file_type in ALL_TYPES}


def supported_types() -> tuple[FileType, ...]:
    """Every type this installation can check (AVIF only where Pillow was built with it)."""
    return tuple(t for t in ALL_TYPES if t is not AVIF or features.check("avif"))


# MP4 and AVIF share the ISO base media file format; the brands in the `ftyp` box tell them
# apart (QuickTime, 3GP and HEIC are not in the list).
_MP4_BRANDS = {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash"}
_AVIF_BRANDS = {b"avif", b"avis"}

_OOXML_PARTS = {"word/document.xml": DOCX, "xl/workbook.xml": XLSX, "ppt/presentation.xml": PPTX}
_ODF_MIMETYPES = {t.content_type.encode(): t for t in (ODT, ODS, ODP)}


def sniff(file: BinaryIO) -> FileType | None:
    """The type of the seekable binary ``file``, or None when it is not one ghee accepts."""
    file.seek(0)
    head = file.read(HEAD_BYTES)
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    if head[4:8] == b"ftyp":
        return _iso_media(head)
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head[:64]:  # EBML DocType
        return WEBM
    if head.startswith(b"ID3") or _is_mp3_frame(head):
        return MP3
    if head.startswith(b"PK\x03\x04"):
        return _office_document(file)
    if svg.read_prolog(head).is_svg:
        return SVG
    return None


def _iso_media(head: bytes) -> FileType | None:
    box_size = int.from_bytes(head[:4], "big")
    brands = {head[8:12]}
    brands.update(head[i : i + 4] for i in range(16, min(box_size, len(head)), 4))
    if brands & _AVIF_BRANDS:
        return AVIF
    if brands & _MP4_BRANDS:
        return MP4
    return None


def _is_mp3_frame(head: bytes) -> bool:
    """An MPEG-1/2 Layer III frame header (an MP3 without an ID3 tag)."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0b11
    layer = (head[1] >> 1) & 0b11
    bitrate = head[2] >> 4
    sample_rate = (head[2] >> 2) & 0b11
    return version != 0b01 and layer == 0b01 and bitrate not in (0, 0xF) and sample_rate != 0b11


def _office_document(file: BinaryIO) -> FileType | None:
    """OOXML and OpenDocument files are ZIP archives; their parts say which kind.

    Only the archive's directory and the tiny ``mimetype`` member are read here, the
    directory only once its entries are counted within the limit (``ArchiveRefused`` past
    it); ``inspection`` then checks what the entries unpack to.
    """
    size = file.seek(0, 2)
    try:
        archives.check_entries(file, size)
    except archives.ArchiveRefused as exc:
        if exc.too_large:
            raise
        return None  # not a ZIP archive at all
    try:
        file.seek(0)
        with zipfile.ZipFile(file) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" in names:
                for part, file_type in _OOXML_PARTS.items():
                    if part in names:
                        return file_type
            if "mimetype" in names:
                with archive.open("mimetype") as member:
                    return _ODF_MIMETYPES.get(member.read(100).strip())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    return None
