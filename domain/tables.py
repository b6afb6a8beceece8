"""Every SQL table of the domain. Importing this package registers them all on `Base.metadata`."""

from domain.accounting.tables import Account, ExchangeRate, JournalEntry, JournalLine, Period
from domain.approvals.tables import (
    ApprovalCopy,
    ApprovalDecision,
    ApprovalPolicyTier,
    OutOfOffice,
    SavedFilter,
    Task,
    TaskEvent,
)
from domain.attachments.tables import Attachment
from domain.audit.tables import AuditEntry
from domain.cash.tables import CashPolicyRow, Invoice, InvoiceLine, Payment, PaymentAllocation
from domain.changes.tables import ChangeRequest
from domain.comments.tables import Comment
from domain.core.tables import IdempotencyKey, IdempotencyRecord, Sequence
from domain.crm.tables import Contact, Lead, LeadActivity, Opportunity, ScoringRuleRow
from domain.expenses.tables import ExpenseClaim, ExpenseLine, TripAdvance
from domain.forms.request_tables import FormRequest
from domain.forms.tables import FormType, LeaveBalance
from domain.inventory.quarantine_tables import QuarantineLot
from domain.inventory.tables import Item, StockBalance, StockLedgerEntry, Uom
from domain.manufacturing.capacity_tables import RoutingOperation, WorkCentreCalendar, WorkCentreDay
from domain.manufacturing.tables import BomLineRow, BomRow, WorkCentre
from domain.notifications.tables import NotificationDelivery, NotificationEvent, NotificationPref, Webhook
from domain.org.tables import AuthSession, Company, GrantsState, Role, RoleGrant, User, UserRole
from domain.parties.jobs import ImportJob
from domain.parties.tables import Customer, PartySettings, PriceListPrice, Supplier, SupplierPrice
from domain.planning.forecast_tables import Forecast
from domain.planning.release_tables import PlannedOrderRelease
from domain.planning.tables import MrpRun
from domain.processes.tables import Process, ProcessStep
from domain.production.scrap_tables import ScrapReport
from domain.production.tables import ProductionMaterial, ProductionOrder
from domain.purchasing.tables import (
    GoodsReceipt,
    GoodsReceiptLine,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseRequisition,
    RequisitionLine,
)
from domain.quality.tables import Nonconformance
from domain.sales.tables import (
    DeliveryNote,
    DeliveryNoteLine,
    PricingPolicyRow,
    Quotation,
    QuotationLine,
    SalesOrder,
    SalesOrderLine,
)

__all__ = [
    "Account",
    "ApprovalCopy",
    "ApprovalDecision",
    "ApprovalPolicyTier",
    "Attachment",
    "AuditEntry",
    "AuthSession",
    "BomLineRow",
    "BomRow",
    "CashPolicyRow",
    "ChangeRequest",
    "Comment",
    "Company",
    "Contact",
    "Customer",
    "DeliveryNote",
    "DeliveryNoteLine",
    "ExchangeRate",
    "ExpenseClaim",
    "ExpenseLine",
    "Forecast",
    "FormRequest",
    "FormType",
    "GoodsReceipt",
    "GoodsReceiptLine",
    "GrantsState",
    "IdempotencyKey",
    "IdempotencyRecord",
    "ImportJob",
    "Invoice",
    "InvoiceLine",
    "Item",
    "JournalEntry",
    "JournalLine",
    "Lead",
    "LeadActivity",
    "LeaveBalance",
    "MrpRun",
    "Nonconformance",
    "NotificationDelivery",
    "NotificationEvent",
    "NotificationPref",
    "Opportunity",
    "OutOfOffice",
    "PartySettings",
    "Payment",
    "PaymentAllocation",
    "Period",
    "PlannedOrderRelease",
    "PriceListPrice",
    "PricingPolicyRow",
    "Process",
    "ProcessStep",
    "ProductionMaterial",
    "ProductionOrder",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "PurchaseRequisition",
    "QuarantineLot",
    "Quotation",
    "QuotationLine",
    "RequisitionLine",
    "Role",
    "RoleGrant",
    "RoutingOperation",
    "SalesOrder",
    "SalesOrderLine",
    "SavedFilter",
    "ScoringRuleRow",
    "ScrapReport",
    "Sequence",
    "StockBalance",
    "StockLedgerEntry",
    "Supplier",
    "SupplierPrice",
    "Task",
    "TaskEvent",
    "TripAdvance",
    "Uom",
    "User",
    "UserRole",
    "Webhook",
    "WorkCentre",
    "WorkCentreCalendar",
    "WorkCentreDay",
]
