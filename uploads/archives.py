"""Reading archives safely: their list of members (while they still arrive) and their extraction.

Every member is checked before anything is written: an absolute path, a `..` part, a link or a
special file is refused, and so is an archive whose members add up to more than the limit
(MAX_EXTRACTED_SIZE), counted from the headers first and again from the bytes actually unpacked.

- `inspect_zip` reads a ZIP's central directory (at its end) from a file that may still be
  arriving: a read of a part not yet received raises `NotYetReceived`, and the caller tries
  again when more has come.
- `TarStreamChecker` is fed a tar or tar.gz from its first byte on, as chunks arrive, and checks
  each member's header as soon as it has passed.
- `extract` unpacks a checked archive into a folder.
"""

import logging
import os
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from uploads.formats import CONFIG_MAX_SIZE, EXPECTED, NotAModel, config_path

logger = logging.getLogger(__name__)

COPY_BLOCK = 1024 * 1024
TAR_BLOCK = 512


class NotYetReceived(Exception):
    """A read touched a part of the file that has not arrived yet."""


@dataclass
class Manifest:
    """An archive's regular files (path -> size) and the text of its config files."""

    members: dict[str, int] = field(default_factory=dict)
    configs: dict[str, str] = field(default_factory=dict)

    @property
    def total_size(self) -> int:
        return sum(self.members.values())


def safe_member_name(name: str) -> str:
    """The member's path, normalised; raises NotAModel for an absolute path or a `..` part."""
    cleaned = name.replace("\\", "/")
    path = PurePosixPath(cleaned)
    if cleaned.startswith("/") or (len(cleaned) > 1 and cleaned[1] == ":"):
        raise NotAModel(f"The archive member '{name}' has an absolute path; refused.")
    if ".." in path.parts:
        raise NotAModel(f"The archive member '{name}' climbs out of its folder ('..'); refused.")
    parts = [part for part in path.parts if part not in ("", ".")]
    if not parts:
        raise NotAModel(f"The archive has a member with an empty name ('{name}'); refused.")
    return "/".join(parts)


def _check_total(total: int, limit: int) -> None:
    if total > limit:
        raise NotAModel(
            f"The archive unpacks to more than {limit} bytes (MAX_EXTRACTED_SIZE); refused."
        )


class PartialFile:
    """A read-only view of a file still arriving in chunks: reading a missing chunk raises."""

    def __init__(
        self, path: Path, *, size: int, chunk_size: int, received: set[int] | None
    ) -> None:
        self._handle = path.open("rb")
        self._size = size
        self._chunk_size = chunk_size
        self._received = received  # None: the whole file is there
        self._pos = 0

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:
        end = self._size if size is None or size < 0 else min(self._size, self._pos + size)
        if end <= self._pos:
            return b""
        if self._received is not None:
            first, last = self._pos // self._chunk_size, (end - 1) // self._chunk_size
            if any(index not in self._received for index in range(first, last + 1)):
                raise NotYetReceived
        self._handle.seek(self._pos)
        data = self._handle.read(end - self._pos)
        self._pos += len(data)
        return data

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> "PartialFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _zip_member_is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def inspect_zip(fileobj: BinaryIO, *, limit: int) -> Manifest:
    """The members of a ZIP, each checked; raises NotAModel, or NotYetReceived (try later)."""
    try:
        archive = zipfile.ZipFile(fileobj)
    except zipfile.BadZipFile as exc:
        raise NotAModel(f"This ZIP archive is damaged or incomplete ({exc}).") from None
    manifest = Manifest()
    with archive:
        for info in archive.infolist():
            name = safe_member_name(info.filename)
            if _zip_member_is_link(info):
                raise NotAModel(f"The archive member '{info.filename}' is a link; refused.")
            if info.is_dir():
                continue
            manifest.members[name] = info.file_size
            _check_total(manifest.total_size, limit)
        for info in archive.infolist():
            name = safe_member_name(info.filename)
            if config_path(name) and info.file_size <= CONFIG_MAX_SIZE:
                try:
                    manifest.configs[name] = archive.read(info).decode("utf-8", errors="replace")
                except (zipfile.BadZipFile, zlib.error) as exc:
                    raise NotAModel(f"{info.filename} in the archive is damaged ({exc}).") from None
    return manifest


