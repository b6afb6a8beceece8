"""The S3-compatible store: AWS Signature V4 as AWS's own example computes it, and against a small S3 stand-in
(HEAD, PUT, GET by path-style URL, each request's signature checked): a file judged first, sent once per content."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from domain.attachments.s3 import EMPTY_SHA256, S3Store, sign
from domain.core.errors import NotFound, Unavailable, Unsupported

KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
PDF = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"


def test_signature_v4_matches_aws_example() -> None:
    # docs.aws.amazon.com, "Signature Version 4 signing process": GET ListUsers on IAM, 2015-08-30T12:36:00Z
    headers = sign("GET", "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
                   {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, EMPTY_SHA256,
                   access_key=KEY, secret_key=SECRET, region="us-east-1", service="iam",
                   now=datetime(2015, 8, 30, 12, 36, tzinfo=UTC))
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")


class FakeS3(BaseHTTPRequestHandler):
    objects: dict[str, bytes] = {}
    calls: list[tuple[str, str]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _checked(self, body: bytes) -> bool:
        got = {k.lower(): v for k, v in self.headers.items()}
        signed_names = got["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
        payload = got["x-amz-content-sha256"]
        if body and payload != hashlib.sha256(body).hexdigest():
            return False
        now = datetime.strptime(got["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        given = {n: got[n] for n in signed_names if n not in ("host", "x-amz-date")}
        again = sign(self.command, f"http://{got['host']}{self.path}", given, payload, access_key=KEY,
                     secret_key=SECRET, region="eu-test-1", now=now)
        return again["authorization"] == got["authorization"]

    def _answer(self, status: int, body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.calls.append(("HEAD", self.path))
        self._answer(200 if self._checked(b"") and self.path in self.objects else 404 if self._checked(b"") else 403)

    def do_GET(self) -> None:
        self.calls.append(("GET", self.path))
        if not self._checked(b""):
            self._answer(403)
        elif self.path in self.objects:
            self._answer(200, self.objects[self.path])
        else:
            self._answer(404)

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.calls.append(("PUT", self.path))
        if not self._checked(body):
            self._answer(403)
            return
        self.objects[self.path] = body
        self._answer(200)


@pytest.fixture
def s3() -> Iterator[str]:
    FakeS3.objects, FakeS3.calls = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeS3)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def put(store: S3Store, data: bytes, name: str = "") -> Any:
    r = store.receive(1000)
    r.write(data)
    return r.keep(name)


def test_kept_in_the_bucket_once_per_content(s3: str, tmp_path: Path) -> None:
    store = S3Store(s3, "files", region="eu-test-1", access_key=KEY, secret_key=SECRET, prefix="vl/",
                    spool=tmp_path)
    a = put(store, PDF, "quote.pdf")
    path = f"/files/vl/{a.sha256[:2]}/{a.sha256}"
    assert FakeS3.objects == {path: PDF} and FakeS3.calls == [("HEAD", path), ("PUT", path)]
    assert put(store, PDF, "again.exe") == a
    assert FakeS3.calls[2:] == [("HEAD", path)]  # there already: not sent again
    assert store.read(a.sha256) == PDF
    with pytest.raises(Unsupported):
        put(store, b"<html><script>x</script></html>")
    assert len(FakeS3.calls) == 4  # a refused file never reaches the bucket
    with pytest.raises(NotFound):
        store.read("0" * 64)
    assert list(tmp_path.iterdir()) == []  # nothing left in the spool


def test_a_wrong_secret_is_refused(s3: str, tmp_path: Path) -> None:
    store = S3Store(s3, "files", region="eu-test-1", access_key=KEY, secret_key="wrong", spool=tmp_path)
    with pytest.raises(Unavailable, match=r"refused the file \(HTTP 403\)"):
        put(store, PDF)
    assert FakeS3.objects == {}
