"""Every SQL table of the domain. Importing this package registers them all on `Base.metadata`."""

from domain.accounting.tables import Account, JournalEntry, JournalLine
from domain.approvals.tables import (
    ApprovalDecision,
    ApprovalPolicyTier,
    OutOfOffice,
    SavedFilter,
    Task,
    TaskEvent,
)
from domain.core.tables import IdempotencyKey, IdempotencyRecord, Sequence
from domain.crm.tables import Contact, Lead, LeadActivity, Opportunity, ScoringRuleRow
from domain.expenses.tables import ExpenseClaim, ExpenseLine
from domain.inventory.tables import Item, StockBalance, StockLedgerEntry, Uom
from domain.manufacturing.tables import BomLineRow, BomRow, WorkCentre
from domain.org.tables import AuthSession, Role, User, UserRole
from domain.parties.tables import Customer, Supplier
from domain.planning.tables import MrpRun
from domain.processes.tables import Process, ProcessStep
from domain.production.tables import ProductionMaterial, ProductionOrder
from domain.purchasing.tables import (
    GoodsReceipt,
    GoodsReceiptLine,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseRequisition,
    RequisitionLine,
)
from domain.sales.tables import PricingPolicyRow, Quotation, QuotationLine, SalesOrder, SalesOrderLine

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
