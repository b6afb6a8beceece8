"""Who may do what: every action a user can take is named here, and which roles hold it is data.

Workflow validators, API dependencies and page templates all ask `may(roles, action)` (or `check`), so a
button is shown exactly when the workflow will take the command. Where a rule also lets the document's own
person act (the requester, the salesperson, the task's holder), that part stays with the rule; the action
names only who may act *besides* them (said in the action's comment).

`DEFAULT_GRANTS` is plain data (action -> roles), the seed of the stored grants (table role_grants) admin edits; `DEFAULT_DUTIES`
names the one role a process offers its own tasks (alerts) to. Pure: no database, no Temporal, no HTTP.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum

from domain.core.errors import Forbidden


class Action(StrEnum):
    # office approvals and the inbox ("admin has no bypass" on a decision: who decides a task is its step's)
    DOCUMENT_CANCEL_ANY = "document.cancel_any"  # withdraw a claim or requisition besides its requester
    TASK_RELEASE_ANY = "task.release_any"  # release a task claimed by someone else
    TASK_HAND_ON_ANY = "task.hand_on_any"  # reassign / delegate a task one does not hold
    TASK_SEE_ALL = "task.see_all"  # read any task, list every task
    ABSENCE_MANAGE_ALL = "absence.manage_all"  # everyone's out-of-office
    USER_SEE_DETAILS = "user.see_details"  # colleagues' managers and whether they are active
    USER_CREATE = "user.create"
    POLICY_READ = "policy.read"  # approval policies
    POLICY_EDIT = "policy.edit"
    INCIDENT_MANAGE = "incident.manage"  # the incidents page and cancelling a stuck process
    DASHBOARD_READ = "dashboard.read"
    PROCESS_SEE_ALL = "process.see_all"
    FORM_TYPE_MANAGE = "form_type.manage"  # design form types and their routes (everyone reads them)
    ATTACHMENT_UPLOAD = "attachment.upload"  # attach a file to a document one may see (or to one's draft)
    WEBHOOK_MANAGE = "webhook.manage"  # register and remove webhooks, see undelivered notifications
    # expenses
    EXPENSE_PAY = "expense.pay"  # never one's own claim (the rule says so)
    EXPENSE_SEE_ALL = "expense.see_all"
    # crm and sales
    LEAD_CREATE = "lead.create"
    LEAD_OWN = "lead.own"  # may be named a lead's owner (a salesperson)
    LEAD_CHANGE_ANY = "lead.change_any"  # change a lead besides its owner and their manager (the process's rule)
    LEAD_SEE_ALL = "lead.see_all"
    LEAD_SCORING_READ = "lead_scoring.read"
    LEAD_SCORING_EDIT = "lead_scoring.edit"
    PIPELINE_VIEW = "pipeline.view"  # the Sales entry of the navigation
    OPPORTUNITY_SEE_ALL = "opportunity.see_all"
    QUOTATION_CREATE = "quotation.create"  # on an opportunity one may see
    QUOTATION_ANSWER_ANY = "quotation.answer_any"  # record the customer's answer besides the salesperson
    QUOTATION_SEE_ALL = "quotation.see_all"
    PRICING_READ = "pricing.read"
    PRICING_EDIT = "pricing.edit"
    CUSTOMER_READ = "customer.read"
    CUSTOMER_CREATE = "customer.create"
    SALES_ORDER_CREATE = "sales_order.create"
    SALES_ORDER_LIST = "sales_order.list"  # the Orders entry of the navigation
    SALES_ORDER_SEE_ALL = "sales_order.see_all"  # besides one's own orders
    SALES_ORDER_CANCEL = "sales_order.cancel"  # besides the order's salesperson
    SALES_ORDER_DELIVER = "sales_order.deliver"  # besides the order's salesperson
    # production, planning, purchasing, stock
    PRODUCTION_READ = "production.read"
    PRODUCTION_REPORT = "production.report"  # shop-floor progress
    PRODUCTION_CHANGE = "production.change"  # ask for a production change
    PRODUCTION_RESCHEDULE = "production.reschedule"  # move an open order's release and due dates (issue 20)
    MRP_RUN = "mrp.run"
    FORECAST_EDIT = "forecast.edit"  # enter, change, remove and import sales forecasts
    PLANNING_PROMISE = "planning.promise"  # capable-to-promise: when lines could ship (issue 20)
    MRP_RELEASE = "mrp.release"  # turn a stored run's planned orders into orders (issue 20)
    PRODUCTION_CREATE = "production.create"  # a production order for stock, without a sales order (issue 20)
    PLANNING_VIEW = "planning.view"  # the Planning entry of the navigation
    BOM_READ = "bom.read"  # bills of materials and work centres
    BOM_EDIT = "bom.edit"
    ITEM_EDIT = "item.edit"
    ITEM_READ = "item.read"  # the Items pages: items, their stock and movements, BOMs, work centres, imports
    SUPPLIER_READ = "supplier.read"
    SUPPLIER_CREATE = "supplier.create"
    PURCHASE_RECEIVE = "purchase.receive"
    PURCHASE_SEE_ALL = "purchase.see_all"
    STOCK_ADJUST = "stock.adjust"
    QUALITY_INSPECT = "quality.inspect"  # record an inspection lot's result (accepted, rejected and why)
    QUALITY_READ = "quality.read"  # inspection lots and nonconformance records
    LEDGER_READ = "ledger.read"
    # cash: invoices, payments, reports, periods
    INVOICE_SEE_ALL = "invoice.see_all"  # every invoice (the order's salesperson sees their own customers')
    INVOICE_WRITE_OFF = "invoice.write_off"  # ask for a write-off (the cfo approves it)
    PAYMENT_RECORD = "payment.record"
    SUPPLIER_INVOICE_ENTER = "supplier_invoice.enter"
    EXCHANGE_RATE_EDIT = "exchange_rate.edit"
    FINANCE_REPORT_READ = "finance_report.read"  # aging, statements, P&L, balance sheet, cash position
    PERIOD_CLOSE = "period.close"  # start the month-end close
    PERIOD_REOPEN = "period.reopen"
    CASH_POLICY_EDIT = "cash_policy.edit"  # dunning, credit hold and match tolerance
    SALES_ORDER_RETURN = "sales_order.return"  # take goods back besides the order's salesperson
    # back office
    COMPANY_EDIT = "company.edit"  # the company's name, currency, fiscal year and time zone
    ROLE_EDIT = "role.edit"  # create roles, propose which actions they hold (a second admin or the cfo approves)
    AUDIT_READ = "audit.read"  # the audit trail of every record
    CHANGE_APPROVE = "change.approve"  # a second approver of a change of policies, permissions or a credit limit
    # customers, suppliers, price lists
    CUSTOMER_EDIT = "customer.edit"  # a customer's name, currency, terms, contacts; deactivate
    CREDIT_LIMIT_EDIT = "credit_limit.edit"  # a customer's credit limit, and the default of one created from a lead
    SUPPLIER_EDIT = "supplier.edit"  # a supplier's name, currency, terms, prices; deactivate
    PRICE_LIST_READ = "price_list.read"
    PRICE_LIST_EDIT = "price_list.edit"


class Duty(StrEnum):
    """Work a process hands to whoever holds one role (an alert in the inbox, a document's owner)."""

    PURCHASE_OVERDUE = "purchase.overdue"  # the alert on a purchase order past its expected date
    PRODUCTION_LATE = "production.late"  # the alert on a production order past its due date
    PRODUCTION_PLANNER = "production.planner"  # the planner named on a production order MRP creates
    PRICE_REVIEW_SECOND = "price_review.second"  # the step a price review adds when the margin is under the second threshold
    DUNNING = "invoice.dunning"  # reminders of an overdue customer invoice, beside its salesperson
    WRITE_OFF_APPROVER = "invoice.write_off_approver"  # approves writing an invoice off to bad debts
    BILL_MISMATCH_FIRST = "supplier_invoice.mismatch_first"  # first step on a supplier bill that does not match
    BILL_MISMATCH_SECOND = "supplier_invoice.mismatch_second"  # then this one
    PERIOD_CLOSE_APPROVER = "period.close_approver"  # approves a month-end close
    EXPENSE_PAYER = "expense_claim.payer"  # the Pay task of an approved expense claim, until it is paid
    INSPECTOR = "quality.inspector"  # the inspection task of a quarantined lot


A = Action
_SELLERS = frozenset({"sales", "sales_manager", "admin"})
_OVERSEE_SALES = frozenset({"sales_manager", "admin", "cfo"})

# Exactly the rules the code held as literal role sets before they were named here.
DEFAULT_GRANTS: Mapping[Action, frozenset[str]] = {
    A.DOCUMENT_CANCEL_ANY: frozenset({"admin"}),
    A.TASK_RELEASE_ANY: frozenset({"admin"}),
    A.TASK_HAND_ON_ANY: frozenset({"admin"}),
    A.TASK_SEE_ALL: frozenset({"admin"}),
    A.ABSENCE_MANAGE_ALL: frozenset({"admin"}),
    A.USER_SEE_DETAILS: frozenset({"admin"}),
    A.USER_CREATE: frozenset({"admin"}),
    A.POLICY_READ: frozenset({"admin", "finance", "cfo"}),
    A.POLICY_EDIT: frozenset({"admin"}),
    A.INCIDENT_MANAGE: frozenset({"admin"}),
    A.DASHBOARD_READ: frozenset({"manager", "sales_manager", "finance", "cfo", "admin"}),
    A.PROCESS_SEE_ALL: frozenset({"admin", "cfo"}),
    A.FORM_TYPE_MANAGE: frozenset({"admin"}),
    A.WEBHOOK_MANAGE: frozenset({"admin"}),
    A.ATTACHMENT_UPLOAD: frozenset({"employee", "manager", "admin", "cfo", "finance", "sales", "sales_manager",
                                    "buyer", "warehouse", "planner"}),
    A.EXPENSE_PAY: frozenset({"finance"}),
    A.EXPENSE_SEE_ALL: frozenset({"finance", "cfo", "admin"}),
    A.LEAD_CREATE: _SELLERS,
    A.LEAD_OWN: frozenset({"sales"}),
    A.LEAD_CHANGE_ANY: frozenset({"admin"}),
    A.LEAD_SEE_ALL: _OVERSEE_SALES,
    A.LEAD_SCORING_READ: _SELLERS,
    A.LEAD_SCORING_EDIT: frozenset({"admin"}),
    A.PIPELINE_VIEW: frozenset({"sales", "sales_manager", "admin", "cfo"}),
    A.OPPORTUNITY_SEE_ALL: _OVERSEE_SALES,
    A.QUOTATION_CREATE: _SELLERS,
    A.QUOTATION_ANSWER_ANY: frozenset({"sales_manager", "admin"}),
    A.QUOTATION_SEE_ALL: frozenset({"sales_manager", "admin", "cfo", "finance"}),
    A.PRICING_READ: frozenset({"admin", "sales", "sales_manager", "finance", "cfo"}),
    A.PRICING_EDIT: frozenset({"admin"}),
    A.CUSTOMER_READ: frozenset({"admin", "sales", "sales_manager", "finance", "cfo"}),
    A.CUSTOMER_CREATE: frozenset({"admin", "sales_manager", "finance"}),
    A.SALES_ORDER_CREATE: _SELLERS,
    A.SALES_ORDER_LIST: frozenset({"sales", "sales_manager", "admin", "cfo", "finance", "planner", "warehouse"}),
    A.SALES_ORDER_SEE_ALL: frozenset({"sales_manager", "admin", "cfo", "finance", "planner", "warehouse"}),
    A.SALES_ORDER_CANCEL: frozenset({"sales_manager", "admin"}),
    A.SALES_ORDER_DELIVER: frozenset({"warehouse", "admin"}),
    A.PRODUCTION_READ: frozenset({"admin", "planner", "buyer", "warehouse", "cfo", "finance", "sales_manager"}),
    A.PRODUCTION_REPORT: frozenset({"planner", "warehouse", "admin"}),
    A.PRODUCTION_CHANGE: frozenset({"planner", "admin"}),
    A.PRODUCTION_RESCHEDULE: frozenset({"planner", "admin"}),
    A.MRP_RUN: frozenset({"planner", "admin"}),
    A.FORECAST_EDIT: frozenset({"planner", "admin"}),
    A.PLANNING_PROMISE: _SELLERS | {"planner", "admin"},
    A.MRP_RELEASE: frozenset({"planner", "admin"}),
    A.PRODUCTION_CREATE: frozenset({"planner", "admin"}),
    A.PLANNING_VIEW: frozenset({"planner", "buyer", "admin"}),
    A.BOM_READ: frozenset({"admin", "planner", "buyer", "warehouse", "cfo"}),
    A.BOM_EDIT: frozenset({"admin", "planner"}),
    A.ITEM_EDIT: frozenset({"admin", "buyer", "planner"}),
    A.ITEM_READ: frozenset({"admin", "buyer", "planner", "warehouse", "cfo", "finance"}),
    A.SUPPLIER_READ: frozenset({"admin", "buyer", "finance", "cfo", "warehouse", "planner"}),
    A.SUPPLIER_CREATE: frozenset({"admin", "buyer"}),
    A.PURCHASE_RECEIVE: frozenset({"warehouse", "buyer", "admin"}),
    A.PURCHASE_SEE_ALL: frozenset({"buyer", "warehouse", "finance", "cfo", "admin"}),
    A.STOCK_ADJUST: frozenset({"admin", "warehouse"}),
    A.QUALITY_INSPECT: frozenset({"warehouse"}),
    A.QUALITY_READ: frozenset({"warehouse", "buyer", "planner", "admin", "cfo", "finance"}),
    A.LEDGER_READ: frozenset({"finance", "cfo", "admin"}),
    A.INVOICE_SEE_ALL: frozenset({"finance", "cfo", "admin"}),
    A.INVOICE_WRITE_OFF: frozenset({"finance"}),
    A.PAYMENT_RECORD: frozenset({"finance"}),
    A.SUPPLIER_INVOICE_ENTER: frozenset({"buyer", "finance"}),
    A.EXCHANGE_RATE_EDIT: frozenset({"finance", "admin"}),
    A.FINANCE_REPORT_READ: frozenset({"finance", "cfo", "admin"}),
    A.PERIOD_CLOSE: frozenset({"finance"}),
    A.PERIOD_REOPEN: frozenset({"cfo"}),
    A.CASH_POLICY_EDIT: frozenset({"admin"}),
    A.SALES_ORDER_RETURN: frozenset({"warehouse", "sales_manager", "admin"}),
    A.COMPANY_EDIT: frozenset({"admin"}),
    A.ROLE_EDIT: frozenset({"admin"}),
    A.AUDIT_READ: frozenset({"admin"}),
    A.CHANGE_APPROVE: frozenset({"admin", "cfo"}),
    A.CUSTOMER_EDIT: frozenset({"admin", "sales_manager", "finance"}),
    A.CREDIT_LIMIT_EDIT: frozenset({"admin", "finance", "cfo"}),
    A.SUPPLIER_EDIT: frozenset({"admin", "buyer"}),
    A.PRICE_LIST_READ: frozenset({"admin", "sales", "sales_manager", "finance", "cfo"}),
    A.PRICE_LIST_EDIT: frozenset({"admin", "sales_manager"}),
}

DEFAULT_DUTIES: Mapping[Duty, str] = {
    Duty.PURCHASE_OVERDUE: "buyer",
    Duty.PRODUCTION_LATE: "planner",
    Duty.PRODUCTION_PLANNER: "planner",
    Duty.PRICE_REVIEW_SECOND: "cfo",
    Duty.DUNNING: "finance",
    Duty.WRITE_OFF_APPROVER: "cfo",
    Duty.BILL_MISMATCH_FIRST: "buyer",
    Duty.BILL_MISMATCH_SECOND: "finance",
    Duty.PERIOD_CLOSE_APPROVER: "cfo",
    Duty.EXPENSE_PAYER: "finance",
    Duty.INSPECTOR: "warehouse",
}

# Roles that never make their holder an approver of a step by themselves: everyone is an employee, and admin
# administers without deciding (admin has no bypass).
NON_APPROVING_ROLES = frozenset({"employee", "admin"})

# Who is named where no user holds a duty's role (the reference data's first user).
FALLBACK_USER = "admin"

# Where `/` sends a user: the page of the first role of this list they hold (approvers first: their decisions wait),
# else their own tasks. Plain data, like the grants.
LANDINGS: tuple[tuple[str, str], ...] = (
    ("admin", "/admin"), ("cfo", "/inbox"), ("sales_manager", "/inbox"), ("manager", "/inbox"),
    ("finance", "/finance"), ("buyer", "/purchasing"), ("warehouse", "/warehouse"), ("planner", "/planning"),
    ("sales", "/pipeline"),
)


# The effective grants (action -> roles): DEFAULT_GRANTS until the process loads the stored ones
# (domain.org.grants.load, then use_grants). The API reloads when a request's session query sees a new version;
# the worker refreshes every few seconds. Workflow logic that is replayed must not read it (validators may).
_grants: dict[str, frozenset[str]] = {str(k): v for k, v in DEFAULT_GRANTS.items()}
_grants_version = 0


def use_grants(grants: Mapping[str, Collection[str]], version: int) -> None:
    """Make `grants` (action -> roles, as stored) the effective ones, as of `version`."""
    global _grants, _grants_version
    _grants = {str(k): frozenset(v) for k, v in grants.items()}
    _grants_version = version


def grants_version() -> int:
    """The version of the grants in effect here (0: the defaults, never loaded)."""
    return _grants_version


def effective_grants() -> Mapping[str, frozenset[str]]:
    return dict(_grants)


def roles_for(action: Action | str) -> frozenset[str]:
    """The roles that hold an action; an unknown action is held by nobody."""
    return _grants.get(str(action), frozenset())


def may(roles: Collection[str], action: Action | str) -> bool:
    """Does a user holding `roles` hold the action?"""
    return not roles_for(action).isdisjoint(roles)


def check(roles: Collection[str], action: Action | str, message: str) -> None:
    """Raise Forbidden(message) unless `roles` hold the action."""
    if not may(roles, action):
        raise Forbidden(message)


def duty_role(duty: Duty) -> str:
    """The role whose holders are offered the duty."""
    return DEFAULT_DUTIES[duty]
