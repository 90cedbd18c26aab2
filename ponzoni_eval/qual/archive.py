"""Safe reading of REFI-QDA archives and XML: zip slip, links, bombs and XML entities are refused."""

from __future__ import annotations

import re
import stat
import xml.etree.ElementTree as ET
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from ponzoni_eval._core.errors import DataError
from ponzoni_eval.qual.model import ImportReport

__all__ = [
    "ArchiveLimits",
]


# --- safe archive reading -------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveLimits:
    """Limits that keep a hostile archive from exhausting memory or disk.

    The defaults fit any interview project: raise ``max_total_bytes`` for
    projects with many large audio or video members (they are never read, but
    their declared sizes count towards the total).
    """

    max_members: int = 20_000
    max_total_bytes: int = 4 * 1024**3
    max_member_bytes: int = 256 * 1024**2
    max_ratio: float = 200.0
    ratio_floor_bytes: int = 1024**2
    """Compression ratios are only checked for members larger than this (tiny
    files of repeated characters compress far better than any bomb threshold)."""


_S_IFLNK = stat.S_IFLNK


def archive_member_label(archive: str, member: str) -> str:
    return f"{archive} [{member}]"


class SafeArchive:
    """A zip archive opened read-only, checked before anything is decompressed."""

    def __init__(self, path: Path, limits: ArchiveLimits) -> None:
        self.path = path
        self.label = str(path)
        self.limits = limits
        self._read_total = 0
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as exc:
            raise DataError(
                f"is not a valid zip archive ({exc}); a REFI-QDA project (.qdpx) is a zip file: "
                "export it again from your QDA program",
                file=self.label, rule="zip_corrupt",
            ) from None
        try:
            self.members = self._check_central_directory()
        except DataError:
            self._zip.close()
            raise

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> "SafeArchive":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _refuse(self, message: str, rule: str, member: str | None = None) -> DataError:
        where = self.label if member is None else archive_member_label(self.label, member)
        return DataError(f"refused: {message}", file=where, rule=rule)

    def _check_central_directory(self) -> list[zipfile.ZipInfo]:
        infos = self._zip.infolist()
        limits = self.limits
        if len(infos) > limits.max_members:
            raise self._refuse(f"the archive lists {len(infos)} members, more than the limit of "
                               f"{limits.max_members}", "zip_members")
        seen: dict[str, str] = {}
        total = 0
        for info in infos:
            name = info.filename
            normal = name.replace("\\", "/")
            if "\x00" in name:
                raise self._refuse("a member name contains a NUL character", "zip_path", repr(name))
            if normal.startswith("/") or re.match(r"^[A-Za-z]:", normal):
                raise self._refuse("member has an absolute path; members must stay inside the archive",
                                   "zip_path", name)
            if ".." in normal.split("/"):
                raise self._refuse("member path leaves the archive ('..'); this is how 'zip slip' "
                                   "attacks overwrite files", "zip_path", name)
            if stat.S_IFMT(info.external_attr >> 16) == _S_IFLNK:
                raise self._refuse("member is a symbolic link; links can point at files outside the "
                                   "archive", "zip_symlink", name)
            if info.flag_bits & 0x1:
                raise self._refuse("member is encrypted; export the project without a password",
                                   "zip_encrypted", name)
            key = normal.casefold()
            if key in seen:
                raise self._refuse(f"two members have the same name ('{seen[key]}' and '{name}'); "
                                   "it would be ambiguous which one is read", "zip_duplicate", name)
            seen[key] = name
            if info.is_dir():
                continue
            total += info.file_size
            if total > limits.max_total_bytes:
                raise self._refuse(f"the members would decompress to more than {limits.max_total_bytes} "
                                   "bytes (zip bomb protection; raise ArchiveLimits.max_total_bytes "
                                   "for very large media projects)", "zip_total_size")
            self._check_ratio(name, info.file_size, info.compress_size)
        return [info for info in infos if not info.is_dir()]

    def _check_ratio(self, name: str, size: int, compressed: int) -> None:
        limits = self.limits
        if size <= limits.ratio_floor_bytes:
            return
        ratio = size / compressed if compressed else float("inf")
        if ratio > limits.max_ratio:
            raise self._refuse(f"compression ratio {ratio:.0f}:1 exceeds the limit of "
                               f"{limits.max_ratio:.0f}:1 (zip bomb protection)", "zip_ratio", name)

    def read(self, info: zipfile.ZipInfo) -> bytes:
        """Decompress one member, counting bytes as they come out."""
        limits = self.limits
        name = info.filename
        if info.file_size > limits.max_member_bytes:
            raise self._refuse(f"member declares {info.file_size} bytes, more than the limit of "
                               f"{limits.max_member_bytes} per file", "zip_member_size", name)
        chunks = []
        produced = 0
        try:
            with self._zip.open(info) as handle:
                while chunk := handle.read(1 << 16):
                    produced += len(chunk)
                    self._read_total += len(chunk)
                    if produced > info.file_size or produced > limits.max_member_bytes:
                        raise self._refuse("member decompresses to more bytes than its header declares",
                                           "zip_member_size", name)
                    if self._read_total > limits.max_total_bytes:
                        raise self._refuse(f"more than {limits.max_total_bytes} bytes decompressed in total",
                                           "zip_total_size", name)
                    self._check_ratio(name, produced, info.compress_size)
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise DataError(f"member is corrupt ({exc}); export the project again",
                            file=archive_member_label(self.label, name), rule="zip_corrupt") from None
        except NotImplementedError as exc:
            raise DataError(f"member uses a compression method Python cannot read ({exc})",
                            file=archive_member_label(self.label, name), rule="zip_corrupt") from None
        except RuntimeError as exc:  # zipfile's way of saying "password required"
            raise self._refuse(f"member cannot be read ({exc})", "zip_encrypted", name) from None
        if produced != info.file_size:
            raise DataError(f"member holds {produced} bytes but its header declares {info.file_size}; "
                            "the archive is corrupt", file=archive_member_label(self.label, name),
                            rule="zip_corrupt")
        return b"".join(chunks)

    def project_member(self) -> zipfile.ZipInfo:
        """The one .qde file: at the shallowest level, preferring 'project.qde'."""
        candidates = [i for i in self.members if i.filename.casefold().endswith(".qde")]
        if not candidates:
            listing = ", ".join(i.filename for i in self.members[:5]) or "nothing"
            raise DataError(
                "contains no .qde project file; a REFI-QDA project (.qdpx) holds one 'project.qde' "
                "(codes, codings, cases) beside a 'sources' folder",
                file=self.label, found=listing, rule="qdpx_no_qde",
            )
        depth = min(i.filename.replace("\\", "/").count("/") for i in candidates)
        shallow = [i for i in candidates if i.filename.replace("\\", "/").count("/") == depth]
        if len(shallow) == 1:
            return shallow[0]
        named = [i for i in shallow if i.filename.replace("\\", "/").rsplit("/", 1)[-1].casefold() == "project.qde"]
        if len(named) == 1:
            return named[0]
        raise DataError("contains several .qde project files; it is unclear which one to read",
                        file=self.label, found=", ".join(i.filename for i in shallow), rule="qdpx_no_qde")

    def sources_index(self, project: zipfile.ZipInfo) -> dict[str, zipfile.ZipInfo]:
        """Files in the sources folder beside the project file, by `file_key`."""
        base = project.filename.replace("\\", "/").rpartition("/")[0]
        prefix = (base + "/" if base else "").casefold() + "sources/"
        index = {}
        for info in self.members:
            normal = info.filename.replace("\\", "/")
            if normal.casefold().startswith(prefix):
                index[file_key(normal[len(prefix):])] = info
        return index


