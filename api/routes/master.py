"""Master data: items, customers, suppliers, stock, users and approval policies."""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import CurrentUser, PlatformDep, require
from api.encoding import ok
from api.routes.boms import CsvResponse, csv_file, csv_text
from api.routes.common import Limit, Offset
from api.schemas import CustomerIn, ItemIn, PolicyIn, StockAdjustmentIn, SupplierIn, UserIn
from api.starters import change_approval, order_fulfilment
from domain.approvals import services as approvals
from domain.changes import services as changes
from domain.core.errors import Invalid, NotFound
from domain.core.money import MAX_ID
from domain.core.numbers import PlainInt
from domain.inventory import stock
from domain.inventory.tables import Item
from domain.org import services as org
from domain.org.tables import User
from domain.parties import imports, master
from domain.parties.tables import Customer, Supplier
from domain.permissions import Action
from domain.sales import services as sales_svc

router = APIRouter(prefix="/api", tags=["master data"])

UserAdmin = Annotated[Principal, Depends(require(Action.USER_CREATE))]
ItemOwner = Annotated[Principal, Depends(require(Action.ITEM_EDIT))]
CustomerReader = Annotated[Principal, Depends(require(Action.CUSTOMER_READ))]
CustomerOwner = Annotated[Principal, Depends(require(Action.CUSTOMER_CREATE))]
SupplierReader = Annotated[Principal, Depends(require(Action.SUPPLIER_READ))]
SupplierOwner = Annotated[Principal, Depends(require(Action.SUPPLIER_CREATE))]
StockKeeper = Annotated[Principal, Depends(require(Action.STOCK_ADJUST))]
PolicyReader = Annotated[Principal, Depends(require(Action.POLICY_READ))]
PolicyEditor = Annotated[Principal, Depends(require(Action.POLICY_EDIT))]


@router.get("/items")
async def list_items(user: CurrentUser, platform: PlatformDep, limit: Limit = 50, offset: Offset = 0) -> Any:
    q = select(Item).order_by(Item.sku).limit(limit).offset(offset)
    return ok(await platform.read(lambda s: [master.item_view(i) for i in s.execute(q).unique().scalars()]))


@router.get("/items.csv", response_class=CsvResponse)
async def export_items(user: CurrentUser, platform: PlatformDep) -> Response:
    return csv_file(await platform.read(imports.export_items), "items.csv")


@router.post("/items.csv")
async def import_items(user: ItemOwner, platform: PlatformDep, text: Annotated[str, Depends(csv_text)]) -> Any:
    """New SKUs are created, known ones updated in the file's columns: every row checked first, then all
    stored in one transaction, or none (422 naming the line)."""
    return ok(await platform.write(lambda s: imports.import_items(s, text)))


@router.get("/items/{sku}")
async def get_item(sku: str, user: CurrentUser, platform: PlatformDep) -> Any:
    return ok(await platform.read(lambda s: master.item_view(stock.item_by_sku(s, sku))))


@router.post("/items", status_code=201)
async def create_item(body: ItemIn, user: ItemOwner, platform: PlatformDep) -> Any:
    return ok(await platform.write(lambda s: master.item_view(master.create_item(s, body.model_dump()))), 201)


@router.get("/customers")
async def list_customers(user: CustomerReader, platform: PlatformDep, limit: Limit = 50, offset: Offset = 0) -> Any:
    q = select(Customer).order_by(Customer.name).limit(limit).offset(offset)
    return ok(await platform.read(lambda s: [master.customer_view(c) for c in s.execute(q).scalars()]))


@router.get("/customers/{customer_id}")
async def get_customer(customer_id: Annotated[PlainInt, Path(ge=1, le=MAX_ID)], user: CustomerReader, platform: PlatformDep) -> Any:
    def load(s: Session) -> dict[str, Any]:
        c = s.get(Customer, customer_id)
        if c is None:
            raise NotFound(f"no customer {customer_id}")
        # Its orders, and the revenue and margin summed over them, as far as the caller may open those orders.
        return {**master.customer_view(c), **sales_svc.customer_summary(s, c, viewer=(user.username, user.roles))}
    return ok(await platform.read(load))


@router.post("/customers", status_code=201)
async def create_customer(body: CustomerIn, user: CustomerOwner, platform: PlatformDep) -> Any:
    return ok(await platform.write(lambda s: master.customer_view(master.create_named(s, Customer,
                                                                                       body.model_dump()))), 201)


