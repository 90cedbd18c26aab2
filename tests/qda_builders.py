"""Builders of REFI-QDA projects for tests: well-formed ones, broken ones and hostile ones.

Shared by tests/qual/test_refi.py (the importer itself) and the command-level
tests (tests/data/test_bad_inputs.py: the same files through `validate DIR` and
`qda-import`). Element and attribute names follow the REFI-QDA Project schema
(tests/fixtures/refi/Project-mrt2019.xsd).
"""

from __future__ import annotations

import stat
import struct
import zipfile
from pathlib import Path

from ponzoni_eval.qual.model import NS_PROJECT

G = {  # readable GUIDs
    "u_ep": "11111111-1111-4111-8111-111111111111",
    "u_ab": "22222222-2222-4222-8222-222222222222",
    "theme_gap": "33333333-0000-4000-8000-000000000001",
    "own": "33333333-0000-4000-8000-000000000002",
    "other": "33333333-0000-4000-8000-000000000003",
    "flat": "33333333-0000-4000-8000-000000000004",
    "src1": "44444444-0000-4000-8000-000000000001",
    "src2": "44444444-0000-4000-8000-000000000002",
    "v_part": "55555555-0000-4000-8000-000000000001",
    "v_case": "55555555-0000-4000-8000-000000000002",
    "v_wave": "55555555-0000-4000-8000-000000000003",
}
TEXT1 = "I: Wilt u samenwerken?\nR: Ja, wij willen samenwerken.\nR: Maar zij willen niet."
TEXT2 = "R: Güven groeit. Ouders komen nu zelf."


def project_xml(body: str, *, attributes: str = "", namespace: str | None = NS_PROJECT, root: str = "Project") -> bytes:
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    return f'<?xml version="1.0" encoding="utf-8"?>\n<{root}{xmlns} name="test" {attributes}>{body}</{root}>'.encode()


def qdpx(tmp_path: Path, members: dict[str, bytes | str], name: str = "project.qdpx") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data.encode() if isinstance(data, str) else data)
    return path


def users_xml() -> str:
    return (f'<Users><User guid="{G["u_ep"]}" name="EP"/><User guid="{G["u_ab"]}" id="AB-login"/></Users>')


def codebook_xml() -> str:
    return (
        "<CodeBook><Codes>"
        f'<Code guid="{G["theme_gap"]}" name="Perception gap" isCodable="false">'
        f'<Code guid="{G["own"]}" name="Own willingness" isCodable="true"><Description>Own side wants it.</Description></Code>'
        f'<Code guid="{G["other"]}" name="Other willingness" isCodable="true"/>'
        "</Code>"
        f'<Code guid="{G["flat"]}" name="Trust::Mutual trust" isCodable="true"/>'
        "</Codes></CodeBook>"
    )


def selection(guid: str, start: int, end: int, code: str, *, user: str | None = "u_ep", name: str = "",
              selection_user: str | None = None) -> str:
    coding_user = f' creatingUser="{G[user]}"' if user else ""
    sel_user = f' creatingUser="{G[selection_user]}"' if selection_user else ""
    return (f'<PlainTextSelection guid="{guid}" name="{name}" startPosition="{start}" endPosition="{end}"{sel_user}>'
            f'<Coding guid="{guid[:-4]}c0de"{coding_user}><CodeRef targetGUID="{G[code]}"/></Coding>'
            "</PlainTextSelection>")


def basic_project(*, sources: str | None = None, extra: str = "", attributes: str = "") -> bytes:
    if sources is None:
        sources = (
            f'<TextSource guid="{G["src1"]}" name="Interview P01.docx" plainTextPath="internal://{G["src1"]}.txt">'
            + selection("66666666-0000-4000-8000-000000000001", 30, 53, "own")
            + selection("66666666-0000-4000-8000-000000000002", 57, 78, "other", user="u_ab")
            + "</TextSource>"
        )
    return project_xml(users_xml() + codebook_xml() + extra + f"<Sources>{sources}</Sources>", attributes=attributes)


def basic_qdpx(tmp_path: Path, **kwargs) -> Path:
    return qdpx(tmp_path, {"project.qde": basic_project(**kwargs), f"sources/{G['src1']}.txt": TEXT1})


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Project [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&secret;"/>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&lol3;"/>"""


def patch_sizes(data: bytearray, member: str, new_size: int) -> bytes:
    """Overwrite the uncompressed size of ``member`` in its local header and central directory entry."""
    name = member.encode()
    local = data.find(b"PK\x03\x04")
    while local != -1:
        name_length = struct.unpack_from("<H", data, local + 26)[0]
        if data[local + 30: local + 30 + name_length] == name:
            struct.pack_into("<I", data, local + 22, new_size)
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46: central + 46 + name_length] == name:
            struct.pack_into("<I", data, central + 24, new_size)
        central = data.find(b"PK\x01\x02", central + 4)
    return bytes(data)


def symlink_qdpx(path: Path) -> Path:
    """A project whose text source is a symbolic link to /etc/passwd (unix mode bits in the zip entry)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", basic_project())
        link = zipfile.ZipInfo(f"sources/{G['src1']}.txt")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    return path


def zip_bomb_members(megabytes: int = 20) -> dict[str, bytes]:
    """A project plus a member that deflates ~1000:1 (20 MiB of zeros in about 20 KiB)."""
    return {"project.qde": basic_project(), "sources/bomb.txt": b"0" * (megabytes * 1024 * 1024)}


ZIP_SLIP_MEMBERS = ("../evil.txt", "sources/../../evil.txt", "..\\evil.txt", "/etc/passwd", "C:/Windows/evil.txt")
"""Member names that would write outside the folder an archive is unpacked into."""