def file_key(name: str) -> str:
    """How sources are matched to ``internal://`` paths: no case, no GUID braces."""
    return name.replace("\\", "/").strip("/").casefold().replace("{", "").replace("}", "")


_BOMS = ((b"\xff\xfe\x00\x00", "utf-32", 4), (b"\x00\x00\xfe\xff", "utf-32", 4),
         (b"\xff\xfe", "utf-16", 2), (b"\xfe\xff", "utf-16", 2))


def decode_text(data: bytes, where: str, report: ImportReport) -> str:
    """A source text: UTF-16/32 by its byte-order mark, else UTF-8, else Windows-1252 with a warning.

    Damaged wide text (an odd byte count, a lone surrogate) is a `DataError` naming the member and
    the byte where reading stopped, never a traceback (issue 19).
    """
    for bom, encoding, width in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                name = "UTF-16" if width == 2 else "UTF-32"
                if (len(data) - width) % width:
                    reason = (f"the {name} text has {len(data):,} bytes, not a multiple of {width}: the file is cut "
                              "off or damaged")
                elif "surrogate" in exc.reason:
                    reason = f"the {name} text holds a lone surrogate at byte {exc.start:,} (half of a character)"
                else:
                    reason = f"the {name} text cannot be read at byte {exc.start:,} ({exc.reason})"
                raise DataError(f"is not readable text: {reason}; export the project again from the QDA program "
                                "(REFI-QDA sources are UTF-8)", file=where, rule="text_encoding") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise DataError("text is neither UTF-8 nor Windows-1252; REFI-QDA sources are UTF-8",
                        file=where, rule="text_encoding") from None
    report.warnings.append(f"{where}: not UTF-8 as REFI-QDA requires; read as Windows-1252")
    return text


# --- hardened XML -------------------------------------------------------------------


def parse_xml(data: bytes, where: str) -> ET.Element:
    """Parse with defusedxml: no DTD, no entities, no external references."""
    from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
    from defusedxml import ElementTree as SafeET

    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden:
        raise DataError(
            "refused: the XML declares a DTD (<!DOCTYPE ...>). DTDs define entities that can read local "
            "files (XXE) or expand to gigabytes ('billion laughs'); REFI-QDA files never need one",
            file=where, rule="xml_dtd",
        ) from None
    except (EntitiesForbidden, ExternalReferenceForbidden) as exc:
        raise DataError(f"refused: the XML uses entities or external references ({exc})",
                        file=where, rule="xml_entities") from None
    except ET.ParseError as exc:
        line, column = getattr(exc, "position", (None, None))
        raise DataError(f"is not well-formed XML (line {line}, column {column}): {exc}",
                        file=where, rule="xml_syntax") from None
