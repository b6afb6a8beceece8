"""Attachments end to end: a claim's receipt uploaded, downloaded as a file (exact headers) by its requester and its
approver and by nobody else (404, as for an unknown id); over the limit 413 and a refused type 415, nothing stored
either way; the same content kept once; the claim page's panel and its upload form."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from domain.attachments.tables import Attachment
from domain.core.db import Database
from tests.e2e.conftest import Stack, serve_stack
from tests.e2e.test_sales_pages import Browser, flash
from tests.e2e.test_sales_pages import text as page_text
from tests.unit.test_attachment_s3 import KEY, SECRET, FakeS3, s3  # noqa: F401  # s3: the fixture

LIMIT = 4096
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


@pytest_asyncio.fixture
async def att(dev_env: WorkflowEnvironment, db: Database, tmp_path: Path) -> AsyncIterator[tuple[Stack, Path]]:
    files = tmp_path / "files"
    async with serve_stack(dev_env, db, "att", attachments_dir=str(files), attachment_max_bytes=LIMIT) as served:
        yield Stack(http=served.http, db=db, platform=served.platform), files


def rows(stack: Stack) -> int:
    with stack.db.read() as s:
        return int(s.execute(select(func.count()).select_from(Attachment)).scalar_one())


def stored(files: Path) -> list[str]:
    return sorted(p.relative_to(files).as_posix() for p in files.rglob("*") if p.is_file()) if files.exists() else []


async def filed_claim(stack: Stack) -> str:
    r = await stack.as_("erin", "POST", "/api/expense-claims", json={"lines": [
        {"category": "meals", "amount": 40, "currency": "USD", "date": "2026-11-02", "description": "lunch"}]})
    assert r.status_code == 201, r.text
    claim: str = r.json()["claim_id"]
    await stack.open_task("frank", claim)  # the process is recorded: frank approves it
    return claim


async def upload(stack: Stack, who: str, content: bytes, name: str, document: str | None) -> dict[str, object]:
    data = {"document": document} if document is not None else {}
    r = await stack.as_(who, "POST", "/api/attachments", data=data, files={"file": (name, content, "application/pdf")})
    return {"status": r.status_code, "body": r.json()}


async def test_a_receipt_on_a_claim(att: tuple[Stack, Path]) -> None:
    stack, files = att
    claim = await filed_claim(stack)
    name = "Taxi receipt €12.pdf"
    up = await upload(stack, "erin", PDF, name, claim)
    assert up["status"] == 201, up
    body = up["body"]
    assert isinstance(body, dict)
    assert body["filename"] == name and body["size"] == len(PDF) and len(body["sha256"]) == 64
    sha = body["sha256"]
    assert stored(files) == [f"{sha[:2]}/{sha}"]

    r = await stack.as_("erin", "GET", f"/api/attachments/{body['attachment_id']}")
    assert r.status_code == 200 and r.content == PDF
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == "attachment; filename*=UTF-8''Taxi%20receipt%20%E2%82%AC12.pdf"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "private"

    # The approver of the claim may read it; someone with nothing to do with it gets the unknown id's answer.
    assert (await stack.as_("frank", "GET", f"/api/attachments/{body['attachment_id']}")).content == PDF
    listed = (await stack.as_("frank", "GET", "/api/attachments", params={"document": claim})).json()
    assert [a["attachment_id"] for a in listed] == [body["attachment_id"]]
    hidden = await stack.as_("dave", "GET", f"/api/attachments/{body['attachment_id']}")
    unknown = await stack.as_("dave", "GET", "/api/attachments/00000000-0000-4000-8000-000000000000")
    assert hidden.status_code == unknown.status_code == 404
    assert (await stack.as_("dave", "GET", "/api/attachments", params={"document": claim})).status_code == 404
    assert (await upload(stack, "dave", PDF, "x.pdf", claim))["status"] == 404
    assert (await upload(stack, "erin", PDF, "x.pdf", "EC-99999"))["status"] == 404
    # grace (finance) oversees every claim
    assert (await stack.as_("grace", "GET", f"/api/attachments/{body['attachment_id']}")).status_code == 200

    # The same content again (the approver attaching it too): a second attachment, one file.
    again = await upload(stack, "frank", PDF, "copy.exe", claim)
    assert again["status"] == 201 and again["body"]["sha256"] == sha and again["body"]["content_type"] == "application/pdf"  # type: ignore[index]
    assert stored(files) == [f"{sha[:2]}/{sha}"] and rows(stack) == 2


async def test_too_large_or_refused_stores_nothing(att: tuple[Stack, Path]) -> None:
    stack, files = att
    claim = await filed_claim(stack)
    over = PDF + b"%" * (LIMIT - len(PDF) + 1)
    r = await upload(stack, "erin", over, "big.pdf", claim)
    assert r["status"] == 413 and "4,096 bytes" in r["body"]["detail"], r  # type: ignore[index]
    huge = await upload(stack, "erin", PDF + b"%" * 300_000, "huge.pdf", claim)  # refused before it is read
    assert huge["status"] == 413, huge
    for content, name in ((HTML, "quote.pdf"), (b"MZ\x90\x00" + b"\x00" * 64, "receipt.pdf"),
                          (b"a\x00b", "notes.txt")):
        refused = await upload(stack, "erin", content, name, claim)
        assert refused["status"] == 415, refused
        assert "not of a type accepted" in refused["body"]["detail"]  # type: ignore[index]
    assert rows(stack) == 0 and stored(files) == []
    exactly = await upload(stack, "erin", PDF + b"%" * (LIMIT - len(PDF)), "full.pdf", claim)
    assert exactly["status"] == 201, exactly


async def test_a_draft_is_its_uploaders_alone(att: tuple[Stack, Path]) -> None:
    stack, _ = att
    up = await upload(stack, "erin", b"date,amount\n2026-11-02,40.00\n", "lines.csv", None)
    assert up["status"] == 201 and up["body"]["document"] == "draft:erin"  # type: ignore[index]
    aid = up["body"]["attachment_id"]  # type: ignore[index]
    r = await stack.as_("erin", "GET", f"/api/attachments/{aid}")
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert (await stack.as_("frank", "GET", f"/api/attachments/{aid}")).status_code == 404
    assert (await upload(stack, "frank", PDF, "x.pdf", "draft:erin"))["status"] == 404


async def test_the_claim_page_shows_and_takes_receipts(att: tuple[Stack, Path]) -> None:
    stack, _ = att
    claim = await filed_claim(stack)
    erin = await Browser(stack, "erin").start()
    r = await erin.get(f"/requests/expense-claims/{claim}")
    assert r.status_code == 200, r.text
    assert "Receipts" in page_text(r) and "No file attached yet." in page_text(r)
    assert 'enctype="multipart/form-data"' in r.text and 'action="/attachments/upload"' in r.text
    assert f'href="/requests/expense-claims/{claim}"' in (await erin.get("/requests")).text

    back = f"/requests/expense-claims/{claim}"
    r = await stack.http.post("/attachments/upload", data={"csrf": erin.csrf, "document": claim, "back": back},
                              files={"file": ("hotel.pdf", PDF, "application/pdf")}, headers={"Cookie": erin.cookie})
    assert r.status_code == 303 and r.headers["location"] == back + "#attachments", r.text
    assert flash(r) == {"msg": f"hotel.pdf is attached to {claim}."}
    page = await erin.get(back)
    assert "hotel.pdf" in page_text(r := page) and re.search(r'href="/api/attachments/[0-9a-f-]{36}"', r.text)

    r = await stack.http.post("/attachments/upload", data={"csrf": erin.csrf, "document": claim, "back": back},
                              files={"file": ("page.pdf", HTML, "application/pdf")}, headers={"Cookie": erin.cookie})
    assert r.status_code == 303 and "not attached" in flash(r)["error"]
    assert rows(stack) == 1

    # The approver sees the receipts on the page too; someone else finds no such claim.
    frank = await Browser(stack, "frank").start()
    assert "hotel.pdf" in page_text(await frank.get(back))
    task = await stack.open_task("frank", claim)  # and on the task he decides it from
    assert "hotel.pdf" in page_text(await frank.get(f"/tasks/{task['id']}"))
    dave = await Browser(stack, "dave").start()
    assert (await dave.get(back)).status_code == 404



async def test_kept_in_an_s3_compatible_bucket_when_configured(dev_env: WorkflowEnvironment, db: Database,
                                                               s3: str) -> None:  # noqa: F811 - the fixture
    async with serve_stack(dev_env, db, "att-s3", attachments_s3_endpoint=s3, attachments_s3_bucket="files",
                           attachments_s3_region="eu-test-1", attachments_s3_access_key=KEY,
                           attachments_s3_secret_key=SECRET) as served:
        stack = Stack(http=served.http, db=db, platform=served.platform)
        claim = await filed_claim(stack)
        up = await upload(stack, "erin", PDF, "receipt.pdf", claim)
        assert up["status"] == 201, up
        sha = up["body"]["sha256"]  # type: ignore[index]
        assert list(FakeS3.objects) == [f"/files/{sha[:2]}/{sha}"]
        r = await stack.as_("frank", "GET", f"/api/attachments/{up['body']['attachment_id']}")  # type: ignore[index]
        assert r.status_code == 200 and r.content == PDF
        assert r.headers["content-disposition"] == "attachment; filename*=UTF-8''receipt.pdf"
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["cache-control"] == "private"
        assert (await upload(stack, "erin", HTML, "x.pdf", claim))["status"] == 415
        assert len(FakeS3.objects) == 1
