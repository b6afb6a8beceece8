"""What a file is, judged by its content (magic bytes), never by its name: the allow-list of attachments.

PDF, PNG, JPEG, GIF, WebP, plain text or CSV (valid UTF-8 without NUL, and not markup: HTML or SVG would run in a
browser), and Office Open XML documents and workbooks (a zip holding [Content_Types].xml and word/ or xl/).
Anything else is Unsupported (415). Pure: no database, no HTTP."""

from __future__ import annotations

import codecs
import zipfile
from typing import BinaryIO

from domain.core.errors import Invalid, Unsupported

PDF, PNG, JPEG, GIF, WEBP = "application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"
TEXT, CSV = "text/plain; charset=utf-8", "text/csv; charset=utf-8"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF), (b"\x89PNG\r\n\x1a\n", PNG), (b"\xff\xd8\xff", JPEG), (b"GIF87a", GIF), (b"GIF89a", GIF),
)
# What makes a browser take text for HTML (the WHATWG sniffing table's tags), looked for near the start.
_MARKUP = (b"<!doctype", b"<html", b"<head", b"<body", b"<script", b"<iframe", b"<svg", b"<?xml", b"<a ", b"<img",
           b"<div", b"<table", b"<style", b"<title", b"<font", b"<br", b"<p>", b"<p ", b"<h1", b"<b>", b"<!--")
_CHUNK = 1 << 16

ALLOWED_LABEL = "PDF, PNG, JPEG, GIF, WebP, plain text or CSV, Word (.docx) or Excel (.xlsx)"


def sniff(data: BinaryIO, filename: str = "") -> str:
    """The content type of the file `data` holds (read from its start; a seekable binary file). The name only
    chooses between the two labels of text (CSV or plain), never whether a file is accepted."""
    data.seek(0)
    head = data.read(512)
    if not head:
        raise Invalid("the file is empty")
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"PK\x03\x04"):
        return _office(data)
    if _is_text(data):
        return CSV if filename.lower().endswith(".csv") else TEXT
    raise Unsupported(f"this file's content is not of a type accepted here ({ALLOWED_LABEL})")


def _office(data: BinaryIO) -> str:
    data.seek(0)
    try:
        with zipfile.ZipFile(data) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        names = set()
    if "[Content_Types].xml" in names:
        if any(n.startswith("word/") for n in names):
            return DOCX
        if any(n.startswith("xl/") for n in names):
            return XLSX
    raise Unsupported(f"this file's content is not of a type accepted here ({ALLOWED_LABEL}); a zip archive is "
                      "accepted only as a Word or Excel document")


def _is_text(data: BinaryIO) -> bool:
    """Valid UTF-8 throughout, no NUL, and not markup a browser would render."""
    data.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    start = b""
    while chunk := data.read(_CHUNK):
        if b"\x00" in chunk:
            return False
        if len(start) < 1024:
            start += chunk[:1024 - len(start)]
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError:
            return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    lead = start.removeprefix(codecs.BOM_UTF8).lstrip().lower()
    return not lead.startswith(b"<") and not any(tag in lead for tag in _MARKUP)
