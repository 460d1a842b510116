"""Zip archives: each member read by its own format's reader, behind limits against zip bombs."""

import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import BinaryIO

from annotation.pipeline.readers.base import Context, ImportFileRefused, ImportRow, ImportRowError

Item = ImportRow | ImportRowError
NESTED_ARCHIVES = (".zip", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".7z", ".rar", ".zst", ".jar")
_S_IFMT, _S_IFLNK = 0o170000, 0o120000


class _Budget:
    def __init__(self, total: int):
        self.left = total


class _LimitedMember:
    """A member's decompressed stream, stopped at its declared size and the archive's total budget.

    The sizes in the central directory are checked before reading, but they are the archive's own
    claim; counting what really comes out keeps a lying header from inflating without bound.
    """

    def __init__(self, stream: BinaryIO, info: zipfile.ZipInfo, budget: _Budget, ctx: Context):
        self._stream, self._info, self._budget, self._ctx = stream, info, budget, ctx
        self._read = 0

    def _count(self, data: bytes) -> bytes:
        self._read += len(data)
        self._budget.left -= len(data)
        if self._read > self._info.file_size:
            raise ImportFileRefused(
                filename=self._ctx.filename,
                member=self._ctx.member,
                message="holds more data than its header declares",
            )
        if self._budget.left < 0:
            raise ImportFileRefused(
                filename=self._ctx.filename, message="the archive unpacks to more than the limit"
            )
        return data

    def read(self, size: int = -1) -> bytes:
        return self._count(self._stream.read(size))

    def readline(self, limit: int = -1) -> bytes:
        return self._count(self._stream.readline(limit))


def _seekable(stream: BinaryIO, ctx: Context) -> BinaryIO:
    # A zip's table of contents is at its end; spool a stream that cannot seek (uploads already
    # can).
    try:
        if stream.seekable():
            return stream
    except (AttributeError, OSError):
        pass
    spooled = tempfile.TemporaryFile()
    copied = 0
    while chunk := stream.read(1024 * 1024):
        copied += len(chunk)
        if copied > ctx.limits.zip_max_total_bytes:
            raise ImportFileRefused(
                filename=ctx.filename, message="the archive is larger than the limit"
            )
        spooled.write(chunk)
    spooled.seek(0)
    return spooled


def _declared_entries(fileobj: BinaryIO) -> int | None:
    # zipfile builds a ZipInfo per entry of the central directory before anything can be checked;
    # read the count from the end record first so a million tiny entries are refused cheaply.
    end_record = getattr(zipfile, "_EndRecData", None)
    if end_record is None:
        return None
    record = end_record(fileobj)
    fileobj.seek(0)
    return None if record is None else record[zipfile._ECD_ENTRIES_TOTAL]


def _unsafe_path(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    drive = len(parts[0]) >= 2 and parts[0][1] == ":"
    return name.startswith(("/", "\\")) or drive or ".." in parts


def _junk(name: str) -> bool:
    # Written by macOS's archiver beside every file (resource forks, Finder state), never data.
    base = name.rsplit("/", 1)[-1]
    return name.startswith("__MACOSX/") or base.startswith("._") or base == ".DS_Store"


def _check_limits(infos: list[zipfile.ZipInfo], ctx: Context) -> None:
    limits = ctx.limits

    def refuse(message: str, member: str = ""):
        raise ImportFileRefused(filename=ctx.filename, member=member, message=message)

    if len(infos) > limits.zip_max_members:
        refuse(f"the archive has {len(infos)} entries; the limit is {limits.zip_max_members}")
    total = sum(info.file_size for info in infos)
    if total > limits.zip_max_total_bytes:
        refuse(f"the archive unpacks to {total} bytes; the limit is {limits.zip_max_total_bytes}")
    for info in infos:
        if _unsafe_path(info.filename):
            refuse(
                "the path leaves the archive (absolute, a drive, or '..'); the archive is refused",
                info.filename,
            )
        big = info.file_size >= limits.zip_ratio_min_bytes
        if big and info.file_size > limits.zip_max_ratio * max(info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            refuse(
                f"compressed {ratio}:1, over the limit of {limits.zip_max_ratio}:1 (a zip bomb?)",
                info.filename,
            )


def _member_problem(info: zipfile.ZipInfo, names: set[str]) -> str | None:
    if info.filename in names:
        return "appears twice in the archive"
    if info.flag_bits & 0x1:
        return "is encrypted and cannot be read"
    if (info.external_attr >> 16) & _S_IFMT == _S_IFLNK:
        return "is a symbolic link, not a file"
    if info.filename.lower().endswith(NESTED_ARCHIVES):
        return (
            "is an archive itself; nested archives are not opened (extract it and upload its files)"
        )
    return None


def read_zip(
    stream: BinaryIO,
    ctx: Context,
    member_format: Callable[[str], str],
    read_member: Callable[[BinaryIO, Context], Iterator[Item]],
) -> Iterator[Item]:
    """Yield the rows of every member; a bad member is reported and the next one read."""
    fileobj = _seekable(stream, ctx)
    try:
        declared = _declared_entries(fileobj)
        archive = None
        if declared is None or declared <= ctx.limits.zip_max_members:
            archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise ctx.error(None, None, f"not a readable zip archive ({error})", fatal=True) from None
    if archive is None:
        raise ImportFileRefused(
            filename=ctx.filename,
            message=f"the archive has {declared} entries; "
            f"the limit is {ctx.limits.zip_max_members}",
        )
    with archive:
        infos = archive.infolist()
        _check_limits(infos, ctx)
        budget = _Budget(ctx.limits.zip_max_total_bytes)
        names: set[str] = set()
        files = 0
        for info in infos:
            if info.is_dir() or _junk(info.filename):
                continue
            files += 1
            member_ctx = replace(ctx, member=info.filename)
            problem = _member_problem(info, names)
            names.add(info.filename)
            if problem is not None:
                yield member_ctx.error(None, None, problem)
                continue
            try:
                member_ctx = replace(member_ctx, fmt=member_format(info.filename))
            except ImportRowError as error:
                yield member_ctx.error(None, None, error.message)
                continue
            try:
                with archive.open(info) as raw:
                    yield from read_member(
                        _LimitedMember(raw, info, budget, member_ctx), member_ctx
                    )
            except ImportFileRefused:
                raise
            except ImportRowError as error:
                # Reading this member stopped; the others are independent files, so go on.
                yield error
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
                yield member_ctx.error(None, None, f"cannot be decompressed ({error})")
        if files == 0:
            raise ctx.error(None, None, "the archive holds no files", fatal=True)
