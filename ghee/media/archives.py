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
- then every entry is inflated from its raw bytes in 64 KiB pieces and counted: an entry
  that yields more than it declares (a bomb lying about its size) or makes the total pass
  the cap is refused as too large, one that yields less or fails its CRC as damaged, and so
  is an archive whose inflation outlasts ``GHEE_MEDIA_CHECK_SECONDS``.

The work is bounded by the caps, never by what the archive claims.
"""

import itertools
import struct
import time
import zipfile
import zlib
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
_LOCAL = b"PK\x03\x04"
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
        raise _too_many(max_entries, f"declares {declared} entries")
    counted = _count_entries(file, directory_offset, max_entries + 1)
    if counted > max_entries:
        raise _too_many(max_entries, f"has more than {max_entries} entries")


def check_members(file: BinaryIO, archive: zipfile.ZipFile, size: int) -> None:
    """The declared and the actual unpacked sizes of an opened archive, within the caps."""
    cap = min(settings.GHEE_MEDIA_MAX_UNPACKED_BYTES, expansion_cap(size))
    infos = archive.infolist()
    declared = sum(info.file_size for info in infos)
    if declared > cap:
        raise _too_large(cap, f"declares {declared} bytes unpacked")
    _check_no_overlap(infos)
    budget = _Budget(cap, time.monotonic() + settings.GHEE_MEDIA_CHECK_SECONDS)
    for info in infos:
        try:
            _inflate(file, info, budget)
        except zlib.error as exc:
            raise ArchiveRefused(f"the archive is damaged ({info.filename[:100]!r})") from exc


class _Budget:
    def __init__(self, cap: int, deadline: float) -> None:
        self.cap, self.deadline, self.unpacked = cap, deadline, 0

    def spend(self, produced: int) -> None:
        self.unpacked += produced
        if self.unpacked > self.cap:
            raise _too_large(self.cap, f"unpacks to more than {self.cap} bytes")
        if time.monotonic() > self.deadline:
            raise ArchiveRefused("the archive takes too long to check")


def _inflate(file: BinaryIO, info: zipfile.ZipInfo, budget: _Budget) -> None:
    """Inflate one entry from its raw bytes (not through ``zipfile``, which stops at the
    declared size and so cannot see an entry that unpacks to more), counting every byte."""
    damaged = ArchiveRefused(f"the archive is damaged ({info.filename[:100]!r})")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ArchiveRefused(f"the archive uses an unsupported compression ({info.compress_type})")
    file.seek(info.header_offset)
    local = file.read(_LOCAL_HEADER_SIZE)
    if len(local) < _LOCAL_HEADER_SIZE or local[:4] != _LOCAL:
        raise damaged
    name_length, extra_length = struct.unpack("<HH", local[26:30])
    file.seek(info.header_offset + _LOCAL_HEADER_SIZE + name_length + extra_length)
    inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    remaining = info.compress_size
    counter = _EntryCounter(info, budget)
    while remaining > 0:
        data = file.read(min(_PIECE, remaining))
        if not data:
            raise damaged
        remaining -= len(data)
        while data:
            out = inflater.decompress(data, _PIECE) if inflater else data
            data = inflater.unconsumed_tail if inflater else b""
            counter.add(out)
            if not out and data:
                raise damaged  # no progress: never spin
    # Output zlib still holds once the input is used up (a piece ended mid-copy).
    while inflater is not None and not inflater.eof and (out := inflater.decompress(b"", _PIECE)):
        counter.add(out)
    if counter.produced != info.file_size or counter.crc != info.CRC:
        raise damaged


class _EntryCounter:
    def __init__(self, info: zipfile.ZipInfo, budget: _Budget) -> None:
        self.info, self.budget, self.produced, self.crc = info, budget, 0, 0

    def add(self, out: bytes) -> None:
        self.produced += len(out)
        if self.produced > self.info.file_size:
            raise ArchiveRefused(
                f"an entry unpacks to more than it declares ({self.info.filename[:100]!r}: "
                f"{self.info.file_size} bytes)",
                too_large=True,
            )
        self.budget.spend(len(out))
        self.crc = zlib.crc32(out, self.crc)


def expansion_cap(size: int) -> int:
    """The most a file of ``size`` bytes may unpack to by its compression ratio (an
    archive's entries, an image's pixels): a bomb is tiny for what it unpacks to."""
    return max(EXPANSION_FLOOR, settings.GHEE_MEDIA_MAX_EXPANSION * size)


def _too_many(limit: int, how: str) -> ArchiveRefused:
    return ArchiveRefused(f"the archive {how} (at most {limit} are allowed)", too_large=True)


def _too_large(cap: int, how: str) -> ArchiveRefused:
    return ArchiveRefused(
        f"the archive {how} (at most {cap} bytes are allowed for a file of this size)",
        too_large=True,
    )


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
        zip64 = _zip64_end_record(file, size - tail_size + at)
        if zip64 is not None:
            return zip64
        if cd_offset == 0xFFFFFFFF:
            raise ArchiveRefused("the archive is damaged (no ZIP64 end record)")
    return entries, cd_offset


def _zip64_end_record(file: BinaryIO, end_offset: int) -> tuple[int, int] | None:
    """The ZIP64 end record's counts (an archive of 65,535 entries or more, or past 4 GiB);
    None when there is none (exactly 65,535 entries fit the plain record)."""
    locator_offset = max(end_offset - 20, 0)
    file.seek(locator_offset)
    locator = file.read(20)
    if locator[:4] != _ZIP64_LOCATOR:
        return None
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
