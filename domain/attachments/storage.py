"""Where attachments' bytes live: content-addressed files `<root>/<sha[:2]>/<sha>`, each written to a temporary
file beside them and renamed into place (atomic: a reader never sees half a file; the same content twice is
stored once). The root is settings.attachments_dir, else `attachments/` beside the SQLite database, else
var/attachments. Or objects of the same names in an S3-compatible bucket (domain.attachments.s3) when configured.

An upload is received in chunks (`Receiving.write`), refused once past the size limit (TooLarge) and judged by
its content (content_types.sniff) before it is kept; a refused one leaves nothing behind."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.engine import make_url

from domain.attachments import content_types
from domain.core.errors import NotFound, TooLarge


def root_for(attachments_dir: str, database_url: str) -> Path:
    """The directory attachments are kept under, for these settings."""
    if attachments_dir:
        return Path(attachments_dir)
    try:
        url = make_url(database_url)
    except Exception:  # an URL SQLAlchemy cannot read has no file beside which to keep them
        url = None
    if url is not None and url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:"):
        return Path(url.database).resolve().parent / "attachments"
    return Path("var/attachments")


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    content_type: str


class Receiving:
    """One upload on its way in: a temporary file in `spool` (the store's own directory, for an atomic rename), its
    hash and size counted as it is written; `commit(path, sha)` moves a judged one to where the store keeps it."""

    def __init__(self, spool: Path, max_bytes: int, commit: Callable[[Path, str], None]):
        self.max_bytes, self.size, self._commit = max_bytes, 0, commit
        self._hash = hashlib.sha256()
        spool.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".upload-", dir=spool)
        self.path = Path(name)
        self._file: BinaryIO = os.fdopen(fd, "w+b")

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            self.discard()
            raise TooLarge(f"the file is larger than the limit of {self.max_bytes:,} bytes")
        self._hash.update(chunk)
        self._file.write(chunk)

    def keep(self, filename: str = "") -> Stored:
        """Judge the content (Invalid, Unsupported: nothing kept) and move it to its place under its hash."""
        try:
            kind = content_types.sniff(self._file, filename)
        except Exception:
            self.discard()
            raise
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        sha = self._hash.hexdigest()
        try:
            self._commit(self.path, sha)
        finally:
            self.path.unlink(missing_ok=True)
        return Stored(sha256=sha, size=self.size, content_type=kind)

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)


class LocalStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def receive(self, max_bytes: int) -> Receiving:
        return Receiving(self.root, max_bytes, self._commit)

    def _commit(self, path: Path, sha256: str) -> None:
        target = self.path_of(sha256)
        if not target.exists():  # else the same content is there already: stored once
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)

    def read(self, sha256: str) -> bytes:
        with self.open(sha256) as f:
            return f.read()

    def path_of(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise NotFound("no such file")
        return self.root / sha256[:2] / sha256

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self.path_of(sha256).open("rb")
        except FileNotFoundError:
            raise NotFound("the attachment's file is missing from the store") from None

    def put(self, data: bytes, max_bytes: int, filename: str = "") -> Stored:
        """The whole content at once (tests, the demo)."""
        r = self.receive(max_bytes)
        r.write(data)
        return r.keep(filename)
