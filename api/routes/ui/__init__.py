"""The server-rendered UI: login, the approver's inbox, task pages, "my requests", the process
monitor, the sales pages (pipeline, lead, opportunity, quotation) and the order-to-cost pages (sales
orders, production orders, planning). Plain HTML forms, no JavaScript.
Every POST carries a CSRF token bound to the session (login, which has no session yet, uses a
double-submit cookie instead). Pages answer HTML in every case: no session → redirect to /login; a
refusal → the page again with the reason and its status."""

from __future__ import annotations

from api.routes.ui import (
    absence,
    admin,
    boms,
    crm,
    customers,
    dashboard,
    finance,
    imports,
    inbox,
    items,
    ledger,
    periods,
    pricelists,
    processes,
    production,
    purchasing,
    quotations,
    requests,
    session,
    suppliers,
    warehouse,
    workspaces,
)
from api.routes.ui.pages import page_router

router = page_router()
for _part in (session, inbox, requests, absence, processes, crm, quotations, production, dashboard, periods):
    router.include_router(_part.router)
router.include_router(finance.router)
for _workspace in (workspaces, purchasing, warehouse, ledger):  # issue 18: each role's own work
    router.include_router(_workspace.router)
for _master in (customers, suppliers, pricelists):  # customers, suppliers, the price list (issue 18)
    router.include_router(_master.router)
router.include_router(items.router)  # master data: items, BOMs, work centres, CSV import
router.include_router(boms.router)
router.include_router(admin.router)  # the back office: company, users, roles, policies, scoring rules
router.include_router(imports.router)

__all__ = ["router"]
