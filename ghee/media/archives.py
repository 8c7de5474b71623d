"""Bounds on ZIP archives (OOXML and OpenDocument files) before anything trusts them.

A ZIP's central directory lists its entries; ``zipfile`` builds an object for every one, so a
file with millions of tiny entries costs seconds and memory before a single name is looked
at, and an archive whose entries declare (or inflate to) gigabytes is a bomb for whoever
unpacks it later. ``check_entries`` and ``check_members`` refuse, with a reason a client can read:

- more than ``GHEE_MEDIA_MAX_ARCHIVE_ENTRIES`` entries, counted from the end record's
  declared total *and* by walking the directory itself (stopping one past the limit), both
  before ``zipfile`` sees the file;
- entries whose declared sizes add up to more than ``GHEE_MEDIA_MAX_UNPACKED_BYTES``, or to
  more than ``GHEE_MEDIA_MAX_EXPANSION`` times the file's size once past
  ``EXPANSION_FLOOR``; entries whose data overlap (the "zip bomb without recursion" trick,
  where every entry inflates the same compressed bytes);
- then every entry is inflated in pieces and counted: an entry that yields more or fewer
  bytes than it declares, fails its CRC, or makes the total pass the cap is refused, as is
  an archive whose inflation outlasts ``GHEE_MEDIA_CHECK_SECONDS``.

The work is bounded by the caps, never by what the archive claims.
"""

import itertools
import struct
import time
import zipfile
from typing import BinaryIO

from django.conf import settings

# An unpacked size under this is harmless however well it compressed (64 MiB).
EXPANSION_FLOOR = 64 * 1024 * 1024
_END = b"PK\x05\x06"
_END_SIZE = 22
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_END = b"PK\x06\x06"
_ENTRY = b"PK\x01\x02"
_ENTRY_SIZE = 46
_LOCAL_HEADER_SIZE = 30
_PIECE = 64 * 1024


class ArchiveRefused(Exception):
    """The archive is refused; ``str(exc)`` says why (after ``not an allowed file type: ``
    or ``too large: ``, chosen by ``too_large``)."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def check_entries(file: BinaryIO, size: int) -> None:
    """Raise ArchiveRefused unless the ZIP in ``file`` (``size`` bytes) is within bounds."""
    max_entries = settings.GHEE_MEDIA_MAX_ARCHIVE_ENTRIES
    declared, directory_offset = _end_record(file, size)
    if declared > max_entries:
        raise _too_many(max_entries, f"declares {declared}")
    counted = _count_entries(file, directory_offset, max_entries + 1)
    if counted > max_entries:
        raise _too_many(max_entries, "has more")


def check_members(archive: zipfile.ZipFile, size: int) -> None:
    """The declared and the actual unpacked sizes of an opened archive, within the caps."""
    cap = min(settings.GHEE_MEDIA_MAX_UNPACKED_BYTES, expansion_cap(size))
    infos = archive.infolist()
    declared = sum(info.file_size for info in infos)
    if declared > cap:
        raise _too_large(cap, f"declares {declared} bytes unpacked")
    _check_no_overlap(infos)
    deadline = time.monotonic() + settings.GHEE_MEDIA_CHECK_SECONDS
    unpacked = 0
    for info in infos:
        if info.is_dir():
            continue
        produced = 0
        try:
            with archive.open(info) as member:
                while piece := member.read(_PIECE):
                    produced += len(piece)
                    unpacked += len(piece)
                    if unpacked > cap:
                        raise _too_large(cap, "unpacks to more")
                    if time.monotonic() > deadline:
                        raise ArchiveRefused("the archive takes too long to check")
        except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, ValueError) as exc:
            raise ArchiveRefused(f"the archive is damaged ({info.filename[:100]!r})") from exc
        if produced != info.file_size:
            raise ArchiveRefused(f"the archive is damaged ({info.filename[:100]!r})")


def expansion_cap(size: int) -> int:
    """The most a file of ``size`` bytes may unpack to by its compression ratio (an
    archive's entries, an image's pixels): a bomb is tiny for what it unpacks to."""
    return max(EXPANSION_FLOOR, settings.GHEE_MEDIA_MAX_EXPANSION * size)


def _too_many(limit: int, how: str) -> ArchiveRefused:
    return ArchiveRefused(f"the archive {how} than {limit} entries", too_large=True)


def _too_large(cap: int, how: str) -> ArchiveRefused:
    return ArchiveRefused(f"the archive {how} than {cap} bytes allow", too_large=True)


def _end_record(file: BinaryIO, size: int) -> tuple[int, int]:
    """(declared number of entries, offset of the central directory) from the end record,
    found in the last 64 KiB (its comment is at most 65,535 bytes)."""
    tail_size = min(size, _END_SIZE + 0xFFFF)
    file.seek(size - tail_size)
    tail = file.read(tail_size)
    at = tail.rfind(_END)
    if at < 0 or len(tail) - at < _END_SIZE:
        raise ArchiveRefused("the archive is damaged (no end record)")
    entries, _cd_size, cd_offset = struct.unpack("<HII", tail[at + 10 : at + 20])
    if entries == 0xFFFF or cd_offset == 0xFFFFFFFF:
        return _zip64_end_record(file, size - tail_size + at)
    return entries, cd_offset


def _zip64_end_record(file: BinaryIO, end_offset: int) -> tuple[int, int]:
    locator_offset = end_offset - 20
    if locator_offset < 0:
        raise ArchiveRefused("the archive is damaged (no ZIP64 locator)")
    file.seek(locator_offset)
    locator = file.read(20)
    if locator[:4] != _ZIP64_LOCATOR:
        raise ArchiveRefused("the archive is damaged (no ZIP64 locator)")
    (record_offset,) = struct.unpack("<Q", locator[8:16])
    file.seek(record_offset)
    record = file.read(56)
    if len(record) < 56 or record[:4] != _ZIP64_END:
        raise ArchiveRefused("the archive is damaged (no ZIP64 end record)")
    entries, _cd_size, cd_offset = struct.unpack("<QQQ", record[32:56])
    return entries, cd_offset


def _count_entries(file: BinaryIO, offset: int, stop: int) -> int:
    """Entries in the central directory at ``offset``, counting at most ``stop``."""
    file.seek(offset)
    count = 0
    while count < stop:
        header = file.read(_ENTRY_SIZE)
        if len(header) < _ENTRY_SIZE or header[:4] != _ENTRY:
            break
        name_length, extra_length, comment_length = struct.unpack("<HHH", header[28:34])
        file.seek(name_length + extra_length + comment_length, 1)
        count += 1
    return count


def _check_no_overlap(infos: list[zipfile.ZipInfo]) -> None:
    """Each entry's data must end before the next entry's local header starts."""
    ordered = sorted(infos, key=lambda info: info.header_offset)
    for current, following in itertools.pairwise(ordered):
        data_end = (
            current.header_offset
            + _LOCAL_HEADER_SIZE
            + _raw_name_length(current)
            + current.compress_size
        )
        if data_end > following.header_offset:
            raise ArchiveRefused("the archive's entries overlap (a zip bomb)", too_large=True)


def _raw_name_length(info: zipfile.ZipInfo) -> int:
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
    return len(info.orig_filename.encode(encoding, "replace"))
