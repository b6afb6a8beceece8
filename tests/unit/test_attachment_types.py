"""Attachments are accepted by their content, never their name (domain.attachments.content_types), and kept
content-addressed (storage): what a refused upload leaves behind is nothing."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from domain.attachments import content_types as ct
from domain.attachments.services import clean_filename
from domain.attachments.storage import LocalStore, root_for
from domain.core.errors import Invalid, TooLarge, Unsupported

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 16
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 16
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 50 + b"This program cannot be run in DOS mode"
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'


def office(folder: str, content_types: bool = True) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        if content_types:
            z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(f"{folder}/document.xml", "<x/>")
    return buf.getvalue()


def sniff(data: bytes, name: str = "") -> str:
    return ct.sniff(io.BytesIO(data), name)


@pytest.mark.parametrize(("data", "name", "kind"), [
    (PDF, "quote.pdf", ct.PDF), (PNG, "a.png", ct.PNG), (JPEG, "a.jpg", ct.JPEG), (GIF, "a.gif", ct.GIF),
    (WEBP, "a.webp", ct.WEBP), ("Taxi 12,50 € — 出租车\n".encode(), "note.txt", ct.TEXT),
    (b"date,amount\n2026-11-02,40.00\n", "lines.csv", ct.CSV), (office("word"), "contract.docx", ct.DOCX),
    (office("xl"), "budget.xlsx", ct.XLSX),
])
def test_each_allowed_type_is_known_by_its_content(data: bytes, name: str, kind: str) -> None:
    assert sniff(data, name) == kind


def test_the_name_never_decides() -> None:
    assert sniff(PDF, "setup.exe") == ct.PDF  # a PDF named .exe is a PDF
    assert sniff(PNG, "") == ct.PNG
    for bad in (HTML, EXE, SVG):
        with pytest.raises(Unsupported):
            sniff(bad, "quote.pdf")  # and HTML, an executable or SVG named .pdf is refused


@pytest.mark.parametrize("data", [
    b"hello\x00world", b"\xff\xfe h\x00i\x00", b"caf\xe9 latin-1", HTML, SVG, b"  <html>x", b"<p>hi</p>",
    office("ppt"), office("word", content_types=False), b"PK\x03\x04 not a zip at all", EXE,
])
def test_refused_content(data: bytes) -> None:
    with pytest.raises(Unsupported):
        sniff(data, "notes.txt")


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(Invalid):
        sniff(b"", "empty.txt")


def test_filenames_are_cleaned() -> None:
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("C:\\Users\\erin\\receipt.pdf") == "receipt.pdf"
    assert clean_filename("a\x00b\r\nc\u202e.pdf") == "a b c .pdf"
    assert clean_filename("...") == "attachment"
    long = clean_filename("x" * 500 + ".pdf")
    assert len(long) == 200 and long.endswith(".pdf")
    assert clean_filename("收据 2026.pdf") == "收据 2026.pdf"


def test_stored_once_by_content_and_nothing_left_when_refused(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    a = store.put(PDF, 1000, "a.pdf")
    b = store.put(PDF, 1000, "b.exe")
    assert a == b and a.content_type == ct.PDF and a.size == len(PDF)
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()] == [
        f"{a.sha256[:2]}/{a.sha256}"]
    with pytest.raises(TooLarge):
        store.put(PDF, len(PDF) - 1)
    with pytest.raises(Unsupported):
        store.put(HTML, 1000)
    assert sum(1 for p in tmp_path.rglob("*") if p.is_file()) == 1  # no temporary file left behind
    assert store.open(a.sha256).read() == PDF


def test_where_files_are_kept(tmp_path: Path) -> None:
    assert root_for(str(tmp_path), "sqlite:///x.db") == tmp_path
    assert root_for("", f"sqlite:///{tmp_path}/valueloop.db") == tmp_path / "attachments"
    assert root_for("", "postgresql+psycopg://u@h/db") == Path("var/attachments")
