"""Attachments kept in an S3-compatible bucket (AWS S3, MinIO, Ceph, ...): objects `<prefix><sha[:2]>/<sha>` by
path-style URLs, every request signed with AWS Signature Version 4 (computed here: no SDK). An upload is spooled
to a local temporary file and judged (storage.Receiving) before it is PUT; content already in the bucket (HEAD
answers 200) is not sent again."""

from __future__ import annotations

import hashlib
import hmac
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import httpx

from domain.attachments.storage import Receiving
from domain.core.errors import NotFound, Unavailable

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED = "UNSIGNED-PAYLOAD"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _enc(text: str, safe: str = "-_.~") -> str:
    return quote(text, safe=safe)


def sign(method: str, url: str, headers: Mapping[str, str], payload_sha256: str, *, access_key: str,
         secret_key: str, region: str, service: str = "s3", now: datetime | None = None) -> dict[str, str]:
    """The headers of a request signed with AWS Signature Version 4: those given (names lower-cased), host,
    x-amz-date and authorization. `payload_sha256`: the body's hex SHA-256 (or UNSIGNED-PAYLOAD)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    parts = urlsplit(url)
    out = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
    out["host"] = parts.netloc
    out["x-amz-date"] = amz_date
    names = sorted(out)
    query = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in sorted(parse_qsl(parts.query, keep_blank_values=True)))
    canonical = "\n".join([method.upper(), _enc(parts.path or "/", safe="/-_.~"), query,
                           "".join(f"{n}:{out[n]}\n" for n in names), ";".join(names), payload_sha256])
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret_key}".encode(), day), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out["authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={';'.join(names)}, "
                            f"Signature={signature}")
    return out


class S3Store:
    def __init__(self, endpoint: str, bucket: str, *, region: str, access_key: str, secret_key: str,
                 prefix: str = "", spool: Path | None = None, timeout: float = 30.0):
        self.endpoint, self.bucket, self.prefix = endpoint.rstrip("/"), bucket, prefix
        self.region, self.access_key, self.secret_key = region, access_key, secret_key
        self.spool = spool or Path(tempfile.gettempdir()) / "valueloop-uploads"
        self.timeout = timeout

    def url_of(self, sha256: str) -> str:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise NotFound("no such file")
        return f"{self.endpoint}/{_enc(self.bucket)}/{_enc(self.prefix + sha256[:2] + '/' + sha256, safe='/-_.~')}"

    def _request(self, method: str, sha256: str, body: bytes = b"", payload: str = EMPTY_SHA256,
                 headers: Mapping[str, str] | None = None) -> httpx.Response:
        url = self.url_of(sha256)
        signed = sign(method, url, {**(headers or {}), "x-amz-content-sha256": payload}, payload,
                      access_key=self.access_key, secret_key=self.secret_key, region=self.region)
        try:
            with httpx.Client(timeout=self.timeout) as http:
                return http.request(method, url, headers=signed, content=body or None)
        except httpx.HTTPError as e:
            raise Unavailable(f"the attachments store did not answer ({type(e).__name__})") from None

    def receive(self, max_bytes: int) -> Receiving:
        return Receiving(self.spool, max_bytes, self._commit)

    def _commit(self, path: Path, sha256: str) -> None:
        if self._request("HEAD", sha256).status_code == 200:
            return  # the same content is there already: stored once
        body = path.read_bytes()
        r = self._request("PUT", sha256, body, sha256, {"content-type": "application/octet-stream"})
        if r.status_code not in (200, 201, 204):
            raise Unavailable(f"the attachments store refused the file (HTTP {r.status_code})")

    def read(self, sha256: str) -> bytes:
        r = self._request("GET", sha256)
        if r.status_code == 404:
            raise NotFound("the attachment's file is missing from the store")
        if r.status_code != 200:
            raise Unavailable(f"the attachments store did not give the file (HTTP {r.status_code})")
        return r.content
