"""Every SQL table of the domain. Importing this package registers them all on `Base.metadata`."""

from domain.schema.accounting import Account, JournalEntry, JournalLine
from domain.schema.approvals import ApprovalDecision, ApprovalPolicyTier, Task, TaskEvent
from domain.schema.auth import AuthSession
from domain.schema.crm import Contact, Lead, LeadActivity, Opportunity, ScoringRuleRow
from domain.schema.expenses import ExpenseClaim, ExpenseLine
from domain.schema.idempotency import IdempotencyKey
from domain.schema.inventory import Item, StockBalance, StockLedgerEntry
from domain.schema.manufacturing import BomLineRow, BomRow, WorkCentre
from domain.schema.parties import Customer, OutOfOffice, Role, SavedFilter, Supplier, User, UserRole
from domain.schema.pricing import PricingPolicyRow
from domain.schema.processes import IdempotencyRecord, Process, ProcessStep, Sequence
from domain.schema.production import MrpRun, ProductionMaterial, ProductionOrder
from domain.schema.purchasing import (
    GoodsReceipt,
    GoodsReceiptLine,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseRequisition,
    RequisitionLine,
)
from domain.schema.sales import Quotation, QuotationLine, SalesOrder, SalesOrderLine
from domain.schema.uoms import Uom

__all__ = [
    "Contact", "Lead", "LeadActivity", "Opportunity", "Quotation", "QuotationLine", "SalesOrder", "SalesOrderLine",
    "ScoringRuleRow",
    "Account", "ApprovalDecision", "ApprovalPolicyTier", "Customer", "ExpenseClaim", "ExpenseLine",
    "GoodsReceipt", "GoodsReceiptLine", "IdempotencyRecord", "Item", "JournalEntry", "JournalLine",
    "Process", "ProcessStep", "PurchaseOrder", "PurchaseOrderLine", "PurchaseRequisition",
    "RequisitionLine", "Role", "Sequence", "StockBalance", "StockLedgerEntry", "Supplier", "Task",
    "TaskEvent", "User", "UserRole", "BomRow", "BomLineRow", "WorkCentre", "MrpRun", "ProductionMaterial",
    "ProductionOrder", "OutOfOffice", "SavedFilter",
    "IdempotencyKey",
    "AuthSession",
    "Uom",
    "PricingPolicyRow",
]
