"""Production master data over HTTP: items with an order multiple, work centres, BOMs (created,
replaced, listed; every refusal a clear 4xx that stores nothing) and the CSV files of items and BOMs."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

ITEM = {"kind": "manufactured", "uom": "ea", "standard_cost": "10", "lead_time_days": 1}


async def make_items(stack, *specs: tuple[str, str]) -> None:
    for sku, kind in specs:
        r = await stack.as_("carol", "POST", "/api/items", json={**ITEM, "sku": sku, "name": sku, "kind": kind})
        assert r.status_code == 201, r.text


async def test_boms_and_work_centres(stack):
    r = await stack.as_("carol", "POST", "/api/items", json={**ITEM, "sku": "E-TOP", "name": "Top",
                                                             "order_multiple": "6"})
    assert r.status_code == 201 and r.json()["order_multiple"] == "6.00", r.text
    assert (await stack.as_("alice", "GET", "/api/items/E-TOP")).json()["order_multiple"] == "6.00"
    await make_items(stack, ("E-SUB", "manufactured"), ("E-DEEP", "manufactured"), ("E-PART", "purchased"))

    r = await stack.as_("carol", "POST", "/api/work-centres", json={"code": "E-WELD", "name": "Welding",
                                                                    "hourly_cost": "45.5"})
    assert r.status_code == 201 and r.json()["hourly_cost"] == "45.50", r.text
    assert (await stack.as_("admin", "POST", "/api/work-centres", json={"code": "E-WELD", "name": "x",
                                                                        "hourly_cost": 1})).status_code == 409
    assert "E-WELD" in [w["code"] for w in (await stack.as_("dave", "GET", "/api/work-centres")).json()]

    top = {"item_sku": "E-TOP", "lines": [{"component_sku": "E-SUB", "qty": 1},
                                          {"component_sku": "BOLT-M8", "qty": "8", "scrap_pct": "2"}],
           "labour_hours": "0.5", "overhead_rate": 20, "work_centre": "E-WELD", "issue_method": "kitted"}
    r = await stack.as_("carol", "POST", "/api/boms", json=top)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["replaced"], body["revision"], body["labour_rate"], body["labour_rate_from"], body["labour_cost"],
            body["overhead_cost"]) == (False, 1, "45.50", "work_centre", "22.75", "10.00")
    assert [(ln["component_sku"], ln["qty"], ln["scrap_pct"]) for ln in body["lines"]] == [
        ("E-SUB", "1.00", "0.00"), ("BOLT-M8", "8.00", "2.00")]
    sub = {"item_sku": "E-SUB", "lines": [{"component_sku": "E-DEEP", "qty": 2}], "labour_hours": 1,
           "labour_rate": "30", "issue_method": "backflush"}
    assert (await stack.as_("admin", "POST", "/api/boms", json=sub)).status_code == 201
    deep = {"item_sku": "E-DEEP", "lines": [{"component_sku": "E-PART", "qty": 3}], "labour_hours": 0,
            "issue_method": "backflush"}
    assert (await stack.as_("carol", "POST", "/api/boms", json=deep)).status_code == 201

    async def stored() -> list:
        r = await stack.as_("heidi", "GET", "/api/boms", params={"limit": 500})
        assert r.status_code == 200, r.text
        return r.json()

    before = await stored()
    refusals = [
        # a cycle at depth three, told from the BOM being saved
        ({**deep, "lines": [{"component_sku": "E-PART", "qty": 3}, {"component_sku": "E-TOP", "qty": 1}]}, 422,
         "BOM cycle: E-DEEP → E-TOP → E-SUB → E-DEEP"),
        ({**deep, "lines": [{"component_sku": "NOPE", "qty": 1}]}, 422, "BOM of E-DEEP: there is no item NOPE"),
        ({**deep, "item_sku": "NOPE"}, 404, "unknown SKU 'NOPE'"),
        ({**deep, "item_sku": "E-PART"}, 422, "E-PART is a purchased item"),
        ({**deep, "work_centre": "NOPE"}, 404, "no work centre 'NOPE'"),
        ({**deep, "lines": [{"component_sku": "E-DEEP", "qty": 1}]}, 422, "cannot be its own component"),
        ({**deep, "lines": [{"component_sku": "E-PART", "qty": 1}, {"component_sku": "E-PART", "qty": 1}]}, 422,
         "listed twice"),
        ({**deep, "lines": []}, 422, "lines"),
        ({**deep, "lines": [{"component_sku": "E-PART", "qty": 0}]}, 422, "qty"),
        ({**deep, "lines": [{"component_sku": "E-PART", "qty": 1, "scrap_pct": 100}]}, 422, "scrap_pct"),
        ({**deep, "labour_hours": -1}, 422, "labour_hours"),
        ({**deep, "labour_rate": -1}, 422, "labour_rate"),
        ({**deep, "overhead_rate": "-0.5"}, 422, "overhead_rate"),
        ({**deep, "issue_method": "manual"}, 422, "issue_method"),
        ({**deep, "revision": 7}, 422, "revision"),
    ]
    for body, status, detail in refusals:
        r = await stack.as_("carol", "POST", "/api/boms", json=body)
        assert (r.status_code, detail in r.json()["detail"]) == (status, True), (body, r.text)
    assert await stored() == before

    # Replacing: 200, one BOM per item, the revision counts up.
    r = await stack.as_("carol", "POST", "/api/boms", json={**deep, "lines": [{"component_sku": "E-PART", "qty": 4},
                                                                              {"component_sku": "BOLT-M8", "qty": 2}]})
    assert r.status_code == 200 and r.json()["replaced"] is True and r.json()["revision"] == 2, r.text
    got = (await stack.as_("ivan", "GET", "/api/boms/E-DEEP")).json()
    assert [(ln["component_sku"], ln["qty"]) for ln in got["lines"]] == [("E-PART", "4.00"), ("BOLT-M8", "2.00")]
    assert [b["item_sku"] for b in await stored()].count("E-DEEP") == 1
    page = (await stack.as_("carol", "GET", "/api/boms", params={"limit": 1, "offset": 1})).json()
    assert len(page) == 1 and page[0]["item_sku"] == [b["item_sku"] for b in before][1]

    assert (await stack.as_("carol", "GET", "/api/boms/E-PART")).json()["detail"] == "E-PART has no BOM"
    assert (await stack.as_("carol", "GET", "/api/boms/NOPE")).status_code == 404
    # Who may: planner and admin write; planner, buyer, warehouse, admin and cfo read.
    assert (await stack.http.get("/api/boms")).status_code == 401
    assert (await stack.as_("alice", "GET", "/api/boms")).status_code == 403
    assert (await stack.as_("alice", "GET", "/api/work-centres")).status_code == 403
    for who in ("ivan", "dave", "heidi"):
        assert (await stack.as_(who, "POST", "/api/boms", json=deep)).status_code == 403
        assert (await stack.as_(who, "POST", "/api/work-centres", json={"code": "X", "name": "x",
                                                                        "hourly_cost": 1})).status_code == 403
    assert (await stack.as_("carol", "POST", "/api/work-centres", json={"code": "bad code", "name": "x",
                                                                        "hourly_cost": -1})).status_code == 422


async def test_items_and_boms_as_csv(stack):
    csv_type = {"Content-Type": "text/csv"}
    items = ("sku,name,kind,standard_cost,order_multiple,default_supplier\n"
             "C-FAN,CSV fan,manufactured,100,0,\n"
             "C-PART,CSV part,purchased,2.5,10,Acme Metals\n")
    r = await stack.as_("dave", "POST", "/api/items.csv", content=items, headers=csv_type)
    assert r.status_code == 200 and r.json() == {"rows": 2, "created": 2, "updated": 0}, r.text
    part = (await stack.as_("dave", "GET", "/api/items/C-PART")).json()
    assert (part["order_multiple"], part["standard_cost"]) == ("10.00", "2.50")

    bad = items.replace("C-PART,CSV part,purchased,2.5", "C-PART,CSV part,purchased,-2.5").replace("C-FAN", "C-NEW")
    r = await stack.as_("dave", "POST", "/api/items.csv", content=bad, headers=csv_type)
    assert r.status_code == 422 and r.json()["detail"].startswith("line 3: standard_cost"), r.text
    assert (await stack.as_("dave", "GET", "/api/items/C-NEW")).status_code == 404  # line 2 was not stored

    boms_csv = ("item_sku,component_sku,qty,scrap_pct,labour_hours,issue_method\n"
                "C-FAN,C-PART,4,1.5,0.75,kitted\n"
                "C-FAN,BOLT-M8,8,2,0.75,kitted\n")
    r = await stack.as_("carol", "POST", "/api/boms.csv", content=boms_csv, headers=csv_type)
    assert r.status_code == 200 and r.json() == {"rows": 2, "boms": 1, "created": 1, "replaced": 0}, r.text
    cyclic = boms_csv + "C-PART,C-FAN,1,0,0,kitted\n"
    r = await stack.as_("carol", "POST", "/api/boms.csv", content=cyclic, headers=csv_type)
    assert (r.status_code, r.json()["detail"]) == (422, "line 4: C-PART is a purchased item; only a manufactured "
                                                        "item has a BOM")

    exported = await stack.as_("ivan", "GET", "/api/boms.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "C-FAN,C-PART,4,1.5,0.75,,0,,kitted" in exported.text
    r = await stack.as_("carol", "POST", "/api/boms.csv", content=exported.text, headers=csv_type)
    assert r.status_code == 200 and r.json()["replaced"] == r.json()["boms"], r.text
    assert (await stack.as_("ivan", "GET", "/api/boms.csv")).text == exported.text

    items_out = await stack.as_("alice", "GET", "/api/items.csv")
    assert items_out.status_code == 200 and "C-PART,CSV part,purchased,ea,2.5,0,0,0,10,Acme Metals" in items_out.text
    r = await stack.as_("admin", "POST", "/api/items.csv", content=items_out.text.encode("utf-8-sig"),
                        headers={"Content-Type": "text/csv; charset=utf-8"})
    assert r.status_code == 200 and r.json()["created"] == 0, r.text

    # The other refusals: wrong type, not UTF-8, too big, no token, a role that may not.
    assert (await stack.as_("carol", "POST", "/api/boms.csv", json={"a": 1})).status_code == 415
    r = await stack.as_("carol", "POST", "/api/boms.csv", content=b"item_sku\n\xff\xfe", headers=csv_type)
    assert r.status_code == 422 and "not UTF-8" in r.json()["detail"]
    big = "item_sku,component_sku,qty\n" + "C-FAN,BOLT-M8,1\n" * 80_000
    assert (await stack.as_("carol", "POST", "/api/boms.csv", content=big, headers=csv_type)).status_code == 413
    assert (await stack.http.get("/api/items.csv")).status_code == 401
    assert (await stack.as_("alice", "POST", "/api/items.csv", content=items, headers=csv_type)).status_code == 403
    assert (await stack.as_("alice", "GET", "/api/boms.csv")).status_code == 403
    assert (await stack.as_("dave", "POST", "/api/boms.csv", content=boms_csv, headers=csv_type)).status_code == 403