@router.get("/suppliers")
async def list_suppliers(user: SupplierReader, platform: PlatformDep, limit: Limit = 50, offset: Offset = 0) -> Any:
    q = select(Supplier).order_by(Supplier.name).limit(limit).offset(offset)
    return ok(await platform.read(lambda s: [master.supplier_view(x) for x in s.execute(q).scalars()]))


@router.post("/suppliers", status_code=201)
async def create_supplier(body: SupplierIn, user: SupplierOwner, platform: PlatformDep) -> Any:
    return ok(await platform.write(lambda s: master.supplier_view(master.create_named(s, Supplier,
                                                                                       body.model_dump()))), 201)


@router.get("/stock/{sku}")
async def stock_levels(sku: str, user: CurrentUser, platform: PlatformDep) -> Any:
    return ok(await platform.read(lambda s: stock.levels(s, sku)))


@router.post("/stock/adjustments", status_code=201)
async def adjust(body: StockAdjustmentIn, user: StockKeeper, platform: PlatformDep,
                 idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> Any:
    # A retry with the same Idempotency-Key gets the first answer (api.idempotency: per caller and endpoint). The
    # stock move's own key is derived from the caller, that key and the adjustment, so a retry after an answer that
    # was not kept (a 5xx once the move was written) moves the stock once too, and no other user's key reaches it.
    key = f"adjust:{uuid.uuid4().hex}"
    if idempotency_key:
        scoped = "\n".join((user.username, idempotency_key, body.sku, str(body.qty), str(body.unit_cost), body.reason))
        key = f"adjust:{hashlib.sha256(scoped.encode()).hexdigest()[:40]}"
    done = await platform.write(lambda s: master.adjust_stock(s, body.sku, body.qty, body.unit_cost, body.reason,
                                                              user.username, key))
    if body.qty > 0:  # a kit or an order short of this item may now be complete: tell them now, not at next look
        await order_fulfilment.supply_arrived(platform, body.sku)
    return ok(done, 201)


@router.get("/users")
async def list_users(user: CurrentUser, platform: PlatformDep, limit: Limit = 100, offset: Offset = 0) -> Any:
    """Names and roles of colleagues (for delegation); only admin sees managers and activity."""
    def load(s: Session) -> list[dict[str, Any]]:
        people = org.people(s)
        users = s.execute(select(User).order_by(User.username).limit(limit).offset(offset)).scalars()
        out = []
        for u in users:
            row: dict[str, Any] = {"username": u.username, "full_name": u.full_name, "roles": sorted(u.roles)}
            if user.may(Action.USER_SEE_DETAILS):
                row |= {"manager": people[u.username].manager, "active": u.active}
            out.append(row)
        return out
    return ok(await platform.read(load))


@router.post("/users", status_code=201)
async def create_user(body: UserIn, user: UserAdmin, platform: PlatformDep) -> Any:
    def create(s: Session) -> dict[str, Any]:
        u = org.create_user(s, body.username, body.password, body.roles, body.full_name, body.manager,
                            email=body.email, actor=user.username)
        return {"username": u.username, "full_name": u.full_name, "roles": sorted(body.roles),
                "manager": body.manager}
    return ok(await platform.write(create), 201)


POLICY_KINDS = changes.POLICY_KINDS  # every policy a process asks (domain.changes keeps the list)


def _kind(kind: str) -> str:
    if kind not in POLICY_KINDS:
        raise Invalid(f"unknown policy {kind!r}; policies exist for {', '.join(POLICY_KINDS)}")
    return kind


@router.get("/approval-policies/{kind}")
async def get_policy(kind: str, user: PolicyReader, platform: PlatformDep) -> Any:
    tiers = await platform.read(lambda s: approvals.tiers(s, _kind(kind)))
    return ok({"kind": kind, "tiers": [t.model_dump() for t in tiers]})


@router.put("/approval-policies/{kind}", status_code=202)
async def put_policy(kind: str, body: PolicyIn, user: PolicyEditor, platform: PlatformDep) -> Any:
    """A new policy takes effect once a second admin or the cfo approves it: 202 {change_id, process_id, status}."""
    _kind(kind)
    return ok(await change_approval.propose(platform, user.username, "approval_policy", kind,
                                            {"tiers": [t.model_dump(mode="json") for t in body.tiers]}), 202)