# -- tar, checked as it streams --------------------------------------------------------------


def _pax_fields(data: bytes) -> dict[str, str]:
    """The records (`<len> <key>=<value>\\n`) of a PAX extended header."""
    fields: dict[str, str] = {}
    while data:
        length_text, _, rest = data.partition(b" ")
        if not length_text.isdigit():
            break
        body_length = int(length_text) - len(length_text) - 1
        record, data = rest[:body_length], rest[body_length:]
        key, _, value = record.rstrip(b"\n").partition(b"=")
        fields[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return fields


class TarStreamChecker:
    """Checks a tar (or tar.gz) fed from its first byte on, one header at a time.

    `feed(data)` takes the next bytes of the file as they arrive; `finish()` is called when the
    whole file was fed and returns the Manifest. `on_config(name, text)` is called as soon as a
    config file's content has passed, so that a wrong model is refused before the rest arrives.
    Raises NotAModel.
    """

    def __init__(
        self,
        *,
        gzip: bool,
        limit: int,
        on_config: Callable[[str, str, Manifest], None] | None = None,
    ) -> None:
        self.offset = 0  # bytes of the file fed so far
        self.manifest = Manifest()
        self._inflate = zlib.decompressobj(wbits=31) if gzip else None
        self._limit = limit
        self._on_config = on_config
        self._pending = bytearray()
        self._skip = 0  # member data (padded to whole blocks) still to pass
        self._data_left = 0  # of which real data
        self._capture: tuple[str, bytearray, int] | None = None  # (name, data, size)
        self._extended: tuple[str, bytearray, int] | None = None  # (type, data, size)
        self._next_name: str | None = None  # from a PAX or GNU long-name header
        self._next_size: int | None = None  # from a PAX header (members over 8 GB)
        self._ended = False
        self._zero_blocks = 0

    def feed(self, data: bytes) -> None:
        self.offset += len(data)
        if self._inflate is not None:
            try:
                data = self._inflate.decompress(data)
            except zlib.error as exc:
                raise NotAModel(f"This tar.gz file is damaged ({exc}).") from None
        self._pending += data
        self._consume()

    def finish(self) -> Manifest:
        if self._inflate is not None and not self._inflate.eof:
            raise NotAModel("This tar.gz file ends early: it is incomplete or damaged.")
        if not self._ended and (self._skip or self._pending.strip(b"\0")):
            raise NotAModel("This tar file ends in the middle of a member: it is incomplete.")
        return self.manifest

    def _consume(self) -> None:
        while not self._ended:
            if self._skip:
                taken = min(self._skip, len(self._pending))
                if not taken:
                    return
                self._take_data(bytes(self._pending[:taken]))
                del self._pending[:taken]
                self._skip -= taken
                if not self._skip:
                    self._member_data_done()
                continue
            if len(self._pending) < TAR_BLOCK:
                return
            block = bytes(self._pending[:TAR_BLOCK])
            del self._pending[:TAR_BLOCK]
            self._header(block)

    def _header(self, block: bytes) -> None:
        if block == bytes(TAR_BLOCK):
            self._zero_blocks += 1
            self._ended = self._zero_blocks >= 2
            return
        self._zero_blocks = 0
        try:
            info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        except tarfile.HeaderError as exc:
            if not self.manifest.members and self._extended is None:
                raise NotAModel(f"This file is not a tar archive: {EXPECTED}.") from None
            raise NotAModel(f"This tar file has a damaged header ({exc}).") from None
        if info.type in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME):
            self._extended = (info.type, bytearray(), info.size)
        elif info.type == tarfile.GNUTYPE_LONGLINK:
            raise NotAModel("The archive holds a link; refused.")
        else:
            if self._next_size is not None:
                info.size = self._next_size
            name = self._next_name or info.name
            self._next_name = self._next_size = None
            self._member(info, name)
        padded = -(-info.size // TAR_BLOCK) * TAR_BLOCK
        self._skip = padded
        self._data_left = info.size
        if not padded:
            self._member_data_done()

    def _member(self, info: tarfile.TarInfo, raw_name: str) -> None:
        name = safe_member_name(raw_name)
        if info.issym() or info.islnk():
            raise NotAModel(f"The archive member '{raw_name}' is a link; refused.")
        if info.isdir():
            return
        if not info.isreg():
            raise NotAModel(f"The archive member '{raw_name}' is not a regular file; refused.")
        self.manifest.members[name] = info.size
        _check_total(self.manifest.total_size, self._limit)
        if config_path(name) and info.size <= CONFIG_MAX_SIZE:
            self._capture = (name, bytearray(), info.size)

    def _take_data(self, data: bytes) -> None:
        useful = data[: max(0, self._data_left)]
        self._data_left -= len(data)
        target = self._extended or self._capture
        if target is not None:
            target[1].extend(useful)

    def _member_data_done(self) -> None:
        if self._extended is not None:
            kind, data, _ = self._extended
            self._extended = None
            if kind == tarfile.GNUTYPE_LONGNAME:
                self._next_name = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
            elif kind == tarfile.XHDTYPE:
                fields = _pax_fields(bytes(data))
                if "linkpath" in fields:
                    raise NotAModel("The archive holds a link; refused.")
                self._next_name = fields.get("path")
                if fields.get("size", "").isdigit():
                    self._next_size = int(fields["size"])
        elif self._capture is not None:
            name, data, _ = self._capture
            self._capture = None
            text = data.decode("utf-8", errors="replace")
            self.manifest.configs[name] = text
            if self._on_config is not None:
                self._on_config(name, text, self.manifest)


def inspect_tar(path: Path, *, gzip: bool, limit: int) -> Manifest:
    """Check a whole tar or tar.gz file on disk; returns its Manifest, raises NotAModel."""
    checker = TarStreamChecker(gzip=gzip, limit=limit)
    with path.open("rb") as handle:
        while block := handle.read(COPY_BLOCK):
            checker.feed(block)
    return checker.finish()


def inspect_archive(path: Path, *, kind: str, limit: int) -> Manifest:
    """Check a whole archive on disk ("zip", "tar" or "tar.gz")."""
    if kind == "zip":
        size = path.stat().st_size
        with PartialFile(path, size=size, chunk_size=size or 1, received=None) as handle:
            return inspect_zip(handle, limit=limit)
    return inspect_tar(path, gzip=kind == "tar.gz", limit=limit)


# -- extraction -------------------------------------------------------------------------------


def _copy_limited(source: BinaryIO, target: Path, *, budget: int) -> int:
    """Copy a member's bytes into a new file; stops with NotAModel past `budget` bytes."""
    written = 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as out:
        while block := source.read(COPY_BLOCK):
            written += len(block)
            if written > budget:
                raise NotAModel(
                    "The archive unpacks to more than its headers say, past MAX_EXTRACTED_SIZE; "
                    "refused."
                )
            out.write(block)
    return written


def _target(dest: Path, name: str) -> Path:
    target = dest.joinpath(*PurePosixPath(name).parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.resolve().is_relative_to(dest.resolve()):
        raise NotAModel(f"The archive member '{name}' would land outside its folder; refused.")
    return target


def extract(path: Path, *, kind: str, dest: Path, limit: int) -> None:
    """Unpack the regular files of an archive into `dest` (a new folder).

    Checks every member again while unpacking and counts the bytes really written against
    `limit`. Raises NotAModel; the caller removes `dest` on failure.
    """
    dest.mkdir(parents=True, exist_ok=False)
    budget = limit
    if kind == "zip":
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                name = safe_member_name(info.filename)
                if info.is_dir():
                    continue
                if _zip_member_is_link(info):
                    raise NotAModel(f"The archive member '{info.filename}' is a link; refused.")
                with archive.open(info) as source:
                    budget -= _copy_limited(source, _target(dest, name), budget=budget)
        return
    with tarfile.open(path, "r|gz" if kind == "tar.gz" else "r|") as archive:
        for info in archive:
            name = safe_member_name(info.name)
            if info.issym() or info.islnk():
                raise NotAModel(f"The archive member '{info.name}' is a link; refused.")
            if not info.isreg():
                continue
            source = archive.extractfile(info)
            budget -= _copy_limited(source, _target(dest, name), budget=budget)
